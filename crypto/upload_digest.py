"""The digest a browser upload declares for an age file it sent in chunks (FORMAT.md §4.1).

Why not the SHA-256 of the whole file: a browser can only hash a stream in
interpreted JavaScript, and in Tor Browser "Safer" (no JIT) that costs more
than sealing itself. WebCrypto hashes natively but only whole buffers, so
each chunk is hashed as it is sent and the upload declares the SHA-256 of
the list of chunk digests. It binds the same bytes, in the same order, as
the whole-file hash did; the server still stores the whole-file SHA-256 it
computes itself (the export bundle's ``sha256``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def chunk_list_sha256(chunks: Iterable[bytes]) -> str:
    """Lowercase hex of SHA-256(SHA-256(c0) || SHA-256(c1) || ...), chunks in upload order."""
    outer = hashlib.sha256()
    for chunk in chunks:
        outer.update(hashlib.sha256(chunk).digest())
    return outer.hexdigest()


def split(data: bytes, chunk_bytes: int) -> list[bytes]:
    """``data`` cut the way the browser cuts it: full ``chunk_bytes`` pieces, the last one shorter."""
    if chunk_bytes <= 0:
        raise ValueError("chunk_bytes must be positive")
    return [data[i : i + chunk_bytes] for i in range(0, len(data), chunk_bytes)] or [b""]
