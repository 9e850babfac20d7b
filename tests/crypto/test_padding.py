"""Padmé padding: the committed vectors, checked against an independent computation.

crypto/vectors/padding.json is written by crypto/vectors/generate.py, which calls
the very code under test, so a table test alone would only prove that the code
agrees with itself. Here the vectors (and the Python and JS implementations) are
also compared with :func:`padme_reference`, written from the PURBs paper
(Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
Communication with PURBs", PETS 2019, §4 "Padmé") with different arithmetic:
floor(log2) by repeated halving instead of ``int.bit_length``, and rounding up
by integer ceiling division instead of a bit mask. A handful of values are
worked out by hand below, and the paper's two headline properties (overhead
below 12 %, O(log log L) distinct sizes per power of two) are checked over a
whole range of lengths.

How tipbox applies Padmé (crypto/padding.py, FORMAT.md §2): the frame is
``content || 0x80 || 0x00...``, so a content of L bytes is padded to
``padme(L + 1)``: the marker byte is counted before rounding. There is no
minimum size and no header allowance; the age header is not padded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from crypto.errors import MalformedPadding
from crypto.padding import StreamUnpadder, pad, pad_stream, padded_length, padme, unpad
from tests.support import ROOT, load_vectors, missing_service

V = load_vectors("padding")


def _floor_log2(n: int) -> int:
    """floor(log2 n) for n >= 1, by halving (no bit tricks shared with crypto/padding.py)."""
    exponent = 0
    while n >= 2:
        n //= 2
        exponent += 1
    return exponent


def padme_reference(length: int) -> int:
    """Padmé as the paper states it: E = floor(log2 L), S = floor(log2 E) + 1,
    the last E - S bits of L rounded up to zero, i.e. L rounded up to a multiple
    of 2^(E - S). padme(0) = 0 and padme(1) = 1 (FORMAT.md §2)."""
    if length < 2:
        return length
    e = _floor_log2(length)
    s = _floor_log2(e) + 1
    step = 2 ** (e - s)
    return -(-length // step) * step


# Worked by hand, each with its E, S and step 2^(E-S):
HAND_COMPUTED = [
    (2, 2),  # E=1, S=1, step 1: nothing to round
    (7, 7),  # E=2, S=2, step 1
    (9, 10),  # E=3, S=2, step 2: 9 -> 10
    (12, 12),  # E=3, S=2, step 2: already even
    (13, 14),  # E=3, S=2, step 2
    (17, 18),  # E=4, S=3, step 2
    (33, 36),  # E=5, S=3, step 4: 33 -> 9*4
    (63, 64),  # E=5, S=3, step 4
    (100, 104),  # E=6, S=3, step 8: 100 -> 13*8
    (129, 144),  # E=7, S=3, step 16: 129 -> 9*16, the worst overhead of all (15/129)
    (255, 256),  # E=7, S=3, step 16
    (257, 272),  # E=8, S=4, step 16: 257 -> 17*16
    (1000, 1024),  # E=9, S=4, step 32: 1000 -> 32*32
    (1025, 1088),  # E=10, S=4, step 64: 1025 -> 17*64
    (65537, 67584),  # E=16, S=5, step 2048: 65537 -> 33*2048
    (1_000_000, 1_015_808),  # E=19, S=5, step 16384: 1e6 -> 62*16384
    (2**32 + 1, 2**32 + 2**26),  # E=32, S=6, step 2^26
]


@pytest.mark.parametrize(("length", "expected"), HAND_COMPUTED)
def test_hand_computed_values(length: int, expected: int) -> None:
    """The reference and the implementation both give the values worked out by hand."""
    assert padme_reference(length) == expected
    assert padme(length) == expected


@pytest.mark.parametrize(("length", "expected"), V["padme"])
def test_padme_table(length: int, expected: int) -> None:
    assert padme(length) == expected


@pytest.mark.parametrize(("length", "expected"), V["padded_length"])
def test_padded_length_table(length: int, expected: int) -> None:
    assert padded_length(length) == expected


def test_committed_vectors_match_the_independent_computation() -> None:
    """The generated vectors are not just what the code says: the paper's formula agrees."""
    for length, expected in V["padme"]:
        assert padme_reference(length) == expected, length
    for length, expected in V["padded_length"]:
        assert padme_reference(length + 1) == expected, length  # +1: the 0x80 marker
    for frame in V["frames"]:
        content = bytes.fromhex(frame["content_hex"])
        framed = bytes.fromhex(frame["framed_hex"])
        assert len(framed) == padme_reference(len(content) + 1)
        assert framed == content + b"\x80" + bytes(len(framed) - len(content) - 1)


def test_implementation_matches_the_reference_everywhere_small_and_at_every_power_of_two() -> None:
    for n in range(0, 70_000):
        assert padme(n) == padme_reference(n), n
    for e in range(1, 64):
        for n in (2**e - 1, 2**e, 2**e + 1, 3 * 2 ** (e - 1) + 1):
            assert padme(n) == padme_reference(n), n


def test_overhead_stays_below_12_percent_and_peaks_at_129() -> None:
    """The paper's bound (FORMAT.md: "at most 12 %"). By hand: the step is at most
    2^(E-S) <= L / 2^S, so the overhead is worst just above a power of two with the
    smallest S for its E: L = 129 (E=7, S=3) pads to 144, 15/129 = 11.6 %."""
    worst, worst_at = 0.0, 0
    for n in range(2, 2**17):
        bucket = padme(n)
        assert n <= bucket
        overhead = (bucket - n) / n
        if overhead > worst:
            worst, worst_at = overhead, n
    assert worst < 0.12
    assert (worst_at, padme(worst_at)) == (129, 144)


def test_few_distinct_sizes_per_power_of_two() -> None:
    """Padmé's point: lengths in [2^E, 2^(E+1)) map to only 2^S sizes that are
    multiples of the step, plus 2^(E+1) itself once rounding up is possible,
    i.e. about log2(E) + 1 bits leak about the length, not E."""
    for e in range(1, 17):
        s = _floor_log2(e) + 1
        sizes = {padme(n) for n in range(2**e, 2 ** (e + 1))}
        assert len(sizes) == 2**s + (1 if e > s else 0), e
        assert all(size % 2 ** (e - s) == 0 for size in sizes)


def test_padme_is_idempotent_and_monotonic() -> None:
    previous = 0
    for n in range(0, 20_000):
        bucket = padme(n)
        assert padme(bucket) == bucket
        assert bucket >= previous
        previous = bucket


def test_negative_length_is_an_error() -> None:
    with pytest.raises(ValueError):
        padme(-1)


def test_js_sealer_computes_the_same_sizes() -> None:
    """crypto/js/src/sealer.js against the reference (its own tests load the same
    crypto/vectors/padding.json as the Python tests: crypto/js/test/padding.test.mjs)."""
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "age-encryption").is_dir():
        missing_service("node and node_modules are needed to run the JS sealer (run `npm ci`)")
    lengths = [n for n, _ in HAND_COMPUTED] + list(range(0, 300)) + [2**e + d for e in range(9, 40) for d in (-1, 0, 1)]
    script = (
        "import { padme, paddedLength } from './crypto/js/src/sealer.js';"
        "const ns = JSON.parse(process.argv[1]);"
        "process.stdout.write(JSON.stringify(ns.map((n) => [padme(n), paddedLength(n)])));"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script, json.dumps(lengths)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )
    got = json.loads(out.stdout)
    assert got == [[padme_reference(n), padme_reference(n + 1)] for n in lengths]


@pytest.mark.parametrize("frame", V["frames"], ids=lambda f: f["content_hex"][:12] or "empty")
def test_frames(frame: dict[str, str]) -> None:
    content = bytes.fromhex(frame["content_hex"])
    assert pad(content).hex() == frame["framed_hex"]
    assert unpad(bytes.fromhex(frame["framed_hex"])) == content


# ASCII ids: mutmut hands node ids back to pytest, which fails to match escaped non-ASCII ids.
@pytest.mark.parametrize("case", V["malformed"], ids=lambda c: c["why"].encode("ascii", "replace").decode())
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


@pytest.mark.parametrize("piece", [1, 2, 3, 5])
def test_stream_unpadder_only_holds_back_zero_bytes(piece: int) -> None:
    """A chunk that ends in zeros is stripped of zeros only: content bytes just
    before them (here 'X', '0' and 0x80) must come out unchanged, at any split."""
    for content in (b"X\x00", b"XX\x00\x00", b"0\x00", b"\x80\x00", b"aX\x00\x80X\x00\x00"):
        framed = pad(content)
        unpadder = StreamUnpadder()
        out = b"".join(b"".join(unpadder.feed(framed[i : i + piece])) for i in range(0, len(framed), piece))
        assert (out, unpadder.finish()) == (content, len(content))
