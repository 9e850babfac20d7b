"""The hashes an agency can match a file against: SHA-256, SHA-1 and MD5 of the bytes as submitted.

SHA-256 is what the tip's manifest carries and what tipbox checks; police
hash sets (and the tools that search seized devices with them) still use MD5
and SHA-1, so the evidence report gives all three, computed in one pass over
the decrypted stream. MD5 and SHA-1 are for matching only, never for
integrity (``usedforsecurity=False`` says so, and keeps FIPS builds working).
The perceptual hash of an image (PDQ) needs a decoder and so comes from the
contained child (review_cli/decoder.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class FileHashes:
    size: int
    sha256: str
    sha1: str
    md5: str


class Hasher:
    """Feed it the content in pieces; :meth:`result` gives all three digests and the size."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._size = 0

    def update(self, data: bytes | memoryview) -> None:
        self._sha256.update(data)
        self._sha1.update(data)
        self._md5.update(data)
        self._size += len(data)

    def result(self) -> FileHashes:
        return FileHashes(self._size, self._sha256.hexdigest(), self._sha1.hexdigest(), self._md5.hexdigest())
