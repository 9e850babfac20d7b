"""The triage vocabulary (../shared/DOMAIN.md): categories, priorities, statuses,
referral agencies, hold reasons, the legal basis per category, and the words
used to show a tip's answers, each in Bahasa Indonesia and English.

Everything here is data. Codes are what the workspace, the referral packet and
the dispositions file store; names are only for people. The codes that cross
the air gap (statuses, hold reasons, agency kinds) are crypto/dispositions.py's,
shared with the server; this module only names them. The agency codes are
the project's own (DOMAIN.md leaves them to us). The legal references are
indicative and deliberately conservative: the receiving agency makes the legal
assessment, and every packet says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from crypto.vocabulary import (
    AgeBand,
    AgencyKind,
    Category,
    Danger,
    HoldReason,
    HowKnown,
    Language,
    MaterialClass,
    Ongoing,
    Status,
    codes,
    worded,
)
from crypto.vocabulary import (
    Priority as PriorityCode,
)

LANGS = codes(Language)
HERE = "review_cli/taxonomy.py"


@dataclass(frozen=True)
class Term:
    code: str
    id: str
    en: str

    def name(self, lang: str) -> str:
        return self.id if lang == "id" else self.en


def _terms(kind: type[StrEnum], *terms: Term) -> dict[str, Term]:
    """Terms for every code of ``kind`` (see :func:`_complete`)."""
    return _complete(kind, {t.code: t for t in terms})


T = TypeVar("T")


def _complete(kind: type[StrEnum], table: dict[str, T]) -> dict[str, T]:
    """``table`` in crypto/vocabulary.py's order; importing fails loudly if a code has no term (or a term no code)."""
    return {code.value: term for code, term in worded(kind, table, HERE).items()}


def _named(kind: type[StrEnum], names: dict[str, tuple[str, str]]) -> dict[str, Term]:
    """Terms for a vocabulary's codes from their id/en names."""
    return _complete(kind, {code: Term(code, *pair) for code, pair in names.items()})


CATEGORIES = _terms(Category,
    Term("TPPO-SEKS", "Perdagangan orang untuk eksploitasi seksual", "Trafficking for sexual exploitation"),
    Term("TPPO-KERJA", "Perdagangan orang untuk kerja paksa", "Trafficking for forced labour"),
    Term("TPPO-PMI", "Penempatan pekerja migran non-prosedural", "Irregular placement of migrant workers"),
    Term("TPPO-ORGAN", "Perdagangan organ", "Organ trafficking"),
    Term("ANAK-JUAL", "Penjualan anak / adopsi ilegal", "Sale of children / illegal adoption"),
    Term("ANAK-EKO", "Eksploitasi ekonomi anak / pekerja anak", "Economic exploitation / child labour"),
    Term("ANAK-ESKA", "Eksploitasi seksual komersial anak", "Commercial sexual exploitation of children"),
    Term("ANAK-KS", "Kekerasan seksual terhadap anak", "Sexual violence against a child"),
    Term(
        "ANAK-DARING",
        "Eksploitasi seksual anak daring (konten, grooming, sekstorsi)",
        "Online child sexual exploitation (material, grooming, sextortion)",
    ),
    Term("ANAK-KAWIN", "Perkawinan anak", "Child marriage"),
    Term("ANAK-KEKERASAN", "Kekerasan fisik/psikis terhadap anak", "Physical/psychological violence against a child"),
    Term("ANAK-TELANTAR", "Penelantaran anak", "Child neglect"),
    Term("LAIN", "Lainnya", "Other"),
)


@dataclass(frozen=True)
class Priority(Term):
    within_id: str = ""
    within_en: str = ""
    meaning_id: str = ""
    meaning_en: str = ""

    def within(self, lang: str) -> str:
        return self.within_id if lang == "id" else self.within_en

    def meaning(self, lang: str) -> str:
        return self.meaning_id if lang == "id" else self.meaning_en


PRIORITIES: dict[str, Priority] = _complete(PriorityCode, {
    p.code: p
    for p in (
        Priority(
            "P1",
            "Darurat",
            "Emergency",
            "hari yang sama",
            "same day",
            "anak atau korban dalam bahaya langsung, kekerasan sedang berlangsung, keberangkatan/pemindahan segera",
            "a child or victim in immediate danger, ongoing abuse, imminent departure/transfer",
        ),
        Priority(
            "P2",
            "Tinggi",
            "High",
            "3 hari",
            "3 days",
            "eksploitasi berlangsung, korban/pelaku dapat diidentifikasi, tanpa bahaya langsung",
            "ongoing exploitation, identifiable victims/perpetrators, no immediate danger",
        ),
        Priority(
            "P3",
            "Sedang",
            "Medium",
            "14 hari",
            "14 days",
            "peristiwa lampau atau informasi sebagian yang layak diselidiki",
            "past events or partial information worth investigating",
        ),
        Priority(
            "P4",
            "Informasi",
            "Information",
            "dikumpulkan per kelompok",
            "when batched",
            "pola, perekrut, situs web; hanya untuk intelijen",
            "patterns, recruiters, websites; intelligence only",
        ),
    )
})

# The codes live in crypto/dispositions.py (they cross the air gap); only the names live here.
STATUSES = _named(
    Status,
    {
        "new": ("Baru", "New"),
        "in_review": ("Sedang ditinjau", "In review"),
        "referred": ("Dirujuk", "Referred"),
        "closed": ("Ditutup", "Closed"),
        "hold": ("Ditahan (retensi diperpanjang)", "On hold (kept past retention)"),
    },
)

# Why a tip is kept past the retention schedule. Only the code reaches the server.
HOLD_REASONS = _named(
    HoldReason,
    {
        "investigation": ("Penyidikan sedang berjalan", "Investigation in progress"),
        "prosecution": ("Proses peradilan", "Court proceedings"),
        "victim-support": ("Pendampingan korban masih berlangsung", "Victim support is ongoing"),
        "authority-request": ("Permintaan resmi lembaga berwenang", "Formal request from an authority"),
        "follow-up": ("Menunggu informasi lanjutan", "Awaiting follow-up information"),
    },
)

# The kind of agency a source may be told about on the status page (`triage --disclose`):
# never a name or an office, only one of these codes reaches the server.
AGENCY_KINDS = _named(
    AgencyKind,
    {
        "police": ("Kepolisian", "The police"),
        "child-protection": ("Layanan perlindungan anak", "A child protection service"),
        "victim-protection": ("Lembaga perlindungan saksi dan korban", "A witness and victim protection agency"),
        "social-services": ("Layanan sosial", "Social services"),
        "migrant-workers": ("Lembaga pelindungan pekerja migran", "A migrant worker protection agency"),
        "immigration": ("Imigrasi", "Immigration"),
        "online-content": ("Layanan penanganan konten daring", "An online content reporting service"),
        "anti-trafficking": ("Gugus tugas anti perdagangan orang", "An anti-trafficking task force"),
        "other": ("Lembaga lain", "Another agency"),
    },
)

# ICCAM-like classes of one attachment (`triage --attachment N --class CODE`).
MATERIAL_CLASSES = _named(
    MaterialClass,
    {
        "intl-illegal": (
            "Ilegal secara internasional (baseline ICCAM)",
            "Illegal internationally (ICCAM baseline)",
        ),
        "national-illegal": ("Ilegal menurut hukum Indonesia", "Illegal under Indonesian law"),
        "not-illegal": ("Tidak ilegal", "Not illegal"),
        "not-assessed": ("Belum dinilai", "Not assessed"),
    },
)


@dataclass(frozen=True)
class Agency(Term):
    contact_id: str = ""
    contact_en: str = ""
    kind: str = ""  # an AGENCY_KINDS code: what the source may be told (triage --disclose)

    def contact(self, lang: str) -> str:
        return self.contact_id if lang == "id" else self.contact_en


AGENCIES: dict[str, Agency] = {
    a.code: a
    for a in (
        Agency(
            "POLRI-PPA",
            "Polri: Unit PPA Satreskrim Polres/Polda setempat; Dittipid PPA-PPO Bareskrim Polri",
            "Indonesian National Police: PPA unit of the local Polres/Polda; PPA-PPO Directorate, Bareskrim",
            "Darurat 110 (atau 112). Kerja sama internasional (Interpol) hanya melalui NCB Polri.",
            "Emergency 110 (or 112). International cooperation (Interpol) only through Polri's NCB.",
            kind="police",
        ),
        Agency(
            "SAPA129",
            "KemenPPPA: layanan SAPA 129",
            "Ministry of Women's Empowerment and Child Protection: SAPA 129 service",
            "Telepon 129; WhatsApp 08111-129-129",
            "Phone 129; WhatsApp 08111-129-129",
            kind="child-protection",
        ),
        Agency(
            "UPTD-PPA",
            "UPTD PPA / Dinas P3A provinsi atau kabupaten/kota",
            "UPTD PPA / provincial or district women and child protection office",
            "UPTD PPA di wilayah kejadian (lihat bagian Wilayah)",
            "The UPTD PPA of the region concerned (see Region)",
            kind="child-protection",
        ),
        Agency(
            "KPAI",
            "Komisi Perlindungan Anak Indonesia (KPAI)",
            "Indonesian Child Protection Commission (KPAI)",
            "Layanan pengaduan KPAI (kpai.go.id)",
            "KPAI complaints service (kpai.go.id)",
            kind="child-protection",
        ),
        Agency(
            "LPSK",
            "Lembaga Perlindungan Saksi dan Korban (LPSK)",
            "Witness and Victim Protection Agency (LPSK)",
            "Call center 148 (lpsk.go.id)",
            "Call centre 148 (lpsk.go.id)",
            kind="victim-protection",
        ),
        Agency(
            "KEMENSOS",
            "Kementerian Sosial / Dinas Sosial (rumah aman, rehabilitasi)",
            "Ministry of Social Affairs / social services office (shelter, rehabilitation)",
            "Dinas Sosial di wilayah kejadian",
            "The social services office of the region concerned",
            kind="social-services",
        ),
        Agency(
            "IMIGRASI",
            "Direktorat Jenderal Imigrasi / Kantor Imigrasi",
            "Directorate General of Immigration / immigration office",
            "Kantor Imigrasi terdekat dengan wilayah kejadian atau tempat keberangkatan",
            "The immigration office nearest the region concerned or the place of departure",
            kind="immigration",
        ),
        Agency(
            "BP2MI",
            "BP2MI / KP2MI (pelindungan pekerja migran Indonesia)",
            "BP2MI / KP2MI (protection of Indonesian migrant workers)",
            "Layanan pengaduan 0800-1000",
            "Complaints line 0800-1000",
            kind="migrant-workers",
        ),
        Agency(
            "KEMNAKER",
            "Kementerian Ketenagakerjaan / Dinas Tenaga Kerja",
            "Ministry of Manpower / manpower office",
            "Dinas Tenaga Kerja di wilayah kejadian",
            "The manpower office of the region concerned",
            kind="migrant-workers",
        ),
        Agency(
            "GUGUS-TPPO",
            "Gugus Tugas Pencegahan dan Penanganan TPPO (provinsi/kabupaten/kota)",
            "Anti-trafficking task force (Gugus Tugas TPPO, province/district)",
            "Sekretariat Gugus Tugas TPPO setempat",
            "The local Gugus Tugas TPPO secretariat",
            kind="anti-trafficking",
        ),
        Agency(
            "KOMDIGI",
            "Kementerian Komunikasi dan Digital (Komdigi): aduan konten ilegal",
            "Ministry of Communication and Digital Affairs (Komdigi): illegal content reports",
            "aduankonten.id",
            "aduankonten.id",
            kind="online-content",
        ),
        Agency(
            "ECPAT-IWF",
            "ECPAT Indonesia / portal pelaporan IWF (materi kekerasan seksual anak)",
            "ECPAT Indonesia / IWF reporting portal (child sexual abuse material)",
            "ECPAT Indonesia; portal pelaporan IWF untuk Indonesia",
            "ECPAT Indonesia; the IWF reporting portal for Indonesia",
            kind="online-content",
        ),
        Agency(
            "IOM",
            "IOM Indonesia (bantuan bagi korban)",
            "IOM Indonesia (victim assistance)",
            "Kantor IOM Indonesia",
            "IOM Indonesia office",
            kind="victim-protection",
        ),
    )
}

if not all(agency.kind in AGENCY_KINDS for agency in AGENCIES.values()):
    raise RuntimeError("every agency in review_cli/taxonomy.py needs a kind from crypto/dispositions.py AGENCY_KINDS")

# Where a tip of each category usually goes first: a hint shown by `show`, never applied automatically.
SUGGESTED_AGENCIES: dict[str, tuple[str, ...]] = {
    "TPPO-SEKS": ("POLRI-PPA", "GUGUS-TPPO", "UPTD-PPA"),
    "TPPO-KERJA": ("POLRI-PPA", "GUGUS-TPPO", "KEMNAKER"),
    "TPPO-PMI": ("BP2MI", "IMIGRASI", "POLRI-PPA", "GUGUS-TPPO"),
    "TPPO-ORGAN": ("POLRI-PPA", "GUGUS-TPPO"),
    "ANAK-JUAL": ("POLRI-PPA", "UPTD-PPA", "SAPA129"),
    "ANAK-EKO": ("UPTD-PPA", "KEMNAKER", "POLRI-PPA"),
    "ANAK-ESKA": ("POLRI-PPA", "UPTD-PPA", "SAPA129"),
    "ANAK-KS": ("POLRI-PPA", "UPTD-PPA", "SAPA129"),
    "ANAK-DARING": ("POLRI-PPA", "KOMDIGI", "ECPAT-IWF"),
    "ANAK-KAWIN": ("UPTD-PPA", "SAPA129", "KPAI"),
    "ANAK-KEKERASAN": ("UPTD-PPA", "SAPA129", "POLRI-PPA"),
    "ANAK-TELANTAR": ("KEMENSOS", "UPTD-PPA"),
    "LAIN": ("SAPA129",),
}

_PTPPO = "UU 21/2007 tentang Pemberantasan Tindak Pidana Perdagangan Orang (PTPPO)"
_PTPPO_EN = "Law 21/2007 on the Eradication of the Crime of Trafficking in Persons (PTPPO)"
_PA = "UU 35/2014 tentang Perubahan atas UU 23/2002 tentang Perlindungan Anak"
_PA_EN = "Law 35/2014 amending Law 23/2002 on Child Protection"
_TPKS = "UU 12/2022 tentang Tindak Pidana Kekerasan Seksual (TPKS)"
_TPKS_EN = "Law 12/2022 on Sexual Violence Crimes (TPKS)"
_CHILD_17 = (
    f"{_PTPPO}, Pasal 17: ancaman pidana ditambah sepertiga bila korban anak",
    f"{_PTPPO_EN}, Article 17: penalty increased by one third if the victim is a child",
)

# (Bahasa Indonesia, English) per category. Indicative only: see LEGAL_NOTE.
LEGAL_BASIS: dict[str, tuple[tuple[str, str], ...]] = {
    "TPPO-SEKS": (
        (f"{_PTPPO}, Pasal 2", f"{_PTPPO_EN}, Article 2"),
        _CHILD_17,
        (
            f"{_TPKS}, Pasal 4 ayat (2) huruf g: perdagangan orang untuk eksploitasi seksual",
            f"{_TPKS_EN}, Article 4(2)(g): trafficking for sexual exploitation",
        ),
    ),
    "TPPO-KERJA": (
        (
            f"{_PTPPO}, Pasal 2 (eksploitasi termasuk kerja atau pelayanan paksa, perbudakan)",
            f"{_PTPPO_EN}, Article 2 (exploitation includes forced labour or services, slavery)",
        ),
        _CHILD_17,
    ),
    "TPPO-PMI": (
        (
            f"{_PTPPO}, Pasal 4: membawa WNI ke luar wilayah Indonesia dengan maksud dieksploitasi",
            f"{_PTPPO_EN}, Article 4: taking Indonesian citizens abroad to be exploited",
        ),
        (
            "UU 18/2017 tentang Pelindungan Pekerja Migran Indonesia (penempatan nonprosedural)",
            "Law 18/2017 on the Protection of Indonesian Migrant Workers (non-procedural placement)",
        ),
    ),
    "TPPO-ORGAN": (
        (
            f"{_PTPPO}, Pasal 2 (eksploitasi termasuk pengambilan atau transplantasi organ dan/atau jaringan tubuh)",
            f"{_PTPPO_EN}, Article 2 (exploitation includes removal or transplantation of organs and/or tissue)",
        ),
        (
            "UU 17/2023 tentang Kesehatan (larangan memperjualbelikan organ dan jaringan tubuh)",
            "Law 17/2023 on Health (prohibition of the sale of organs and body tissue)",
        ),
    ),
    "ANAK-JUAL": (
        (
            f"{_PA}, Pasal 76F jo. Pasal 83 (penculikan, penjualan dan/atau perdagangan anak)",
            f"{_PA_EN}, Article 76F with Article 83 (abduction, sale and/or trafficking of children)",
        ),
        (
            f"{_PTPPO}, Pasal 5 (pengangkatan anak dengan maksud eksploitasi) dan Pasal 6 (pengiriman anak)",
            f"{_PTPPO_EN}, Article 5 (adoption for the purpose of exploitation) and Article 6 (sending children)",
        ),
    ),
    "ANAK-EKO": (
        (
            f"{_PA}, Pasal 76I jo. Pasal 88 (eksploitasi ekonomi dan/atau seksual terhadap anak)",
            f"{_PA_EN}, Article 76I with Article 88 (economic and/or sexual exploitation of a child)",
        ),
        (
            "UU 13/2003 tentang Ketenagakerjaan, Pasal 68 dan Pasal 74 (larangan mempekerjakan anak; pekerjaan terburuk)",
            "Law 13/2003 on Manpower, Articles 68 and 74 (ban on employing children; worst forms of work)",
        ),
    ),
    "ANAK-ESKA": (
        (f"{_PA}, Pasal 76I jo. Pasal 88", f"{_PA_EN}, Article 76I with Article 88"),
        (
            f"{_TPKS}, Pasal 4 ayat (2) huruf c (eksploitasi seksual terhadap anak)",
            f"{_TPKS_EN}, Article 4(2)(c) (sexual exploitation of a child)",
        ),
        (
            f"{_PTPPO}, Pasal 2 dan Pasal 17, bila ada unsur perdagangan orang",
            f"{_PTPPO_EN}, Articles 2 and 17, where trafficking is involved",
        ),
    ),
    "ANAK-KS": (
        (
            f"{_PA}, Pasal 76D jo. Pasal 81 (persetubuhan) dan Pasal 76E jo. Pasal 82 (perbuatan cabul), "
            "sebagaimana diubah dengan UU 17/2016",
            f"{_PA_EN}, Article 76D with Article 81 (sexual intercourse) and Article 76E with Article 82 "
            "(indecent acts), as amended by Law 17/2016",
        ),
        (
            f"{_TPKS}, Pasal 4 ayat (2) huruf c (persetubuhan dan perbuatan cabul terhadap anak)",
            f"{_TPKS_EN}, Article 4(2)(c) (sexual intercourse with and indecent acts against a child)",
        ),
    ),
    "ANAK-DARING": (
        (
            "UU 44/2008 tentang Pornografi, Pasal 4 ayat (1) dan Pasal 11 (pornografi anak; melibatkan anak)",
            "Law 44/2008 on Pornography, Article 4(1) and Article 11 (child pornography; involving children)",
        ),
        (
            f"{_TPKS}, Pasal 14 (kekerasan seksual berbasis elektronik)",
            f"{_TPKS_EN}, Article 14 (electronic-based sexual violence)",
        ),
        (f"{_PA}, Pasal 76I jo. Pasal 88", f"{_PA_EN}, Article 76I with Article 88"),
        (
            "UU 11/2008 tentang Informasi dan Transaksi Elektronik sebagaimana diubah terakhir dengan UU 1/2024",
            "Law 11/2008 on Electronic Information and Transactions, as last amended by Law 1/2024",
        ),
    ),
    "ANAK-KAWIN": (
        (
            "UU 16/2019 tentang Perubahan atas UU 1/1974 tentang Perkawinan, Pasal 7 (usia minimal 19 tahun)",
            "Law 16/2019 amending Law 1/1974 on Marriage, Article 7 (minimum age 19)",
        ),
        (
            f"{_TPKS}, Pasal 10 (pemaksaan perkawinan, termasuk perkawinan anak)",
            f"{_TPKS_EN}, Article 10 (forced marriage, including child marriage)",
        ),
    ),
    "ANAK-KEKERASAN": (
        (
            f"{_PA}, Pasal 76C jo. Pasal 80 (kekerasan terhadap anak)",
            f"{_PA_EN}, Article 76C with Article 80 (violence against a child)",
        ),
        (
            "UU 23/2004 tentang Penghapusan Kekerasan dalam Rumah Tangga, bila terjadi dalam rumah tangga",
            "Law 23/2004 on the Elimination of Domestic Violence, if it happens within a household",
        ),
    ),
    "ANAK-TELANTAR": (
        (
            f"{_PA}, Pasal 76B jo. Pasal 77B (penelantaran anak)",
            f"{_PA_EN}, Article 76B with Article 77B (neglect of a child)",
        ),
    ),
    "LAIN": (
        (
            "Ditentukan oleh lembaga penerima setelah penilaian",
            "To be determined by the receiving agency after assessment",
        ),
    ),
}

LEGAL_NOTE = (
    "Dasar hukum bersifat indikatif menurut kategori; penilaian hukum akhir ada pada lembaga penerima.",
    "The legal basis is indicative, by category; the receiving agency makes the final legal assessment.",
)
LPSK_LAW = (
    "UU 31/2014 tentang Perubahan atas UU 13/2006 tentang Perlindungan Saksi dan Korban",
    "Law 31/2014 amending Law 13/2006 on the Protection of Witnesses and Victims",
)

# How the tip form's answers (crypto/FORMAT.md §3) read to a person.
DANGER = _terms(Danger,
    Term("danger_now", "Seseorang sedang dalam bahaya saat ini", "Someone is in danger right now"),
    Term(
        "leaving_soon",
        "Seseorang akan segera dibawa pergi atau dikirim ke luar negeri",
        "Someone is about to be taken away or sent abroad",
    ),
    Term("missing", "Seorang anak hilang", "A child is missing"),
    Term(
        "injured",
        "Seseorang terluka atau sakit dan tidak mendapat pertolongan",
        "Someone is injured or ill and not getting help",
    ),
    Term(
        "contact_now",
        "Seorang anak sedang dihubungi atau diancam secara daring saat ini",
        "A child is being contacted or threatened online right now",
    ),
)
ONGOING = _terms(Ongoing,
    Term("yes", "Ya, masih berlangsung", "Yes, it is still happening"),
    Term("no", "Tidak, sudah berhenti", "No, it has stopped"),
    Term("unknown", "Tidak tahu", "Not known"),
)
AGE_BANDS = _terms(AgeBand,
    Term("0-5", "Di bawah 6 tahun", "Under 6 years"),
    Term("6-12", "6 sampai 12 tahun", "6 to 12 years"),
    Term("13-17", "13 sampai 17 tahun", "13 to 17 years"),
    Term("adult", "Dewasa (18 tahun ke atas)", "Adult (18 or older)"),
    Term("mixed", "Anak-anak dan orang dewasa", "Children and adults"),
    Term("unknown", "Tidak tahu", "Not known"),
)
HOW_KNOWN = _terms(HowKnown,
    Term("saw", "Pelapor melihatnya sendiri", "The source saw it"),
    Term("told", "Pelapor diberi tahu orang lain", "The source was told"),
    Term("victim", "Pelapor sendiri yang mengalaminya", "It happened to the source"),
    Term("nearby", "Pelapor tinggal atau bekerja di dekat tempat itu", "The source lives or works nearby"),
    Term("online", "Pelapor melihatnya di internet", "The source saw it online"),
    Term("other", "Dengan cara lain", "Another way"),
)


def name_of(table: dict[str, Term], code: str | None, lang: str) -> str:
    """Name of ``code`` in ``table``, or the code itself marked unknown."""
    if code is None:
        return "-"
    term = table.get(code)
    return term.name(lang) if term else f"{code} (?)"
