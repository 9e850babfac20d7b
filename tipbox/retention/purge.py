"""``tipbox purge``: delete every tip past its time, for real, one tip per transaction.

A tip's deadline follows the same rules the auditor's verifier replays
(crypto/audit.py, FORMAT.md §9.2), computed from what the server stores:
received hour, first export, closing, and a signed hold. Tips go in small
batches, each tip's rows deleted in the same transaction as its
``tip.purged`` audit event, so a purge killed at any moment leaves every tip
either whole or gone (and logged), and the next run finishes the job. Concurrent purges skip rows another purge has
locked (PostgreSQL) or wait for SQLite's single writer, and a tip already
gone is simply skipped: nothing is deleted or logged twice.

"Deleted" means the ciphertext is gone from the live database files, not
just unreachable: on SQLite ``secure_delete`` zeroes freed pages and the WAL
is checkpointed and truncated afterwards; on PostgreSQL the ciphertext tables
are rewritten with VACUUM FULL, because plain VACUUM leaves deleted bytes in
the files (tests/tipbox/test_purge_proof.py proves both). What no database can
promise (old WAL segments, backups, replicas, the disk's freed blocks) is in
docs/retention.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import nacl.signing
from sqlalchemy import select, text
from sqlalchemy.engine import Engine, Row
from sqlalchemy.orm import Session, sessionmaker

from crypto import audit

from .. import clock, storage
from ..audit.log import chain_pending, ensure_policy_recorded, record
from ..intake.service import cleanup_abandoned
from ..models import TIP_READY, Tip

BATCH = 200


def deadline(tip: Tip | Row, policy: audit.Policy) -> datetime:
    """When ``tip`` must be gone (before the grace window)."""
    assert tip.received_at is not None
    if tip.closed_at is not None:
        base = tip.closed_at + timedelta(days=policy.closed_days)
    elif tip.exported_at is not None:
        base = tip.received_at + timedelta(days=policy.exported_days)
    else:
        base = tip.received_at + timedelta(days=policy.unexported_days)
    if tip.hold_until is not None:
        base = max(base, tip.hold_until)
    return base


def expired_ids(db: Session, policy: audit.Policy, now: datetime) -> list[str]:
    """Ids of ready tips whose deadline has passed (only the columns that decide it are read)."""
    rows = db.execute(
        select(Tip.id, Tip.received_at, Tip.exported_at, Tip.closed_at, Tip.hold_until).where(
            Tip.state == TIP_READY, Tip.received_at <= now
        )
    ).all()
    return sorted(row.id for row in rows if deadline(row, policy) <= now)


@dataclass
class PurgeResult:
    expired: list[str]
    purged: list[str]
    abandoned: int


def _purge_one(db: Session, tip_id: str, policy: audit.Policy, now: datetime) -> bool:
    query = select(Tip).where(Tip.id == tip_id, Tip.state == TIP_READY)
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    else:
        db.execute(text("UPDATE tips SET id = id WHERE 0"))  # take SQLite's write lock first
    tip = db.scalars(query).first()
    if tip is None or deadline(tip, policy) > now:
        return False  # purged by someone else meanwhile, or no longer due (a new hold)
    size = (tip.payload_size or 0) + sum(a.size or 0 for a in tip.attachments)
    size += sum(m.payload_size or 0 for m in tip.messages)  # replies and follow-ups go with their tip
    storage.delete_chunks(db, tip.id)
    db.delete(tip)
    record(db, "tip.purged", tip_id, {"size": audit.size_bucket(size), "attachments": len(tip.attachments)}, when=now)
    return True


def purge(
    engine: Engine,
    key: nacl.signing.SigningKey,
    policy: audit.Policy,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PurgeResult:
    moment = now or clock.utcnow()
    make_session = sessionmaker(engine, expire_on_commit=False)
    with make_session() as db:
        expired = expired_ids(db, policy, moment)
    if dry_run:
        return PurgeResult(expired, [], 0)
    with make_session.begin() as db:
        ensure_policy_recorded(db, policy)
    purged = []
    for start in range(0, len(expired), BATCH):
        # One commit per batch, not per tip: a commit is an fsync, and atomicity per tip holds either way.
        with make_session.begin() as db:
            purged += [t for t in expired[start : start + BATCH] if _purge_one(db, t, policy, moment)]
    with make_session.begin() as db:
        abandoned = cleanup_abandoned(db, moment)
    with make_session.begin() as db:
        chain_pending(db, key)
    scrub(engine)
    return PurgeResult(expired, purged, abandoned)


# Every table that holds ciphertext or rows pointing at it; attachments and messages are small.
CIPHERTEXT_TABLES = ("attachment_chunks", "attachments", "messages", "tip_channels", "tips")
# How long VACUUM FULL may wait for its exclusive lock. While it waits, every newer query on the
# table queues behind it (intake too), so it gives up rather than stall submissions behind a long
# reader such as an export; the purge then fails loudly and the next run scrubs again.
SCRUB_LOCK_TIMEOUT = "10s"


def scrub(engine: Engine) -> None:
    """Make freed space really free, so purged ciphertext is gone from the database files.

    SQLite: ``secure_delete`` (tipbox/db.py) zeroes pages as rows go, but the WAL keeps the older
    page images until a checkpoint, and a long-lived server never closes its last connection
    (which would checkpoint): checkpoint and truncate it here.

    PostgreSQL: a deleted row stays in the table file as a dead tuple, and plain VACUUM only marks
    its space reusable without overwriting it (a deleted TOASTed chunk was still whole in the file
    after VACUUM + CHECKPOINT). VACUUM FULL copies the live rows into new files and truncates the
    old ones. Its cost: it holds an ACCESS EXCLUSIVE lock for the copy (intake waits: 5-7 s per GiB
    of stored ciphertext on a 2-core test VM), writes the whole table to WAL again, and needs that
    much free disk meanwhile. It runs on every purge, even one that deleted nothing, so a run
    killed before its scrub, or one whose lock wait timed out, is made good by the next.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql(f"SET lock_timeout = '{SCRUB_LOCK_TIMEOUT}'")
        try:
            for table in CIPHERTEXT_TABLES:
                conn.exec_driver_sql(f"VACUUM FULL {table}")
        finally:
            conn.exec_driver_sql("RESET lock_timeout")  # the pooled connection goes back to intake
