"""The codes every side of tipbox shares: the form's answers, triage, dispositions, messages.

The browser posts these codes, the server validates and stores some of them,
and the offline CLI reads them out of sealed documents and writes them into
dispositions files. They are defined here once, as ``StrEnum``s, so that a
code added on one side without the other is an import-time error instead of
a ``KeyError`` on a source's status page or a code a reviewer cannot name.

Only codes live here. Each side keeps its own wording: the server's through
gettext (tipbox/intake/fields.py, tipbox/status/service.py), the CLI's as
id/en terms (review_cli/taxonomy.py). Both build their tables with
:func:`worded`, which refuses a table that misses a code or names one that
does not exist. crypto/FORMAT.md points here rather than repeating the lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar


class Category(StrEnum):
    """What a tip is about (DOMAIN.md): the form's ``category`` answer and the reviewer's triage category."""

    ANAK_KS = "ANAK-KS"
    ANAK_DARING = "ANAK-DARING"
    ANAK_ESKA = "ANAK-ESKA"
    ANAK_JUAL = "ANAK-JUAL"
    ANAK_EKO = "ANAK-EKO"
    ANAK_KAWIN = "ANAK-KAWIN"
    ANAK_KEKERASAN = "ANAK-KEKERASAN"
    ANAK_TELANTAR = "ANAK-TELANTAR"
    TPPO_SEKS = "TPPO-SEKS"
    TPPO_KERJA = "TPPO-KERJA"
    TPPO_PMI = "TPPO-PMI"
    TPPO_ORGAN = "TPPO-ORGAN"
    LAIN = "LAIN"


class Danger(StrEnum):
    """The form's ``danger`` answer (several may be ticked)."""

    DANGER_NOW = "danger_now"
    LEAVING_SOON = "leaving_soon"
    MISSING = "missing"
    INJURED = "injured"
    CONTACT_NOW = "contact_now"


class Ongoing(StrEnum):
    """The form's ``ongoing`` answer."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class AgeBand(StrEnum):
    """The form's ``victims_age_band`` answer."""

    UNDER_6 = "0-5"
    FROM_6_TO_12 = "6-12"
    FROM_13_TO_17 = "13-17"
    ADULT = "adult"
    MIXED = "mixed"
    UNKNOWN = "unknown"


CHILD_AGE_BANDS = frozenset({AgeBand.UNDER_6, AgeBand.FROM_6_TO_12, AgeBand.FROM_13_TO_17, AgeBand.MIXED})


class HowKnown(StrEnum):
    """The form's ``how_known`` answer."""

    SAW = "saw"
    TOLD = "told"
    VICTIM = "victim"
    NEARBY = "nearby"
    ONLINE = "online"
    OTHER = "other"


class Priority(StrEnum):
    """Triage priority (DOMAIN.md): P1 is same-day."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Status(StrEnum):
    """A tip's status in a dispositions file (FORMAT.md §10)."""

    NEW = "new"
    IN_REVIEW = "in_review"
    REFERRED = "referred"
    CLOSED = "closed"
    HOLD = "hold"


class HoldReason(StrEnum):
    """Why a tip is kept past its retention time; only the code reaches the server."""

    INVESTIGATION = "investigation"
    PROSECUTION = "prosecution"
    VICTIM_SUPPORT = "victim-support"
    AUTHORITY_REQUEST = "authority-request"
    FOLLOW_UP = "follow-up"


class AgencyKind(StrEnum):
    """What a source may be told about where a referral went: a kind of body, never a name or office."""

    POLICE = "police"
    CHILD_PROTECTION = "child-protection"
    VICTIM_PROTECTION = "victim-protection"
    SOCIAL_SERVICES = "social-services"
    MIGRANT_WORKERS = "migrant-workers"
    IMMIGRATION = "immigration"
    ONLINE_CONTENT = "online-content"
    ANTI_TRAFFICKING = "anti-trafficking"
    OTHER = "other"


class MaterialClass(StrEnum):
    """How a reviewer classified one attachment, after INHOPE's ICCAM classes (DOMAIN.md, evidence practice).

    ``intl-illegal`` is ICCAM's "baseline": illegal in every member country;
    ``national-illegal`` is illegal under Indonesian law (e.g. UU 44/2008,
    UU 35/2014) but not baseline; ``not-illegal``; ``not-assessed`` until
    someone has. Kept in the sealed triage record and printed in referral packets.
    """

    INTL_ILLEGAL = "intl-illegal"
    NATIONAL_ILLEGAL = "national-illegal"
    NOT_ILLEGAL = "not-illegal"
    NOT_ASSESSED = "not-assessed"


class MessageKind(StrEnum):
    """A message on a tip (FORMAT.md §13): a reviewer's reply, a source's follow-up, a forwarding team's note."""

    REPLY = "reply"
    FOLLOWUP = "followup"
    # A reviewer team's note to the team a tip is forwarded to (FORMAT.md §10.2): never shown to the source.
    NOTE = "note"


class SealedBy(StrEnum):
    """Who sealed a document: the source's browser, the server (no-JS path, in memory) or a reviewer."""

    BROWSER = "browser"
    SERVER = "server"
    REVIEWER = "reviewer"


class Language(StrEnum):
    """The languages a document may be written in (and the product is offered in)."""

    ID = "id"
    EN = "en"


# The form's questions with fixed choices, by answer key (FORMAT.md §3).
ANSWER_CHOICES: Mapping[str, type[StrEnum]] = {
    "category": Category,
    "danger": Danger,
    "ongoing": Ongoing,
    "victims_age_band": AgeBand,
    "how_known": HowKnown,
}
# Who may seal what: a source's documents come from a browser or the no-JS server path; replies from a reviewer.
TIP_SEALERS = (SealedBy.BROWSER, SealedBy.SERVER)
MESSAGE_SEALERS: Mapping[MessageKind, tuple[SealedBy, ...]] = {
    MessageKind.REPLY: (SealedBy.REVIEWER,),
    MessageKind.FOLLOWUP: (SealedBy.BROWSER, SealedBy.SERVER),
    MessageKind.NOTE: (SealedBy.REVIEWER,),
}

Code = TypeVar("Code", bound=StrEnum)
Wording = TypeVar("Wording")


def codes(kind: type[StrEnum]) -> tuple[str, ...]:
    """The codes of ``kind`` as plain strings, in definition order."""
    return tuple(member.value for member in kind)


def worded(kind: type[Code], wording: Mapping[str, Wording], where: str) -> dict[Code, Wording]:
    """``wording`` keyed by ``kind``'s members, in ``kind``'s order; refuses a missing or an unknown code.

    Called at import time by each side's table of words, so that a code added
    here without its words (or words kept for a code that is gone) stops the
    program at start-up, naming both, instead of failing on one user's page.
    """
    known = set(codes(kind))
    missing, unknown = sorted(known - set(wording)), sorted(set(wording) - known)
    if missing or unknown:
        raise RuntimeError(
            f"{where}: wording for {kind.__name__} does not match crypto/vocabulary.py"
            f" (no wording for {missing}; wording for unknown codes {unknown})"
        )
    return {member: wording[member.value] for member in kind}
