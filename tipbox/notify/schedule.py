"""Digest slots: the fixed local hours a channel's digest goes out, as UTC instants.

Slots are whole hours because every time tipbox keeps of a tip is rounded
down to the hour: a digest can then say exactly what arrived since the last
one. A run sends the digest of the current slot (the latest one not after
now) if it has not been sent; once the next slot begins, an unsent digest is
superseded by the next one, which carries the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Slots:
    previous: datetime  # naive UTC, like every time tipbox stores
    current: datetime
    following: datetime


def slots_at(now: datetime, hours: tuple[int, ...], timezone: str) -> Slots:
    """The slots around ``now`` (naive UTC) for digests at local ``hours`` in ``timezone``."""
    if not hours:
        raise ValueError("at least one digest hour is needed")
    zone = ZoneInfo(timezone)
    local_today = now.replace(tzinfo=UTC).astimezone(zone).date()
    instants = sorted(
        datetime(day.year, day.month, day.day, hour, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
        for day in (local_today + timedelta(days=d) for d in (-2, -1, 0, 1))
        for hour in hours
    )
    past = [t for t in instants if t <= now]
    future = [t for t in instants if t > now]
    return Slots(previous=past[-2], current=past[-1], following=future[0])
