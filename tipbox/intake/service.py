"""What intake does, without HTTP: create uploads, store ciphertext, finalize.

Both paths end in the same place: a ``Tip`` in state ``ready`` whose payload
and attachments are age files sealed to every active reviewer of the channel.
A tip stays ``uploading`` (invisible to export) until finalize checks that
every declared part arrived and is well-formed, then flips it in one
transaction. The server cannot decrypt, so "well-formed" means: a canonical
age header, one X25519 stanza per active reviewer, and a Padmé-padded length.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crypto import audit, header, key_manifest, payload, streams
from crypto.attachments import seal_attachment
from crypto.errors import TipboxCryptoError
from crypto.padding import padded_length

from .. import clock, storage
from ..audit import log as audit_log
from ..config import Limits
from ..keys import DEFAULT_CHANNEL, current_manifest
from ..models import TIP_READY, TIP_UPLOADING, Attachment, AttachmentChunk, Tip
from ..receipts import lookup_key, new_receipt

ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


class IntakeError(Exception):
    """A refused request. ``code`` picks the HTTP status and translated message."""

    def __init__(self, code: str, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_sealed(data: bytes | BinaryIO, total_length: int, recipient_count: int) -> int:
    """Refuse anything that is not an age file sealed the way tipbox seals;
    return the (padded) plaintext length the file's size implies."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        parsed = header.parse_header(stream)
        header.check_x25519_recipients(parsed, recipient_count)
        return header.check_padded_payload(total_length - parsed.length)
    except TipboxCryptoError:
        raise IntakeError("malformed_ciphertext") from None


def sealed_ceiling(content_limit: int) -> int:
    """Largest age file a ``content_limit``-byte plaintext can become once padded."""
    return header.sealed_length(padded_length(content_limit), header.MAX_HEADER_BYTES)


@dataclass(frozen=True)
class Upload:
    tip_id: str
    token: str
    key_fingerprint: str


def _manifest(db: Session, channel_id: str):
    manifest = current_manifest(db, channel_id)
    if manifest is None:
        raise IntakeError("no_reviewers", 503)
    return manifest


def start_upload(db: Session, limits: Limits, channel_id: str = DEFAULT_CHANNEL) -> Upload:
    manifest = _manifest(db, channel_id)
    # Opportunistic: abandoned uploads go even if nobody runs `tipbox cleanup-uploads`.
    cleanup_abandoned(db)
    token = secrets.token_urlsafe(32)
    tip = Tip(
        id=secrets.token_hex(16),
        channel_id=channel_id,
        state=TIP_UPLOADING,
        sealed_by="browser",
        upload_token_hash=_token_hash(token),
        upload_expires_at=clock.hour(clock.utcnow()) + timedelta(hours=limits.abandoned_upload_hours + 1),
        key_fingerprint=manifest.fingerprint,
    )
    db.add(tip)
    return Upload(tip.id, token, manifest.fingerprint)


def _uploading_tip(db: Session, tip_id: str, token: str, lock: bool = False) -> Tip:
    if not ID_PATTERN.match(tip_id):
        raise IntakeError("not_found", 404)
    query = select(Tip).where(Tip.id == tip_id)
    if lock:
        query = query.with_for_update()
    tip = db.scalars(query).first()
    if tip is None or tip.upload_token_hash is None:
        raise IntakeError("not_found", 404)
    if not hmac.compare_digest(tip.upload_token_hash, _token_hash(token)):
        raise IntakeError("not_found", 404)
    if tip.state != TIP_UPLOADING:
        raise IntakeError("already_finalized", 409)
    return tip


def _attachment(db: Session, tip: Tip, attachment_id: str, limits: Limits, create: bool) -> Attachment:
    if not ID_PATTERN.match(attachment_id):
        raise IntakeError("not_found", 404)
    attachment = db.get(Attachment, (attachment_id, tip.id))
    if attachment is None:
        if not create:
            raise IntakeError("not_found", 404)
        count = len(tip.attachments)
        if count >= limits.max_attachments:
            raise IntakeError("too_many_attachments", 413)
        attachment = Attachment(id=attachment_id, tip_id=tip.id, position=count, complete=False)
        tip.attachments.append(attachment)
        db.flush()
    return attachment


def put_chunk(db: Session, limits: Limits, tip_id: str, token: str, attachment_id: str, seq: int, data: bytes) -> None:
    """Store one ciphertext chunk. Re-sending the same chunk is a no-op (retries)."""
    tip = _uploading_tip(db, tip_id, token)
    attachment = _attachment(db, tip, attachment_id, limits, create=True)
    if attachment.complete:
        raise IntakeError("already_finalized", 409)
    if not data or len(data) > limits.upload_chunk_bytes or seq < 0:
        raise IntakeError("bad_chunk")
    existing = storage.get_chunk(db, tip.id, attachment.id, seq)
    if existing is not None:
        if existing != data:
            raise IntakeError("chunk_conflict", 409)
        return
    _count, _top, total = storage.chunk_stats(db, tip.id, attachment.id)
    if total + len(data) > sealed_ceiling(limits.max_attachment_bytes):
        raise IntakeError("attachment_too_large", 413)
    storage.put_chunk(db, tip.id, attachment.id, seq, data)


def complete_attachment(
    db: Session, limits: Limits, tip_id: str, token: str, attachment_id: str, size: int, sha256: str
) -> None:
    """Check an attachment's chunks add up to the declared ciphertext, then seal it shut."""
    tip = _uploading_tip(db, tip_id, token)
    attachment = _attachment(db, tip, attachment_id, limits, create=False)
    if attachment.complete:
        if (attachment.size, attachment.sha256) == (size, sha256):
            return
        raise IntakeError("already_finalized", 409)
    count, top, total = storage.chunk_stats(db, tip.id, attachment.id)
    if count == 0 or top != count - 1 or total != size:
        raise IntakeError("incomplete_upload", 409)
    actual_size, actual_sha = storage.digest(db, tip.id, attachment.id)
    if (actual_size, actual_sha) != (size, sha256):
        raise IntakeError("incomplete_upload", 409)
    recipients = _manifest(db, tip.channel_id).recipient_count
    padded = check_sealed(streams.reader(storage.iter_chunks(db, tip.id, attachment.id)), size, recipients)
    if padded > padded_length(limits.max_attachment_bytes):
        raise IntakeError("attachment_too_large", 413)
    attachment.complete = True
    attachment.size = size
    attachment.sha256 = sha256


@dataclass(frozen=True)
class Receipt:
    tip_id: str
    code: str


def _receive(db: Session, tip: Tip, secret: bytes) -> Receipt:
    """The moment a tip becomes visible: mark it ready, log it, issue the receipt."""
    tip.state = TIP_READY
    tip.received_at = clock.hour(clock.utcnow())
    tip.upload_token_hash = None
    tip.upload_expires_at = None
    size = (tip.payload_size or 0) + sum(a.size or 0 for a in tip.attachments)
    audit_log.record(db, "tip.received", tip.id, {
        "sha256": tip.payload_sha256, "size": audit.size_bucket(size), "attachments": len(tip.attachments),
        "sealed_by": tip.sealed_by}, when=tip.received_at)
    code = new_receipt()
    tip.receipt_lookup = lookup_key(code, secret)
    return Receipt(tip.id, code)


def finalize(
    db: Session,
    limits: Limits,
    secret: bytes,
    tip_id: str,
    token: str,
    sealed_payload: bytes,
    attachment_ids: Sequence[str],
    key_fingerprint: str,
) -> Receipt:
    """Make a browser-sealed tip visible to export, all or nothing."""
    tip = _uploading_tip(db, tip_id, token, lock=True)
    manifest = _manifest(db, tip.channel_id)
    if key_fingerprint != manifest.fingerprint:
        raise IntakeError("keys_changed", 409)
    declared = list(attachment_ids)
    stored = {a.id: a for a in tip.attachments}
    if len(set(declared)) != len(declared) or set(declared) != set(stored):
        raise IntakeError("incomplete_upload", 409)
    if not all(a.complete for a in stored.values()):
        raise IntakeError("incomplete_upload", 409)
    if len(sealed_payload) > sealed_ceiling(payload.MAX_PAYLOAD_BYTES):
        raise IntakeError("payload_too_large", 413)
    check_sealed(sealed_payload, len(sealed_payload), manifest.recipient_count)
    total = len(sealed_payload) + sum(a.size or 0 for a in stored.values())
    if total > sealed_ceiling(limits.max_submission_bytes):
        raise IntakeError("submission_too_large", 413)
    _store_payload(tip, sealed_payload)
    return _receive(db, tip, secret)


def _store_payload(tip: Tip, sealed: bytes) -> None:
    tip.payload = sealed
    tip.payload_size = len(sealed)
    tip.payload_sha256 = hashlib.sha256(sealed).hexdigest()


@dataclass(frozen=True)
class PlainAttachment:
    """An uploaded file on the no-JS path, held in memory only until sealed."""

    name: str
    media_type: str
    stream: BinaryIO


def submit_server_sealed(
    db: Session,
    limits: Limits,
    secret: bytes,
    answers: dict,
    lang: str,
    files: Sequence[PlainAttachment],
    channel_id: str = DEFAULT_CHANNEL,
) -> Receipt:
    """The no-JS path: seal answers and files in memory, store only ciphertext."""
    manifest = _manifest(db, channel_id)
    recipients = key_manifest.recipients(key_manifest.validate_body(_manifest_body(manifest.document)))
    if len(files) > limits.max_attachments:
        raise IntakeError("too_many_attachments", 413)
    tip = Tip(
        id=secrets.token_hex(16),
        channel_id=channel_id,
        state=TIP_UPLOADING,
        sealed_by="server",
        key_fingerprint=manifest.fingerprint,
    )
    db.add(tip)
    db.flush()
    entries = []
    for position, file in enumerate(files):
        attachment = Attachment(id=secrets.token_hex(16), tip_id=tip.id, position=position, complete=False)
        tip.attachments.append(attachment)
        db.flush()
        writer = storage.ChunkWriter(db, tip.id, attachment.id, limits.upload_chunk_bytes)
        try:
            content = seal_attachment(file.stream, writer, recipients, limit=limits.max_attachment_bytes)
        except TipboxCryptoError:
            raise IntakeError("attachment_too_large", 413) from None
        attachment.sha256 = writer.close()
        attachment.size = writer.total
        attachment.complete = True
        entries.append(
            {
                "id": attachment.id,
                "name": file.name[:255],
                "type": file.media_type[:127],
                "size": content.size,
                "sha256": content.sha256,
            }
        )
    document = payload.build(answers, lang=lang, sealed_by="server", attachments=entries)
    _store_payload(tip, payload.seal_tip(document, recipients))
    return _receive(db, tip, secret)


def _manifest_body(document: str) -> dict:
    return json.loads(document)["body"]


def cleanup_abandoned(db: Session, now: datetime | None = None) -> int:
    """Delete unfinished uploads whose time ran out; return how many.

    Bulk DELETEs rather than ORM deletes: two requests cleaning up at once must
    not fail because the other one got to a row first.
    """
    moment = now or clock.utcnow()
    stale = select(Tip.id).where(Tip.state == TIP_UPLOADING, Tip.upload_expires_at < moment)
    ids = list(db.scalars(stale))
    if not ids:
        return 0
    db.execute(delete(AttachmentChunk).where(AttachmentChunk.tip_id.in_(ids)))
    db.execute(delete(Attachment).where(Attachment.tip_id.in_(ids)))
    removed = db.execute(delete(Tip).where(Tip.id.in_(ids), Tip.state == TIP_UPLOADING)).rowcount
    if removed:
        # Never-finished uploads were never tips: logged as a count, without ids.
        audit_log.record(db, "uploads.abandoned", None, {"count": removed}, when=moment)
    return removed
