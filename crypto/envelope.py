"""Sealing and opening age v1 files through pyrage, with tipbox's error types.

Every sealed object in tipbox is a plain age v1 file (C2SP age spec) to one
X25519 recipient per reviewer, so any reviewer can fall back on the stock
``age`` CLI. Nothing here implements a primitive: pyrage (rage) does the work.

Opening streams through pyrage, which writes plaintext chunk by chunk and only
detects truncation at the end. Functions that return plaintext therefore
collect it first and hand it over only after the whole file authenticated;
:func:`open_stream` and :func:`open_file` document that their sink must be
discarded on error. Both run the strict header parser (crypto/header.py) before
pyrage sees a byte. :func:`open_file` is the fast path for a file on disk: it
rewinds the file instead of replaying the header and lets pyrage read it
through C-level buffered I/O, with no Python code per 8 KiB read.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO

import pyrage

from .errors import (
    CiphertextCorrupted,
    MalformedHeader,
    MalformedIdentity,
    NoMatchingIdentity,
)
from .header import parse_header

Recipient = pyrage.x25519.Recipient
Identity = pyrage.x25519.Identity


def parse_recipient(text: str) -> Recipient:
    """Parse an ``age1...`` X25519 recipient, raising :class:`MalformedIdentity`."""
    try:
        return pyrage.x25519.Recipient.from_str(text.strip())
    except (pyrage.RecipientError, ValueError, TypeError):
        raise MalformedIdentity("not a valid age X25519 recipient") from None


def parse_identity(text: str) -> Identity:
    """Parse an ``AGE-SECRET-KEY-1...`` identity, raising :class:`MalformedIdentity`."""
    try:
        return pyrage.x25519.Identity.from_str(text.strip())
    except (pyrage.IdentityError, ValueError, TypeError):
        raise MalformedIdentity("not a valid age X25519 identity") from None


def _recipients(recipients: Sequence[str | Recipient]) -> list[Recipient]:
    parsed = [parse_recipient(r) if isinstance(r, str) else r for r in recipients]
    if not parsed:
        raise MalformedIdentity("at least one recipient is required")
    return parsed


def _identities(identities: Sequence[str | Identity]) -> list[Identity]:
    parsed = [parse_identity(i) if isinstance(i, str) else i for i in identities]
    if not parsed:
        raise MalformedIdentity("at least one identity is required")
    return parsed


class _Watched:
    """Proxy a caller's file object and remember any exception it raised.

    pyrage turns every error inside encrypt_io/decrypt_io into its own
    exception (or a bare OSError), so a full disk would look like tampering.
    Re-raising what the caller's own file raised keeps the two apart.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.error: BaseException | None = None

    def _call(self, name: str, *args: Any) -> Any:
        try:
            return getattr(self._inner, name)(*args)
        except BaseException as exc:
            self.error = exc
            raise

    def read(self, *args: Any) -> Any:
        return self._call("read", *args)

    def readinto(self, buffer: Any) -> Any:
        return self._call("readinto", buffer)

    def write(self, data: Any) -> Any:
        return self._call("write", data)

    def flush(self) -> Any:
        return self._call("flush") if hasattr(self._inner, "flush") else None


def _reraise_caller_error(*files: Any) -> None:
    for file in files:
        if getattr(file, "error", None) is not None:
            raise file.error


def seal(src: BinaryIO, dst: BinaryIO, recipients: Sequence[str | Recipient]) -> None:
    """Stream ``src`` into an age file on ``dst`` sealed to every recipient.

    Errors raised by ``src`` or ``dst`` themselves (a full disk, a size limit)
    propagate unchanged.
    """
    parsed = _recipients(recipients)
    source, sink = _Watched(src), _Watched(dst)
    try:
        pyrage.encrypt_io(source, sink, parsed)  # type: ignore[arg-type]  # _Watched has the methods pyrage calls
    except (pyrage.EncryptError, OSError):
        _reraise_caller_error(source, sink)
        raise


def seal_bytes(data: bytes, recipients: Sequence[str | Recipient]) -> bytes:
    out = io.BytesIO()
    seal(io.BytesIO(data), out, recipients)
    return out.getvalue()


class _Replay(io.RawIOBase):
    """Re-prepend the header bytes we already consumed while validating."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _validated(src: Any) -> BinaryIO:
    """Parse the header strictly, then return a stream positioned at the start."""
    recorder = _Recorder(src)
    parse_header(recorder)  # type: ignore[arg-type]
    return io.BufferedReader(_Replay(bytes(recorder.seen), src), 64 * 1024)


class _Recorder:
    """Reader for the header parser that keeps every byte it took from ``src``.

    It reads in blocks (a byte at a time cost most of opening a small tip) and
    everything read, header or not, is replayed to pyrage afterwards.
    """

    BLOCK = 4096

    def __init__(self, src: Any) -> None:
        self._src = src
        self.seen = bytearray()
        self._pos = 0

    def readline(self, limit: int = -1) -> bytes:
        while True:
            end = self.seen.find(b"\n", self._pos)
            available = len(self.seen) - self._pos
            if end >= 0 or (0 <= limit <= available):
                break
            block = self._src.read(self.BLOCK)
            if not block:
                break
            self.seen += block
        stop = len(self.seen) if end < 0 else end + 1
        if limit >= 0:
            stop = min(stop, self._pos + limit)
        line = bytes(self.seen[self._pos : stop])
        self._pos = stop
        return line


def open_stream(src: BinaryIO, dst: BinaryIO, identities: Sequence[str | Identity]) -> None:
    """Decrypt ``src`` into ``dst``.

    On any exception ``dst`` may already hold *unauthenticated* plaintext
    (age authenticates per 64 KiB chunk, truncation is only seen at the end):
    the caller must discard it. Prefer :func:`open_bytes` or a sink that
    commits only on success.
    """
    ids = _identities(identities)
    source = _Watched(src)
    stream = _validated(source)
    sink = _Watched(dst)
    _decrypt(stream, sink, ids, source, sink)


def _decrypt(stream: Any, sink: Any, ids: list[Identity], *watched: Any) -> None:
    """Run pyrage; map its errors to tipbox's, re-raising what ``watched`` files raised."""
    try:
        pyrage.decrypt_io(stream, sink, ids)
    except pyrage.DecryptError as exc:
        _reraise_caller_error(*watched)
        if "No matching keys" in str(exc):
            raise NoMatchingIdentity() from None
        raise CiphertextCorrupted("the age header failed authentication") from None
    except OSError:
        _reraise_caller_error(*watched)
        # rage reports STREAM failures (tampered or truncated chunks) as I/O errors.
        raise CiphertextCorrupted() from None


class WatchedSink:
    """Base for a sink that records its own failures, so :func:`open_file` need not wrap it.

    A subclass sets :attr:`error` to any exception its ``write`` raises (before
    raising it); that exception then propagates unchanged instead of being
    reported as tampering. Wrapping costs a Python call per 8 KiB pyrage writes.
    """

    error: BaseException | None = None


class _SourceFile(io.FileIO):
    """The sealed file, read by pyrage through a C BufferedReader: Python runs once per block.

    Records the exception a read raised (a disk error is not tampering) and
    reports the bytes read to ``on_read`` once decryption has started.
    """

    error: BaseException | None = None
    on_read: Callable[[int], None] | None = None

    def readinto(self, buffer: Any) -> Any:
        try:
            n = super().readinto(buffer)
            if self.on_read is not None and n:
                self.on_read(n)
            return n
        except BaseException as exc:
            self.error = exc
            raise


_FILE_BLOCK = 1024 * 1024


def open_file(
    src: str | os.PathLike[str],
    dst: BinaryIO | WatchedSink,
    identities: Sequence[str | Identity],
    on_read: Callable[[int], None] | None = None,
) -> None:
    """Decrypt the age file at path ``src`` into ``dst``: :func:`open_stream` for a file on disk.

    The header is parsed strictly first, from the same open file that pyrage
    then reads, rewound. ``on_read(n)`` is called as ciphertext bytes are read
    (about once per MiB; the sizes add up to the file's size on success).
    Errors raised by the file or by ``dst`` propagate unchanged. As with
    :func:`open_stream`, on any exception ``dst`` may already hold
    *unauthenticated* plaintext and must be discarded.
    """
    ids = _identities(identities)
    with _SourceFile(src, "rb") as raw:
        parse_header(_Recorder(raw))  # type: ignore[arg-type]  # read errors propagate as they are
        raw.seek(0)
        raw.on_read = on_read
        stream = io.BufferedReader(raw, _FILE_BLOCK)
        sink = dst if isinstance(dst, WatchedSink) else _Watched(dst)
        _decrypt(stream, sink, ids, raw, sink)


def open_bytes(data: bytes, identities: Sequence[str | Identity]) -> bytes:
    """Decrypt a whole age file held in memory; return plaintext only if it authenticated."""
    sink = io.BytesIO()
    open_stream(io.BytesIO(data), sink, identities)
    return sink.getvalue()


__all__ = [
    "Identity",
    "MalformedHeader",
    "Recipient",
    "WatchedSink",
    "open_bytes",
    "open_file",
    "open_stream",
    "parse_identity",
    "parse_recipient",
    "seal",
    "seal_bytes",
]
