"""Write the signed export bundle (crypto/FORMAT.md, "Export bundle") of ready tips.

Only ciphertext leaves: payload and attachment age files, their sizes and
SHA-256, the hour a tip was received and how it was sealed. Ciphertext is
streamed from the chunk rows into the archive, so memory stays flat.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

import nacl.signing
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from crypto import bundle, streams
from crypto.bundle import BundleFile

from . import clock, storage
from .audit import log as audit_log
from .models import TIP_READY, Tip

ISO = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class ExportResult:
    tip_ids: list[str]
    attachment_count: int


def export_bundle(
    db: Session,
    out: BinaryIO,
    key: nacl.signing.SigningKey,
    since: datetime | None = None,
    only_new: bool = False,
) -> ExportResult:
    query = select(Tip).where(Tip.state == TIP_READY).options(selectinload(Tip.attachments))
    if since is not None:
        query = query.where(Tip.received_at >= since)
    if only_new:
        query = query.where(Tip.exported_at.is_(None))
    tips = list(db.scalars(query.order_by(Tip.received_at, Tip.id)))
    entries, files = [], []
    for tip in tips:
        assert tip.payload is not None and tip.payload_sha256 is not None and tip.received_at is not None
        payload_entry = {"path": bundle.payload_path(tip.id), "size": tip.payload_size, "sha256": tip.payload_sha256}
        files.append(
            BundleFile(
                payload_entry["path"],
                tip.payload_size or 0,
                tip.payload_sha256,
                lambda data=tip.payload: io.BytesIO(data),
            )
        )
        attachment_entries = []
        for attachment in tip.attachments:
            entry = {
                "id": attachment.id,
                "path": bundle.attachment_path(tip.id, attachment.id),
                "size": attachment.size,
                "sha256": attachment.sha256,
            }
            attachment_entries.append(entry)
            files.append(
                BundleFile(
                    entry["path"],
                    attachment.size or 0,
                    attachment.sha256 or "",
                    lambda t=tip.id, a=attachment.id: streams.reader(storage.iter_chunks(db, t, a)),
                )
            )
        entries.append(
            {
                "id": tip.id,
                "received": tip.received_at.strftime(ISO),
                "sealed_by": tip.sealed_by,
                "key_fingerprint": tip.key_fingerprint,
                "payload": payload_entry,
                "attachments": attachment_entries,
            }
        )
    body = {
        "type": bundle.DOCUMENT_TYPE,
        "v": bundle.VERSION,
        "created": clock.utcnow().strftime(ISO),
        "since": since.strftime(ISO) if since else None,
        "tips": entries,
    }
    bundle.write_bundle(out, body, files, key)
    now = clock.utcnow().replace(microsecond=0)
    for tip in tips:
        if tip.exported_at is None:
            tip.exported_at = now
            audit_log.record(db, "tip.exported", tip.id, when=now)
    return ExportResult([t.id for t in tips], sum(len(t.attachments) for t in tips))
