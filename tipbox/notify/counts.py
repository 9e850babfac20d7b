"""What a digest counts for one channel: numbers only, never an id, a category or a region."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto import audit
from crypto.vocabulary import MessageKind

from ..models import TIP_READY, Message, Tip, TipChannel
from ..retention.purge import DEADLINE_COLUMNS, deadline


@dataclass(frozen=True)
class Counts:
    new: int  # received since the previous slot
    followups: int  # follow-ups from sources to the channel's tips since the previous slot (new information)
    waiting: int  # not exported by this channel, received more than ``waiting_hours`` before the slot
    urgent: int  # the source asked to alert the team, and this channel has not exported it yet
    purge_soon: int  # no decision yet (no status, hold or closing) and purged within ``purge_days``

    def as_event(self) -> dict[str, int]:
        return {"new": self.new, "followups": self.followups, "waiting": self.waiting, "urgent": self.urgent,
                "purge_soon": self.purge_soon}

    @property
    def empty(self) -> bool:
        return not any(self.as_event().values())


def channel_counts(
    db: Session, channel_id: str, since: datetime, until: datetime, *, waiting_hours: int, purge_days: int,
    policy: audit.Policy,
) -> Counts:
    """The channel's counts for the slot ``until`` (the previous slot being ``since``); all times naive UTC."""
    held = (
        select(Tip)
        .join(TipChannel, TipChannel.tip_id == Tip.id)
        .where(TipChannel.channel_id == channel_id, Tip.state == TIP_READY, Tip.received_at < until)
    )

    def count(*conditions: object) -> int:
        return int(db.scalar(select(func.count()).select_from(held.where(*conditions).subquery())) or 0)

    # The deadline purge would apply (follow-ups included), read in one statement.
    undecided = db.execute(
        select(*DEADLINE_COLUMNS)
        .join(TipChannel, TipChannel.tip_id == Tip.id)
        .where(TipChannel.channel_id == channel_id, Tip.state == TIP_READY, Tip.received_at < until,
               Tip.review_status == "new", Tip.hold_until.is_(None), Tip.closed_at.is_(None))
    ).all()
    horizon = until + timedelta(days=purge_days)
    followups = db.scalar(
        select(func.count(Message.id))
        .join(TipChannel, TipChannel.tip_id == Message.tip_id)
        .where(TipChannel.channel_id == channel_id, Message.kind == MessageKind.FOLLOWUP.value,
               Message.state == TIP_READY, Message.received_at >= since, Message.received_at < until)
    )
    return Counts(
        new=count(Tip.received_at >= since),
        followups=int(followups or 0),
        waiting=count(TipChannel.exported_at.is_(None), Tip.received_at <= until - timedelta(hours=waiting_hours)),
        urgent=count(Tip.urgent.is_(True), TipChannel.exported_at.is_(None)),
        purge_soon=sum(1 for tip in undecided if deadline(tip, policy) <= horizon),
    )
