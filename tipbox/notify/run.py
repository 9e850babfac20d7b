"""One pass of ``tipbox notify run``: urgent alerts first, then the due digests.

A pass holds a lock file, so two passes (a slow one and the timer's next)
never send the same thing twice; run it on one host. A notice is marked
sent only after a target took it: a crash in between repeats a notice at
the next pass rather than losing one (for an urgent report, a duplicate is
the lesser harm). A failed delivery is retried at every pass: an urgent
alert until it goes out, a digest until the next slot, whose digest then
carries the counts.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crypto import audit

from .. import clock
from ..audit.log import record
from ..config import Notify
from ..models import TIP_READY, Channel, NotificationSlot, Tip
from . import messages
from .counts import Counts, channel_counts
from .schedule import Slots, slots_at
from .targets import Target

Deliver = Callable[[list[Target], str, str], bool]
Transaction = Callable[[], AbstractContextManager[Session]]


@dataclass
class Outcome:
    urgent: dict[str, int] = field(default_factory=dict)  # channel -> reports alerted
    digests: list[str] = field(default_factory=list)  # channels whose digest went out
    failed: list[str] = field(default_factory=list)  # channels a notice could not reach (tried again next pass)


class Busy(Exception):
    """Another pass holds the lock."""


@contextmanager
def locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy() from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _names(db: Session, language: str) -> dict[str, str]:
    from .. import readers

    ids = list(db.scalars(select(Channel.id)))
    return dict(zip(ids, readers.names(db, ids, language), strict=True))


def _urgent(db: Session, channel_id: str) -> list[str]:
    """Reports led by this channel whose source asked for an alert that has not gone out."""
    return list(db.scalars(select(Tip.id).where(
        Tip.channel_id == channel_id, Tip.state == TIP_READY, Tip.urgent.is_(True), Tip.urgent_alerted.is_(False))))


def run_once(
    transaction: Transaction,
    settings: Notify,
    policy: audit.Policy,
    targets: Mapping[str, list[Target]],
    deliver: Deliver,
    now: datetime | None = None,
) -> Outcome:
    """Send what is due at ``now`` (naive UTC) to every channel that has targets."""
    moment = now or clock.utcnow()
    slots = slots_at(moment, settings.times, settings.timezone)
    outcome = Outcome()
    with transaction() as db:
        names = _names(db, settings.language)
    for channel_id, found in sorted(targets.items()):
        if not found or channel_id not in names:
            continue
        _alert(transaction, settings, channel_id, names[channel_id], found, deliver, moment, outcome)
        _digest(transaction, settings, policy, slots, channel_id, names[channel_id], found, deliver, outcome)
    return outcome


def _alert(transaction: Transaction, settings: Notify, channel_id: str, name: str, found: list[Target], deliver: Deliver,
           moment: datetime, outcome: Outcome) -> None:
    with transaction() as db:
        waiting = _urgent(db, channel_id)
    if not waiting:
        return
    notice = messages.urgent(name, len(waiting), language=settings.language)
    if not deliver(found, notice.title, notice.body):
        outcome.failed.append(channel_id)
        return
    with transaction() as db:
        db.execute(update(Tip).where(Tip.id.in_(waiting)).values(urgent_alerted=True))
        record(db, "notify.urgent", None, {"channel": channel_id, "slot": audit.hour(moment), "count": len(waiting)})
    outcome.urgent[channel_id] = len(waiting)


def _digest(transaction: Transaction, settings: Notify, policy: audit.Policy, slots: Slots, channel_id: str, name: str,
            found: list[Target], deliver: Deliver, outcome: Outcome) -> None:
    with transaction() as db:
        row = db.get(NotificationSlot, (channel_id, slots.current))
        if row is not None and row.sent:
            return
        counts = channel_counts(db, channel_id, slots.previous, slots.current, waiting_hours=settings.waiting_hours,
                                purge_days=settings.purge_warning_days, policy=policy)
        if row is None:
            row = NotificationSlot(channel_id=channel_id, slot=slots.current, sent=False, attempts=0)
            db.add(row)
    skip = counts.empty and not settings.send_empty
    delivered = skip or deliver(found, *_words(name, counts, settings))
    with transaction() as db:
        row = db.get(NotificationSlot, (channel_id, slots.current))
        assert row is not None
        row.attempts += 0 if skip else 1
        if not delivered:
            outcome.failed.append(channel_id)
            return
        row.sent = True
        if not skip:
            record(db, "notify.digest", None, {"channel": channel_id, "slot": audit.hour(slots.current),
                                               **counts.as_event()})
            outcome.digests.append(channel_id)


def _words(name: str, counts: Counts, settings: Notify) -> tuple[str, str]:
    notice = messages.digest(name, counts, waiting_hours=settings.waiting_hours,
                             purge_days=settings.purge_warning_days, language=settings.language)
    return notice.title, notice.body
