"""Audit tables. Kept beside the audit code; registered on the same metadata."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    """One lifecycle event. Appended unchained (``seq`` NULL) inside the
    transaction that made the change, so intake never waits on the chain;
    :func:`tipbox.audit.log.chain_pending` links and numbers them later."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    time: Mapped[str] = mapped_column(String(20))
    event: Mapped[str] = mapped_column(String(32))
    tip_id: Mapped[str | None] = mapped_column(String(32), index=True)
    data: Mapped[str] = mapped_column(Text)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    head: Mapped[str] = mapped_column(String(64))
    time: Mapped[str] = mapped_column(String(20))
    document: Mapped[str] = mapped_column(Text)
