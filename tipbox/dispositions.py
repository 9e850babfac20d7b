"""Import a reviewer's signed dispositions file: statuses, holds and closures.

The offline CLI (`tipbox-review dispositions export`) writes a signed tipbox
document (crypto/FORMAT.md §6, context ``tipbox/dispositions/v1``; the format
is in docs/review.md). The server accepts it only if

* it is signed by the Ed25519 key of an *active* reviewer (the key each
  reviewer registered with ``tipbox reviewers add ... --signing-key``);
* its random ``id`` was never imported before (replays fail);
* its body is exactly a v1 dispositions body (unknown members are refused);
* every entry names a ready tip of that reviewer's channel (or one the audit log
  says was purged: that entry is skipped), and every hold ends after now and
  within the retention policy's ``max_hold_days``.

Then every entry is applied in the caller's transaction, all or nothing. An
entry is skipped, not applied, when the tip's status was last set by a file the
reviewer created later (an older file never undoes a newer one). Only codes,
dates and ids are stored: never content.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.identity import recipient_fingerprint
from crypto.signing import CONTEXT_DISPOSITIONS, verify_document

from .models import TIP_READY, DispositionImport, Reviewer, Tip

DOCUMENT_TYPE = "tipbox-dispositions"
VERSION = 1
STATUSES = ("new", "in_review", "referred", "closed", "hold")
# Mirrors review_cli/taxonomy.py HOLD_REASONS (docs/review.md lists them).
HOLD_REASONS = ("investigation", "prosecution", "victim-support", "authority-request", "follow-up")
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_ENTRIES = 100_000
MAX_CLOCK_SKEW = timedelta(days=1)
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_TIME = "%Y-%m-%dT%H:%M:%SZ"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

EventSink = Callable[[Session, str, str | None, Mapping[str, Any]], None]


class DispositionError(ValueError):
    """The file was refused; nothing was applied. The message is safe to print."""


@dataclass
class ImportResult:
    file_id: str
    reviewer_label: str
    entries: int
    applied: int = 0
    unchanged: int = 0
    stale: int = 0
    purged: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def parse_body(body: Mapping[str, Any], now: datetime, max_hold_days: int) -> tuple[datetime, list[dict[str, Any]]]:
    """Validate a v1 body strictly; return (created, entries)."""
    if body.get("type") != DOCUMENT_TYPE:
        raise DispositionError("not a tipbox dispositions file")
    if body.get("v") != VERSION:
        raise DispositionError("unknown dispositions version; update tipbox")
    if set(body) != {"type", "v", "id", "created", "entries"}:
        raise DispositionError("the dispositions file has unexpected or missing members")
    if not isinstance(body["id"], str) or not _HEX32.match(body["id"]):
        raise DispositionError("the dispositions file id must be 32 lowercase hex digits")
    try:
        created = datetime.strptime(str(body["created"]), _TIME)
    except ValueError:
        raise DispositionError("created must be YYYY-MM-DDTHH:MM:SSZ") from None
    if created > now + MAX_CLOCK_SKEW:
        raise DispositionError("the dispositions file is dated in the future; check the reviewer's clock")
    entries = body["entries"]
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
        raise DispositionError("entries must be a list")
    seen: set[str] = set()
    parsed = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise DispositionError("each entry must be an object")
        status = entry.get("status")
        expected = {"tip_id", "status", "hold_until", "hold_reason"} if status == "hold" else {"tip_id", "status"}
        if set(entry) != expected:
            raise DispositionError("an entry has unexpected or missing members (holds need hold_until and hold_reason)")
        tip_id = entry["tip_id"]
        if not isinstance(tip_id, str) or not _HEX32.match(tip_id) or tip_id in seen:
            raise DispositionError("an entry has an invalid or repeated tip_id")
        seen.add(tip_id)
        if status not in STATUSES:
            raise DispositionError("an entry has an unknown status")
        item: dict[str, Any] = {"tip_id": tip_id, "status": status, "hold_until": None, "hold_reason": None}
        if status == "hold":
            until_text = entry["hold_until"]
            try:
                if not isinstance(until_text, str) or not _DATE.match(until_text):
                    raise ValueError
                until = datetime.strptime(until_text, "%Y-%m-%d")
            except ValueError:
                raise DispositionError("hold_until must be a date YYYY-MM-DD") from None
            if until <= now:
                raise DispositionError(f"a hold on tip {tip_id[:8]} has already ended")
            if until - _hour(now) > timedelta(days=max_hold_days):
                raise DispositionError(f"a hold on tip {tip_id[:8]} is longer than the policy's {max_hold_days} days")
            if entry["hold_reason"] not in HOLD_REASONS:
                raise DispositionError("an entry has an unknown hold_reason code")
            item["hold_until"] = until
            item["hold_reason"] = entry["hold_reason"]
        parsed.append(item)
    return created, parsed


def _purged(db: Session, tip_ids: list[str]) -> set[str]:
    """Which of ``tip_ids`` the audit log says were purged (their entries are skipped, not refused)."""
    if not tip_ids:
        return set()
    from .audit.models import AuditEvent

    query = select(AuditEvent.tip_id).where(AuditEvent.event == "tip.purged", AuditEvent.tip_id.in_(tip_ids))
    return {tip_id for tip_id in db.scalars(query) if tip_id}


def import_dispositions(
    db: Session,
    data: bytes,
    *,
    max_hold_days: int = 365,
    now: datetime | None = None,
    record_event: EventSink | None = None,
) -> ImportResult:
    """Verify and apply a dispositions file in ``db``'s transaction (the caller commits)."""
    now = now or _utcnow()
    if len(data) > MAX_FILE_BYTES:
        raise DispositionError("the dispositions file is too large")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DispositionError("not a dispositions file (not JSON)") from None
    reviewers = {
        r.signing_key: r
        for r in db.scalars(select(Reviewer).where(Reviewer.removed_at.is_(None), Reviewer.signing_key.is_not(None)))
        if r.signing_key
    }
    # BadSignature / MalformedDocument (crypto.errors) propagate: the caller reports them.
    body = verify_document(document, CONTEXT_DISPOSITIONS, list(reviewers))
    reviewer = reviewers[document["signature"]["key"]]
    if isinstance(body.get("id"), str) and db.get(DispositionImport, body["id"]) is not None:
        raise DispositionError("this dispositions file was already imported (replay refused)")
    created, entries = parse_body(body, now, max_hold_days)

    ids = [e["tip_id"] for e in entries]
    tips = (
        {
            t.id: t
            for t in db.scalars(
                select(Tip).where(Tip.id.in_(ids), Tip.channel_id == reviewer.channel_id, Tip.state == TIP_READY)
            )
        }
        if ids
        else {}
    )
    missing = [tip_id for tip_id in ids if tip_id not in tips]
    purged = _purged(db, missing)
    unknown = [tip_id for tip_id in missing if tip_id not in purged]
    if unknown:
        raise DispositionError(
            f"{len(unknown)} entries name tips this server does not hold (e.g. {unknown[0][:8]}); nothing was applied"
        )
    previous_ids = {t.disposition_id for t in tips.values() if t.disposition_id}
    previous = (
        {d.id: d.created for d in db.scalars(select(DispositionImport).where(DispositionImport.id.in_(previous_ids)))}
        if previous_ids
        else {}
    )

    record = DispositionImport(
        id=body["id"],
        reviewer_id=reviewer.id,
        created=created,
        imported_at=_hour(now),
        entry_count=len(entries),
        applied_count=0,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    db.add(record)
    result = ImportResult(body["id"], reviewer.label, len(entries))
    emit = record_event or (lambda *_args: None)
    for entry in entries:
        if entry["tip_id"] in purged:
            result.purged += 1  # deleted under the retention policy since the reviewer exported it
            continue
        tip = tips[entry["tip_id"]]
        last = previous.get(tip.disposition_id or "")
        if last is not None and last > created:
            result.stale += 1
            continue
        status, old = entry["status"], tip.review_status
        if (status, entry["hold_until"], entry["hold_reason"]) == (old, tip.hold_until, tip.hold_reason):
            tip.disposition_id = record.id
            result.unchanged += 1
            continue
        if old == "hold" and status != "hold":
            emit(db, "tip.released", tip.id, {})
        if old == "closed" and status != "closed":
            tip.closed_at = None
        if status == "hold":
            emit(db, "tip.held", tip.id, {"until": entry["hold_until"].strftime(_TIME), "reason": entry["hold_reason"]})
        elif status == "closed":
            tip.closed_at = _hour(now)
            emit(db, "tip.closed", tip.id, {})
        else:
            emit(db, "tip.status", tip.id, {"status": status})
        tip.review_status = status
        tip.hold_until = entry["hold_until"]
        tip.hold_reason = entry["hold_reason"]
        tip.disposition_id = record.id
        result.applied += 1
        result.by_status[status] = result.by_status.get(status, 0) + 1
    record.applied_count = result.applied
    emit(
        db,
        "dispositions.imported",
        None,
        {
            "id": body["id"],
            "reviewer": recipient_fingerprint(reviewer.recipient),
            "entries": len(entries),
            "applied": result.applied,
        },
    )
    db.flush()
    return result
