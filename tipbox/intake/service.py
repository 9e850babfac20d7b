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
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from crypto import audit, envelope, header, messages, payload, streams
from crypto.attachments import seal_attachment
from crypto.errors import NoChannel, TipboxCryptoError
from crypto.padding import padded_length
from crypto.receipt_keys import ReceiptKeys, derive
from crypto.vocabulary import SealedBy

from .. import clock, readers, storage
from ..audit import log as audit_log
from ..config import Limits
from ..models import TIP_READY, TIP_UPLOADING, Attachment, AttachmentChunk, Message, Tip
from ..receipts import LOOKUP_PATTERN, lookup_hash, new_receipt

ID_PATTERN = re.compile(r"^[0-9a-f]{32}\Z")


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
    tip_id: str  # the upload's id: a new tip's, or a follow-up message's
    token: str
    keys: readers.ReaderKeys  # what the browser seals to: every reviewer of every channel holding the tip

    @property
    def key_fingerprint(self) -> str:
        return self.keys.fingerprint


@dataclass(frozen=True)
class Target:
    """What an upload token opens: a new tip, or a follow-up message to a tip."""

    tip: Tip
    message: Message | None = None

    @property
    def message_id(self) -> str | None:
        return self.message.id if self.message is not None else None

    @property
    def attachments(self) -> list[Attachment]:
        return [a for a in self.tip.attachments if a.message_id == self.message_id]


def _keys(db: Session, channel_ids: Sequence[str]) -> readers.ReaderKeys:
    """The current keys of these channels; 503 if one of them has lost its reviewers meanwhile."""
    try:
        keys = readers.keys_for(db, channel_ids)
    except readers.NotRoutable:
        raise IntakeError("no_reviewers", 503) from None
    readers.remember(db, keys)
    return keys


def routed(db: Session, province: str | None, regency: str | None, category: str | None) -> tuple[str, ...]:
    """The readers of a tip with these answers (the no-JS path, in memory); 503 if nobody can read it."""
    try:
        return readers.route(db, province, regency, category)
    except NoChannel:
        raise IntakeError("no_reviewers", 503) from None


def browser_route(db: Session, channel_ids: object | None) -> tuple[str, ...]:
    """The readers a browser routed to, checked; a page that says nothing gets the route of "nothing said"."""
    if channel_ids is None:
        return routed(db, None, None, None)
    if not isinstance(channel_ids, list) or not all(isinstance(c, str) for c in channel_ids):
        raise IntakeError("bad_request")
    if not readers.published(db):
        raise IntakeError("no_reviewers", 503)
    try:
        return readers.checked_outcome(db, channel_ids)
    except readers.NotRoutable:
        raise IntakeError("channels_changed", 409) from None


def _expiry(limits: Limits) -> datetime:
    return clock.hour(clock.utcnow()) + timedelta(hours=limits.abandoned_upload_hours + 1)


def start_upload(
    db: Session, limits: Limits, channel_ids: Sequence[str] | None = None, *, urgent: bool = False
) -> Upload:
    """Open a browser-sealed tip's upload for the channels it was routed to (checked by :func:`browser_route`).

    ``urgent``: the source asked to alert the team now (tipbox/notify/); nothing else about the tip is told."""
    keys = _keys(db, channel_ids if channel_ids is not None else routed(db, None, None, None))
    # Opportunistic: abandoned uploads go even if nobody runs `tipbox cleanup-uploads`.
    cleanup_abandoned(db)
    token = secrets.token_urlsafe(32)
    tip = Tip(
        id=secrets.token_hex(16),
        state=TIP_UPLOADING,
        sealed_by="browser",
        upload_token_hash=_token_hash(token),
        upload_expires_at=_expiry(limits),
        key_fingerprint=keys.fingerprint,
        urgent=urgent,
    )
    readers.hold(tip, keys.channel_ids)
    db.add(tip)
    return Upload(tip.id, token, keys)


@dataclass(frozen=True)
class Opened:
    """The answer to opening a tip with its sealed payload: the upload, and whether the tip is already received."""

    upload: Upload
    received: bool


def open_sealed(
    db: Session,
    limits: Limits,
    secret: bytes,
    channel_ids: object | None,
    recipients: Sequence[str],
    sealed_payload: bytes,
    attachment_ids: Sequence[str],
    source: SourceKeys,
    *,
    urgent: bool = False,
) -> Opened:
    """Open a browser-sealed tip with its sealed payload in the first request (FORMAT.md §4.1).

    The page already holds the published keys (the form embeds them), so it
    seals the tip before it sends anything: a tip without attachments is
    received by this one request, and one with attachments when the last
    chunk of the last attachment closes it. ``recipients`` is what the page
    sealed to; if the channels' keys changed since, the tip is refused
    (``keys_changed``) before anything is stored.

    A lost answer is retried with the same body: the same lookup key and
    payload find the same tip, which answers again (with a new upload token,
    since only its hash was kept); a different payload under the same
    lookup key is a ``receipt_conflict``.
    """
    ids = list(attachment_ids)
    if len(set(ids)) != len(ids) or not all(ID_PATTERN.match(i) for i in ids):
        raise IntakeError("bad_request")
    if len(ids) > limits.max_attachments:
        raise IntakeError("too_many_attachments", 413)
    if len(sealed_payload) > sealed_ceiling(payload.MAX_PAYLOAD_BYTES):
        raise IntakeError("payload_too_large", 413)
    again = _opened_before(db, secret, sealed_payload, ids, source)
    if again is not None:
        return again
    keys = _keys(db, browser_route(db, channel_ids))
    if sorted(set(recipients)) != sorted(keys.recipients):
        raise IntakeError("keys_changed", 409)
    check_sealed(sealed_payload, len(sealed_payload), keys.count)
    upload = start_upload(db, limits, keys.channel_ids, urgent=urgent)
    tip = db.get(Tip, upload.tip_id)
    assert tip is not None
    _store_payload(tip, sealed_payload)
    _remember_source(db, tip, secret, source)
    for position, attachment_id in enumerate(ids):
        tip.attachments.append(
            Attachment(id=attachment_id, tip_id=tip.id, message_id=None, position=position, complete=False)
        )
    db.flush()
    if ids:
        return Opened(upload, received=False)
    _receive(db, tip)
    return Opened(upload, received=True)


def _opened_before(
    db: Session, secret: bytes, sealed_payload: bytes, attachment_ids: Sequence[str], source: SourceKeys
) -> Opened | None:
    """The tip this exact open already made (its answer was lost), answered again; None if there is none."""
    tip = db.scalars(select(Tip).where(Tip.receipt_lookup == lookup_hash(source.lookup, secret))).first()
    if tip is None:
        return None
    same = (
        tip.sealed_by == "browser"
        and tip.payload_sha256 == hashlib.sha256(sealed_payload).hexdigest()
        and [a.id for a in sorted(tip.attachments, key=lambda a: a.position) if a.message_id is None]
        == list(attachment_ids)
    )
    if not same:
        raise IntakeError("receipt_conflict", 409)
    keys = _keys(db, tip.channel_ids)
    if tip.state == TIP_READY:
        return Opened(Upload(tip.id, "", keys), received=True)
    token = secrets.token_urlsafe(32)  # only the hash of the first one was kept
    tip.upload_token_hash = _token_hash(token)
    return Opened(Upload(tip.id, token, keys), received=False)


def start_followup(db: Session, limits: Limits, tip: Tip) -> Upload:
    """Open the upload of a follow-up message to a ready tip (the status page's access checked it)."""
    keys = _keys(db, tip.channel_ids)
    cleanup_abandoned(db)
    token = secrets.token_urlsafe(32)
    message = _new_message(tip, "browser", keys.fingerprint)
    message.upload_token_hash = _token_hash(token)
    message.upload_expires_at = _expiry(limits)
    db.add(message)
    return Upload(message.id, token, keys)


def _new_message(tip: Tip, sealed_by: str, fingerprint: str) -> Message:
    return Message(
        id=secrets.token_hex(16),
        tip_id=tip.id,
        seq=0,  # numbered when it arrives, so the thread is in arrival order
        kind="followup",
        state=TIP_UPLOADING,
        sealed_by=sealed_by,
        key_fingerprint=fingerprint,
    )


def _uploading(db: Session, upload_id: str, token: str, *, followup: bool = False, lock: bool = False) -> Target:
    """The tip or follow-up an upload id and its token open; the same 404 for any mismatch."""
    if not ID_PATTERN.match(upload_id):
        raise IntakeError("not_found", 404)
    model = Message if followup else Tip
    query = select(model).where(model.id == upload_id)
    if lock:
        query = query.with_for_update()
    row = db.scalars(query).first()
    if row is None or row.upload_token_hash is None:
        raise IntakeError("not_found", 404)
    if not hmac.compare_digest(row.upload_token_hash, _token_hash(token)):
        raise IntakeError("not_found", 404)
    if row.state != TIP_UPLOADING:
        raise IntakeError("already_finalized", 409)
    if isinstance(row, Message):
        if row.tip.state != TIP_READY:
            raise IntakeError("not_found", 404)
        return Target(row.tip, row)
    return Target(row)


def _attachment(db: Session, target: Target, attachment_id: str, limits: Limits, create: bool) -> Attachment:
    if not ID_PATTERN.match(attachment_id):
        raise IntakeError("not_found", 404)
    tip = target.tip
    attachment = db.get(Attachment, (attachment_id, tip.id))
    if attachment is not None and attachment.message_id != target.message_id:
        raise IntakeError("not_found", 404)  # another part of the same tip: never writable from here
    if attachment is None:
        if not create:
            raise IntakeError("not_found", 404)
        count = len(target.attachments)
        if count >= limits.max_attachments:
            raise IntakeError("too_many_attachments", 413)
        attachment = Attachment(
            id=attachment_id, tip_id=tip.id, message_id=target.message_id, position=count, complete=False
        )
        tip.attachments.append(attachment)
        db.flush()
    return attachment


@dataclass(frozen=True)
class Completion:
    """What closes an attachment: its age file's size and a digest of it, the whole file's
    SHA-256 (``sha256``) or the chunk-list digest a browser computes natively (``chunks_sha256``,
    FORMAT.md §4.1). Exactly one of the two."""

    size: int
    sha256: str | None = None
    chunks_sha256: str | None = None

    def matches(self, stored: storage.Digests) -> bool:
        declared = (self.sha256, stored.sha256) if self.sha256 is not None else (self.chunks_sha256, stored.chunks_sha256)
        return self.size == stored.size and hmac.compare_digest(*declared)


@dataclass(frozen=True)
class ChunkResult:
    """The answer to a chunk: whether it closed its attachment, and whether that made the tip visible."""

    completed: bool = False
    received: bool = False


def put_chunk(
    db: Session,
    limits: Limits,
    tip_id: str,
    token: str,
    attachment_id: str,
    seq: int,
    data: bytes,
    *,
    followup: bool = False,
    sha256: bytes | None = None,
    completion: Completion | None = None,
) -> ChunkResult:
    """Store one ciphertext chunk. Re-sending the same chunk is a no-op (retries).

    ``sha256``: the chunk's digest as the client computed it; a chunk that does
    not match is refused before it is stored. ``completion``: this is the
    attachment's last chunk, and the attachment is closed with it (saving the
    ``complete`` round trip); when that was the last part a tip opened with its
    sealed payload waited for, the tip is received in the same transaction.
    """
    if sha256 is not None and not hmac.compare_digest(hashlib.sha256(data).digest(), sha256):
        raise IntakeError("bad_chunk")
    if completion is not None and _chunk_already_closed(db, tip_id, token, attachment_id, seq, data, completion,
                                                        followup=followup):
        return ChunkResult(completed=True, received=True)
    target = _uploading(db, tip_id, token, followup=followup, lock=completion is not None)
    tip = target.tip
    # A tip opened with its sealed payload declared its attachments then: no others can be added.
    declared = target.message is None and tip.payload_sha256 is not None
    attachment = _attachment(db, target, attachment_id, limits, create=not declared)
    if attachment.complete:
        if completion is not None and _closed_by(db, attachment, completion, seq, data):
            return ChunkResult(completed=True)  # its answer was lost: the same chunk again
        raise IntakeError("already_finalized", 409)
    if not data or len(data) > limits.upload_chunk_bytes or seq < 0:
        raise IntakeError("bad_chunk")
    existing = storage.get_chunk(db, tip.id, attachment.id, seq)
    if existing is not None:
        if existing != data:
            raise IntakeError("chunk_conflict", 409)
    else:
        _count, _top, total = storage.chunk_stats(db, tip.id, attachment.id)
        if total + len(data) > sealed_ceiling(limits.max_attachment_bytes):
            raise IntakeError("attachment_too_large", 413)
        storage.put_chunk(db, tip.id, attachment.id, seq, data)
    if completion is None:
        return ChunkResult()
    db.flush()
    _close(db, limits, target, attachment, completion)
    return ChunkResult(completed=True, received=_receive_if_whole(db, limits, target))


def _closed_by(
    db: Session, attachment: Attachment, completion: Completion, seq: int | None = None, data: bytes = b""
) -> bool:
    """Whether ``attachment`` is closed as ``completion`` (and by this very last chunk, with ``seq``) would close it:
    a retry after a lost answer, to be answered as the first time rather than refused."""
    return (
        attachment.complete
        and (seq is None or storage.get_chunk(db, attachment.tip_id, attachment.id, seq) == data)
        and completion.matches(storage.digest(db, attachment.tip_id, attachment.id))
    )


def _chunk_already_closed(
    db: Session, upload_id: str, token: str, attachment_id: str, seq: int, data: bytes, completion: Completion,
    *, followup: bool,
) -> bool:
    """True if this exact last chunk already closed its attachment and made its tip visible
    (the answer was lost on the way back): the client is told so, as for a finalize retried."""
    if followup or not ID_PATTERN.match(upload_id) or not ID_PATTERN.match(attachment_id):
        return False
    tip = db.get(Tip, upload_id)
    attachment = db.get(Attachment, (attachment_id, upload_id))
    return (
        tip is not None
        and tip.state == TIP_READY
        and tip.upload_token_hash is not None
        and hmac.compare_digest(tip.upload_token_hash, _token_hash(token))
        and attachment is not None
        and _closed_by(db, attachment, completion, seq, data)
    )


def complete_attachment(
    db: Session,
    limits: Limits,
    tip_id: str,
    token: str,
    attachment_id: str,
    completion: Completion,
    *,
    followup: bool = False,
) -> ChunkResult:
    """Check an attachment's chunks add up to the declared ciphertext, then seal it shut."""
    target = _uploading(db, tip_id, token, followup=followup, lock=True)
    attachment = _attachment(db, target, attachment_id, limits, create=False)
    if attachment.complete:
        if _closed_by(db, attachment, completion):
            return ChunkResult(completed=True)
        raise IntakeError("already_finalized", 409)
    _close(db, limits, target, attachment, completion)
    return ChunkResult(completed=True, received=_receive_if_whole(db, limits, target))


def _close(db: Session, limits: Limits, target: Target, attachment: Attachment, completion: Completion) -> None:
    """Every chunk is there, in order, is what the client sent, and is an age file sealed the tipbox way."""
    tip = target.tip
    count, top, total = storage.chunk_stats(db, tip.id, attachment.id)
    if count == 0 or top != count - 1 or total != completion.size:
        raise IntakeError("incomplete_upload", 409)
    stored = storage.digest(db, tip.id, attachment.id)
    if not completion.matches(stored):
        raise IntakeError("incomplete_upload", 409)
    keys = _keys(db, tip.channel_ids)
    sealed_for = target.message.key_fingerprint if target.message is not None else tip.key_fingerprint
    if sealed_for != keys.fingerprint:
        raise IntakeError("keys_changed", 409)  # sealed to the reviewers of the open; they changed since
    padded = check_sealed(streams.reader(storage.iter_chunks(db, tip.id, attachment.id)), total, keys.count)
    if padded > padded_length(limits.max_attachment_bytes):
        raise IntakeError("attachment_too_large", 413)
    attachment.complete = True
    attachment.size = total
    attachment.sha256 = stored.sha256


def _receive_if_whole(db: Session, limits: Limits, target: Target) -> bool:
    """A tip opened with its sealed payload (:func:`open_sealed`) is received when its last part is closed."""
    tip = target.tip
    if target.message is not None or tip.payload is None or not all(a.complete for a in target.attachments):
        return False
    total = len(tip.payload) + sum(a.size or 0 for a in target.attachments)
    if total > sealed_ceiling(limits.max_submission_bytes):
        raise IntakeError("submission_too_large", 413)
    _receive(db, tip)  # the keys were checked by _close, in this transaction
    return True


@dataclass(frozen=True)
class SourceKeys:
    """What a tip keeps of its receipt: the source's public recipient and the lookup key (hashed on store)."""

    recipient: str
    lookup: str

    @classmethod
    def checked(cls, recipient: object, lookup: object) -> SourceKeys:
        """Keys a browser sent: a valid X25519 age recipient and a 64-hex lookup key, or a 400."""
        if not isinstance(recipient, str) or not isinstance(lookup, str) or not LOOKUP_PATTERN.match(lookup):
            raise IntakeError("bad_request")
        try:
            parsed = envelope.parse_recipient(recipient)
        except TipboxCryptoError:
            raise IntakeError("bad_request") from None
        if not str(parsed).startswith("age1") or str(parsed) != recipient:
            raise IntakeError("bad_request")
        return cls(recipient, lookup)

    @classmethod
    def derived(cls, keys: ReceiptKeys) -> SourceKeys:
        return cls(keys.recipient, keys.lookup)


@dataclass(frozen=True)
class Receipt:
    tip_id: str
    code: str | None  # None when the browser made the receipt: the server never saw it
    channels: tuple[str, ...] = ()  # who can read it, lead first


def _remember_source(db: Session, tip: Tip, secret: bytes, source: SourceKeys) -> None:
    """Keep how the source comes back: its receipt-derived recipient and the keyed hash of its lookup key."""
    hashed = lookup_hash(source.lookup, secret)
    if db.scalars(select(Tip.id).where(Tip.receipt_lookup == hashed, Tip.id != tip.id)).first() is not None:
        raise IntakeError("receipt_conflict", 409)  # only a client reusing its own receipt gets here
    tip.receipt_lookup = hashed
    tip.source_recipient = source.recipient


def _receive(db: Session, tip: Tip, code: str | None = None) -> Receipt:
    """The moment a tip becomes visible: mark it ready and log it (its source keys are already kept)."""
    tip.state = TIP_READY
    tip.received_at = clock.hour(clock.utcnow())
    # The token hash stays until cleanup_abandoned: a finalize retried after a lost answer
    # must find its tip (see _already_done), not a 404 for a tip that was stored.
    tip.upload_expires_at = None
    size = (tip.payload_size or 0) + sum(a.size or 0 for a in tip.attachments)
    audit_log.record(db, "tip.received", tip.id, {
        "sha256": tip.payload_sha256, "size": audit.size_bucket(size), "attachments": len(tip.attachments),
        "sealed_by": tip.sealed_by, "channels": tip.channel_ids}, when=tip.received_at)
    return Receipt(tip.id, code, tuple(tip.channel_ids))


def _check_parts(
    db: Session, limits: Limits, target: Target, sealed_payload: bytes, attachment_ids: Sequence[str], key_fingerprint: str
) -> None:
    """Everything finalize promises: every declared part arrived whole, and is sealed the tipbox way."""
    keys = _keys(db, target.tip.channel_ids)
    if key_fingerprint != keys.fingerprint:
        raise IntakeError("keys_changed", 409)
    declared = list(attachment_ids)
    stored = {a.id: a for a in target.attachments}
    if len(set(declared)) != len(declared) or set(declared) != set(stored):
        raise IntakeError("incomplete_upload", 409)
    if not all(a.complete for a in stored.values()):
        raise IntakeError("incomplete_upload", 409)
    if len(sealed_payload) > sealed_ceiling(payload.MAX_PAYLOAD_BYTES):
        raise IntakeError("payload_too_large", 413)
    check_sealed(sealed_payload, len(sealed_payload), keys.count)
    total = len(sealed_payload) + sum(a.size or 0 for a in stored.values())
    if total > sealed_ceiling(limits.max_submission_bytes):
        raise IntakeError("submission_too_large", 413)


def finalize(
    db: Session,
    limits: Limits,
    secret: bytes,
    tip_id: str,
    token: str,
    sealed_payload: bytes,
    attachment_ids: Sequence[str],
    key_fingerprint: str,
    source: SourceKeys,
) -> Receipt:
    """Make a browser-sealed tip visible to export, all or nothing (a retry of the same finalize is a no-op)."""
    if _already_done(db, tip_id, token, sealed_payload, lookup=lookup_hash(source.lookup, secret)):
        return Receipt(tip_id, None)
    target = _uploading(db, tip_id, token, lock=True)
    if target.tip.payload is not None:
        raise IntakeError("already_finalized", 409)  # opened with its payload: its last chunk receives it
    _check_parts(db, limits, target, sealed_payload, attachment_ids, key_fingerprint)
    _store_payload(target.tip, sealed_payload)
    _remember_source(db, target.tip, secret, source)
    return _receive(db, target.tip)


def finalize_followup(
    db: Session,
    limits: Limits,
    upload_id: str,
    token: str,
    sealed_message: bytes,
    attachment_ids: Sequence[str],
    key_fingerprint: str,
) -> Message | None:
    """Make a browser-sealed follow-up part of its tip's thread, all or nothing (retries are no-ops)."""
    if _already_done(db, upload_id, token, sealed_message, followup=True):
        return None
    target = _uploading(db, upload_id, token, followup=True, lock=True)
    _check_parts(db, limits, target, sealed_message, attachment_ids, key_fingerprint)
    assert target.message is not None
    _store_payload(target.message, sealed_message)
    receive_message(db, target.tip, target.message, attachments=len(target.attachments))
    return target.message


def _already_done(
    db: Session, upload_id: str, token: str, sealed: bytes, *, followup: bool = False, lookup: str | None = None
) -> bool:
    """True if this exact finalize already succeeded (its answer was lost on the way back).

    Over Tor a response can vanish after the commit; the client retries with the
    same token, payload (and, for a tip, lookup key). Answering 409 would tell a
    source whose report *was* stored that it failed. Anything that differs is
    still refused as before.
    """
    model = Message if followup else Tip
    row = db.get(model, upload_id) if ID_PATTERN.match(upload_id) else None
    return (
        row is not None
        and row.state == TIP_READY
        and row.upload_token_hash is not None
        and hmac.compare_digest(row.upload_token_hash, _token_hash(token))
        and row.payload_sha256 == hashlib.sha256(sealed).hexdigest()
        and (lookup is None or row.receipt_lookup == lookup)
    )


def receive_message(db: Session, tip: Tip, message: Message, *, attachments: int = 0) -> None:
    """A follow-up or a reply joins the thread: numbered, ready, logged (ids, sizes, never content)."""
    message.seq = 1 + max((m.seq for m in tip.messages if m.state == TIP_READY), default=0)
    message.state = TIP_READY
    message.received_at = clock.hour(clock.utcnow())
    message.upload_expires_at = None  # the token hash stays for retries, as a tip's (_already_done)
    if message not in tip.messages:
        tip.messages.append(message)
    event = {"reply": "tip.reply", "note": "tip.note"}.get(message.kind, "tip.followup")
    data: dict[str, object] = {"id": message.id, "sha256": message.payload_sha256,
                               "size": audit.size_bucket(message.payload_size or 0)}
    if message.kind == "followup":
        data.update(attachments=attachments, sealed_by=message.sealed_by)
    audit_log.record(db, event, tip.id, data, when=message.received_at)


def _store_payload(row: Tip | Message, sealed: bytes) -> None:
    row.payload = sealed
    row.payload_size = len(sealed)
    row.payload_sha256 = hashlib.sha256(sealed).hexdigest()


@dataclass(frozen=True)
class PlainAttachment:
    """An uploaded file on the no-JS path, held in memory only until sealed."""

    name: str
    media_type: str
    stream: BinaryIO


def _seal_files(
    db: Session, limits: Limits, target: Target, files: Sequence[PlainAttachment], recipients: Sequence[str]
) -> list[dict]:
    """Seal each file into chunk rows as it streams in; return the payload's attachment manifest."""
    if len(files) > limits.max_attachments:
        raise IntakeError("too_many_attachments", 413)
    tip = target.tip
    entries = []
    for position, file in enumerate(files):
        attachment = Attachment(
            id=secrets.token_hex(16), tip_id=tip.id, message_id=target.message_id, position=position, complete=False
        )
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
    return entries


def submit_server_sealed(
    db: Session,
    limits: Limits,
    secret: bytes,
    answers: dict,
    lang: str,
    files: Sequence[PlainAttachment],
    *,
    urgent: bool = False,
) -> Receipt:
    """The no-JS path: route and seal answers and files in memory, store only ciphertext.

    Routing reads the answers' province, kabupaten/kota and category here,
    in memory, exactly as the page's script would (FORMAT.md §14); only the
    resulting channels are stored. The server makes the receipt and derives
    the source's keys from it in memory; only the recipient and the keyed
    lookup hash are stored.
    """
    keys = _keys(db, routed(db, answers.get("province"), answers.get("regency"), answers.get("category")))
    if len(files) > limits.max_attachments:
        raise IntakeError("too_many_attachments", 413)
    tip = Tip(
        id=secrets.token_hex(16),
        state=TIP_UPLOADING,
        sealed_by="server",
        key_fingerprint=keys.fingerprint,
        urgent=urgent,
    )
    readers.hold(tip, keys.channel_ids)
    db.add(tip)
    db.flush()
    entries = _seal_files(db, limits, Target(tip), files, keys.recipients)
    document = payload.build(answers, lang=lang, sealed_by=SealedBy.SERVER, attachments=entries)
    _store_payload(tip, payload.seal_tip(document, keys.recipients))
    code = new_receipt()
    _remember_source(db, tip, secret, SourceKeys.derived(derive(code)))
    return _receive(db, tip, code)


def submit_followup_server_sealed(
    db: Session, limits: Limits, tip: Tip, text: str, lang: str, files: Sequence[PlainAttachment]
) -> Message:
    """The no-JS follow-up: sealed to the reviewers in memory, like a no-JS tip."""
    keys = _keys(db, tip.channel_ids)
    message = _new_message(tip, "server", keys.fingerprint)
    db.add(message)
    db.flush()
    entries = _seal_files(db, limits, Target(tip, message), files, keys.recipients)
    try:
        document = messages.build(messages.FOLLOWUP, text, lang=lang, sealed_by=SealedBy.SERVER, attachments=entries)
    except TipboxCryptoError:
        raise IntakeError("message_required") from None
    _store_payload(message, messages.seal_message(document, keys.recipients))
    receive_message(db, tip, message, attachments=len(entries))
    return message


def cleanup_abandoned(db: Session, now: datetime | None = None) -> int:
    """Delete unfinished uploads whose time ran out; return how many.

    Bulk DELETEs rather than ORM deletes: two requests cleaning up at once must
    not fail because the other one got to a row first.
    """
    moment = now or clock.utcnow()
    _forget_upload_tokens(db, moment)
    removed = _cleanup_followups(db, moment)
    stale = select(Tip.id).where(Tip.state == TIP_UPLOADING, Tip.upload_expires_at < moment)
    ids = list(db.scalars(stale))
    if ids:
        db.execute(delete(AttachmentChunk).where(AttachmentChunk.tip_id.in_(ids)))
        db.execute(delete(Attachment).where(Attachment.tip_id.in_(ids)))
        removed += db.execute(delete(Tip).where(Tip.id.in_(ids), Tip.state == TIP_UPLOADING)).rowcount
    if removed:
        # Never-finished uploads were never tips: logged as a count, without ids.
        audit_log.record(db, "uploads.abandoned", None, {"count": removed}, when=moment)
    return removed


def _forget_upload_tokens(db: Session, moment: datetime) -> None:
    """Past the retry window, a received tip or follow-up needs no upload token hash any more."""
    for model in (Tip, Message):
        # Rows are received on the hour; a day after that, no retry of their finalize is coming.
        db.execute(
            update(model)
            .where(
                model.state == TIP_READY,
                model.upload_token_hash.is_not(None),
                model.received_at < moment - timedelta(days=1),
            )
            .values(upload_token_hash=None)
        )


def _cleanup_followups(db: Session, moment: datetime) -> int:
    stale = db.execute(
        select(Message.id, Message.tip_id).where(Message.state == TIP_UPLOADING, Message.upload_expires_at < moment)
    ).all()
    if not stale:
        return 0
    message_ids = [row.id for row in stale]
    attachments = db.execute(
        select(Attachment.id, Attachment.tip_id).where(Attachment.message_id.in_(message_ids))
    ).all()
    for row in attachments:
        storage.delete_chunks(db, row.tip_id, row.id)
    db.execute(delete(Attachment).where(Attachment.message_id.in_(message_ids)))
    return db.execute(delete(Message).where(Message.id.in_(message_ids), Message.state == TIP_UPLOADING)).rowcount
