"""Write the signed export bundle (crypto/FORMAT.md §8) of ready tips and their threads.

Only ciphertext and public keys leave: payload, attachment and message age
files, their sizes and SHA-256, the hour each arrived, how it was sealed, the
source's public recipient and the reviewers' recipients. Ciphertext is
streamed from the chunk rows into the archive, so memory stays flat.

A tip is "new" (``--new-only``) if it was never exported *or* has a follow-up
or reply that was not; ``--since`` likewise matches a tip or any message that
arrived since. Either way the whole thread of a matching tip is written, so a
reviewer's workspace always sees it complete.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, BinaryIO

import nacl.signing
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from crypto import audit, bundle, streams
from crypto.bundle import BundleFile, BundleFileEntry
from crypto.documents import JSONObject, JSONValue

from . import clock, storage
from .audit import log as audit_log
from .keys import DEFAULT_CHANNEL, current_manifest, manifest_recipients
from .models import TIP_READY, Attachment, Message, Tip

ISO = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class ExportResult:
    tip_ids: list[str]
    attachment_count: int


def export_bundle(
    db: Session,
    out: BinaryIO,
    key: nacl.signing.SigningKey,
    policy: audit.Policy,
    since: datetime | None = None,
    only_new: bool = False,
) -> ExportResult:
    query = select(Tip).where(Tip.state == TIP_READY).options(selectinload(Tip.attachments), selectinload(Tip.messages))
    ready_messages = select(Message.tip_id).where(Message.state == TIP_READY)
    if since is not None:
        query = query.where(
            or_(Tip.received_at >= since, Tip.id.in_(ready_messages.where(Message.received_at >= since)))
        )
    if only_new:
        query = query.where(
            or_(Tip.exported_at.is_(None), Tip.id.in_(ready_messages.where(Message.exported_at.is_(None))))
        )
    tips = list(db.scalars(query.order_by(Tip.received_at, Tip.id)))
    entries: list[JSONValue] = []
    files: list[BundleFile] = []
    for tip in tips:
        assert tip.payload is not None and tip.payload_sha256 is not None and tip.received_at is not None
        assert tip.payload_size is not None
        payload_entry = BundleFileEntry(bundle.payload_path(tip.id), tip.payload_size, tip.payload_sha256)
        files.append(BundleFile(payload_entry.path, payload_entry.size, payload_entry.sha256, _in_memory(tip.payload)))
        thread = [m for m in tip.messages if m.state == TIP_READY and m.received_at is not None]
        entries.append(
            {
                "id": tip.id,
                "received": tip.received_at.strftime(ISO),
                "sealed_by": tip.sealed_by,
                "key_fingerprint": tip.key_fingerprint,
                "payload": payload_entry.as_document(),
                "attachments": _attachments(db, tip, None, files),
                "source_recipient": tip.source_recipient,
                "messages": [_message(db, tip, m, files) for m in thread],
            }
        )
    body: JSONObject = {
        "type": bundle.DOCUMENT_TYPE,
        "v": bundle.VERSION,
        "created": clock.utcnow().strftime(ISO),
        "since": since.strftime(ISO) if since else None,
        "tips": entries,
        "reviewers": list(_reviewers(db)),
        "policy": policy.as_document(),
    }
    bundle.write_bundle(out, body, files, key)
    now = clock.utcnow().replace(microsecond=0)
    for tip in tips:
        if tip.exported_at is None:
            tip.exported_at = now
            audit_log.record(db, "tip.exported", tip.id, when=now)
        for message in tip.messages:
            if message.state == TIP_READY and message.exported_at is None:
                message.exported_at = now
    return ExportResult([t.id for t in tips], sum(len(t.attachments) for t in tips))


def _in_memory(data: bytes) -> Callable[[], IO[bytes]]:
    return lambda: io.BytesIO(data)


def _attachments(db: Session, tip: Tip, message_id: str | None, files: list[BundleFile]) -> list[JSONValue]:
    """Manifest entries of the tip's own attachments (``message_id`` None) or a follow-up's; queues their files."""
    entries: list[JSONValue] = []
    for attachment in tip.attachments:
        if attachment.message_id != message_id or not attachment.complete:
            continue
        path = bundle.attachment_path(tip.id, attachment.id)
        entries.append({"id": attachment.id, "path": path, "size": attachment.size, "sha256": attachment.sha256})
        files.append(_chunk_file(db, tip.id, attachment, path))
    return entries


def _chunk_file(db: Session, tip_id: str, attachment: Attachment, path: str) -> BundleFile:
    return BundleFile(
        path,
        attachment.size or 0,
        attachment.sha256 or "",
        lambda: streams.reader(storage.iter_chunks(db, tip_id, attachment.id)),
    )


def _message(db: Session, tip: Tip, message: Message, files: list[BundleFile]) -> JSONObject:
    assert message.payload is not None and message.payload_sha256 is not None and message.received_at is not None
    path = bundle.message_path(tip.id, message.id)
    files.append(BundleFile(path, message.payload_size or 0, message.payload_sha256, _in_memory(message.payload)))
    return {
        "id": message.id,
        "kind": message.kind,
        "received": message.received_at.strftime(ISO),
        "sealed_by": message.sealed_by,
        "path": path,
        "size": message.payload_size,
        "sha256": message.payload_sha256,
        "attachments": _attachments(db, tip, message.id, files),
    }


def _reviewers(db: Session) -> list[str]:
    """The current key manifest's recipients: a reply is sealed to exactly these and the source."""
    manifest = current_manifest(db, DEFAULT_CHANNEL)
    if manifest is None:
        return []
    return manifest_recipients(manifest)
