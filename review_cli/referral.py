"""Referral packets: what a reviewer sends the agency that must act (DOMAIN.md).

One packet is built as data (:func:`build_packet`) and written as Markdown,
JSON or PDF (:mod:`review_cli.pdf`). It holds the case reference, category and
indicative legal basis, priority and why, chronology, region codes and names,
victims and perpetrators as the source described them, the evidence list with
the SHA-256 of each file as submitted, safety notes, whether LPSK protection
should be considered, the receiving agency and its contact, and the RAHASIA
marking. It never holds the source's contact unless the tip's
``contact_consent`` is true, nor the source's file names (they can identify a
person), nor the reviewer's triage notes.

Source text is untrusted: control characters are removed, and in Markdown it
is escaped or fenced so it cannot add links, images or HTML to the packet.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from crypto import regions as region_data
from crypto.payload import Answers, TipDocument
from crypto.vocabulary import CHILD_AGE_BANDS, Category, Danger, HowKnown
from crypto.vocabulary import Priority as PriorityCode

from .taxonomy import (
    AGE_BANDS,
    AGENCIES,
    CATEGORIES,
    DANGER,
    HOW_KNOWN,
    LEGAL_BASIS,
    LEGAL_NOTE,
    LPSK_LAW,
    MATERIAL_CLASSES,
    ONGOING,
    PRIORITIES,
    Term,
)
from .triage_record import HistoryItem, Triage
from .workspace import TipMeta, iso

if TYPE_CHECKING:
    from .evidence import Evidence as EvidenceReport

PACKET_TYPE = "tipbox-referral"
PACKET_VERSION = 1
MARKING = "RAHASIA"
FORMATS = ("md", "json", "pdf")



class TermText(TypedDict):
    code: str
    text: str


class Named(TypedDict):
    code: str
    name: str


class AgencyText(Named):
    contact: str


class PriorityText(Named):
    within: str
    meaning: str
    reason: str | None


class EarlierReferral(TypedDict):
    at: str
    to: str
    name: str


class Chronology(TypedDict):
    received: str
    when: str | None
    ongoing: TermText | None
    how_known: TermText | None
    description: str | None
    earlier_referrals: list[EarlierReferral]


class RegionText(TypedDict):
    code: str
    name: str | None


class Victims(TypedDict):
    count: int | None
    age_band: TermText | None
    nationality: str | None


class Perpetrators(TypedDict):
    description: str | None


class Evidence(TypedDict):
    """One file of the evidence list: hashes an agency can match, never the file itself."""

    n: int
    type: str  # the media type the source's browser declared
    kind: str | None  # what the content is (review_cli/kinds.py); None when the packet was built without it
    size: int
    sha256: str
    sha1: str | None
    md5: str | None
    pdq: str | None  # images: PDQ perceptual hash, 64 hex digits
    classification: TermText | None  # the reviewer's ICCAM-like class (triage --attachment N --class)


class Lpsk(TypedDict):
    consider: bool
    summary: str
    reasons: list[str]
    law: str
    contact: str


class Packet(TypedDict):
    """A referral packet as data: written as JSON exactly as it is, and as Markdown or PDF."""

    type: str
    v: int
    marking: str
    case_reference: str
    created: str
    lang: str
    agency: AgencyText
    category: Named
    legal_basis: list[str]
    legal_note: str
    priority: PriorityText
    danger: list[TermText]
    chronology: Chronology
    region: list[RegionText]
    place: str | None
    victims: Victims
    perpetrators: Perpetrators
    online_places: list[str]
    evidence: list[Evidence]
    evidence_note: str
    safety_notes: list[str]
    lpsk: Lpsk
    source_contact: str | None
    source_contact_note: str


L: dict[str, tuple[str, str]] = {
    "title": ("Paket Rujukan", "Referral packet"),
    "marking": (
        "RAHASIA: hanya untuk lembaga penerima; jangan diteruskan tanpa dasar hukum.",
        "RAHASIA (CONFIDENTIAL): for the receiving agency only; do not forward without a legal basis.",
    ),
    "case": ("Nomor rujukan", "Case reference"),
    "date": ("Tanggal rujukan", "Date of referral"),
    "to": ("Kepada", "To"),
    "contact": ("Kontak lembaga", "Agency contact"),
    "contact_check": ("Periksa kembali kontak sebelum mengirim.", "Check the contact details before sending."),
    "s_category": ("Kategori dan dasar hukum", "Category and legal basis"),
    "s_priority": ("Prioritas dan alasannya", "Priority and why"),
    "refer_within": ("Rujuk dalam", "Refer within"),
    "reason": ("Alasan", "Reason"),
    "danger": ("Tanda bahaya dari pelapor", "Danger signs ticked by the source"),
    "s_chronology": ("Kronologi", "Chronology"),
    "received": ("Laporan diterima (dibulatkan ke jam, UTC)", "Tip received (rounded to the hour, UTC)"),
    "when": ("Waktu kejadian menurut pelapor", "When, according to the source"),
    "ongoing": ("Masih berlangsung", "Still happening"),
    "how_known": ("Cara pelapor mengetahui", "How the source knows"),
    "description": ("Uraian pelapor", "The source's account"),
    "earlier": ("Rujukan sebelumnya", "Earlier referrals"),
    "s_region": ("Wilayah", "Region"),
    "place": ("Tempat (uraian pelapor)", "Place (source's words)"),
    "s_people": ("Korban dan terduga pelaku (sebagaimana dilaporkan)", "Victims and perpetrators (as described)"),
    "victims_count": ("Jumlah korban", "Number of victims"),
    "victims_age": ("Usia korban", "Age of victims"),
    "victims_nat": ("Kewarganegaraan korban", "Nationality of victims"),
    "responsible": ("Terduga pelaku / pihak yang bertanggung jawab", "Suspected perpetrators / those responsible"),
    "online": ("Tempat daring (URL, akun, nomor telepon)", "Online places (URLs, accounts, phone numbers)"),
    "s_evidence": ("Daftar bukti", "Evidence"),
    "evidence_note": (
        "SHA-256, SHA-1 dan MD5 dihitung atas berkas sebagaimana dikirim pelapor; PDQ adalah hash perseptual "
        "gambar (Meta PDQ, 256 bit) untuk dicocokkan dengan daftar hash. Paket ini tidak memuat berkasnya. Nama "
        "berkas asli tidak dicantumkan untuk melindungi pelapor. Salinan yang metadatanya dihapus memiliki hash "
        "lain. Klasifikasi mengikuti kelas ICCAM dan merupakan penilaian awal peninjau.",
        "SHA-256, SHA-1 and MD5 of each file as the source submitted it; PDQ is an image's perceptual hash "
        "(Meta's PDQ, 256 bits) for matching against hash lists. This packet never contains the files. Original "
        "file names are left out to protect the source. Copies with metadata removed have other hashes. Classes "
        "follow ICCAM's and are the reviewer's first assessment.",
    ),
    "kind": ("Jenis (dari isi)", "Kind (from content)"),
    "class": ("Klasifikasi", "Class"),
    "no_evidence": ("Tidak ada lampiran.", "No attachments."),
    "attachment": ("Lampiran", "Attachment"),
    "bytes": ("bita", "bytes"),
    "s_safety": ("Catatan keselamatan", "Safety notes"),
    "s_lpsk": ("Perlindungan LPSK", "LPSK protection"),
    "lpsk_yes": ("Perlu dipertimbangkan", "Should be considered"),
    "lpsk_no": (
        "Tidak ada indikasi khusus; nilai kembali bila muncul ancaman terhadap saksi atau korban.",
        "No specific indication; reassess if witnesses or victims are threatened.",
    ),
    "s_source": ("Kontak pelapor", "Source contact"),
    "source_none": (
        "Pelapor anonim. Identitas pelapor tidak diketahui dan tidak boleh dicari.",
        "The source is anonymous. Their identity is unknown and must not be sought.",
    ),
    "source_consent": (
        "Pelapor memberikan kontak berikut dan menyetujui untuk dihubungi. Gunakan hanya untuk tindak lanjut "
        "perkara ini; jangan pernah diungkapkan kepada pihak lain.",
        "The source gave this contact and agreed to be contacted. Use it only to follow up this case; never "
        "disclose it to anyone else.",
    ),
    "unknown": ("tidak diketahui", "not known"),
    "page": ("Halaman", "Page"),
    "generated": ("Dibuat dengan tipbox-review", "Made with tipbox-review"),
}


def t(key: str, lang: str) -> str:
    return L[key][0 if lang == "id" else 1]


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(value: object) -> str | None:
    """Source text without control or bidi-format characters (newlines and tabs kept)."""
    if not isinstance(value, str):
        return None
    text = _CONTROL.sub("", value)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cf")
    return text.strip() or None


def _term(table: Mapping[str, Term], code: str | None, lang: str) -> TermText | None:
    if not code:
        return None
    term = table.get(code)
    return {"code": code, "text": term.name(lang) if term else clean(code) or "?"}


def _evidence(
    document: TipDocument, current: Triage, items: Sequence[EvidenceReport] | None, lang: str
) -> list[Evidence]:
    classes = current.class_of()
    if items is None:
        return [
            {"n": n, "type": clean(a.media_type) or "application/octet-stream", "kind": None, "size": a.size,
             "sha256": a.sha256, "sha1": None, "md5": None, "pdq": None,
             "classification": _term(MATERIAL_CLASSES, classes.get(a.id), lang)}
            for n, a in enumerate(document.attachments, 1)
        ]
    return [
        {
            "n": item.number,
            "type": clean(item.declared_type) or "application/octet-stream",
            "kind": item.kind.code,
            "size": item.hashes.size,
            "sha256": item.hashes.sha256,
            "sha1": item.hashes.sha1,
            "md5": item.hashes.md5,
            "pdq": item.pdq,
            "classification": _term(MATERIAL_CLASSES, classes.get(item.attachment_id), lang),
        }
        for item in items
    ]


def case_reference(tip_id: str) -> str:
    return f"TB-{tip_id[:8].upper()}"


def _is_child_case(category: str, answers: Answers) -> bool:
    return category.startswith("ANAK-") or answers.victims_age_band in CHILD_AGE_BANDS


def _safety_notes(category: str, answers: Answers, consent: bool, has_evidence: bool, lang: str) -> list[str]:
    i = 0 if lang == "id" else 1
    notes = [
        (
            "Pelapor anonim: jangan mencoba mengidentifikasi, melacak, atau menghubungi pelapor"
            + (" selain melalui kontak yang ia berikan." if consent else "."),
            "The source is anonymous: do not try to identify, trace or contact them"
            + (" other than through the contact they gave." if consent else "."),
        ),
        (
            "Jangan memberi tahu terduga pelaku, anggota keluarga atau majikan yang mungkin terlibat, atau tokoh "
            "setempat yang dekat dengan mereka, bahwa ada laporan.",
            "Do not let suspected perpetrators, family members or employers who may be involved, or local figures "
            "close to them, learn that a report exists.",
        ),
        (
            "Utamakan keselamatan korban: jangan mendatangi lokasi atau menghadapi terduga pelaku dengan cara yang "
            "mengungkap adanya laporan sebelum korban aman.",
            "Put the victims' safety first: do not visit the place or confront suspects in a way that reveals a "
            "report was made before the victims are safe.",
        ),
        (
            "Isi laporan berasal dari satu sumber anonim dan belum diverifikasi; periksa secara mandiri sebelum "
            "bertindak.",
            "The content comes from one anonymous source and is unverified; check it independently before acting.",
        ),
    ]
    if _is_child_case(category, answers):
        notes.append(
            (
                "Identitas anak wajib dirahasiakan. Wawancarai anak hanya dengan pendamping dan prosedur ramah anak "
                "(UPTD PPA, psikolog); hindari pemeriksaan berulang.",
                "A child's identity must be kept confidential. Interview children only with a companion and "
                "child-friendly procedures (UPTD PPA, psychologist); avoid repeated questioning.",
            )
        )
    if category in (Category.ANAK_DARING, Category.ANAK_ESKA, Category.ANAK_KS) and has_evidence:
        notes.append(
            (
                "Jangan menyebarkan, meneruskan, atau menyimpan salinan materi kekerasan seksual anak di luar jalur "
                "pembuktian resmi.",
                "Do not share, forward or keep copies of child sexual abuse material outside the formal evidence "
                "chain.",
            )
        )
    if answers.online_places:
        notes.append(
            (
                "Jangan berinteraksi dengan akun, nomor, atau situs yang disebut dengan cara yang dapat memperingatkan "
                "pelaku (mengirim pesan, mengikuti, melapor secara terbuka).",
                "Do not interact with the accounts, numbers or sites named in a way that could alert the "
                "perpetrators (messaging, following, public reports).",
            )
        )
    if category == Category.TPPO_PMI or Danger.LEAVING_SOON in answers.danger:
        notes.append(
            (
                "Bila keberangkatan atau pemindahan sudah dekat, koordinasikan dengan Imigrasi dan BP2MI untuk "
                "mencegahnya tanpa mengungkap sumber informasi.",
                "If a departure or transfer is imminent, coordinate with Immigration and BP2MI to stop it without "
                "revealing the source of the information.",
            )
        )
    return [n[i] for n in notes]


def _lpsk(category: str, priority: str, answers: Answers, targets: Sequence[str], lang: str) -> Lpsk:
    i = 0 if lang == "id" else 1
    reasons: list[tuple[str, str]] = []
    if answers.danger:
        reasons.append(("pelapor menandai tanda bahaya", "the source ticked danger signs"))
    if answers.how_known == HowKnown.VICTIM:
        reasons.append(("pelapor menyatakan dirinya korban", "the source says they are the victim"))
    if priority == PriorityCode.P1:
        reasons.append(("prioritas darurat", "emergency priority"))
    if category.startswith("TPPO-") or category in (
        Category.ANAK_KS,
        Category.ANAK_ESKA,
        Category.ANAK_DARING,
        Category.ANAK_JUAL,
    ):
        reasons.append(
            (
                "kategori ini termasuk tindak pidana yang saksi dan korbannya dapat dilindungi LPSK",
                "witnesses and victims of this kind of crime can be protected by LPSK",
            )
        )
    if "LPSK" in targets:
        reasons.append(("peninjau telah merujuk ke LPSK", "the reviewer referred the case to LPSK"))
    return {
        "consider": bool(reasons),
        "summary": t("lpsk_yes", lang) if reasons else t("lpsk_no", lang),
        "reasons": [r[i] for r in reasons],
        "law": LPSK_LAW[i],
        "contact": AGENCIES["LPSK"].contact(lang),
    }


def build_packet(
    tip_id: str,
    meta: TipMeta,
    document: TipDocument,
    current: Triage,
    history: Sequence[HistoryItem],
    agency_code: str,
    lang: str,
    now: datetime,
    items: Sequence[EvidenceReport] | None = None,
) -> Packet:
    """The packet as data. ``items`` (review_cli/evidence.py) add each file's kind, SHA-1, MD5, PDQ and class;
    without them the evidence list has the manifest's type, size and SHA-256 only."""
    answers = document.answers
    category = current.category or answers.category
    assert category is not None and current.priority is not None  # triage.require_referable checked both
    priority = PRIORITIES[current.priority]
    agency = AGENCIES[agency_code]
    i = 0 if lang == "id" else 1
    regions = region_data.load()
    region_codes = list(current.regions)
    if not region_codes:
        fallback = clean(answers.regency) or clean(answers.province)
        if fallback and region_data.valid_code(fallback):
            region_codes = [fallback]
    consent = answers.contact_consent and bool(clean(answers.contact))
    evidence = _evidence(document, current, items, lang)
    earlier: list[EarlierReferral] = []
    for h in history:  # the first referral to each other agency, so the receiver knows who else acts
        to = h.referral.to if h.referral is not None else None
        if to in AGENCIES and to != agency_code and all(e["to"] != to for e in earlier):
            earlier.append({"at": h.at, "to": to, "name": AGENCIES[to].name(lang)})
    return {
        "type": PACKET_TYPE,
        "v": PACKET_VERSION,
        "marking": MARKING,
        "case_reference": case_reference(tip_id),
        "created": iso(now),
        "lang": lang,
        "agency": {"code": agency.code, "name": agency.name(lang), "contact": agency.contact(lang)},
        "category": {"code": category, "name": CATEGORIES[category].name(lang)},
        "legal_basis": [entry[i] for entry in LEGAL_BASIS[category]],
        "legal_note": LEGAL_NOTE[i],
        "priority": {
            "code": priority.code,
            "name": priority.name(lang),
            "within": priority.within(lang),
            "meaning": priority.meaning(lang),
            "reason": clean(current.priority_reason),
        },
        "danger": [term for term in (_term(DANGER, d, lang) for d in answers.danger) if term is not None],
        "chronology": {
            "received": meta.received,
            "when": clean(answers.when),
            "ongoing": _term(ONGOING, answers.ongoing, lang),
            "how_known": _term(HOW_KNOWN, answers.how_known, lang),
            "description": clean(answers.description),
            "earlier_referrals": earlier,
        },
        "region": [{"code": c, "name": regions.describe(c).partition(" ")[2] or None} for c in region_codes],
        "place": clean(answers.place),
        "victims": {
            "count": answers.victims_count,
            "age_band": _term(AGE_BANDS, answers.victims_age_band, lang),
            "nationality": clean(answers.victims_nationality),
        },
        "perpetrators": {"description": clean(answers.responsible)},
        "online_places": [c for c in (clean(p) for p in answers.online_places) if c],
        "evidence": evidence,
        "evidence_note": t("evidence_note", lang),
        "safety_notes": _safety_notes(category, answers, consent, bool(evidence), lang),
        "lpsk": _lpsk(category, priority.code, answers, current.targets, lang),
        "source_contact": clean(answers.contact) if consent else None,
        "source_contact_note": t("source_consent" if consent else "source_none", lang),
    }


def to_json(packet: Packet) -> bytes:
    return json.dumps(packet, ensure_ascii=False, indent=2).encode() + b"\n"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~&:])")


def md_inline(text: str | None, lang: str) -> str:
    if not text:
        return f"_{t('unknown', lang)}_"
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def md_block(text: str | None, lang: str) -> str:
    """Untrusted multi-line text in a fence no backtick/tilde run inside it can close."""
    if not text:
        return f"_{t('unknown', lang)}_"
    longest = max((len(m) for m in re.findall(r"~+", text)), default=0)
    fence = "~" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def to_markdown(packet: Packet) -> str:
    lang = packet["lang"]
    p = packet
    out: list[str] = []
    add = out.append
    add(f"# {MARKING}: {t('title', lang)} {p['case_reference']}")
    add("")
    add(f"**{t('marking', lang)}**")
    add("")
    add("| | |\n|---|---|")
    add(f"| {t('case', lang)} | {p['case_reference']} |")
    add(f"| {t('date', lang)} | {p['created']} |")
    add(f"| {t('to', lang)} | {p['agency']['code']}: {p['agency']['name']} |")
    add(f"| {t('contact', lang)} | {p['agency']['contact']} ({t('contact_check', lang)}) |")
    add("")
    add(f"## 1. {t('s_category', lang)}")
    add("")
    add(f"**{p['category']['code']}**: {p['category']['name']}")
    add("")
    out.extend(f"- {line}" for line in p["legal_basis"])
    add("")
    add(f"_{p['legal_note']}_")
    add("")
    add(f"## 2. {t('s_priority', lang)}")
    add("")
    pr = p["priority"]
    add(f"**{pr['code']} {pr['name']}**: {pr['meaning']}. {t('refer_within', lang)}: **{pr['within']}**.")
    add("")
    add(f"{t('reason', lang)}:")
    add("")
    add(md_block(pr["reason"], lang))
    if p["danger"]:
        add("")
        add(f"{t('danger', lang)}:")
        add("")
        out.extend(f"- **{d['text']}**" for d in p["danger"])
    add("")
    add(f"## 3. {t('s_chronology', lang)}")
    add("")
    ch = p["chronology"]
    add(f"- {t('received', lang)}: {ch['received']}")
    add(f"- {t('when', lang)}: {md_inline(ch['when'], lang)}")
    add(f"- {t('ongoing', lang)}: {ch['ongoing']['text'] if ch['ongoing'] else md_inline(None, lang)}")
    add(f"- {t('how_known', lang)}: {ch['how_known']['text'] if ch['how_known'] else md_inline(None, lang)}")
    for earlier in ch["earlier_referrals"]:
        add(f"- {t('earlier', lang)}: {earlier['at']}, {earlier['to']} ({earlier['name']})")
    add("")
    add(f"{t('description', lang)}:")
    add("")
    add(md_block(ch["description"], lang))
    add("")
    add(f"## 4. {t('s_region', lang)}")
    add("")
    if p["region"]:
        out.extend(f"- {r['code']}{' ' + r['name'] if r['name'] else ''}" for r in p["region"])
    else:
        add(f"- {md_inline(None, lang)}")
    add(f"- {t('place', lang)}: {md_inline(p['place'], lang)}")
    add("")
    add(f"## 5. {t('s_people', lang)}")
    add("")
    v = p["victims"]
    add(f"- {t('victims_count', lang)}: {v['count'] if v['count'] is not None else md_inline(None, lang)}")
    add(f"- {t('victims_age', lang)}: {v['age_band']['text'] if v['age_band'] else md_inline(None, lang)}")
    add(f"- {t('victims_nat', lang)}: {md_inline(v['nationality'], lang)}")
    add("")
    add(f"{t('responsible', lang)}:")
    add("")
    add(md_block(p["perpetrators"]["description"], lang))
    add("")
    add(f"{t('online', lang)}:")
    add("")
    add(md_block("\n".join(p["online_places"]) or None, lang))
    add("")
    add(f"## 6. {t('s_evidence', lang)}")
    add("")
    if p["evidence"]:
        add(
            f"| # | {t('attachment', lang)} | {t('kind', lang)} | {t('bytes', lang)} | {t('class', lang)} | SHA-256 |"
            "\n|---|---|---|---|---|---|"
        )
        for e in p["evidence"]:
            cls = e["classification"]
            add(
                f"| {e['n']} | {md_inline(e['type'], lang)} | {e['kind'] or '-'} | {e['size']} | "
                f"{cls['code'] + ': ' + cls['text'] if cls else '-'} | `{e['sha256']}` |"
            )
        add("")
        for e in p["evidence"]:
            extra = [f"SHA-1 `{e['sha1']}`" if e["sha1"] else "", f"MD5 `{e['md5']}`" if e["md5"] else "",
                     f"PDQ `{e['pdq']}`" if e["pdq"] else ""]
            if any(extra):
                add(f"- {e['n']}: " + ", ".join(x for x in extra if x))
        add("")
        add(f"_{p['evidence_note']}_")
    else:
        add(t("no_evidence", lang))
    add("")
    add(f"## 7. {t('s_safety', lang)}")
    add("")
    out.extend(f"- {note}" for note in p["safety_notes"])
    add("")
    add(f"## 8. {t('s_lpsk', lang)}")
    add("")
    lp = p["lpsk"]
    add(f"**{lp['summary']}**" + (f": {'; '.join(lp['reasons'])}." if lp["reasons"] else ""))
    add("")
    add(f"{lp['law']}. LPSK: {lp['contact']}.")
    add("")
    add(f"## 9. {t('s_source', lang)}")
    add("")
    add(p["source_contact_note"])
    if p["source_contact"]:
        add("")
        add(md_block(p["source_contact"], lang))
    add("")
    add(f"**{MARKING}**: {t('generated', lang)}, {p['case_reference']}")
    return "\n".join(out) + "\n"
