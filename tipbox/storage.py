"""Attachment ciphertext as ordered chunk rows: the one blob interface.

Keeping ciphertext in the database means scaling out needs nothing but
stateless workers and PostgreSQL (DESIGN.md), one backup covers everything,
and purge is a transaction. Rows are at most ``upload_chunk_bytes`` (1 MiB by
default), so no code path holds a whole attachment in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from crypto import upload_digest

from .models import AttachmentChunk


def put_chunk(db: Session, tip_id: str, attachment_id: str, seq: int, data: bytes) -> None:
    db.add(AttachmentChunk(tip_id=tip_id, attachment_id=attachment_id, seq=seq, data=data))


def get_chunk(db: Session, tip_id: str, attachment_id: str, seq: int) -> bytes | None:
    return db.scalar(
        select(AttachmentChunk.data).where(
            AttachmentChunk.tip_id == tip_id,
            AttachmentChunk.attachment_id == attachment_id,
            AttachmentChunk.seq == seq,
        )
    )


def chunk_stats(db: Session, tip_id: str, attachment_id: str) -> tuple[int, int, int]:
    """(count, max seq, total bytes) of an attachment's chunks."""
    count, top, total = db.execute(
        select(
            func.count(),
            func.coalesce(func.max(AttachmentChunk.seq), -1),
            func.coalesce(func.sum(func.length(AttachmentChunk.data)), 0),
        ).where(AttachmentChunk.tip_id == tip_id, AttachmentChunk.attachment_id == attachment_id)
    ).one()
    return int(count), int(top), int(total)


def iter_chunks(db: Session, tip_id: str, attachment_id: str) -> Iterator[bytes]:
    """Stream an attachment's ciphertext in order, one row in memory at a time.

    One query per row rather than a server-side cursor: a consumer may stop
    early (header checks read only the start), and an abandoned cursor would
    outlive the request on PostgreSQL.
    """
    seqs = db.scalars(
        select(AttachmentChunk.seq)
        .where(AttachmentChunk.tip_id == tip_id, AttachmentChunk.attachment_id == attachment_id)
        .order_by(AttachmentChunk.seq)
    ).all()
    for seq in seqs:
        data = get_chunk(db, tip_id, attachment_id, seq)
        if data is not None:
            yield data


@dataclass(frozen=True)
class Digests:
    size: int
    sha256: str  # of the whole age file: what the export bundle lists
    chunks_sha256: str  # over the chunks as stored, in order: what a browser upload declares (FORMAT.md §4.1)


def digest(db: Session, tip_id: str, attachment_id: str) -> Digests:
    """Both digests of an attachment's stored ciphertext, in one pass over its chunks."""
    whole = hashlib.sha256()
    size = 0

    def read() -> Iterator[bytes]:
        nonlocal size
        for data in iter_chunks(db, tip_id, attachment_id):
            whole.update(data)
            size += len(data)
            yield data

    listed = upload_digest.chunk_list_sha256(read())
    return Digests(size, whole.hexdigest(), listed)


def first_bytes(db: Session, tip_id: str, attachment_id: str) -> bytes:
    return get_chunk(db, tip_id, attachment_id, 0) or b""


def delete_chunks(db: Session, tip_id: str, attachment_id: str | None = None) -> None:
    query = delete(AttachmentChunk).where(AttachmentChunk.tip_id == tip_id)
    if attachment_id is not None:
        query = query.where(AttachmentChunk.attachment_id == attachment_id)
    db.execute(query)


class ChunkWriter:
    """File-like sink that turns a sealing stream into chunk rows."""

    def __init__(self, db: Session, tip_id: str, attachment_id: str, chunk_bytes: int) -> None:
        self._db, self._tip, self._att, self._size = db, tip_id, attachment_id, chunk_bytes
        self._buffer = bytearray()
        self._seq = 0
        self._sha = hashlib.sha256()
        self.total = 0

    def write(self, data: bytes) -> int:
        self._buffer += data
        self._sha.update(data)
        self.total += len(data)
        while len(self._buffer) >= self._size:
            self._emit(bytes(self._buffer[: self._size]))
            del self._buffer[: self._size]
        return len(data)

    def flush(self) -> None:
        """Rows are emitted in write()/close(); flushing a partial row would split it."""

    def _emit(self, data: bytes) -> None:
        put_chunk(self._db, self._tip, self._att, self._seq, data)
        self._seq += 1

    def close(self) -> str:
        if self._buffer or self._seq == 0:
            self._emit(bytes(self._buffer))
            self._buffer.clear()
        return self._sha.hexdigest()
