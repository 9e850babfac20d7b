"""Time, as tipbox stores it: naive UTC, and hour-rounded wherever it touches a tip."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC (what the DateTime columns store on both databases)."""
    return datetime.now(UTC).replace(tzinfo=None)


def hour(moment: datetime) -> datetime:
    """Round down to the hour: enough for retention, too coarse to match a visit."""
    return moment.replace(minute=0, second=0, microsecond=0)
