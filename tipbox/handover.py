"""Forwards and reseals from a dispositions package: a tip's stored ciphertext replaced by a reviewer's re-seal.

A reviewer's CLI decrypts a tip whole (payload, attachments, messages) and
seals every part again (FORMAT.md §10.2): to the tip's holders *and* a new
channel (a **forward**: the target channel then holds the tip and exports it
like any other), or to the holders' current reviewers only (a **reseal**,
after a reviewer left: afterwards the departed key opens nothing the server
keeps). The server cannot decrypt, so it checks what it can, for every part,
before replacing anything:

* the signer's channel holds the tip; a forward's target has reviewers and
  does not hold it yet; only the lead channel may hand over the lead;
* the package carries exactly the tip's stored parts, each once;
* each part is a strict tipbox age file with exactly one X25519 stanza per
  current reviewer of the new holders (one more for a reply: the source),
  Padmé-padded to the *same* length as the part it replaces (a re-seal, not
  new content).

Then, in the import's transaction, the old bytes are replaced and the holders
and lead updated; the caller scrubs freed space after the commit
(tipbox/retention/purge.py ``scrub``), as a purge does, so the old ciphertext
is gone from the database files too.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from crypto import archive, audit, header, messages, streams
from crypto.dispositions import NOTE, Body, Handover, Part, verify_package_parts
from crypto.errors import TipboxCryptoError
from crypto.padding import padded_length

from . import readers, storage
from .intake.service import receive_message
from .models import TIP_READY, TIP_UPLOADING, Attachment, Message, Tip, TipChannel

EventSink = Callable[[Session, str, str | None, Mapping[str, Any]], None]


class HandoverError(ValueError):
    """A forward or reseal was refused; the whole file is. The message is one line, safe to print."""


@dataclass(frozen=True)
class Planned:
    """A checked handover: what it replaces and who holds the tip afterwards."""

    handover: Handover
    tip: Tip
    holders: tuple[str, ...]  # lead first, after the handover
    keys: readers.ReaderKeys


def _stored_parts(tip: Tip) -> dict[tuple[str, str | None], Attachment | Message | Tip]:
    """Every age file the server holds for a tip, by (kind, id): what a handover must re-seal, all of it."""
    parts: dict[tuple[str, str | None], Attachment | Message | Tip] = {("payload", None): tip}
    parts.update({("attachment", a.id): a for a in tip.attachments if a.complete})
    parts.update({("message", m.id): m for m in tip.messages if m.state == TIP_READY})
    return parts


def _holders(db: Session, handover: Handover, tip: Tip, channels: set[str]) -> tuple[str, ...]:
    now = tuple(tip.channel_ids)
    if not handover.forward:
        return now
    assert handover.to is not None
    if handover.to not in readers.published(db):
        raise HandoverError(f"channel {handover.to} has no reviewers and cannot receive tips")
    if handover.to in now:
        raise HandoverError(f"channel {handover.to} already holds tip {tip.id[:8]}")
    if handover.lead and tip.channel_id not in channels:
        raise HandoverError(f"tip {tip.id[:8]} is led by channel {tip.channel_id}: only its reviewers hand over the lead")
    return (handover.to, *now) if handover.lead else (*now, handover.to)


def _old_padded_length(db: Session, tip: Tip, stored: Attachment | Message | Tip) -> int:
    """The padded plaintext length of a stored part (from its header and size): a re-seal must keep it."""
    if isinstance(stored, Attachment):
        stream: BinaryIO = streams.reader(storage.iter_chunks(db, tip.id, stored.id))
        total = stored.size or 0
    else:
        data = stored.payload or b""
        stream, total = io.BytesIO(data), len(data)
    parsed = header.parse_header(stream)
    return header.check_padded_payload(total - parsed.length)


def _padded_length(package: Path, part: Part, recipients: int, what: str) -> int:
    """A part's padded plaintext length, once its header is strict and sealed to exactly ``recipients``."""
    try:
        with archive.open_member(package, part.path) as handle:
            parsed = header.parse_header(handle)
            header.check_x25519_recipients(parsed, recipients)
            return header.check_padded_payload(part.size - parsed.length)
    except TipboxCryptoError:
        raise HandoverError(f"{what} is not sealed the tipbox way to the {recipients} recipients it must reach") from None


def _check_part(db: Session, package: Path, tip: Tip, part: Part, stored: Attachment | Message | Tip,
                recipients: int) -> None:
    what = f"the re-sealed {part.kind} of tip {tip.id[:8]}"
    if _padded_length(package, part, recipients, what) != _old_padded_length(db, tip, stored):
        raise HandoverError(f"{what} is not the same length as the stored one: a re-seal must not change content")


def _check_note(db: Session, package: Path, tip: Tip, note: Part, recipients: int) -> None:
    """A forward's note is new: a fresh message id, sealed to the readers (never the source), message-sized."""
    what = f"the note forwarded with tip {tip.id[:8]}"
    if note.id is None or db.get(Message, note.id) is not None:
        raise HandoverError(f"{what} reuses a message id")
    if _padded_length(package, note, recipients, what) > padded_length(messages.MAX_PAYLOAD_BYTES):
        raise HandoverError(f"{what} is too large")


def plan(
    db: Session,
    body: Body,
    tips: Mapping[str, Tip],
    channels: set[str],
    purged: set[str],
    package: Path | None,
) -> list[Planned]:
    """Check every forward and reseal of ``body`` (nothing is changed); the checked plan, or HandoverError."""
    handovers = [*body.forwards, *body.reseals]
    if not handovers:
        return []
    if package is None:
        raise HandoverError("this file forwards or re-seals tips: import the whole dispositions package (.tar)")
    try:
        verify_package_parts(package, body)
    except TipboxCryptoError as exc:
        raise HandoverError(str(exc)) from None
    planned = []
    for handover in handovers:
        if handover.tip_id in purged:
            continue
        tip = tips[handover.tip_id]
        holders = _holders(db, handover, tip, channels)
        try:
            keys = readers.keys_for(db, holders)
        except readers.NotRoutable as exc:
            raise HandoverError(str(exc)) from None
        stored = _stored_parts(tip)
        sent = {(p.kind, p.id): p for p in handover.parts if p.kind != NOTE}
        if set(sent) != set(stored):
            raise HandoverError(f"the {'forward' if handover.forward else 'reseal'} of tip {tip.id[:8]} must carry "
                                f"every stored part of it ({len(stored)}), and only those ({len(sent)} sent)")
        for key, part in sent.items():
            stored_part = stored[key]
            extra = 1 if isinstance(stored_part, Message) and stored_part.kind == "reply" else 0  # the source
            _check_part(db, package, tip, part, stored_part, keys.count + extra)
        for note in (p for p in handover.parts if p.kind == NOTE):
            _check_note(db, package, tip, note, keys.count)
        planned.append(Planned(handover, tip, holders, keys))
    return planned


def _replace(db: Session, package: Path, tip: Tip, part: Part, stored: Attachment | Message | Tip,
             keys: readers.ReaderKeys, chunk_bytes: int) -> None:
    if isinstance(stored, Attachment):
        storage.delete_chunks(db, tip.id, stored.id)
        writer = storage.ChunkWriter(db, tip.id, stored.id, chunk_bytes)
        with archive.open_member(package, part.path) as handle:
            while chunk := handle.read(chunk_bytes):
                writer.write(chunk)
        stored.sha256 = writer.close()
        stored.size = writer.total
        return
    data = archive.read_member(package, part.path)
    stored.payload, stored.payload_size, stored.payload_sha256 = data, len(data), hashlib.sha256(data).hexdigest()
    stored.key_fingerprint = keys.fingerprint


def apply(
    db: Session,
    planned: Iterable[Planned],
    package: Path | None,
    signer_channels: set[str],
    chunk_bytes: int,
    emit: EventSink,
) -> tuple[int, int]:
    """Replace the ciphertext of every planned handover; returns (forwards, reseals) applied."""
    forwards = reseals = 0
    for item in planned:
        assert package is not None
        tip, handover = item.tip, item.handover
        stored = _stored_parts(tip)
        size = 0
        for part in handover.parts:
            if part.kind == NOTE:
                _add_note(db, package, tip, part, item.keys)
            else:
                _replace(db, package, tip, part, stored[(part.kind, part.id)], item.keys, chunk_bytes)
            size += part.size
        readers.remember(db, item.keys)
        led_by_signer = tip.channel_id in signer_channels
        data: dict[str, Any] = {"size": audit.size_bucket(size), "parts": len(handover.parts)}
        if handover.forward:
            assert handover.to is not None
            tip.holders.append(TipChannel(channel_id=handover.to, position=len(tip.holders), exported_seq=0))
            if handover.lead:
                _lead(tip, handover.to)
            if led_by_signer and tip.review_status not in ("closed", "referred"):
                tip.review_status = "referred"  # the source's status page says so, as after a referral
                emit(db, "tip.status", tip.id, {"status": "referred"})
            emit(db, "tip.forwarded", tip.id, {**data, "from": sorted(signer_channels & set(item.holders)),
                                                "to": handover.to, "lead": handover.lead})
            forwards += 1
        else:
            emit(db, "tip.resealed", tip.id, {**data, "channels": list(item.holders)})
            reseals += 1
    db.flush()
    return forwards, reseals


def _add_note(db: Session, package: Path, tip: Tip, note: Part, keys: readers.ReaderKeys) -> None:
    """The forwarding team's note joins the tip's thread as a message for reviewers (the status page skips it)."""
    assert note.id is not None
    data = archive.read_member(package, note.path)
    message = Message(id=note.id, tip_id=tip.id, seq=0, kind=NOTE, state=TIP_UPLOADING, sealed_by="reviewer",
                      key_fingerprint=keys.fingerprint, payload=data, payload_size=len(data),
                      payload_sha256=hashlib.sha256(data).hexdigest())
    db.add(message)
    receive_message(db, tip, message)


def _lead(tip: Tip, channel_id: str) -> None:
    """Make ``channel_id`` the lead: position 0, the others after it in their order."""
    ordered = sorted(tip.holders, key=lambda h: (h.channel_id != channel_id, h.position))
    for position, holder in enumerate(ordered):
        holder.position = position
    tip.channel_id = channel_id
