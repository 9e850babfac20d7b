"""Test helpers: what a reviewer's CLI does for a forward or a reseal, done with crypto/ directly.

Opens every part of a tip from a verified export bundle with one reviewer's
identity, seals the same plaintext (padding and all) to new recipients, and
writes a signed v3 dispositions package (FORMAT.md §10.2).
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Sequence
from pathlib import Path

from crypto import envelope
from crypto.archive import ArchiveFile
from crypto.bundle import BundleTip, VerifiedBundle
from crypto.dispositions import (
    HANDOVER_VERSION,
    Handover,
    Part,
    handover_document,
    parse_body,
    part_path,
    write_package,
)
from crypto.identity import ReviewerIdentity
from crypto.signing import CONTEXT_DISPOSITIONS, canonical_json, sign_document
from tipbox import clock


def resealed_parts(
    bundle: VerifiedBundle, tip: BundleTip, reader: ReviewerIdentity, recipients: Sequence[str], handover: str,
    source: str | None = None,
) -> dict[Part, bytes]:
    """Every part of ``tip`` opened with ``reader`` and sealed again to ``recipients`` (replies: also ``source``)."""
    listed: list[tuple[str, str | None, str]] = [("payload", None, tip.payload.path)]
    listed += [("attachment", a.id, a.path) for a in tip.attachments]
    for message in tip.messages:
        listed.append(("message", message.id, message.path))
        listed += [("attachment", a.id, a.path) for a in message.attachments]
    replies = {m.id for m in tip.messages if m.kind.value == "reply"}
    parts = {}
    for kind, part_id, path in listed:
        plain = envelope.open_bytes(bundle.open_member(path), [reader.age_identity])
        to = [*recipients, *([source] if part_id in replies and source else [])]
        sealed = envelope.seal_bytes(plain, to)
        part = Part(kind, part_id, part_path(handover, tip.id, kind, part_id), len(sealed),
                    hashlib.sha256(sealed).hexdigest())
        parts[part] = sealed
    return parts


def sealed_note(tip_id: str, text: str, recipients: Sequence[str]) -> dict[Part, bytes]:
    """A forward's note to the receiving team: a new message of kind note, sealed to the readers."""
    from crypto import messages

    note_id = secrets.token_hex(16)
    sealed = messages.seal_message(messages.build("note", text, lang="id", sealed_by="reviewer"), recipients)
    part = Part("note", note_id, part_path("forwards", tip_id, "note", note_id), len(sealed),
                hashlib.sha256(sealed).hexdigest())
    return {part: sealed}


def package(
    path: Path,
    signer: ReviewerIdentity,
    forwards: Sequence[tuple[Handover, dict[Part, bytes]]] = (),
    reseals: Sequence[tuple[Handover, dict[Part, bytes]]] = (),
    *,
    leave_out: str | None = None,
) -> Path:
    """A signed v3 package at ``path``; ``leave_out`` names a part path listed but not written (a partial file)."""
    body = {
        "type": "tipbox-dispositions",
        "v": HANDOVER_VERSION,
        "id": secrets.token_hex(16),
        "created": clock.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "entries": [],
        "replies": [],
        "forwards": [handover_document(h) for h, _ in forwards],
        "reseals": [handover_document(h) for h, _ in reseals],
    }
    signed = canonical_json(sign_document(body, CONTEXT_DISPOSITIONS, signer.signing_key))
    parsed = parse_body(body, clock.utcnow(), 365)
    data = {p.path: sealed for _, parts in (*forwards, *reseals) for p, sealed in parts.items()}
    files = [ArchiveFile(p.path, p.size, p.sha256, lambda d=data[p.path]: io.BytesIO(d)) for p in parsed.parts]
    with path.open("wb") as out:
        if leave_out is None:
            write_package(out, signed, parsed, files)
        else:
            _write_partial(out, signed, files, leave_out)
    return path


def _write_partial(out, signed: bytes, files: list[ArchiveFile], leave_out: str) -> None:
    import tarfile

    from crypto.archive import _tarinfo

    with tarfile.open(fileobj=out, mode="w|", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(_tarinfo("dispositions.json", len(signed)), io.BytesIO(signed))
        for file in files:
            if file.path != leave_out:
                with file.open() as handle:
                    tar.addfile(_tarinfo(file.path, file.size), handle)
