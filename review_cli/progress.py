"""Progress counts for long reads: the same pace for every bar the CLI draws."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

REPORT_EVERY = 1024 * 1024  # bytes between two progress updates


class CountingReader:
    """A readable that reports, about once per MiB and at the end, how many bytes were read through it."""

    def __init__(self, handle: BinaryIO, on_bytes: Callable[[int], None]) -> None:
        self._handle = handle
        self._on_bytes = on_bytes
        self._pending = 0

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._pending += len(data)
        if self._pending >= REPORT_EVERY or not data:
            self._on_bytes(self._pending)
            self._pending = 0
        return data
