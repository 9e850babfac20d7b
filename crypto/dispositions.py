"""Reviewer dispositions bodies (FORMAT.md §10): the codes both sides share and the strict parser.

The offline CLI writes these bodies and the server imports them, the shape
of a reply lives here, once; its codes (statuses, hold reasons, the agency
*kinds* a reviewer may disclose to the source) are crypto/vocabulary.py's. Names and
wording in id/en stay with each side (review_cli/taxonomy.py, the server's
translations); only codes cross the air gap.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .errors import MalformedDispositions
from .vocabulary import AgencyKind, HoldReason, Status, codes

DOCUMENT_TYPE = "tipbox-dispositions"
VERSION = 2
VERSIONS = (1, 2)
STATUSES = codes(Status)
HOLD_REASONS = codes(HoldReason)
# What a source may be told about where a referral went: a kind of body, never a name or office.
AGENCY_KINDS = codes(AgencyKind)
MAX_CLOCK_SKEW = timedelta(days=1)
MAX_ENTRIES = 100_000
MAX_REPLIES = 10_000
MAX_REPLY_BYTES = 2 * 1024 * 1024  # a padded message of up to 1 MiB, sealed, base64
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_HEX32 = re.compile(r"^[0-9a-f]{32}\Z")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


@dataclass(frozen=True)
class Entry:
    tip_id: str
    status: str
    hold_until: datetime | None = None
    hold_reason: str | None = None
    disclose: str | None = None  # an AGENCY_KINDS code, or None: tell the source nothing


@dataclass(frozen=True)
class Reply:
    id: str
    tip_id: str
    sealed: bytes  # an age file (crypto/messages.py), sealed to the source and the reviewers


@dataclass(frozen=True)
class Body:
    id: str
    version: int
    created: datetime
    entries: tuple[Entry, ...]
    replies: tuple[Reply, ...]


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _entry(raw: Any, version: int, now: datetime, max_hold_days: int) -> Entry:
    if not isinstance(raw, Mapping):
        raise MalformedDispositions("each entry must be an object")
    status = raw.get("status")
    expected = {"tip_id", "status"} | ({"hold_until", "hold_reason"} if status == "hold" else set())
    optional = {"disclose"} if version >= 2 else set()
    if not expected <= set(raw) <= expected | optional:
        raise MalformedDispositions(
            "an entry has unexpected or missing members (holds need hold_until and hold_reason)"
        )
    tip_id = raw["tip_id"]
    if not isinstance(tip_id, str) or not _HEX32.match(tip_id):
        raise MalformedDispositions("an entry has an invalid tip_id")
    if status not in STATUSES:
        raise MalformedDispositions("an entry has an unknown status")
    disclose = raw.get("disclose")
    if disclose is not None and disclose not in AGENCY_KINDS:
        raise MalformedDispositions("an entry has an unknown disclose code")
    if status != "hold":
        return Entry(tip_id, status, disclose=disclose)
    until_text = raw["hold_until"]
    try:
        if not isinstance(until_text, str) or not _DATE.match(until_text):
            raise ValueError
        until = datetime.strptime(until_text, "%Y-%m-%d")
    except ValueError:
        raise MalformedDispositions("hold_until must be a date YYYY-MM-DD") from None
    if until <= now:
        raise MalformedDispositions(f"a hold on tip {tip_id[:8]} has already ended")
    if until - _hour(now) > timedelta(days=max_hold_days):
        raise MalformedDispositions(f"a hold on tip {tip_id[:8]} is longer than the policy's {max_hold_days} days")
    if raw["hold_reason"] not in HOLD_REASONS:
        raise MalformedDispositions("an entry has an unknown hold_reason code")
    return Entry(tip_id, status, until, raw["hold_reason"], disclose)


def _reply(raw: Any) -> Reply:
    if not isinstance(raw, Mapping) or set(raw) != {"id", "tip_id", "message"}:
        raise MalformedDispositions("a reply must have exactly id, tip_id and message")
    if not all(isinstance(raw[k], str) and _HEX32.match(raw[k]) for k in ("id", "tip_id")):
        raise MalformedDispositions("a reply has an invalid id or tip_id")
    text = raw["message"]
    if not isinstance(text, str) or len(text) > MAX_REPLY_BYTES:
        raise MalformedDispositions("a reply's message must be base64 of at most 2 MiB")
    try:
        sealed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedDispositions("a reply's message is not base64") from None
    return Reply(raw["id"], raw["tip_id"], sealed)


def parse_body(body: Mapping[str, Any], now: datetime, max_hold_days: int) -> Body:
    """Validate a v1 or v2 body strictly (unknown members are refused, not ignored)."""
    if body.get("type") != DOCUMENT_TYPE:
        raise MalformedDispositions("not a tipbox dispositions file")
    version = body.get("v")
    if version not in VERSIONS or isinstance(version, bool):
        raise MalformedDispositions("unknown dispositions version; update tipbox")
    members = {"type", "v", "id", "created", "entries"} | ({"replies"} if version >= 2 else set())
    if set(body) != members:
        raise MalformedDispositions("the dispositions file has unexpected or missing members")
    if not isinstance(body["id"], str) or not _HEX32.match(body["id"]):
        raise MalformedDispositions("the dispositions file id must be 32 lowercase hex digits")
    try:
        created = datetime.strptime(str(body["created"]), TIME_FORMAT)
    except ValueError:
        raise MalformedDispositions("created must be YYYY-MM-DDTHH:MM:SSZ") from None
    if created > now + MAX_CLOCK_SKEW:
        raise MalformedDispositions("the dispositions file is dated in the future; check the reviewer's clock")
    raw_entries = body["entries"]
    if not isinstance(raw_entries, list) or len(raw_entries) > MAX_ENTRIES:
        raise MalformedDispositions("entries must be a list")
    entries = tuple(_entry(raw, version, now, max_hold_days) for raw in raw_entries)
    if len({e.tip_id for e in entries}) != len(entries):
        raise MalformedDispositions("an entry repeats a tip_id")
    raw_replies = body.get("replies", [])
    if not isinstance(raw_replies, list) or len(raw_replies) > MAX_REPLIES:
        raise MalformedDispositions("replies must be a list")
    replies = tuple(_reply(raw) for raw in raw_replies)
    if len({r.id for r in replies}) != len(replies):
        raise MalformedDispositions("a reply id is repeated")
    return Body(body["id"], version, created, entries, replies)


def entry_document(entry: Entry) -> dict[str, Any]:
    """The JSON form of an entry, as the CLI writes it."""
    document: dict[str, Any] = {"tip_id": entry.tip_id, "status": entry.status}
    if entry.status == "hold":
        assert entry.hold_until is not None
        document["hold_until"] = entry.hold_until.strftime("%Y-%m-%d")
        document["hold_reason"] = entry.hold_reason
    if entry.disclose is not None:
        document["disclose"] = entry.disclose
    return document


def reply_document(reply_id: str, tip_id: str, sealed: bytes) -> dict[str, Any]:
    return {"id": reply_id, "tip_id": tip_id, "message": base64.b64encode(sealed).decode("ascii")}


__all__ = [
    "AGENCY_KINDS",
    "DOCUMENT_TYPE",
    "HOLD_REASONS",
    "STATUSES",
    "VERSION",
    "Body",
    "Entry",
    "Reply",
    "entry_document",
    "parse_body",
    "reply_document",
]
