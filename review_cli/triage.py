"""Triage records: the reviewer's assessment of one tip, with its full history.

A record is JSON sealed to the reviewer's own age recipient
(``triage/<id>.age``): triage notes and even a category reveal what a tip is
about, so they are ciphertext at rest like the tip itself. Every change is
appended to ``history`` with the time and the fingerprint of the reviewer's
signing key; nothing is ever removed from it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from crypto import regions as region_data

from .errors import InputError, StateConflict, VerificationError
from .server_facts import HoldLimit
from .taxonomy import AGENCIES, AGENCY_KINDS, CATEGORIES, HOLD_REASONS, PRIORITIES, STATUSES
from .tips import Index, short
from .workspace import Keys, Workspace, iso, open_record, seal_record, write_atomic

RECORD_TYPE = "tipbox-triage"
RECORD_VERSION = 1
MAX_REASON = 1000
MAX_NOTES = 20000
MAX_CODES = 20
EMPTY: dict[str, Any] = {
    "category": None,
    "priority": None,
    "priority_reason": None,
    "regions": [],
    "targets": [],
    "notes": None,
    "status": "new",
    "hold_until": None,
    "hold_reason": None,
    "disclose": None,  # the agency kind the source may be told about (AGENCY_KINDS), or None: nothing
}
NO_DISCLOSURE = "none"


def new_record(tip_id: str) -> dict[str, Any]:
    return {"type": RECORD_TYPE, "v": RECORD_VERSION, "tip_id": tip_id, "current": dict(EMPTY), "history": []}


def current_of(record: Mapping[str, Any], tip_id: str) -> dict[str, Any]:
    """The record's current fields, after checking it is this tip's record."""
    if record.get("type") != RECORD_TYPE or record.get("tip_id") != tip_id:
        raise VerificationError(f"the triage record of tip {short(tip_id)} belongs to another tip or is damaged")
    if record.get("v") != RECORD_VERSION:
        raise VerificationError(
            f"the triage record of tip {short(tip_id)} has an unknown version; update tipbox-review"
        )
    current = record.get("current")
    if not isinstance(current, dict) or not isinstance(record.get("history"), list):
        raise VerificationError(f"the triage record of tip {short(tip_id)} is damaged")
    return {**EMPTY, **current}


def load(ws: Workspace, keys: Keys, tip_id: str) -> dict[str, Any]:
    """The tip's record, or a new empty one."""
    try:
        data = ws.triage_path(tip_id).read_bytes()
    except FileNotFoundError:
        return new_record(tip_id)
    record = open_record(data, keys, f"the triage record of tip {short(tip_id)}")
    record["current"] = current_of(record, tip_id)
    return record


def save(ws: Workspace, keys: Keys, record: Mapping[str, Any]) -> None:
    data = seal_record(record, keys)
    write_atomic(ws.triage_path(record["tip_id"]), data)
    index = Index.load(ws, keys)
    index.put_triage(record["tip_id"], hashlib.sha256(data).hexdigest(), record["current"])
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

    def empty(self) -> bool:
        return all(v is None for v in vars(self).values())


def _codes(values: Sequence[str], table: Mapping[str, Any], option: str) -> list[str]:
    out: list[str] = []
    for raw in values:
        code = raw.strip().upper()
        if code not in table:
            raise InputError(f"{option} {raw!r} is not a known code (one of: {', '.join(table)})")
        if code not in out:
            out.append(code)
    if len(out) > MAX_CODES:
        raise InputError(f"{option}: at most {MAX_CODES} codes")
    return out


def _regions(values: Sequence[str]) -> list[str]:
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
    return out


def _text(value: str, option: str, limit: int) -> str | None:
    text = value.replace("\r\n", "\n").strip()
    if len(text) > limit:
        raise InputError(f"{option} is longer than {limit} characters")
    return text or None


def apply_change(
    record: dict[str, Any], change: Change, *, by: str, now: datetime, hold_limit: HoldLimit
) -> dict[str, list[Any]]:
    """Validate ``change`` against the record, apply it, append history; return what changed."""
    if change.empty():
        raise InputError("nothing to change: give at least one option (see tipbox-review triage --help)")
    current = dict(record["current"])
    new = dict(current)
    if change.category is not None:
        new["category"] = _codes([change.category], CATEGORIES, "--category")[0]
    if (change.priority is None) != (change.reason is None):
        raise InputError("--priority and --reason go together: say why the priority is what it is")
    if change.priority is not None and change.reason is not None:
        new["priority"] = _codes([change.priority], PRIORITIES, "--priority")[0]
        reason = _text(change.reason, "--reason", MAX_REASON)
        if reason is None:
            raise InputError("--reason must not be empty")
        new["priority_reason"] = reason
    if change.regions is not None:
        new["regions"] = _regions(change.regions)
    if change.targets is not None:
        new["targets"] = _codes(change.targets, AGENCIES, "--target")
    if change.notes is not None:
        new["notes"] = _text(change.notes, "--notes", MAX_NOTES)
    if change.status is not None:
        status = change.status.strip().lower()
        if status not in STATUSES:
            raise InputError(f"--status {change.status!r} is not one of: {', '.join(STATUSES)}")
        new["status"] = status
    if change.disclose is not None:
        kind = change.disclose.strip().lower()
        if kind != NO_DISCLOSURE and kind not in AGENCY_KINDS:
            raise InputError(
                f"--disclose {change.disclose!r} is not one of: {', '.join([*AGENCY_KINDS, NO_DISCLOSURE])}"
            )
        new["disclose"] = None if kind == NO_DISCLOSURE else kind
    today = now.date()
    if new["status"] == "hold":
        if change.hold_until is not None:
            if change.hold_until <= today:
                raise InputError("--hold-until must be a date after today")
            if change.hold_until > today + timedelta(days=hold_limit.days):
                raise InputError(
                    f"--hold-until may be at most {hold_limit.days} days ahead ({hold_limit.origin}); "
                    "renew the hold later"
                )
            new["hold_until"] = change.hold_until.isoformat()
        if change.hold_reason is not None:
            reason_code = change.hold_reason.strip().lower()
            if reason_code not in HOLD_REASONS:
                raise InputError(f"--hold-reason {change.hold_reason!r} is not one of: {', '.join(HOLD_REASONS)}")
            new["hold_reason"] = reason_code
        if not new["hold_until"] or not new["hold_reason"]:
            raise InputError(
                "--status hold needs --hold-until YYYY-MM-DD and --hold-reason (a hold never lasts forever)"
            )
    else:
        if change.hold_until is not None or change.hold_reason is not None:
            raise InputError("--hold-until and --hold-reason only apply with --status hold")
        new["hold_until"] = None
        new["hold_reason"] = None
    if new["status"] == "referred" and not new["targets"]:
        raise InputError("--status referred needs the agency: add --target CODE")
    changes = {k: [current[k], new[k]] for k in EMPTY if current[k] != new[k]}
    if changes:
        record["current"] = new
        record["history"].append({"at": iso(now), "by": by, "changes": changes})
    return changes


def record_referral(
    record: dict[str, Any], *, agency: str, fmt: str, lang: str, sha256: str, by: str, now: datetime
) -> dict[str, list[Any]]:
    """Note a referral packet in the history; mark the tip referred to that agency."""
    if agency not in AGENCIES:
        raise InputError(f"--to {agency!r} is not a known agency code")
    current = dict(record["current"])
    new = dict(current)
    if agency not in new["targets"]:
        new["targets"] = [*new["targets"], agency]
    if new["status"] in ("new", "in_review"):
        new["status"] = "referred"
    changes = {k: [current[k], new[k]] for k in EMPTY if current[k] != new[k]}
    record["current"] = new
    record["history"].append(
        {
            "at": iso(now),
            "by": by,
            "changes": changes,
            "referral": {"to": agency, "format": fmt, "lang": lang, "sha256": sha256},
        }
    )
    return changes


def require_referable(current: Mapping[str, Any], payload_category: str | None, tip_id: str) -> None:
    if not current.get("priority") or not current.get("priority_reason"):
        raise InputError(
            f"tip {short(tip_id)} has no priority yet: run `tipbox-review triage {short(tip_id)} "
            "--priority P1..P4 --reason ...` first"
        )
    category = current.get("category") or payload_category
    if category not in CATEGORIES:
        raise InputError(f"tip {short(tip_id)} has no known category yet: run `triage --category CODE` first")
    if current.get("status") == "closed":
        raise StateConflict(f"tip {short(tip_id)} is closed; reopen it with `triage --status in_review` to refer it")
