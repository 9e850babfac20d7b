"""Import a reviewer's signed dispositions file: statuses, holds, closures and replies.

The offline CLI (`tipbox-review dispositions export`) writes a signed tipbox
document (crypto/FORMAT.md §6, context ``tipbox/dispositions/v1``; the format
is in docs/review.md). The server accepts it only if

* it is signed by the Ed25519 key of an *active* reviewer (the key each
  reviewer registered with ``tipbox reviewers add ... --signing-key``);
* its random ``id`` was never imported before (replays fail);
* its body is exactly a v1 or v2 dispositions body (crypto/dispositions.py;
  unknown members are refused);
* every entry and reply names a ready tip that reviewer's channel *leads* (or
  one the audit log says was purged: that entry is skipped; a tip the channel
  only reads along as a coordinator is refused, FORMAT.md §14), and every hold
  ends after now and within the retention policy's ``max_hold_days``;
* every reply is a new id (or one already published with exactly the same
  bytes, which is skipped), for a tip with a source key, sealed to exactly one
  more X25519 recipient (the source) than the channels holding the tip have
  reviewers now.

Then everything is applied in the caller's transaction, all or nothing. An
entry is skipped, not applied, when the tip's status was last set by a file the
reviewer created later (an older file never undoes a newer one). Only codes,
dates, ids and sealed replies are stored: never readable content.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import header, strict_json
from crypto.audit import Policy
from crypto.dispositions import TIME_FORMAT, Body, Reply, parse_body
from crypto.errors import MalformedDispositions, MalformedJSON, TipboxCryptoError
from crypto.identity import recipient_fingerprint
from crypto.signing import CONTEXT_DISPOSITIONS, verify_document

from . import handover, readers
from .intake.service import receive_message
from .models import TIP_READY, TIP_UPLOADING, DispositionImport, Message, Reviewer, Tip, TipChannel

MAX_FILE_BYTES = 16 * 1024 * 1024

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
    replies: int = 0
    replies_unchanged: int = 0  # sent again with the same bytes: already on the status page
    by_status: dict[str, int] = field(default_factory=dict)
    forwarded: int = 0
    resealed: int = 0


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


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
    max_hold_days: int = Policy().max_hold_days,
    now: datetime | None = None,
    record_event: EventSink | None = None,
    package: Path | None = None,
    chunk_bytes: int = 1024 * 1024,
) -> ImportResult:
    """Verify and apply a dispositions file in ``db``'s transaction (the caller commits).

    ``data`` is the signed document; ``package``, the dispositions package
    (FORMAT.md §10.2) it came in, which carries the re-sealed parts of its
    forwards and reseals (tipbox/handover.py). After a commit that replaced
    ciphertext (``result.forwarded`` or ``result.resealed``), scrub freed space.
    """
    now = now or _utcnow()
    if len(data) > MAX_FILE_BYTES:
        raise DispositionError("the dispositions file is too large")
    try:
        document = strict_json.loads(data)
    except MalformedJSON:
        raise DispositionError("not a dispositions file (not JSON)") from None
    memberships: dict[str, list[Reviewer]] = {}
    for row in db.scalars(
        select(Reviewer)
        .where(Reviewer.removed_at.is_(None), Reviewer.signing_key.is_not(None))
        .order_by(Reviewer.channel_id)
    ):
        if row.signing_key:
            memberships.setdefault(row.signing_key, []).append(row)
    # BadSignature / MalformedDocument (crypto.errors) propagate: the caller reports them.
    body = verify_document(document, CONTEXT_DISPOSITIONS, list(memberships))
    # One person may review for several channels with one key: the file speaks for all of them.
    rows = memberships[document["signature"]["key"]]
    reviewer, channels = rows[0], {r.channel_id for r in rows}
    if isinstance(body.get("id"), str) and db.get(DispositionImport, body["id"]) is not None:
        raise DispositionError("this dispositions file was already imported (replay refused)")
    try:
        parsed = parse_body(body, now, max_hold_days)
    except MalformedDispositions as exc:
        raise DispositionError(str(exc)) from None
    created, entries = parsed.created, parsed.entries

    handed = [h.tip_id for h in (*parsed.forwards, *parsed.reseals)]
    ids = list(dict.fromkeys([e.tip_id for e in entries] + [r.tip_id for r in parsed.replies] + handed))
    tips = (
        {
            t.id: t
            for t in db.scalars(
                select(Tip).where(
                    Tip.id.in_(ids),
                    Tip.id.in_(select(TipChannel.tip_id).where(TipChannel.channel_id.in_(channels))),
                    Tip.state == TIP_READY,
                )
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
    decides = decided(parsed)
    _check_lead([t for t in tips.values() if t.id in decides], channels)
    try:
        planned = handover.plan(db, parsed, tips, channels, purged, package)
    except handover.HandoverError as exc:
        raise DispositionError(str(exc)) from None
    previous_ids = {t.disposition_id for t in tips.values() if t.disposition_id}
    previous = (
        {d.id: d.created for d in db.scalars(select(DispositionImport).where(DispositionImport.id.in_(previous_ids)))}
        if previous_ids
        else {}
    )

    keys = {t.id: readers.tip_keys(db, t) for t in tips.values()} if parsed.replies else {}
    published_before = _check_replies(db, parsed, tips, purged, keys)
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
        if entry.tip_id in purged:
            result.purged += 1  # deleted under the retention policy since the reviewer exported it
            continue
        tip = tips[entry.tip_id]
        last = previous.get(tip.disposition_id or "")
        if last is not None and last > created:
            result.stale += 1
            continue
        status, old = entry.status, tip.review_status
        tip.disclosed_agency = entry.disclose
        if (status, entry.hold_until, entry.hold_reason) == (old, tip.hold_until, tip.hold_reason):
            tip.disposition_id = record.id
            result.unchanged += 1
            continue
        if old == "hold" and status != "hold":
            emit(db, "tip.released", tip.id, {})
        if old == "closed" and status != "closed":
            tip.closed_at = None
        if status == "hold":
            assert entry.hold_until is not None
            emit(db, "tip.held", tip.id, {"until": entry.hold_until.strftime(TIME_FORMAT), "reason": entry.hold_reason})
        elif status == "closed":
            tip.closed_at = _hour(now)
            emit(db, "tip.closed", tip.id, {})
        else:
            emit(db, "tip.status", tip.id, {"status": status})
        tip.review_status = status
        tip.hold_until = entry.hold_until
        tip.hold_reason = entry.hold_reason
        tip.disposition_id = record.id
        result.applied += 1
        result.by_status[status] = result.by_status.get(status, 0) + 1
    for reply in parsed.replies:
        if reply.tip_id in purged:
            result.purged += 1
            continue
        if reply.id in published_before:
            result.replies_unchanged += 1
            continue
        tip = tips[reply.tip_id]
        readers.remember(db, keys[tip.id])
        publish_reply(db, tip, reply, record.id, keys[tip.id].fingerprint)
        result.replies += 1
    result.forwarded, result.resealed = handover.apply(db, planned, package, channels, chunk_bytes, emit)
    record.applied_count = result.applied
    emit(
        db,
        "dispositions.imported",
        None,
        {
            "id": body["id"],
            "reviewer": recipient_fingerprint(reviewer.recipient),
            "channels": sorted(channels),
            "entries": len(entries),
            "applied": result.applied,
            "replies": result.replies,
            "forwarded": result.forwarded,
            "resealed": result.resealed,
        },
    )
    db.flush()
    return result


def decided(parsed: Body) -> set[str]:
    """Tips whose status, hold, closure or replies the file sets: the lead channel's to decide."""
    return {e.tip_id for e in parsed.entries} | {r.tip_id for r in parsed.replies}


def _check_lead(tips: Iterable[Tip], channels: set[str]) -> None:
    """Refuse the file if it changes a tip its reviewer's channel only reads along (FORMAT.md §14).

    Status, holds, closure, disclosure and replies belong to the lead channel:
    one team answers to the source and decides what the server keeps, and a
    coordinating channel works through that team (or, later, takes the lead).
    """
    for tip in tips:
        if tip.channel_id not in channels:
            raise DispositionError(
                f"tip {tip.id[:8]} is led by channel {tip.channel_id}: only its reviewers set status, holds, "
                "closure or replies (your channel reads along); nothing was applied"
            )


def _check_replies(
    db: Session, parsed: Body, tips: Mapping[str, Tip], purged: set[str], keys: Mapping[str, readers.ReaderKeys]
) -> set[str]:
    """Refuse the whole file unless every reply is a tipbox-sealed age file the source can open.

    Returns the ids of replies this server already published with exactly these
    bytes (a reviewer whose CLI stopped before recording the export sends them
    again): they are skipped. The same id with other bytes is refused.
    """
    if not parsed.replies:
        return set()
    known = {
        m.id: m for m in db.scalars(select(Message).where(Message.id.in_([r.id for r in parsed.replies])))
    }
    again = set()
    for reply in parsed.replies:
        if reply.id in known:
            earlier = known[reply.id]
            if earlier.tip_id != reply.tip_id or earlier.payload_sha256 != hashlib.sha256(reply.sealed).hexdigest():
                raise DispositionError(f"reply {reply.id[:8]} was already published with other content (refused)")
            again.add(reply.id)
            continue
        if reply.tip_id in purged:
            continue
        tip = tips[reply.tip_id]
        if tip.source_recipient is None:
            raise DispositionError(f"tip {tip.id[:8]} has no source key, so its source cannot read a reply")
        reviewers = keys[tip.id].count
        try:
            parsed_header = header.parse_header(io.BytesIO(reply.sealed))
            header.check_x25519_recipients(parsed_header, reviewers + 1)
            header.check_padded_payload(len(reply.sealed) - parsed_header.length)
        except TipboxCryptoError:
            raise DispositionError(
                f"the reply to tip {tip.id[:8]} is not sealed to the source and the current {reviewers} reviewers; "
                "import a fresh export bundle and write it again"
            ) from None
    return again


def publish_reply(db: Session, tip: Tip, reply: Reply, disposition_id: str, fingerprint: str) -> None:
    """A checked reply becomes part of the tip's thread, visible on the source's status page.

    ``fingerprint`` is that of the reviewers the reply was checked against (every channel holding the tip).
    """
    message = Message(
        id=reply.id,
        tip_id=tip.id,
        seq=0,
        kind="reply",
        state=TIP_UPLOADING,  # receive_message makes it ready, numbered and logged
        sealed_by="reviewer",
        key_fingerprint=fingerprint,
        payload=reply.sealed,
        payload_size=len(reply.sealed),
        payload_sha256=hashlib.sha256(reply.sealed).hexdigest(),
        disposition_id=disposition_id,
    )
    db.add(message)
    receive_message(db, tip, message)
