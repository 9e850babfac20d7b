"""Re-sealing a stored age file to other recipients, and hashing what one holds, without plaintext on disk.

A forward or a reseal (crypto/FORMAT.md §10.2) seals the *same* plaintext (the
padded frame exactly as decrypted) to a new recipient set. Attachments can be
50 MiB, so the plaintext is never collected: one thread decrypts the stored
file into a pipe while pyrage seals what comes out of the other end straight
into a new ciphertext file (mode 0600, created exclusively). The plaintext
exists only in the pipe's kernel buffer and pyrage's chunk buffers.

age authenticates per 64 KiB chunk and sees truncation only at the end, so a
damaged file may already have been partly re-sealed when its decryption
fails: the new file is then deleted and the error raised. The importer uses
:func:`plaintext_sha256` to compare what a re-sealed part holds with what the
workspace already had (the tamper check §10.2 promises).
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from crypto import envelope

_COPY = 1024 * 1024


@dataclass(frozen=True)
class Sealed:
    """A new ciphertext file: its size and SHA-256 (what the package lists), and the plaintext's SHA-256."""

    size: int
    sha256: str
    plaintext_sha256: str


class _Hashing:
    """A write-only sink that hashes and counts what passes through, optionally forwarding it."""

    def __init__(self, inner: BinaryIO | None = None) -> None:
        self.inner = inner
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        if self.inner is not None:
            self.inner.write(data)
        return len(data)

    def flush(self) -> None:
        if self.inner is not None:
            self.inner.flush()


def plaintext_sha256(path: Path, identity: envelope.Identity) -> str:
    """SHA-256 of the plaintext (padding included) of the age file at ``path``; nothing is written anywhere.

    The digest is only returned once the whole file authenticated.
    """
    sink = _Hashing()
    envelope.open_file(path, sink, [identity])  # type: ignore[arg-type]  # _Hashing has what pyrage calls
    return sink.digest.hexdigest()


def file_sha256(path: Path) -> tuple[int, str]:
    """(size, SHA-256) of a file, read in pieces (attachments are large)."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_COPY):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def reseal_file(src: Path, dst: Path, identity: envelope.Identity, recipients: list[str]) -> Sealed:
    """Seal the plaintext of ``src`` to ``recipients`` into a new file ``dst``; on any error ``dst`` is removed."""
    read_end, write_end = os.pipe()
    failure: list[BaseException] = []
    plain = _Hashing()

    def decrypt() -> None:
        try:
            with os.fdopen(write_end, "wb") as pipe:
                plain.inner = pipe
                envelope.open_file(src, plain, [identity])  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the caller below, never lost in the thread
            failure.append(exc)

    worker = threading.Thread(target=decrypt, name="tipbox-review-reseal", daemon=True)
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    worker.start()
    try:
        with os.fdopen(read_end, "rb") as source, os.fdopen(fd, "wb") as out:
            sealed = _Hashing(out)
            envelope.seal(source, sealed, recipients)  # type: ignore[arg-type]
        worker.join()
        if failure:
            raise failure[0]
    except BaseException:
        worker.join()
        dst.unlink(missing_ok=True)
        raise
    return Sealed(sealed.size, sealed.digest.hexdigest(), plain.digest.hexdigest())


__all__ = ["Sealed", "file_sha256", "plaintext_sha256", "reseal_file"]
