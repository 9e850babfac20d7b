"""``tipbox purge``: delete every tip past its time, for real, one tip per transaction.

A tip's deadline is the rule the auditor's verifier replays, the same function
(``crypto.audit.Policy.deadline``, FORMAT.md §9.2), fed with what the server
stores: received hour, first export, closing, a signed hold, and the hour of
the source's latest follow-up (which gives the tip at least another
``unexported_days``, docs/retention.md). Tips go in small
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
from datetime import datetime
from typing import Any

import nacl.signing
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine, Row
from sqlalchemy.orm import Session, sessionmaker

from crypto import audit
from crypto.vocabulary import MessageKind

from .. import clock, storage
from ..audit.log import chain_pending, ensure_policy_recorded, record
from ..intake.service import cleanup_abandoned
from ..models import TIP_READY, Message, Tip

BATCH = 200

# When the source's latest follow-up to a tip arrived (hour-rounded, like its tip.followup event):
# a correlated subquery, so selecting it beside a tip's columns reads every tip's in one statement
# (messages.tip_id is indexed). Only received follow-ups count: not an unfinished upload, nor a
# reviewer's reply or note. Add it to any select of tips whose deadline() is wanted.
LAST_FOLLOWUP = (
    select(func.max(Message.received_at))
    .where(Message.tip_id == Tip.id, Message.kind == MessageKind.FOLLOWUP.value, Message.state == TIP_READY)
    .correlate(Tip)
    .scalar_subquery()
    .label("last_followup")
)
# The columns that decide a deadline: what expired_ids reads, and what a caller listing deadlines needs.
DEADLINE_COLUMNS = (Tip.id, Tip.received_at, Tip.exported_at, Tip.closed_at, Tip.hold_until, LAST_FOLLOWUP)


def last_followup(tip: Tip | Row[*tuple[Any, ...]]) -> datetime | None:
    """The hour the source's latest follow-up to ``tip`` arrived, or None.

    A row must have been selected with :data:`LAST_FOLLOWUP` (a row without it raises
    AttributeError rather than quietly ignoring follow-ups); a loaded Tip is read from its
    messages.
    """
    if isinstance(tip, Tip):
        return max(
            (
                m.received_at
                for m in tip.messages
                if m.kind == MessageKind.FOLLOWUP and m.state == TIP_READY and m.received_at is not None
            ),
            default=None,
        )
    followup: datetime | None = tip.last_followup
    return followup


def deadline(tip: Tip | Row[*tuple[Any, ...]], policy: audit.Policy) -> datetime:
    """When ``tip`` must be gone (before the grace window): the verifier's rule, on the stored columns."""
    assert tip.received_at is not None
    return policy.deadline(
        tip.received_at,
        exported=tip.exported_at,
        closed=tip.closed_at,
        hold_until=tip.hold_until,
        followup=last_followup(tip),
    )


def expired_ids(db: Session, policy: audit.Policy, now: datetime) -> list[str]:
    """Ids of ready tips whose deadline has passed (only the columns that decide it are read)."""
    rows = db.execute(select(*DEADLINE_COLUMNS).where(Tip.state == TIP_READY, Tip.received_at <= now)).all()
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
