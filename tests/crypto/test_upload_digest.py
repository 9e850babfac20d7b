"""The upload's chunk-list digest (crypto/upload_digest.py, FORMAT.md §4.1).

crypto/vectors/upload.json is written by crypto/vectors/generate.py and read by
these tests and by crypto/js/test/upload_digest.test.mjs, so both languages agree.
"""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from crypto import upload_digest
from crypto.vectors.generate import upload_vectors
from tests.support import load_vectors

V = load_vectors("upload")


def test_vectors() -> None:
    assert V == upload_vectors(), "crypto/vectors/upload.json drifted: run python -m crypto.vectors.generate"
    assert len(V["cases"]) >= 5
    for case in V["cases"]:
        data = bytes.fromhex(case["data_hex"])
        chunks = upload_digest.split(data, case["chunk_bytes"])
        assert [hashlib.sha256(c).hexdigest() for c in chunks] == case["chunk_sha256"]
        assert upload_digest.chunk_list_sha256(chunks) == case["chunks_sha256"]
        assert hashlib.sha256(data).hexdigest() == case["sha256"] != case["chunks_sha256"]


@given(st.binary(min_size=1, max_size=3000), st.integers(min_value=1, max_value=700))
def test_definition(data: bytes, chunk_bytes: int) -> None:
    chunks = upload_digest.split(data, chunk_bytes)
    assert b"".join(chunks) == data
    assert all(len(c) == chunk_bytes for c in chunks[:-1]) and 0 < len(chunks[-1]) <= chunk_bytes
    inner = b"".join(hashlib.sha256(c).digest() for c in chunks)
    assert upload_digest.chunk_list_sha256(chunks) == hashlib.sha256(inner).hexdigest()


def test_cut_and_order_matter() -> None:
    data = bytes((i * 31 + (i >> 8)) & 0xFF for i in range(4096))
    whole = upload_digest.chunk_list_sha256(upload_digest.split(data, 1024))
    assert whole != upload_digest.chunk_list_sha256(upload_digest.split(data, 512))
    assert whole != upload_digest.chunk_list_sha256(reversed(upload_digest.split(data, 1024)))
