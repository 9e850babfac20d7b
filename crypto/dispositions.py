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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from . import archive
from .errors import MalformedDispositions
from .routing import CHANNEL_ID
from .vocabulary import AgencyKind, HoldReason, Status, codes

DOCUMENT_TYPE = "tipbox-dispositions"
VERSION = 2  # what a file without forwards or reseals is written as (older servers read it)
HANDOVER_VERSION = 3  # a file with forwards or reseals (§10.2)
VERSIONS = (1, 2, 3)
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
_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")
MAX_HANDOVERS = 10_000
# A part of a tip re-sealed by a reviewer (§10.2): which stored age file it replaces.
PART_KINDS = ("payload", "attachment", "message")
# A forward may also carry one *new* part: a note to the receiving team (a message of kind note, §10.2).
NOTE = "note"
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
class Part:
    """One stored age file of a tip, re-sealed: it travels as ``path`` in the dispositions package (§10.2)."""

    kind: str  # PART_KINDS, or NOTE
    id: str | None  # the attachment's or message's id (a note's new message id); None for the payload
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Handover:
    """A tip re-sealed whole: to its holders and a new channel (a forward) or to its holders' current keys (a reseal).

    ``to`` is the channel a forward adds (None for a reseal); with ``lead``
    the forward also hands the lead to it.
    """

    tip_id: str
    parts: tuple[Part, ...]
    to: str | None = None
    lead: bool = False

    @property
    def forward(self) -> bool:
        return self.to is not None


@dataclass(frozen=True)
class Body:
    id: str
    version: int
    created: datetime
    entries: tuple[Entry, ...]
    replies: tuple[Reply, ...]
    forwards: tuple[Handover, ...] = ()
    reseals: tuple[Handover, ...] = ()

    @property
    def parts(self) -> tuple[Part, ...]:
        """Every re-sealed file the package must carry, in the order it carries them."""
        return tuple(p for h in (*self.forwards, *self.reseals) for p in h.parts)


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


def part_path(handover: str, tip_id: str, kind: str, part_id: str | None) -> str:
    """Where a re-sealed part travels in the package: one path per (forward or reseal, tip, part)."""
    base = f"{handover}/{tip_id}"
    if kind == "payload":
        return f"{base}/payload.age"
    return f"{base}/{kind}s/{part_id}.age"


def _part(raw: Any, handover: str, tip_id: str) -> Part:
    if not isinstance(raw, Mapping) or set(raw) != {"kind", "id", "path", "size", "sha256"}:
        raise MalformedDispositions("a re-sealed part must have exactly kind, id, path, size and sha256")
    kind, part_id = raw["kind"], raw["id"]
    if kind not in PART_KINDS and not (kind == NOTE and handover == "forwards"):
        raise MalformedDispositions("a re-sealed part has an unknown kind (a note travels only with a forward)")
    if (kind == "payload") != (part_id is None) or (part_id is not None and not (
            isinstance(part_id, str) and _HEX32.match(part_id))):
        raise MalformedDispositions("a re-sealed part's id must be null for the payload and 32 hex digits otherwise")
    if raw["path"] != part_path(handover, tip_id, kind, part_id):
        raise MalformedDispositions("a re-sealed part's path does not match its tip, kind and id")
    size, sha256 = raw["size"], raw["sha256"]
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise MalformedDispositions("a re-sealed part's size must be a positive integer")
    if not isinstance(sha256, str) or not _HEX64.match(sha256):
        raise MalformedDispositions("a re-sealed part's sha256 must be 64 lowercase hex digits")
    return Part(kind, part_id, raw["path"], size, sha256)


def _handover(raw: Any, forward: bool) -> Handover:
    members = {"tip_id", "parts"} | ({"to", "lead"} if forward else set())
    what = "forward" if forward else "reseal"
    if not isinstance(raw, Mapping) or set(raw) != members:
        raise MalformedDispositions(f"a {what} must have exactly {', '.join(sorted(members))}")
    tip_id = raw["tip_id"]
    if not isinstance(tip_id, str) or not _HEX32.match(tip_id):
        raise MalformedDispositions(f"a {what} has an invalid tip_id")
    if forward and not (isinstance(raw["to"], str) and CHANNEL_ID.fullmatch(raw["to"])):
        raise MalformedDispositions("a forward's to must be a channel id")
    if forward and not isinstance(raw["lead"], bool):
        raise MalformedDispositions("a forward's lead must be true or false")
    if not isinstance(raw["parts"], list):
        raise MalformedDispositions(f"a {what}'s parts must be a list")
    parts = tuple(_part(p, "forwards" if forward else "reseals", tip_id) for p in raw["parts"])
    if [p.kind for p in parts].count("payload") != 1 or len({p.path for p in parts}) != len(parts):
        raise MalformedDispositions(f"a {what} must carry the payload once and each part once")
    if [p.kind for p in parts].count(NOTE) > 1:
        raise MalformedDispositions("a forward carries at most one note")
    return Handover(tip_id, parts, raw["to"] if forward else None, bool(raw["lead"]) if forward else False)


def _handovers(body: Mapping[str, Any], key: str) -> tuple[Handover, ...]:
    raw = body.get(key, [])
    if not isinstance(raw, list) or len(raw) > MAX_HANDOVERS:
        raise MalformedDispositions(f"{key} must be a list")
    return tuple(_handover(item, key == "forwards") for item in raw)


def parse_body(body: Mapping[str, Any], now: datetime, max_hold_days: int) -> Body:
    """Validate a v1, v2 or v3 body strictly (unknown members are refused, not ignored)."""
    if body.get("type") != DOCUMENT_TYPE:
        raise MalformedDispositions("not a tipbox dispositions file")
    version = body.get("v")
    if version not in VERSIONS or isinstance(version, bool):
        raise MalformedDispositions("unknown dispositions version; update tipbox")
    members = {"type", "v", "id", "created", "entries"} | ({"replies"} if version >= 2 else set())
    # v3 adds forwards and reseals (§10.2); a file without any may leave them out.
    optional = {"forwards", "reseals"} if version >= 3 else set()
    if not members <= set(body) <= members | optional:
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
    forwards, reseals = _handovers(body, "forwards"), _handovers(body, "reseals")
    handed = [h.tip_id for h in (*forwards, *reseals)]
    if len(set(handed)) != len(handed):
        raise MalformedDispositions("a tip is forwarded or re-sealed twice in one file")
    return Body(body["id"], version, created, entries, replies, forwards, reseals)


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


def part_document(part: Part) -> dict[str, Any]:
    return {"kind": part.kind, "id": part.id, "path": part.path, "size": part.size, "sha256": part.sha256}


def handover_document(handover: Handover) -> dict[str, Any]:
    """The JSON form of a forward or a reseal, as the CLI writes it."""
    document: dict[str, Any] = {"tip_id": handover.tip_id, "parts": [part_document(p) for p in handover.parts]}
    if handover.forward:
        document.update(to=handover.to, lead=handover.lead)
    return document


# --- the package (§10.2): the signed file plus the re-sealed parts it lists ---------------------------

PACKAGE_FIRST = "dispositions.json"
PACKAGE_WORDS = archive.Words("dispositions package", "dispositions file")
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024


def listed_parts(body: Body) -> dict[str, tuple[int, str]]:
    return {p.path: (p.size, p.sha256) for p in body.parts}


def write_package(out: BinaryIO, signed: bytes, body: Body, files: Iterable[archive.ArchiveFile]) -> None:
    """Write the package: ``signed`` (the canonical signed document of ``body``) first, then every part in order."""
    archive.write_archive(out, (PACKAGE_FIRST, signed), files, listed_parts(body), PACKAGE_WORDS)


def is_package(path: Path) -> bool:
    """A ustar archive (the package) rather than a bare signed JSON file (v1-v3 without parts)."""
    with path.open("rb") as handle:
        head = handle.read(265)
    return head[257:262] == b"ustar"


def read_package_document(path: Path) -> bytes:
    """The signed document inside a package; verify it, then :func:`verify_package_parts`."""
    return archive.read_first(path, PACKAGE_FIRST, MAX_DOCUMENT_BYTES, PACKAGE_WORDS)


def verify_package_parts(path: Path, body: Body) -> None:
    """Every part the verified body lists is in the package with its size and SHA-256, and nothing else is."""
    archive.verify_members(path, listed_parts(body), PACKAGE_WORDS)


__all__ = [
    "AGENCY_KINDS",
    "PART_KINDS",
    "DOCUMENT_TYPE",
    "HOLD_REASONS",
    "STATUSES",
    "HANDOVER_VERSION",
    "VERSION",
    "Body",
    "Entry",
    "Handover",
    "Part",
    "Reply",
    "entry_document",
    "handover_document",
    "parse_body",
    "reply_document",
]
