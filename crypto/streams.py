"""Adapters between iterators of byte strings and file objects.

pyrage, tarfile and the header parser want readable files; tipbox produces
bytes piece by piece (padding generators, database chunk rows). One small
adapter serves all of them instead of one per caller.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

PIECE = 64 * 1024


class IterReader(io.RawIOBase):
    """A raw readable file over an iterable of byte strings."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def reader(chunks: Iterable[bytes], buffer_size: int = PIECE) -> io.BufferedReader:
    """A buffered reader (read, readline, ...) over ``chunks``."""
    return io.BufferedReader(IterReader(chunks), buffer_size)
