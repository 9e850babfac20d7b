"""The audit log: hash-chained lifecycle events, signed checkpoints, and the
offline verifier that replays every tip against the retention policy.

Entries hold only random ids, SHA-256 of ciphertext, bucketed sizes and times
rounded to the hour (FORMAT.md, "Audit log"). Each entry commits to the one
before it; the server signs checkpoints over the chain head. An auditor needs
no decryption key: :func:`verify` checks the chain, the signatures, and that
every tip was purged in time or is still legitimately kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import nacl.signing

from .errors import MalformedDocument
from .signing import CONTEXT_AUDIT_CHECKPOINT, sign_document, verify_document

GENESIS = "0" * 64
LOG_TYPE = "tipbox-audit-log"
CHECKPOINT_TYPE = "tipbox-audit-checkpoint"
POLICY_TYPE = "tipbox-retention-policy"
VERSION = 1
ISO = "%Y-%m-%dT%H:%M:%SZ"

EVENTS = frozenset(
    {
        "tip.received",
        "tip.exported",
        "tip.status",
        "tip.held",
        "tip.released",
        "tip.closed",
        "tip.purged",
        "tip.followup",
        "tip.reply",
        "tip.forwarded",
        "tip.note",
        "tip.resealed",
        "policy.changed",
        "reviewer.added",
        "reviewer.removed",
        "channel.added",
        "channel.updated",
        "channel.removed",
        "dispositions.imported",
        "uploads.abandoned",
        # Notifications sent to a channel (counts only, FORMAT.md §9): not tip events, the replay skips them.
        "notify.digest",
        "notify.urgent",
    }
)
TIP_EVENTS = frozenset(e for e in EVENTS if e.startswith("tip."))


def entry_hash(entry: Mapping[str, Any]) -> str:
    # Same bytes as canonical_json() for the integers and strings entries hold, without its
    # float check: the verifier hashes a million of these, and any content is hashed faithfully.
    encoded = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(b"tipbox/audit-entry/v1\n" + encoded).hexdigest()


def size_bucket(size: int) -> int:
    """Round a size up to a power of two: enough to audit storage, too coarse to fingerprint."""
    return 1 if size <= 1 else 1 << (size - 1).bit_length()


def hour(moment: datetime) -> str:
    return moment.replace(minute=0, second=0, microsecond=0).strftime(ISO)


def parse_time(text: Any) -> datetime:
    try:
        return datetime.strptime(str(text), ISO).replace(tzinfo=UTC)
    except ValueError:
        raise MalformedDocument("time must be YYYY-MM-DDTHH:MM:SSZ") from None


def make_entry(seq: int, prev: str, time: str, event: str, tip: str | None, data: Mapping[str, Any]) -> dict[str, Any]:
    if event not in EVENTS:
        raise MalformedDocument(f"unknown audit event {event}")
    return {"seq": seq, "prev": prev, "time": time, "event": event, "tip": tip, "data": dict(data)}


def make_checkpoint(seq: int, head: str, time: str, key: nacl.signing.SigningKey) -> dict[str, Any]:
    body = {"type": CHECKPOINT_TYPE, "v": VERSION, "seq": seq, "head": head, "time": time}
    return sign_document(body, CONTEXT_AUDIT_CHECKPOINT, key)


# --- retention policy -------------------------------------------------------------------------


# The longest hold an operator may allow: holds are renewed, never indefinite.
MAX_HOLD_LIMIT_DAYS = 3 * 365


@dataclass(frozen=True)
class Policy:
    """Maximum age of a tip by state, plus the grace the purge job may take.

    The defaults here are tipbox's defaults everywhere: the server's
    configuration starts from them, and the review CLI falls back to them
    only for a workspace whose bundles predate the policy in the bundle (§8).
    """

    unexported_days: int = 30
    exported_days: int = 180
    closed_days: int = 30
    max_hold_days: int = 365
    grace_hours: int = 48

    def deadline(
        self,
        received: datetime,
        *,
        exported: datetime | None = None,
        closed: datetime | None = None,
        hold_until: datetime | None = None,
        followup: datetime | None = None,
    ) -> datetime:
        """When a tip must be gone, before the grace window (FORMAT.md §9.2).

        The one statement of the rule: the server's purge (tipbox/retention/purge.py) and the
        verifier's replay both call it, each with what it knows of the tip (the database, or
        the log's events). ``followup`` is the hour the source's latest follow-up arrived:
        new information gets the time any new report gets to be collected and read,
        ``unexported_days``, whatever the tip's state (closed included), so a follow-up sent
        the day before a deadline is not deleted unread (GlobaLeaks #3591). A follow-up and
        a hold only ever make the deadline later.
        """
        if closed is not None:
            base = closed + timedelta(days=self.closed_days)
        elif exported is not None:
            base = received + timedelta(days=self.exported_days)
        else:
            base = received + timedelta(days=self.unexported_days)
        if followup is not None:
            base = max(base, followup + timedelta(days=self.unexported_days))
        if hold_until is not None:
            base = max(base, hold_until)
        return base

    def as_document(self) -> dict[str, Any]:
        return {
            "type": POLICY_TYPE,
            "v": VERSION,
            "unexported_days": self.unexported_days,
            "exported_days": self.exported_days,
            "closed_days": self.closed_days,
            "max_hold_days": self.max_hold_days,
            "grace_hours": self.grace_hours,
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Policy:
        if not isinstance(doc, Mapping) or doc.get("type") != POLICY_TYPE or doc.get("v") != VERSION:
            raise MalformedDocument("not a tipbox retention policy v1")
        values = {}
        for name in ("unexported_days", "exported_days", "closed_days", "max_hold_days", "grace_hours"):
            value = doc.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise MalformedDocument(f"policy {name} must be a non-negative integer")
            values[name] = value
        return cls(**values)


# --- export file ------------------------------------------------------------------------------


def write_log(out: TextIO, server_key: str, records: Iterable[Mapping[str, Any]]) -> None:
    """JSON Lines: a header, then ``{"entry": ...}`` / ``{"checkpoint": ...}`` in chain order."""
    out.write(json.dumps({"type": LOG_TYPE, "v": VERSION, "server_key": server_key}, sort_keys=True) + "\n")
    for record in records:
        out.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")


# --- verification -----------------------------------------------------------------------------


@dataclass
class Violation:
    kind: str  # broken_chain | bad_checkpoint | missing_checkpoint | malformed | overdue | bad_hold | ...
    seq: int | None
    message: str
    tip: str | None = None


@dataclass
class TipLife:
    tip: str
    received: datetime
    # The channels holding the tip, lead first; ("default",) for entries from before channels (FORMAT.md §14).
    channels: tuple[str, ...] = ("default",)
    exported: datetime | None = None
    closed: datetime | None = None
    hold_until: datetime | None = None
    followup: datetime | None = None  # the latest tip.followup: the source sent something new
    purged: datetime | None = None
    deadline: datetime | None = None
    state: str = "kept"


@dataclass
class Report:
    server_key: str | None = None
    entries: int = 0
    checkpoints: int = 0
    last_checkpoint_time: str | None = None
    tips: dict[str, TipLife] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for life in self.tips.values():
            result[life.state] = result.get(life.state, 0) + 1
        return result

    def counts_by_channel(self) -> dict[str, dict[str, int]]:
        """Per channel holding a tip (lead or reader), how many of its tips are in each state."""
        result: dict[str, dict[str, int]] = {}
        for life in self.tips.values():
            for channel in life.channels:
                states = result.setdefault(channel, {})
                states[life.state] = states.get(life.state, 0) + 1
        return dict(sorted(result.items()))

    def violations_by_channel(self) -> dict[str, int]:
        """How many tip violations touch each channel's tips (a channel with none is listed with 0)."""
        result = {channel: 0 for channel in self.counts_by_channel()}
        for violation in self.violations:
            life = self.tips.get(violation.tip or "")
            for channel in life.channels if life is not None else ():
                result[channel] += 1
        return result

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "server_key": self.server_key,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "at": self.at.strftime(ISO) if self.at else None,
            "tips": self.counts(),
            "channels": {
                channel: {"tips": states, "violations": self.violations_by_channel()[channel]}
                for channel, states in self.counts_by_channel().items()
            },
            "violations": [v.__dict__ for v in self.violations],
        }


def _read_lines(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError:
            yield number, None


class _Replayer:
    """Applies tip events in order and tracks each tip's deadline under the policy in force."""

    def __init__(self, report: Report, policy: Policy | None) -> None:
        self.report = report
        self.fixed_policy = policy
        self.policy = policy or Policy()

    def _deadline(self, life: TipLife) -> datetime:
        return self.policy.deadline(
            life.received,
            exported=life.exported,
            closed=life.closed,
            hold_until=life.hold_until,
            followup=life.followup,
        )

    def apply(self, entry: Mapping[str, Any], when: datetime) -> None:
        event, tip, data = entry["event"], entry["tip"], entry["data"]
        if event == "policy.changed":
            if self.fixed_policy is None:
                try:
                    self.policy = Policy.from_document(data.get("policy", {}))
                except MalformedDocument as exc:
                    self._violate("malformed", entry, str(exc))
            return
        if event not in TIP_EVENTS:
            return
        tips = self.report.tips
        if event == "tip.received":
            if tip in tips:
                self._violate("duplicate_tip", entry, "tip received twice", tip)
            channels = data.get("channels", ["default"])
            if not isinstance(channels, list) or not channels or not all(isinstance(c, str) for c in channels):
                self._violate("malformed", entry, "tip.received names no channels", tip)
                channels = ["default"]
            tips[tip] = TipLife(tip, when, tuple(channels))
            return
        life = tips.get(tip)
        if life is None:
            self._violate("unknown_tip", entry, f"{event} for a tip never received", tip)
            return
        if life.purged is not None:
            self._violate("after_purge", entry, f"{event} after the tip was purged", tip)
            return
        if event == "tip.purged":
            deadline = self._deadline(life)
            if when > deadline + timedelta(hours=self.policy.grace_hours):
                self._violate("overdue", entry, f"purged {when - deadline} after its deadline", tip)
            life.purged = when
            life.state = "purged"
        elif event == "tip.exported":
            life.exported = life.exported or when
        elif event == "tip.followup":
            # The latest one counts (the server takes the newest follow-up it holds); replies and notes never do.
            life.followup = max(life.followup or when, when)
        elif event == "tip.forwarded":
            to = data.get("to")
            if isinstance(to, str) and to not in life.channels:
                life.channels = (to, *life.channels) if data.get("lead") is True else (*life.channels, to)
        elif event == "tip.closed":
            life.closed = when
        elif event == "tip.status":
            life.closed = None  # reopened: the closed-tip clock no longer applies
        elif event == "tip.held":
            until = parse_time(data.get("until"))
            if until - when > timedelta(days=self.policy.max_hold_days):
                self._violate("bad_hold", entry, "hold longer than the policy allows", tip)
            life.hold_until = until
        elif event == "tip.released":
            # The hold ends now: a tip already past its time must go within the grace window.
            life.hold_until = when

    def _violate(self, kind: str, entry: Mapping[str, Any], message: str, tip: str | None = None) -> None:
        self.report.violations.append(Violation(kind, entry.get("seq"), message, tip))

    def finish(self, at: datetime) -> None:
        for life in self.report.tips.values():
            if life.purged is not None:
                continue
            life.deadline = self._deadline(life)
            if at > life.deadline + timedelta(hours=self.policy.grace_hours):
                life.state = "overdue"
                self.report.violations.append(
                    Violation("overdue", None, f"still kept {at - life.deadline} after its deadline", life.tip)
                )
            elif life.hold_until is not None and life.hold_until >= at and life.deadline == life.hold_until:
                life.state = "held"
            else:
                life.state = "kept"


def verify(
    lines: Iterable[str],
    trusted_keys: Collection[str] | None = None,
    policy: Policy | None = None,
    at: datetime | None = None,
) -> Report:
    """Verify an exported audit log; never raises for bad content, reports it.

    ``trusted_keys`` pins the server key (strongly recommended: without it a
    forger could re-sign everything with a key of their own). ``policy``
    checks against a published policy instead of the ``policy.changed``
    events in the log. ``at`` is the moment compliance is judged (default:
    the last checkpoint's time).
    """
    report = Report()
    records = _read_lines(lines)
    first = next(records, None)
    if first is None or not isinstance(first[1], dict) or first[1].get("type") != LOG_TYPE:
        report.violations.append(Violation("malformed", None, "not a tipbox audit log"))
        return report
    version = first[1].get("v")
    if type(version) is not int or version != VERSION:  # FORMAT.md: readers refuse unknown versions, never guess
        report.violations.append(
            Violation("malformed", None, f"audit log version {version!r} is not supported (this verifier knows {VERSION})")
        )
        return report
    report.server_key = first[1].get("server_key")
    if trusted_keys is not None and report.server_key not in trusted_keys:
        report.violations.append(Violation("untrusted_key", None, "the log names a server key you did not pin"))
    keys = list(trusted_keys) if trusted_keys is not None else [report.server_key] if report.server_key else []
    replay = _Replayer(report, policy)
    head, expected_seq = GENESIS, 0
    hashes: dict[int, str] = {}
    last_checkpointed = -1
    for number, record in records:
        if isinstance(record, dict) and set(record) == {"entry"} and isinstance(record["entry"], dict):
            entry = record["entry"]
            seq = entry.get("seq")
            if not isinstance(seq, int) or seq != expected_seq:
                report.violations.append(
                    Violation(
                        "broken_chain",
                        seq if isinstance(seq, int) else None,
                        f"line {number}: expected entry {expected_seq}, found {seq} (deleted or reordered entries)",
                    )
                )
                expected_seq = seq + 1 if isinstance(seq, int) else expected_seq
            else:
                expected_seq += 1
            if entry.get("prev") != head:
                report.violations.append(
                    Violation(
                        "broken_chain",
                        seq,
                        f"line {number}: entry does not follow the one before it (edited, deleted or reordered)",
                    )
                )
            head = entry_hash(entry)
            if isinstance(seq, int):
                hashes[seq] = head
            report.entries += 1
            try:
                if entry.get("event") not in EVENTS:
                    raise MalformedDocument(f"unknown event {entry.get('event')}")
                replay.apply(entry, parse_time(entry.get("time")))
            except (MalformedDocument, KeyError, TypeError, AttributeError) as exc:
                report.violations.append(Violation("malformed", seq, f"line {number}: {exc}"))
        elif isinstance(record, dict) and set(record) == {"checkpoint"}:
            try:
                body: Any = verify_document(record["checkpoint"], CONTEXT_AUDIT_CHECKPOINT, keys)
                if body.get("type") != CHECKPOINT_TYPE:
                    raise MalformedDocument("not a checkpoint")
            except Exception as exc:  # BadSignature, MalformedDocument: both are violations here
                report.violations.append(
                    Violation("bad_checkpoint", None, f"line {number}: checkpoint rejected ({type(exc).__name__})")
                )
                continue
            seq = body.get("seq")
            if hashes.get(seq) != body.get("head"):
                report.violations.append(
                    Violation(
                        "bad_checkpoint",
                        seq,
                        f"line {number}: checkpoint does not match the chain (entries edited, deleted or reordered)",
                    )
                )
                continue
            report.checkpoints += 1
            report.last_checkpoint_time = body.get("time")
            last_checkpointed = max(last_checkpointed, seq)
        else:
            report.violations.append(Violation("malformed", None, f"line {number}: not an entry or checkpoint"))
    if report.entries and last_checkpointed < expected_seq - 1:
        report.violations.append(
            Violation(
                "missing_checkpoint",
                expected_seq - 1,
                "the end of the log is not covered by a signed checkpoint "
                "(truncated, or entries appended after signing)",
            )
        )
    report.at = at or (parse_time(report.last_checkpoint_time) if report.last_checkpoint_time else datetime.now(UTC))
    replay.finish(report.at)
    return report
