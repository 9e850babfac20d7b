"""Attachments: each file padded and sealed as its own age file, streamed.

Sealing reads the source in 64 KiB pieces, hashes the *content* (that SHA-256
and size go in the tip payload's manifest) and feeds content + Padmé padding
to pyrage, so memory stays flat however large the file. Opening reverses it
and checks size and SHA-256 against the manifest. See FORMAT.md, "Attachments".

Two ways to open:

* :func:`open_attachment` works on any pair of file objects. It unpads, hashes
  and writes inside pyrage's 8 KiB write callbacks, in the calling thread.
* :func:`open_attachment_file` (file on disk to a new file; what
  `tipbox-review attachments` uses) splits the work over two threads. pyrage
  holds the GIL while it decrypts and calls back into Python only to read and
  write, so the calling thread does as little as possible: pyrage reads the
  file through C buffered I/O (:func:`crypto.envelope.open_file`) and each 8 KiB
  of plaintext is only copied into one of a few reused 2 MiB buffers. A worker
  thread unpads, hashes and writes whole buffers; SHA-256 and ``os.write`` drop
  the GIL on buffers that large, so they run on the second core while pyrage
  decrypts. While it runs, the interpreter's switch interval is lowered (and
  restored after) so the worker gets the GIL back within ~0.1 ms instead of
  5 ms each time one of those calls returns. Memory stays flat (4 buffers).

Measured with bench/review.py on a 2-core machine (256 MiB, same run): the
fast path reaches about 0.65-0.77x the stock `age -d`, against 0.4-0.5x for
:func:`open_attachment`. The ceiling is pyrage itself: driving it through
Python file objects (``decrypt_io``) costs about 10 % against `age -d` before
any unpadding, and handing 256 MiB to the second core and writing it there
slows the decrypting thread by another 15-20 % (memory traffic, GIL handoffs).
With only one free core (a busy machine) the worker cannot overlap and the
fast path falls back to about the speed of :func:`open_attachment`.
``pyrage.decrypt_file`` (native file I/O) was measured and not used: it writes
the output in 8 KiB calls (about 0.5x `age -d` into a new file here) and holds
the GIL throughout, so no hashing can overlap it; piping it to another process
is slower still.
"""

from __future__ import annotations

import hashlib
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import BinaryIO

from . import envelope, streams
from .errors import CiphertextCorrupted, MalformedPadding, TooLarge
from .padding import MARKER, StreamUnpadder, pad_stream, padded_length

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


# --- The fast path: a file on disk to a new file -----------------------------------------------

_BLOCK = 2 * 1024 * 1024  # plaintext handed to the worker at a time
_BUFFERS = 4  # reused; the calling thread waits for a free one if the worker falls behind
_SWITCH_INTERVAL = 0.0001  # seconds; CPython's default is 0.005
_ZEROS = memoryview(bytes(64 * 1024))
_MARKER_BYTE = memoryview(bytes([MARKER]))
_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.0


@contextmanager
def _responsive_gil() -> Iterator[None]:
    """Lower the GIL switch interval while any fast open runs; restore it after the last one."""
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, _SWITCH_INTERVAL))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


def _last_nonzero(block: memoryview) -> int:
    """Index of the last non-zero byte of ``block``, or -1; scans back in growing windows."""
    end = len(block)
    if end and block[end - 1]:
        return end - 1
    window = 4096
    while end > 0:
        start = max(0, end - window)
        kept = len(block[start:end].tobytes().rstrip(b"\x00"))
        if kept:
            return start + kept - 1
        end = start
        window = min(window * 4, 1024 * 1024)
    return -1


class _Unpadder:
    """Worker side: :class:`crypto.padding.StreamUnpadder` on whole buffers, writing to ``fd``.

    Content is hashed and written as soon as it is known not to be padding; a
    trailing run of zeros (and a 0x80 before it) is held back as a count only.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.digest = hashlib.sha256()
        self.length = 0
        self._held_marker = False
        self._held_zeros = 0

    def _emit(self, piece: memoryview) -> None:
        if not piece:
            return
        self.digest.update(piece)  # drops the GIL for pieces over 2 KiB
        self.length += len(piece)
        while piece:
            piece = piece[os.write(self._fd, piece) :]

    def feed(self, block: memoryview) -> None:
        last = _last_nonzero(block)
        if last < 0:
            self._held_zeros += len(block)
            return
        # A non-zero byte follows: what was held back is content after all.
        if self._held_marker:
            self._emit(_MARKER_BYTE)
        while self._held_zeros:
            step = min(self._held_zeros, len(_ZEROS))
            self._emit(_ZEROS[:step])
            self._held_zeros -= step
        self._held_marker = block[last] == MARKER
        self._emit(block[:last] if self._held_marker else block[: last + 1])
        self._held_zeros = len(block) - last - 1

    def finish(self) -> int:
        """Validate the frame exactly as StreamUnpadder.finish does; return the content length."""
        if not self._held_marker:
            raise MalformedPadding("padding marker missing")
        if self.length + 1 + self._held_zeros != padded_length(self.length):
            raise MalformedPadding("padded length is not a Padmé bucket of the content")
        return self.length


class _Pipeline(envelope.WatchedSink):
    """pyrage's sink (calling thread) feeding an :class:`_Unpadder` in a worker thread."""

    def __init__(self, fd: int) -> None:
        self._unpadder = _Unpadder(fd)
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._full: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        self._allocated = 1  # more only as needed: a small file uses one buffer
        self._buffer = bytearray(_BLOCK)
        self._view = memoryview(self._buffer)
        self._pos = 0
        self._worker_error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="tipbox-attachment", daemon=True)
        self._thread.start()

    # Calling thread -----------------------------------------------------------------------
    def write(self, data: bytes) -> int:
        try:
            n = len(data)
            if self._pos + n <= _BLOCK:  # the common case: one copy, nothing else
                self._view[self._pos : self._pos + n] = data
                self._pos += n
                return n
            view = memoryview(data)
            while view:
                if self._pos == _BLOCK:
                    self._hand_over()
                step = min(len(view), _BLOCK - self._pos)
                self._view[self._pos : self._pos + step] = view[:step]
                self._pos += step
                view = view[step:]
            return n
        except BaseException as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        pass

    def _hand_over(self) -> None:
        if self._worker_error is not None:
            raise self._worker_error
        self._full.put((self._buffer, self._pos))
        try:
            self._buffer = self._free.get_nowait()
        except queue.Empty:
            if self._allocated < _BUFFERS:
                self._allocated += 1
                self._buffer = bytearray(_BLOCK)
            else:
                self._buffer = self._free.get()  # the worker is behind: wait (the GIL is released)
        self._view = memoryview(self._buffer)
        self._pos = 0

    def finish(self) -> ContentDigest:
        """Hand over the rest, wait for the worker and validate the padding."""
        if self._pos:
            self._full.put((self._buffer, self._pos))
            self._pos = 0
        self.close()
        return ContentDigest(self._unpadder.finish(), self._unpadder.digest.hexdigest())

    def close(self) -> None:
        """Stop the worker (idempotent); re-raise its error if it had one."""
        if self._thread.is_alive():
            self._full.put(None)
            self._thread.join()
        if self._worker_error is not None:
            raise self._worker_error

    # Worker thread ------------------------------------------------------------------------
    def _work(self) -> None:
        while (item := self._full.get()) is not None:
            buffer, length = item
            try:
                if self._worker_error is None:
                    self._unpadder.feed(memoryview(buffer)[:length])
            except BaseException as exc:  # e.g. a full disk; the calling thread re-raises it
                self._worker_error = exc
            finally:
                self._free.put(buffer)


def open_attachment_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    identities: Sequence[str | envelope.Identity],
    expected: ContentDigest | None = None,
    on_read: Callable[[int], None] | None = None,
) -> ContentDigest:
    """Open the sealed attachment at path ``src`` into a new file at ``dst``; check ``expected``.

    ``dst`` must not exist: it is created with mode 0600 and deleted again if
    anything fails (bad header, wrong key, truncated or modified ciphertext,
    bad padding, size or SHA-256 not as ``expected``, I/O error, interrupt),
    since by then it may hold unauthenticated plaintext. On success it holds
    exactly the content. ``on_read(n)`` reports ciphertext bytes as they are
    read (see :func:`crypto.envelope.open_file`). Same result and errors as
    :func:`open_attachment`, about twice as fast on large files.
    """
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            pipeline = _Pipeline(fd)
            try:
                with _responsive_gil():
                    envelope.open_file(src, pipeline, identities, on_read)
                result = pipeline.finish()
            finally:
                pipeline.close()
        finally:
            os.close(fd)
        if expected is not None and result != expected:
            raise CiphertextCorrupted("attachment does not match the size and SHA-256 in the tip")
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(dst)
        raise
    return result
