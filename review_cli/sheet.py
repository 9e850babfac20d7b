"""The preview sheet: one PDF per tip that lets a reviewer assess attachments without opening them.

Per attachment: its number, its kind as the content says (and a warning
when the name or declared type disagrees), size, SHA-256, SHA-1 and MD5,
the PDQ hash of an image, the metadata found (capture time, device, GPS:
evidence, and a warning that it can locate a child or the source), its
classification if one was recorded, and the previews: small, greyscale and
strongly blurred (one sharp only when asked with ``--unblur N``), or why
there is none. The sheet is built in memory with fpdf2 (already the
referral PDF's library, review_cli/pdf.py) from raw pixels the decoder child
returned, and written once, to the reviewer's output directory.

Why previews look like this is docs/review.md, "Evidence and reviewer
wellbeing": the people who triage these tips should see as little abuse
material as the work needs, and never by accident.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from .evidence import Evidence, Preview
from .pdf import find_font, use_fonts
from .referral import MARKING, clean
from .taxonomy import MATERIAL_CLASSES
from .workspace import iso

if TYPE_CHECKING:
    from fpdf import FPDF

L: dict[str, tuple[str, str]] = {
    "title": ("Lembar pratinjau lampiran", "Attachment preview sheet"),
    "tip": ("Laporan", "Tip"),
    "made": ("Dibuat", "Made"),
    "care": (
        "Pratinjau sengaja kecil, abu-abu dan kabur: cukup untuk memilah, tidak untuk melihat detail. Jangan buka "
        "berkas asli kecuali pekerjaan memerlukannya (`attachments --original N`); untuk mencocokkan materi yang "
        "sudah dikenal, gunakan hash, bukan mata Anda. Istirahatlah bila perlu.",
        "Previews are deliberately small, greyscale and blurred: enough to triage, not to see details. Do not open "
        "an original unless the work needs it (`attachments --original N`); match known material by hash, not by "
        "eye. Take breaks when you need them.",
    ),
    "kind": ("Jenis (dari isi berkas)", "Kind (from the content)"),
    "size": ("Ukuran", "Size"),
    "bytes": ("bita", "bytes"),
    "name": ("Nama dari pelapor", "Name from the source"),
    "mismatch": ("PERINGATAN: nama/jenis tidak sesuai isi", "WARNING: name/type disagrees with the content"),
    "pdq": ("PDQ (hash perseptual)", "PDQ (perceptual hash)"),
    "quality": ("kualitas", "quality"),
    "class": ("Klasifikasi", "Classification"),
    "metadata": ("Metadata", "Metadata"),
    "gps_warning": (
        "Lokasi GPS dapat menunjukkan tempat anak atau pelapor: perlakukan sebagai bukti rahasia.",
        "A GPS fix can locate a child or the source: treat it as confidential evidence.",
    ),
    "no_preview": ("Tanpa pratinjau", "No preview"),
    "sharp": ("TAJAM (--unblur)", "SHARP (--unblur)"),
    "blurred": ("kabur", "blurred"),
    "none": ("tidak ada", "none"),
}
META_LABELS: dict[str, tuple[str, str]] = {
    "capture_time": ("waktu pengambilan", "capture time"),
    "device": ("perangkat", "device"),
    "software": ("perangkat lunak", "software"),
    "gps": ("GPS (lintang, bujur)", "GPS (latitude, longitude)"),
    "gps_altitude": ("ketinggian GPS", "GPS altitude"),
    "gps_time": ("waktu GPS", "GPS time"),
    "present": ("blok metadata", "metadata blocks"),
}


def _t(key: str, lang: str) -> str:
    return L[key][0 if lang == "id" else 1]


def meta_label(key: str, lang: str) -> str:
    pair = META_LABELS.get(key)
    return pair[0 if lang == "id" else 1] if pair else key


def render_sheet(
    tip_id: str, items: Sequence[Evidence], classes: Mapping[str, str], lang: str, now: datetime
) -> bytes:
    """The sheet as PDF bytes. ``classes`` maps attachment id to a material class code."""
    from fpdf import FPDF

    chosen = find_font()
    pdf = FPDF(format="A4")
    pdf.set_title(f"{MARKING} {_t('title', lang)} {tip_id[:8]}")
    pdf.set_creator("tipbox-review")
    pdf.set_producer("tipbox-review")
    pdf.set_margins(15, 12, 15)
    pdf.set_auto_page_break(True, margin=15)
    family, text, _degraded = use_fonts(pdf, chosen)

    width = pdf.epw

    def line(value: object, size: float = 9, bold: bool = False, red: bool = False) -> None:
        pdf.set_font(family, "B" if bold else "", size)
        if red:
            pdf.set_text_color(180, 0, 0)
        pdf.multi_cell(width, size * 0.5, text(value), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)

    pdf.add_page()
    line(f"{MARKING} · {_t('title', lang)}", 15, bold=True, red=True)
    line(f"{_t('tip', lang)} {tip_id} · {_t('made', lang)} {iso(now)}", 9)
    pdf.ln(1)
    line(_t("care", lang), 9)
    for item in items:
        pdf.ln(3)
        if pdf.get_y() > pdf.h - 90:
            pdf.add_page()
        heading = f"#{item.number} · {item.kind.code}" + (f" ({item.details})" if item.details else "")
        line(heading, 12, bold=True)
        line(f"{_t('name', lang)}: {clean(item.name) or '-'}", 8)
        if item.mismatch:
            line(f"{_t('mismatch', lang)}: {clean(item.mismatch)}", 9, bold=True, red=True)
        hashes = item.hashes
        line(f"{_t('size', lang)}: {hashes.size} {_t('bytes', lang)}", 9)
        line(f"SHA-256: {hashes.sha256}", 8)
        line(f"SHA-1: {hashes.sha1}", 8)
        line(f"MD5: {hashes.md5}", 8)
        if item.pdq:
            line(f"{_t('pdq', lang)}: {item.pdq} ({_t('quality', lang)} {item.pdq_quality})", 8)
        code = classes.get(item.attachment_id)
        if code:
            line(f"{_t('class', lang)}: {code}: {MATERIAL_CLASSES[code].name(lang)}", 9, bold=True)
        if item.metadata:
            line(f"{_t('metadata', lang)}:", 9, bold=True)
            for key, value in item.metadata.items():
                line(f"  {meta_label(key, lang)}: {clean(value) or '-'}", 8)
            if "gps" in item.metadata:
                line(_t("gps_warning", lang), 8, bold=True, red=True)
        if item.previews:
            _pictures(pdf, item.previews, item.sharp)
            line(_t("sharp", lang) if item.sharp else _t("blurred", lang), 7)
        else:
            line(f"{_t('no_preview', lang)}: {clean(item.problem) or _t('none', lang)}", 9, bold=True)
    return bytes(pdf.output())


def _pictures(pdf: FPDF, previews: Sequence[Preview], sharp: bool) -> None:
    """Previews side by side, each at most 55 mm (90 mm when sharp) on its longest side.

    Each is rebuilt from raw grey pixels whose size the parent checked (review_cli/evidence.py):
    no image file a decoder child produced is ever parsed here.
    """
    from PIL import Image
    box = 90.0 if sharp else 55.0
    x, y = pdf.l_margin, pdf.get_y() + 1
    tallest = 0.0
    for preview in previews:
        picture = Image.frombytes("L", (preview.width, preview.height), preview.pixels)
        scale = box / max(preview.width, preview.height)
        w, h = preview.width * scale, preview.height * scale
        if x + w > pdf.w - pdf.r_margin:
            x, y = pdf.l_margin, y + tallest + 2
            tallest = 0.0
        if y + h > pdf.h - pdf.b_margin:
            pdf.add_page()
            x, y, tallest = pdf.l_margin, pdf.get_y(), 0.0
        pdf.image(picture, x=x, y=y, w=w, h=h)
        pdf.set_draw_color(120, 120, 120)
        pdf.rect(x, y, w, h)  # a white page is still seen as a page
        x += w + 3
        tallest = max(tallest, h)
    pdf.set_xy(pdf.l_margin, y + tallest + 1)
