"""Attachments: each file padded and sealed as its own age file, streamed.

Sealing reads the source in 64 KiB pieces, hashes the *content* (that SHA-256
and size go in the tip payload's manifest) and feeds content + Padmé padding
to pyrage, so memory stays flat however large the file. Opening reverses it
and checks size and SHA-256 against the manifest. See FORMAT.md, "Attachments".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from . import envelope, streams
from .errors import CiphertextCorrupted, TooLarge
from .padding import StreamUnpadder, pad_stream

_PIECE = 64 * 1024


@dataclass(frozen=True)
class ContentDigest:
    size: int
    sha256: str


def _pieces(src: BinaryIO, digest: hashlib._Hash, counter: list[int], limit: int | None) -> Iterator[bytes]:
    while piece := src.read(_PIECE):
        counter[0] += len(piece)
        if limit is not None and counter[0] > limit:
            raise TooLarge()
        digest.update(piece)
        yield piece


def seal_attachment(
    src: BinaryIO,
    dst: BinaryIO,
    recipients: Sequence[str | envelope.Recipient],
    limit: int | None = None,
) -> ContentDigest:
    """Pad and seal ``src`` into ``dst``; return the content's size and SHA-256.

    ``limit`` aborts (:class:`TooLarge`) once more than ``limit`` content bytes were read,
    so an oversized upload is refused without ever being held whole.
    """
    digest = hashlib.sha256()
    counter = [0]
    reader = streams.reader(pad_stream(_pieces(src, digest, counter, limit)), _PIECE)
    envelope.seal(reader, dst, recipients)  # TooLarge from the reader propagates as is
    return ContentDigest(counter[0], digest.hexdigest())


class _UnpadSink:
    """Writable that unpads, hashes and forwards plaintext as pyrage emits it."""

    def __init__(self, dst: BinaryIO) -> None:
        self._dst = dst
        self._unpadder = StreamUnpadder()
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        for piece in self._unpadder.feed(bytes(data)):
            self.digest.update(piece)
            self._dst.write(piece)
        return len(data)

    def flush(self) -> None:
        self._dst.flush()

    def finish(self) -> ContentDigest:
        return ContentDigest(self._unpadder.finish(), self.digest.hexdigest())


def open_attachment(
    src: BinaryIO,
    dst: BinaryIO,
    identities: Sequence[str | envelope.Identity],
    expected: ContentDigest | None = None,
) -> ContentDigest:
    """Open a sealed attachment into ``dst``, checking it against ``expected``.

    As with :func:`crypto.envelope.open_stream`, ``dst`` must be discarded if
    this raises; the review CLI writes to a temporary file it renames only on
    success.
    """
    sink = _UnpadSink(dst)
    envelope.open_stream(src, sink, identities)  # type: ignore[arg-type]
    result = sink.finish()
    if expected is not None and result != expected:
        raise CiphertextCorrupted("attachment does not match the size and SHA-256 in the tip")
    return result
