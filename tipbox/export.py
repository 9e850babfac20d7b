"""Write the signed export bundle (crypto/FORMAT.md §8) of ready tips and their threads.

Only ciphertext and public keys leave: payload, attachment and message age
files, their sizes and SHA-256, the hour each arrived, how it was sealed, the
source's public recipient and the reviewers' recipients. Ciphertext is
streamed from the chunk rows into the archive, so memory stays flat.

A bundle is one channel's (``--channel``; optional while there is only one):
the tips that channel holds, as lead or as a coordinating reader, and no
other. A tip is "new" to it (``--new-only``) if that channel never exported
it *or* has not exported one of its follow-ups or replies; ``--since`` likewise matches a tip or any message that
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

from . import clock, readers, storage
from .audit import log as audit_log
from .models import TIP_READY, Attachment, Message, Tip, TipChannel

ISO = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class ExportResult:
    tip_ids: list[str]
    attachment_count: int
    channel: str


class ExportError(ValueError):
    """The export cannot say which channel it is for; the message is one line, safe to print."""


def export_channel(db: Session, channel_id: str | None) -> str:
    """The channel an export is for: the one named, or the only one there is.

    A server with several channels never guesses: one channel's export must
    not carry another's tips, and reviewers open only their own channel's.
    """
    channels = readers.published(db)
    if channel_id is None:
        if len(channels) == 1:
            return next(iter(channels))
        if not channels:
            raise ExportError("no channel has reviewers yet: nothing can have been received")
        raise ExportError(f"this server has {len(channels)} channels: choose one with --channel "
                          f"({', '.join(channels)})")
    if channel_id not in channels:
        raise ExportError(f"no channel {channel_id!r} with reviewers (tipbox channels list)")
    return channel_id


def export_bundle(
    db: Session,
    out: BinaryIO,
    key: nacl.signing.SigningKey,
    policy: audit.Policy,
    since: datetime | None = None,
    only_new: bool = False,
    channel_id: str | None = None,
) -> ExportResult:
    """Write one channel's bundle: the tips it holds (as lead or reader), its manifest, the channel directory."""
    channel = export_channel(db, channel_id)
    held = select(TipChannel.tip_id).where(TipChannel.channel_id == channel)
    query = (
        select(Tip)
        .where(Tip.state == TIP_READY, Tip.id.in_(held))
        .options(selectinload(Tip.attachments), selectinload(Tip.messages), selectinload(Tip.holders))
    )
    ready_messages = select(Message.tip_id).where(Message.state == TIP_READY)
    if since is not None:
        query = query.where(
            or_(Tip.received_at >= since, Tip.id.in_(ready_messages.where(Message.received_at >= since)))
        )
    if only_new:
        # New to *this* channel: never exported by it, or a message it has not exported (seq past its mark).
        unseen = (
            select(TipChannel.tip_id)
            .join(Message, Message.tip_id == TipChannel.tip_id)
            .where(TipChannel.channel_id == channel, Message.state == TIP_READY, Message.seq > TipChannel.exported_seq)
        )
        never = select(TipChannel.tip_id).where(TipChannel.channel_id == channel, TipChannel.exported_at.is_(None))
        query = query.where(or_(Tip.id.in_(never), Tip.id.in_(unseen)))
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
                "channels": list(tip.channel_ids),
                # A reply is sealed to the source and exactly these: every reviewer of every channel holding it.
                "reviewers": list(readers.tip_keys(db, tip).recipients),
                **({"urgent": True} if tip.urgent else {}),
            }
        )
    directory = readers.directory(db)
    body: JSONObject = {
        "type": bundle.DOCUMENT_TYPE,
        "v": bundle.VERSION,
        "created": clock.utcnow().strftime(ISO),
        "since": since.strftime(ISO) if since else None,
        "tips": entries,
        "reviewers": list[JSONValue](readers.published(db)[channel].recipients),
        "policy": policy.as_document(),
        "channel": channel,
    }
    if directory is not None:
        body["directory"] = directory
    bundle.write_bundle(out, body, files, key)
    now = clock.utcnow().replace(microsecond=0)
    for tip in tips:
        mark = next(h for h in tip.holders if h.channel_id == channel)
        if mark.exported_at is None:
            mark.exported_at = now
            audit_log.record(db, "tip.exported", tip.id, {"channel": channel}, when=now)
        mark.exported_seq = max((m.seq for m in tip.messages if m.state == TIP_READY), default=0)
        # The tip-wide marks (retention's "exported") are the first export by any channel.
        tip.exported_at = tip.exported_at or now
        for message in tip.messages:
            if message.state == TIP_READY and message.exported_at is None:
                message.exported_at = now
    return ExportResult([t.id for t in tips], sum(len(t.attachments) for t in tips), channel)


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


