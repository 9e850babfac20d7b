from __future__ import annotations

import os

import pytest

from crypto.errors import MalformedPadding
from crypto.padding import StreamUnpadder, pad, pad_stream, padded_length, padme, unpad
from tests.support import load_vectors

V = load_vectors("padding")


@pytest.mark.parametrize(("length", "expected"), V["padme"])
def test_padme_table(length: int, expected: int) -> None:
    assert padme(length) == expected


@pytest.mark.parametrize(("length", "expected"), V["padded_length"])
def test_padded_length_table(length: int, expected: int) -> None:
    assert padded_length(length) == expected


def test_padme_overhead_is_bounded_and_monotonic() -> None:
    previous = 0
    for n in range(2, 70_000, 37):
        bucket = padme(n)
        assert n <= bucket <= n * 1.12 + 1
        assert bucket >= previous
        previous = bucket


@pytest.mark.parametrize("frame", V["frames"], ids=lambda f: f["content_hex"][:12] or "empty")
def test_frames(frame: dict[str, str]) -> None:
    content = bytes.fromhex(frame["content_hex"])
    assert pad(content).hex() == frame["framed_hex"]
    assert unpad(bytes.fromhex(frame["framed_hex"])) == content


@pytest.mark.parametrize("case", V["malformed"], ids=lambda c: c["why"])
def test_malformed_frames_are_refused(case: dict[str, str]) -> None:
    framed = bytes.fromhex(case["framed_hex"])
    with pytest.raises(MalformedPadding):
        unpad(framed)
    unpadder = StreamUnpadder()
    list(unpadder.feed(framed))
    with pytest.raises(MalformedPadding):
        unpadder.finish()


@pytest.mark.parametrize("piece", [1, 7, 64, 4096])
def test_stream_pad_and_unpad_agree_with_whole_buffer(piece: int) -> None:
    for size in [0, 1, 5, 100, 5000]:
        # Content that itself ends in zeros and marker bytes is the hard case.
        content = os.urandom(size) + b"\x80\x00\x00" * (size % 3)
        framed = b"".join(pad_stream(content[i : i + piece] for i in range(0, len(content), piece)))
        assert framed == pad(content)
        unpadder = StreamUnpadder()
        out = b"".join(b"".join(unpadder.feed(framed[i : i + piece])) for i in range(0, len(framed), piece))
        assert unpadder.finish() == len(content)
        assert out == content
