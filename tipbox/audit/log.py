"""Append lifecycle events, link them into the hash chain, sign checkpoints.

Appending is a plain INSERT in the caller's transaction: the event commits or
rolls back with the change it records, and concurrent submissions never wait
for each other. Linking (assigning ``seq``, ``prev`` and ``hash``) is done in
batches by one writer at a time (a PostgreSQL advisory lock, or SQLite's
single writer) on export, purge, ``tipbox audit checkpoint`` and audit export.
Events not yet linked are not yet tamper-evident: run the checkpoint timer
often (docs/retention.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import nacl.signing
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from crypto import audit
from crypto.signing import canonical_json

from .. import clock
from .models import AuditCheckpoint, AuditEvent

ADVISORY_LOCK = 0x7469_7062  # "tipb"


def record(
    db: Session,
    event: str,
    tip_id: str | None = None,
    data: Mapping[str, Any] | None = None,
    when: datetime | None = None,
) -> None:
    """Append one event to the caller's transaction (unchained)."""
    if event not in audit.EVENTS:
        raise ValueError(f"unknown audit event {event}")
    db.add(
        AuditEvent(
            time=audit.hour(when or clock.utcnow()),
            event=event,
            tip_id=tip_id,
            data=canonical_json(dict(data or {})).decode(),
        )
    )


def _lock_chain(db: Session) -> None:
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
    else:
        # SQLite: take the write lock now, not on first write, so two chainers serialise.
        db.execute(text("UPDATE audit_checkpoints SET id = id WHERE 0"))


def _entry(row: AuditEvent) -> dict[str, Any]:
    return audit.make_entry(
        row.seq or 0, row.prev or audit.GENESIS, row.time, row.event, row.tip_id, json.loads(row.data)
    )


def chain_pending(db: Session, key: nacl.signing.SigningKey, checkpoint: bool = True) -> int:
    """Link every unchained event, then (optionally) sign a checkpoint. Returns events linked."""
    _lock_chain(db)
    last = db.scalars(
        select(AuditEvent).where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq = (last.seq + 1) if last is not None and last.seq is not None else 0
    head = last.hash if last is not None and last.hash else audit.GENESIS
    linked = 0
    while True:
        batch = db.scalars(select(AuditEvent).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id).limit(1000)).all()
        if not batch:
            break
        for row in batch:
            row.seq, row.prev = seq, head
            row.hash = head = audit.entry_hash(_entry(row))
            seq += 1
            linked += 1
        db.flush()
    if checkpoint and seq > 0:
        latest = db.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)).first()
        if latest is None or latest.seq != seq - 1 or linked:
            now = audit.hour(clock.utcnow())
            document = audit.make_checkpoint(seq - 1, head, now, key)
            db.add(AuditCheckpoint(seq=seq - 1, head=head, time=now, document=json.dumps(document, sort_keys=True)))
            db.flush()
    return linked


def ensure_policy_recorded(db: Session, policy: audit.Policy) -> bool:
    """Record the retention policy if it differs from the last one recorded."""
    document = policy.as_document()
    last = db.scalars(
        select(AuditEvent.data).where(AuditEvent.event == "policy.changed").order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if last is not None and json.loads(last).get("policy") == document:
        return False
    record(db, "policy.changed", data={"policy": document})
    return True


def export_records(db: Session) -> Iterator[dict[str, Any]]:
    """Every linked entry in order, each followed by the checkpoints over it."""
    checkpoints: dict[int, list[dict]] = {}
    for row in db.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)):
        checkpoints.setdefault(row.seq, []).append(json.loads(row.document))
    top = db.scalar(select(func.max(AuditEvent.seq)))
    if top is None:
        return
    start = 0
    while start <= top:
        rows = db.scalars(
            select(AuditEvent).where(AuditEvent.seq >= start, AuditEvent.seq < start + 5000).order_by(AuditEvent.seq)
        ).all()
        for row in rows:
            entry = _entry(row)
            yield {"entry": entry}
            for document in checkpoints.get(row.seq or 0, []):
                yield {"checkpoint": document}
        start += 5000
