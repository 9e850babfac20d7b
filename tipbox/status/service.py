"""What the status page knows of a report, without HTTP: find it by receipt, say where it is.

Only the keyed hash of the lookup key finds a tip (tipbox/receipts.py). The
status is told in plain words and only what a source may know: a hold reads as
"being reviewed", and a referral names an agency *kind* only when a reviewer
chose to disclose it. Replies stay sealed unless the caller hands over the
receipt-derived identity (the JS-off page), and then only for that response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from crypto import messages
from crypto.errors import TipboxCryptoError
from crypto.vocabulary import AgencyKind, Status, worded

from ..models import TIP_READY, Message, Tip
from ..receipts import LOOKUP_PATTERN, lookup_hash

HERE = "tipbox/status/service.py"
# Review statuses as the source sees them: a hold is still "being reviewed".
PUBLIC_STATUS = worded(
    Status,
    {"new": "received", "in_review": "in_review", "hold": "in_review", "referred": "referred", "closed": "closed"},
    HERE,
)
STATUS_TEXT = {
    "received": _l("Received. Your report has arrived safely and is waiting for a reviewer."),
    "in_review": _l("Being reviewed. A reviewer is working on your report."),
    "referred": _l("Referred. Your report has been passed on to an agency that can act on it."),
    "closed": _l("Closed. The review of your report has finished."),
}
AGENCY_TEXT = worded(AgencyKind, {
    "police": _l("the police"),
    "child-protection": _l("a child protection service"),
    "victim-protection": _l("a witness and victim protection service"),
    "social-services": _l("social services"),
    "migrant-workers": _l("a migrant worker protection agency"),
    "immigration": _l("the immigration authorities"),
    "online-content": _l("a service that removes illegal content online"),
    "anti-trafficking": _l("an anti-trafficking task force"),
    "other": _l("another competent agency"),
}, HERE)
_DECOY_LOOKUP = "0" * 64


@dataclass(frozen=True)
class ReplyView:
    id: str
    sent: datetime
    text: str | None = None  # None: still sealed (the browser opens it), or could not be opened


@dataclass(frozen=True)
class FollowupView:
    sent: datetime
    attachments: int


@dataclass(frozen=True)
class StatusView:
    tip_id: str
    status: str
    received: datetime
    agency_kind: str | None
    replies: list[ReplyView] = field(default_factory=list)
    followups: list[FollowupView] = field(default_factory=list)
    sealed_replies: list[Message] = field(default_factory=list)

    @property
    def status_text(self) -> str:
        return str(STATUS_TEXT[self.status])

    @property
    def agency_text(self) -> str | None:
        return str(AGENCY_TEXT[AgencyKind(self.agency_kind)]) if self.agency_kind else None


def find_tip(db: Session, secret: bytes, lookup: str | None) -> Tip | None:
    """The ready tip whose receipt derives ``lookup``; None for anything else, after the same work."""
    usable = isinstance(lookup, str) and LOOKUP_PATTERN.match(lookup) is not None
    hashed = lookup_hash(lookup if usable else _DECOY_LOOKUP, secret)  # type: ignore[arg-type]
    query = (
        select(Tip)
        .where(Tip.receipt_lookup == hashed, Tip.state == TIP_READY)
        .options(selectinload(Tip.messages), selectinload(Tip.attachments))
    )
    tip = db.scalars(query).first()
    return tip if usable else None


def status_of(tip: Tip, identity: str | None = None) -> StatusView:
    """The source's view of ``tip``; with ``identity`` (JS off) the replies are opened here, in memory."""
    public = PUBLIC_STATUS.get(tip.review_status, "in_review")
    disclosed = tip.disclosed_agency if public in ("referred", "closed") else None
    if disclosed is not None and disclosed not in AGENCY_TEXT:
        disclosed = AgencyKind.OTHER.value  # a kind from a newer CLI that this server has no words for
    ready = [m for m in tip.messages if m.state == TIP_READY and m.received_at is not None]
    replies = [m for m in ready if m.kind == messages.REPLY]
    followups = [
        FollowupView(m.received_at, sum(1 for a in tip.attachments if a.message_id == m.id))  # type: ignore[arg-type]
        for m in ready
        if m.kind == messages.FOLLOWUP
    ]
    assert tip.received_at is not None
    return StatusView(
        tip_id=tip.id,
        status=public,
        received=tip.received_at,
        agency_kind=disclosed,
        replies=[ReplyView(m.id, m.received_at, _open(m, identity)) for m in replies],  # type: ignore[arg-type]
        followups=followups,
        sealed_replies=replies,
    )


def _open(message: Message, identity: str | None) -> str | None:
    if identity is None or message.payload is None:
        return None
    try:
        return messages.open_message(message.payload, [identity], kind=messages.REPLY).text
    except TipboxCryptoError:
        return None  # shown as "could not be opened"; never a 500


def tip_by_id(db: Session, tip_id: str) -> Tip | None:
    tip = db.get(Tip, tip_id)
    return tip if tip is not None and tip.state == TIP_READY else None
