"""open_attachment_file: the path-to-path fast path must accept and refuse exactly what
open_attachment does, and leave no file behind whenever it refuses."""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import os
import random
import sys
from pathlib import Path

import pytest

from crypto import attachments, envelope, errors
from crypto.attachments import ContentDigest, open_attachment, open_attachment_file, seal_attachment
from crypto.header import parse_header
from crypto.identity import ReviewerIdentity
from crypto.padding import MARKER, StreamUnpadder, pad, padded_length
from tests.support import load_vectors

E = load_vectors("envelope")
BLOCK = attachments._BLOCK


@pytest.fixture(scope="module")
def reviewer() -> ReviewerIdentity:
    return ReviewerIdentity.generate()


def _seal_content(path: Path, content: bytes, reviewer: ReviewerIdentity) -> ContentDigest:
    with path.open("wb") as dst:
        return seal_attachment(io.BytesIO(content), dst, [reviewer.recipient])


def _seal_frame(path: Path, frame: bytes, reviewer: ReviewerIdentity) -> None:
    """Seal ``frame`` as is (no padding added): for malformed-padding cases."""
    path.write_bytes(envelope.seal_bytes(frame, [reviewer.recipient]))


def _stream_open(path: Path, reviewer: ReviewerIdentity) -> tuple[bytes, ContentDigest]:
    out = io.BytesIO()
    with path.open("rb") as src:
        digest = open_attachment(src, out, [reviewer.secret])
    return out.getvalue(), digest


def _refused(sealed: Path, out: Path, identities: list, expected: ContentDigest | None = None) -> type:
    with pytest.raises(errors.TipboxCryptoError) as info:
        open_attachment_file(sealed, out, identities, expected)
    assert not out.exists(), "a refused attachment must leave no file behind"
    return type(info.value)


def _sizes() -> list[int]:
    sizes = {0, 1, 2, 3, 100, 65534, 65535, 65536, 65537, 200_000}
    # Contents whose frame ends exactly on, or just past, a Padmé bucket edge.
    for length in (1000, 70_000, 300_000):
        bucket = padded_length(length)
        sizes.update({bucket - 1, bucket - 2, bucket})
    # Frames ending on, or one byte past, the worker's buffer boundary.
    sizes.update({BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 5})
    return sorted(sizes)


@pytest.mark.parametrize("size", _sizes())
def test_round_trip_matches_content_and_stream_api(size: int, reviewer: ReviewerIdentity, tmp_path: Path) -> None:
    content = random.Random(size).randbytes(size)
    sealed, out = tmp_path / "a.age", tmp_path / "out.bin"
    digest = _seal_content(sealed, content, reviewer)
    result = open_attachment_file(sealed, out, [reviewer.secret], digest)
    assert result == digest == ContentDigest(size, hashlib.sha256(content).hexdigest())
    assert out.read_bytes() == content
    assert (out.stat().st_mode & 0o777) == 0o600
    assert _stream_open(sealed, reviewer) == (content, digest)


@pytest.mark.parametrize(
    "content",
    [
        bytes(5),  # all zeros: the whole content looks like padding until the marker
        bytes(BLOCK + 10),  # zeros running across a buffer boundary
        b"\x80",
        b"\x80" * 7,
        b"abc\x80" + bytes(BLOCK) + b"\x80",  # marker-like bytes and zeros inside the content
        b"x" * (BLOCK - 1) + b"\x80" + bytes(3),  # a 0x80 ending a buffer, then content zeros
        b"y" * (BLOCK - 2) + b"\x80\x00" + b"z",
    ],
    ids=["zeros", "zeros-across-buffers", "marker", "markers", "mixed", "marker-at-edge", "marker-zero-edge"],
)
def test_content_that_looks_like_padding(content: bytes, reviewer: ReviewerIdentity, tmp_path: Path) -> None:
    sealed, out = tmp_path / "a.age", tmp_path / "out.bin"
    digest = _seal_content(sealed, content, reviewer)
    assert open_attachment_file(sealed, out, [reviewer.secret], digest) == digest
    assert out.read_bytes() == content


def test_wrong_key(reviewer: ReviewerIdentity, tmp_path: Path) -> None:
    sealed = tmp_path / "a.age"
    _seal_content(sealed, b"bukti" * 1000, reviewer)
    other = ReviewerIdentity.generate()
    assert _refused(sealed, tmp_path / "out", [other.secret]) is errors.NoMatchingIdentity


@pytest.fixture
def large(reviewer: ReviewerIdentity, tmp_path: Path) -> tuple[bytes, ContentDigest]:
    """A sealed attachment of several STREAM chunks and worker buffers."""
    content = random.Random(7).randbytes(BLOCK * 2 + 123_456)
    digest = _seal_content(tmp_path / "large.age", content, reviewer)
    return (tmp_path / "large.age").read_bytes(), digest


def test_truncated_ciphertext(large, reviewer: ReviewerIdentity, tmp_path: Path) -> None:
    data, digest = large
    header_length = parse_header(io.BytesIO(data)).length
    for cut in (header_length + 10, header_length + 70_000, len(data) // 2, len(data) - 17, len(data) - 1):
        sealed = tmp_path / f"cut-{cut}.age"
        sealed.write_bytes(data[:cut])
        assert _refused(sealed, tmp_path / "out", [reviewer.secret], digest) is errors.CiphertextCorrupted
    sealed = tmp_path / "header-cut.age"
    sealed.write_bytes(data[: header_length - 5])
    assert _refused(sealed, tmp_path / "out", [reviewer.secret], digest) is errors.MalformedHeader


@pytest.mark.parametrize("where", ["last chunk", "middle", "first chunk", "header mac"])
def test_flipped_byte(where: str, large, reviewer: ReviewerIdentity, tmp_path: Path) -> None:
    data, digest = large
    header_length = parse_header(io.BytesIO(data)).length
    position = {
        "last chunk": len(data) - 20,
        "middle": (header_length + len(data)) // 2,
        "first chunk": header_length + 40,
        "header mac": header_length - 10,
    }[where]
    tampered = bytearray(data)
    tampered[position] ^= 0x01
    sealed = tmp_path / "tampered.age"
    sealed.write_bytes(bytes(tampered))
    expected_error = errors.TipboxCryptoError if where == "header mac" else errors.CiphertextCorrupted
    assert issubclass(_refused(sealed, tmp_path / "out", [reviewer.secret], digest), expected_error)


def test_appended_bytes(large, reviewer: ReviewerIdentity, tmp_path: Path) -> None:
    data, digest = large
    sealed = tmp_path / "extra.age"
    sealed.write_bytes(data + b"\x00")
    assert _refused(sealed, tmp_path / "out", [reviewer.secret], digest) is errors.CiphertextCorrupted


@pytest.mark.parametrize(
    "frame",
    [
        b"",  # no marker at all
        b"no marker here",
        bytes(100),  # only zeros
        b"abc\x80\x01",  # non-zero after the marker
        pad(b"abc") + b"\x00",  # one zero too many for the Padmé bucket
        b"abc\x80" + bytes(5),  # marker and zeros, but not the Padmé length
        b"q" * 1000 + b"\x80" + bytes(500),  # far too much padding
        b"r" * (BLOCK + 3) + b"\x80",  # marker present, but the length is no Padmé bucket
        b"s" * 10 + b"\x80" + bytes(BLOCK),  # the zero run spans buffers and is too long
    ],
    ids=lambda f: f"len{len(f)}",
)
def test_bad_padding_is_refused_like_the_stream_api(frame: bytes, reviewer: ReviewerIdentity, tmp_path: Path) -> None:
    with pytest.raises(errors.MalformedPadding):  # the case is malformed for the reference too
        _reference_unpad(frame)
    sealed = tmp_path / "bad.age"
    _seal_frame(sealed, frame, reviewer)
    assert _refused(sealed, tmp_path / "out", [reviewer.secret]) is errors.MalformedPadding
    with pytest.raises(errors.MalformedPadding), sealed.open("rb") as src:
        open_attachment(src, io.BytesIO(), [reviewer.secret])


def test_manifest_mismatch(reviewer: ReviewerIdentity, tmp_path: Path) -> None:
    sealed = tmp_path / "a.age"
    digest = _seal_content(sealed, b"evidence" * 100, reviewer)
    for wrong in (ContentDigest(digest.size, "0" * 64), ContentDigest(digest.size + 1, digest.sha256)):
        assert _refused(sealed, tmp_path / "out", [reviewer.secret], wrong) is errors.CiphertextCorrupted


@pytest.mark.parametrize("case", E["files"], ids=lambda f: f["name"])
def test_envelope_vectors(case: dict, tmp_path: Path) -> None:
    sealed, out = tmp_path / "v.age", tmp_path / "out"
    sealed.write_bytes(base64.b64decode(case["age_b64"]))
    identities = [E["identities"][0]]
    if case["expect"] == "success":
        if case["kind"] == "attachment":
            open_attachment_file(sealed, out, identities)
            assert out.read_bytes() == base64.b64decode(case["content_b64"])
        return
    expected = {
        "payload failure": errors.CiphertextCorrupted,
        "no match": errors.NoMatchingIdentity,
        "header failure": errors.MalformedHeader,
    }[case["expect"]]
    assert _refused(sealed, out, identities) is expected


def test_existing_destination_is_never_touched(reviewer: ReviewerIdentity, tmp_path: Path) -> None:
    sealed, out = tmp_path / "a.age", tmp_path / "out"
    _seal_content(sealed, b"new", reviewer)
    out.write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        open_attachment_file(sealed, out, [reviewer.secret])
    assert out.read_bytes() == b"keep me"


def test_write_error_is_not_reported_as_tampering(
    large, reviewer: ReviewerIdentity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, digest = large
    sealed, out = tmp_path / "a.age", tmp_path / "out"
    sealed.write_bytes(data)
    calls = []

    def full_disk(fd: int, piece) -> int:
        calls.append(len(piece))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return os.write(fd, piece)

    monkeypatch.setattr(attachments.os, "write", full_disk)
    with pytest.raises(OSError) as info:
        open_attachment_file(sealed, out, [reviewer.secret], digest)
    assert info.value.errno == errno.ENOSPC
    assert not isinstance(info.value, errors.TipboxCryptoError)
    monkeypatch.undo()
    assert not out.exists()


def test_progress_adds_up_to_the_sealed_size(large, reviewer: ReviewerIdentity, tmp_path: Path) -> None:
    data, digest = large
    sealed, out = tmp_path / "a.age", tmp_path / "out"
    sealed.write_bytes(data)
    seen: list[int] = []
    open_attachment_file(sealed, out, [reviewer.secret], digest, on_read=seen.append)
    assert sum(seen) == len(data)
    assert len(seen) > 1  # reported as it goes, not once at the end


def test_switch_interval_is_restored(reviewer: ReviewerIdentity, tmp_path: Path) -> None:
    before = sys.getswitchinterval()
    sealed = tmp_path / "a.age"
    _seal_content(sealed, b"x", reviewer)
    open_attachment_file(sealed, tmp_path / "ok", [reviewer.secret])
    _refused(sealed, tmp_path / "bad", [ReviewerIdentity.generate().secret])
    assert sys.getswitchinterval() == before


def _reference_unpad(frame: bytes, piece: int = 8192) -> tuple[bytes, int]:
    unpadder = StreamUnpadder()
    out = b"".join(p for i in range(0, len(frame), piece) for p in unpadder.feed(frame[i : i + piece]))
    return out, unpadder.finish()


def _worker_unpad(frame: bytes, block: int, tmp_path: Path) -> tuple[bytes, int]:
    path = tmp_path / "unpadded"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        unpadder = attachments._Unpadder(fd)
        view = memoryview(frame)
        for i in range(0, len(frame), block):
            unpadder.feed(view[i : i + block])
        length = unpadder.finish()
        assert unpadder.digest.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()
    finally:
        os.close(fd)
    return path.read_bytes(), length


def test_worker_unpadder_agrees_with_stream_unpadder(tmp_path: Path) -> None:
    """Random frames, valid and not, cut into buffers of many sizes."""
    rng = random.Random(2024)
    alphabet = [0, 0, 0, MARKER, 1, 255]
    frames = [pad(bytes(rng.choice(alphabet) for _ in range(rng.randrange(40)))) for _ in range(150)]
    frames += [bytes(rng.choice(alphabet) for _ in range(rng.randrange(40))) for _ in range(150)]
    frames += [pad(bytes(5000)), pad(b"\x80" + bytes(5000)), bytes(5000) + b"\x80"]
    for frame in frames:
        try:
            expected = _reference_unpad(frame, piece=3)
        except errors.MalformedPadding:
            expected = None
        for block in (1, 2, 5, 64, 4096, 1 << 20):
            try:
                got = _worker_unpad(frame, block, tmp_path)
            except errors.MalformedPadding:
                got = None
            assert got == expected, (frame, block)
