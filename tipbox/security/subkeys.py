"""One secret, many keys: every keyed hash or MAC the server makes gets its own HKDF subkey.

A key used for one purpose (say, rate-limit buckets) then says nothing about
another (receipt lookups, status access), and rotating one purpose's ``info``
string retires only that purpose's values.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@lru_cache(maxsize=32)
def subkey(secret: bytes, info: bytes) -> bytes:
    """HKDF-SHA256(secret, info) → 32 bytes (cached: the app secret does not change while it runs)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)
