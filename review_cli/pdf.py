"""The referral packet as PDF, with fpdf2 (pure Python, already a dependency).

fpdf2's built-in fonts cover Latin-1 only, so a Unicode TrueType font is
embedded when one is found: ``TIPBOX_REVIEW_FONT`` (a regular .ttf, with an
optional ``-Bold`` sibling), else DejaVu Sans, Liberation Sans or Noto Sans
from the usual Debian/Fedora paths. Characters the font lacks are replaced
with ``?``. Without any such font the packet falls back to Helvetica and
Latin-1, transliterating what it can, and says so on the first page: the
Markdown and JSON packets always carry the exact text.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .referral import MARKING, Packet, t

FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
    ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"),
)


def find_font(env: Mapping[str, str] | None = None) -> tuple[Path, Path | None] | None:
    env = os.environ if env is None else env
    chosen = env.get("TIPBOX_REVIEW_FONT")
    if chosen:
        regular = Path(chosen)
        bold = regular.with_name(regular.stem.replace("-Regular", "") + "-Bold" + regular.suffix)
        return (regular, bold if bold.is_file() else None) if regular.is_file() else None
    for regular_name, bold_name in FONT_CANDIDATES:
        if Path(regular_name).is_file():
            return Path(regular_name), Path(bold_name) if Path(bold_name).is_file() else None
    return None


def use_fonts(pdf: Any, chosen: tuple[Path, Path | None] | None) -> tuple[str, Callable[[object], str], bool]:
    """Register the Unicode font (if one was found) on an fpdf2 document.

    Returns the font family, the filter every text goes through (characters the
    font lacks become "?"; without a Unicode font, text is folded to Latin-1),
    and whether the document is degraded to that fallback.
    """
    from fpdf.fonts import TTFFont

    if chosen is not None:
        family = "TipboxSans"
        pdf.add_font(family, "", str(chosen[0]))
        pdf.add_font(family, "B", str(chosen[1] or chosen[0]))
        ttf = pdf.fonts[family.lower()]
        assert isinstance(ttf, TTFFont)  # add_font registered a TrueType font under that name
        cmap = ttf.cmap

        def covered(value: object) -> str:
            return "".join(ch if ch == "\n" or ord(ch) in cmap else "?" for ch in str(value))

        return family, covered, False

    def latin(value: object) -> str:
        decomposed = unicodedata.normalize("NFKD", str(value))
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        return folded.encode("latin-1", "replace").decode("latin-1")

    return "Helvetica", latin, True


def render_pdf(
    packet: Packet,
    *,
    compress: bool = True,
    font: tuple[Path, Path | None] | None = None,
    use_system_font: bool = True,
) -> bytes:
    from fpdf import FPDF

    lang = packet["lang"]
    chosen = font if font is not None else (find_font() if use_system_font else None)

    class Packet(FPDF):
        def header(self) -> None:
            self.set_font(family, "B", 9)
            self.set_text_color(180, 0, 0)
            self.cell(0, 5, f"{MARKING} · {packet['case_reference']}", align="R", new_x="LMARGIN", new_y="NEXT")
            self.set_text_color(0, 0, 0)
            self.ln(2)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(family, "", 8)
            self.set_text_color(180, 0, 0)
            self.cell(0, 5, f"{MARKING} · {t('page', lang)} {self.page_no()}/{{nb}}", align="C")
            self.set_text_color(0, 0, 0)

    pdf = Packet(format="A4")
    pdf.compress = compress
    pdf.set_title(f"{MARKING} {packet['case_reference']}")
    pdf.set_creator("tipbox-review")
    pdf.set_producer("tipbox-review")
    pdf.set_margins(18, 15, 18)
    pdf.set_auto_page_break(True, margin=18)
    family, text, degraded = use_fonts(pdf, chosen)

    width = pdf.epw

    def heading(label: str) -> None:
        pdf.ln(2)
        pdf.set_font(family, "B", 12)
        pdf.multi_cell(width, 6, text(label), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    def para(value: object, size: int = 10, bold: bool = False) -> None:
        pdf.set_font(family, "B" if bold else "", size)
        pdf.multi_cell(width, 5, text(value), new_x="LMARGIN", new_y="NEXT")

    def bullet(value: object) -> None:
        pdf.set_font(family, "", 10)
        pdf.multi_cell(width, 5, text(f"- {value}"), new_x="LMARGIN", new_y="NEXT")

    unknown = t("unknown", lang)
    pdf.add_page()
    pdf.set_font(family, "B", 18)
    pdf.set_text_color(180, 0, 0)
    pdf.multi_cell(
        width, 9, text(f"{MARKING}: {t('title', lang)} {packet['case_reference']}"), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_text_color(0, 0, 0)
    para(t("marking", lang), bold=True)
    if degraded:
        para("(Unicode font not found: some characters may be simplified; the Markdown/JSON packet is exact.)", 8)
    pdf.ln(2)
    for key, value in (
        ("case", packet["case_reference"]),
        ("date", packet["created"]),
        ("to", f"{packet['agency']['code']}: {packet['agency']['name']}"),
        ("contact", f"{packet['agency']['contact']} ({t('contact_check', lang)})"),
    ):
        para(f"{t(key, lang)}: {value}")

    heading(f"1. {t('s_category', lang)}")
    para(f"{packet['category']['code']}: {packet['category']['name']}", bold=True)
    for line in packet["legal_basis"]:
        bullet(line)
    para(packet["legal_note"], 9)

    heading(f"2. {t('s_priority', lang)}")
    pr = packet["priority"]
    para(f"{pr['code']} {pr['name']}: {pr['meaning']}. {t('refer_within', lang)}: {pr['within']}.", bold=True)
    para(f"{t('reason', lang)}: {pr['reason'] or unknown}")
    if packet["danger"]:
        para(f"{t('danger', lang)}:")
        for d in packet["danger"]:
            bullet(d["text"])

    heading(f"3. {t('s_chronology', lang)}")
    ch = packet["chronology"]
    bullet(f"{t('received', lang)}: {ch['received']}")
    bullet(f"{t('when', lang)}: {ch['when'] or unknown}")
    bullet(f"{t('ongoing', lang)}: {ch['ongoing']['text'] if ch['ongoing'] else unknown}")
    bullet(f"{t('how_known', lang)}: {ch['how_known']['text'] if ch['how_known'] else unknown}")
    for earlier in ch["earlier_referrals"]:
        bullet(f"{t('earlier', lang)}: {earlier['at']}, {earlier['to']} ({earlier['name']})")
    para(f"{t('description', lang)}:", bold=True)
    para(ch["description"] or unknown)

    heading(f"4. {t('s_region', lang)}")
    for region in packet["region"] or [{"code": unknown, "name": None}]:
        bullet(f"{region['code']} {region['name'] or ''}".strip())
    bullet(f"{t('place', lang)}: {packet['place'] or unknown}")

    heading(f"5. {t('s_people', lang)}")
    v = packet["victims"]
    bullet(f"{t('victims_count', lang)}: {v['count'] if v['count'] is not None else unknown}")
    bullet(f"{t('victims_age', lang)}: {v['age_band']['text'] if v['age_band'] else unknown}")
    bullet(f"{t('victims_nat', lang)}: {v['nationality'] or unknown}")
    para(f"{t('responsible', lang)}:", bold=True)
    para(packet["perpetrators"]["description"] or unknown)
    para(f"{t('online', lang)}:", bold=True)
    for place in packet["online_places"] or [unknown]:
        bullet(place)

    heading(f"6. {t('s_evidence', lang)}")
    if packet["evidence"]:
        for e in packet["evidence"]:
            kind = f" ({t('kind', lang)}: {e['kind']})" if e["kind"] else ""
            para(f"{t('attachment', lang)} {e['n']}: {e['type']}{kind}, {e['size']} {t('bytes', lang)}")
            if e["classification"]:
                para(f"{t('class', lang)}: {e['classification']['code']}: {e['classification']['text']}", 9, bold=True)
            para(f"SHA-256: {e['sha256']}", 8)
            for label, digest in (("SHA-1", e["sha1"]), ("MD5", e["md5"]), ("PDQ", e["pdq"])):
                if digest:
                    para(f"{label}: {digest}", 8)
        para(packet["evidence_note"], 9)
    else:
        para(t("no_evidence", lang))

    heading(f"7. {t('s_safety', lang)}")
    for note in packet["safety_notes"]:
        bullet(note)

    heading(f"8. {t('s_lpsk', lang)}")
    lp = packet["lpsk"]
    para(lp["summary"] + (": " + "; ".join(lp["reasons"]) + "." if lp["reasons"] else ""), bold=True)
    para(f"{lp['law']}. LPSK: {lp['contact']}.", 9)

    heading(f"9. {t('s_source', lang)}")
    para(packet["source_contact_note"])
    if packet["source_contact"]:
        para(packet["source_contact"], bold=True)
    return bytes(pdf.output())
