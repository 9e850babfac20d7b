"""Triage: what a reviewer may change about a tip, and recording it.

The record itself (its fields, its history, how it is sealed) is
review_cli/triage_record.py; this module checks a requested change against
the vocabularies and the hold limit, applies it to a record (returning a new
one: records are frozen), and saves it, keeping the list cache in step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta

from crypto import regions as region_data
from crypto.vocabulary import AgencyKind, HoldReason, Status

from .errors import InputError, StateConflict
from .index import Index
from .server_facts import HoldLimit
from .taxonomy import AGENCIES, AGENCY_KINDS, CATEGORIES, HOLD_REASONS, MATERIAL_CLASSES, PRIORITIES, STATUSES
from .triage_record import FieldValue, HistoryItem, Referral, Triage, TriageRecord, load
from .workspace import Keys, Workspace, iso, short, write_atomic

MAX_REASON = 1000
MAX_NOTES = 20000
MAX_CODES = 20
NO_DISCLOSURE = "none"
# What `triage` and `refer` report: field name -> (old value, new value).
Changes = dict[str, tuple[FieldValue, FieldValue]]


def save(ws: Workspace, keys: Keys, record: TriageRecord) -> None:
    data = record.seal(keys)
    write_atomic(ws.triage_path(record.tip_id), data)
    index = Index.load(ws, keys)
    index.put_triage(record.tip_id, hashlib.sha256(data).hexdigest(), record.current)
    index.save(ws, keys)


@dataclass(frozen=True)
class Change:
    """What `triage` was asked to change; ``None`` leaves a field as it is."""

    category: str | None = None
    priority: str | None = None
    reason: str | None = None
    regions: Sequence[str] | None = None
    targets: Sequence[str] | None = None
    notes: str | None = None
    status: str | None = None
    hold_until: date | None = None
    hold_reason: str | None = None
    disclose: str | None = None  # an AGENCY_KINDS code, or "none" to tell the source nothing
    attachment: str | None = None  # with material_class: the id of the attachment classified
    material_class: str | None = None  # a MATERIAL_CLASSES code

    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


def _codes(values: Sequence[str], table: Mapping[str, object], option: str) -> tuple[str, ...]:
    out: list[str] = []
    for raw in values:
        code = raw.strip().upper()
        if code not in table:
            raise InputError(f"{option} {raw!r} is not a known code (one of: {', '.join(table)})")
        if code not in out:
            out.append(code)
    if len(out) > MAX_CODES:
        raise InputError(f"{option}: at most {MAX_CODES} codes")
    return tuple(out)


def _regions(values: Sequence[str]) -> tuple[str, ...]:
    data = region_data.load()
    out: list[str] = []
    for raw in values:
        code = raw.strip()
        if not region_data.valid_code(code):
            raise InputError(f"--region {code!r}: a region code looks like 18 (province) or 18.09 (kabupaten/kota)")
        if not data.known(code):
            raise InputError(f"--region {code}: no such Kemendagri province or kabupaten/kota code")
        if code not in out:
            out.append(code)
    if len(out) > MAX_CODES:
        raise InputError(f"--region: at most {MAX_CODES} codes")
    return tuple(out)


def _text(value: str, option: str, limit: int) -> str | None:
    text = value.replace("\r\n", "\n").strip()
    if len(text) > limit:
        raise InputError(f"{option} is longer than {limit} characters")
    return text or None


def _status(change: Change, current: Triage) -> Status:
    if change.status is None:
        return current.status
    code = change.status.strip().lower()
    if code not in STATUSES:
        raise InputError(f"--status {change.status!r} is not one of: {', '.join(STATUSES)}")
    return Status(code)


def _disclose(change: Change, current: Triage) -> AgencyKind | None:
    if change.disclose is None:
        return current.disclose
    kind = change.disclose.strip().lower()
    if kind != NO_DISCLOSURE and kind not in AGENCY_KINDS:
        raise InputError(f"--disclose {change.disclose!r} is not one of: {', '.join([*AGENCY_KINDS, NO_DISCLOSURE])}")
    return None if kind == NO_DISCLOSURE else AgencyKind(kind)


def _hold(
    change: Change, current: Triage, status: Status, today: date, hold_limit: HoldLimit
) -> tuple[str | None, HoldReason | None]:
    """(hold_until, hold_reason) after ``change``: both set on hold, both None otherwise."""
    if status != Status.HOLD:
        if change.hold_until is not None or change.hold_reason is not None:
            raise InputError("--hold-until and --hold-reason only apply with --status hold")
        return None, None
    until, reason = current.hold_until, current.hold_reason
    if change.hold_until is not None:
        if change.hold_until <= today:
            raise InputError("--hold-until must be a date after today")
        if change.hold_until > today + timedelta(days=hold_limit.days):
            raise InputError(
                f"--hold-until may be at most {hold_limit.days} days ahead ({hold_limit.origin}); renew the hold later"
            )
        until = change.hold_until.isoformat()
    if change.hold_reason is not None:
        reason_code = change.hold_reason.strip().lower()
        if reason_code not in HOLD_REASONS:
            raise InputError(f"--hold-reason {change.hold_reason!r} is not one of: {', '.join(HOLD_REASONS)}")
        reason = HoldReason(reason_code)
    if not until or not reason:
        raise InputError("--status hold needs --hold-until YYYY-MM-DD and --hold-reason (a hold never lasts forever)")
    return until, reason


def _classify(change: Change, current: Triage) -> tuple[str, ...]:
    """The record's classes with ``change``'s attachment (re)classified; its place in the list is kept."""
    if (change.attachment is None) != (change.material_class is None):
        raise InputError("--attachment N and --class CLASS go together: which attachment, and what it is")
    if change.attachment is None or change.material_class is None:
        return current.classes
    code = change.material_class.strip().lower()
    if code not in MATERIAL_CLASSES:
        raise InputError(f"--class {change.material_class!r} is not one of: {', '.join(MATERIAL_CLASSES)}")
    entry = f"{change.attachment}={code}"
    kept = [e for e in current.classes if e.partition("=")[0] != change.attachment]
    if len(kept) == len(current.classes):
        return (*current.classes, entry)
    return tuple(entry if e.partition("=")[0] == change.attachment else e for e in current.classes)


def apply_change(
    record: TriageRecord, change: Change, *, by: str, now: datetime, hold_limit: HoldLimit
) -> tuple[TriageRecord, Changes]:
    """Validate ``change`` against the record and apply it.

    Returns the new record (records are frozen: the change appended to its history) and what changed.
    """
    if change.empty():
        raise InputError("nothing to change: give at least one option (see tipbox-review triage --help)")
    current = record.current
    category, priority, reason = current.category, current.priority, current.priority_reason
    if change.category is not None:
        category = _codes([change.category], CATEGORIES, "--category")[0]
    if (change.priority is None) != (change.reason is None):
        raise InputError("--priority and --reason go together: say why the priority is what it is")
    if change.priority is not None and change.reason is not None:
        priority = _codes([change.priority], PRIORITIES, "--priority")[0]
        reason = _text(change.reason, "--reason", MAX_REASON)
        if reason is None:
            raise InputError("--reason must not be empty")
    regions = current.regions if change.regions is None else _regions(change.regions)
    targets = current.targets if change.targets is None else _codes(change.targets, AGENCIES, "--target")
    notes = current.notes if change.notes is None else _text(change.notes, "--notes", MAX_NOTES)
    status = _status(change, current)
    disclose = _disclose(change, current)
    hold_until, hold_reason = _hold(change, current, status, now.date(), hold_limit)
    if status == Status.REFERRED and not targets:
        raise InputError("--status referred needs the agency: add --target CODE")
    classes = _classify(change, current)
    new = Triage(
        category, priority, reason, regions, targets, notes, status, hold_until, hold_reason, disclose, classes
    )
    changes = new.changes_from(current)
    if changes:
        record = record.changed(new, HistoryItem(iso(now), by, changes))
    return record, changes


def record_referral(
    record: TriageRecord, *, agency: str, fmt: str, lang: str, sha256: str, by: str, now: datetime
) -> tuple[TriageRecord, Changes]:
    """Note a referral packet in the history; mark the tip referred to that agency."""
    if agency not in AGENCIES:
        raise InputError(f"--to {agency!r} is not a known agency code")
    current = record.current
    targets = current.targets if agency in current.targets else (*current.targets, agency)
    status = Status.REFERRED if current.status in (Status.NEW, Status.IN_REVIEW) else current.status
    new = replace(current, targets=targets, status=status)
    changes = new.changes_from(current)
    item = HistoryItem(iso(now), by, changes, Referral(agency, fmt, lang, sha256))
    return record.changed(new, item), changes


def require_referable(current: Triage, payload_category: str | None, tip_id: str) -> None:
    if not current.priority or not current.priority_reason:
        raise InputError(
            f"tip {short(tip_id)} has no priority yet: run `tipbox-review triage {short(tip_id)} "
            "--priority P1..P4 --reason ...` first"
        )
    category = current.category or payload_category
    if category not in CATEGORIES:
        raise InputError(f"tip {short(tip_id)} has no known category yet: run `triage --category CODE` first")
    if current.status == Status.CLOSED:
        raise StateConflict(f"tip {short(tip_id)} is closed; reopen it with `triage --status in_review` to refer it")


__all__ = ["Change", "Changes", "apply_change", "load", "record_referral", "require_referable", "save"]
