"""The server's strict age header checks (FORMAT.md §1.1), one guard at a time.

crypto/header.py is what stands between an upload and the database: the server
cannot decrypt, so these checks are all it has. The CCTV vectors (test_cctv.py)
cover the header *grammar*; this file covers the tipbox-specific rules that had
no test of their own, each test naming the guard it protects so that removing
or loosening that guard fails it (checked with `make mutate`, docs/testing.md):

- at most one grease stanza (``MAX_GREASE_STANZAS``);
- only X25519 recipient stanzas: scrypt, ssh-ed25519, the post-quantum
  ``mlkem768x25519`` and anything else is refused as ``UnexpectedRecipients``
  even when it is shaped exactly like an X25519 stanza;
- one X25519 stanza per active reviewer;
- no empty final STREAM chunk after full chunks, and other impossible payload
  lengths (``plaintext_length``);
- an empty plaintext is never a Padmé frame (``check_padded_payload``);
- the header size budget, argument bytes and multi-line stanza bodies.

Headers are built by hand here: the MAC is never checked by the server (it has
no file key), so a zero MAC is as good as a real one for these checks.
"""

from __future__ import annotations

import base64
import io

import pyrage
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from crypto import errors, header
from crypto.header import CHUNK, NONCE, TAG
from tests.support import load_vectors

FULL = CHUNK + TAG  # one full STREAM chunk on the wire


def b64(raw: bytes) -> str:
    """age's base64: standard alphabet, no padding."""
    return base64.b64encode(raw).decode().rstrip("=")


def stanza(kind: str, args: list[str], body: bytes) -> bytes:
    """One stanza, its body wrapped at 64 columns with the mandatory short final line."""
    text = b64(body)
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    if not lines or len(lines[-1]) == 64:
        lines.append("")
    return ("-> " + " ".join([kind, *args]) + "\n" + "\n".join(lines) + "\n").encode()


def x25519(n: int) -> bytes:
    """A well-formed X25519 stanza: one 32-byte share, a 32-byte wrapped file key."""
    return stanza("X25519", [b64(bytes([n]) * 32)], bytes([n + 100]) * 32)


def shaped_like_x25519(kind: str) -> bytes:
    """A stanza of another type with exactly the X25519 shape, so only the type check can refuse it."""
    return stanza(kind, [b64(b"\x07" * 32)], b"\x08" * 32)


def grease(name: str = "Q/") -> bytes:
    """A grease stanza as rage writes them: random type ending in -grease, random args and body."""
    return stanza(f"{name}-grease", ["t1Jx{6", ">)n%H8+V"], b"\x01\x02\x03" * 5)


def age_header(*stanzas: bytes) -> bytes:
    return b"age-encryption.org/v1\n" + b"".join(stanzas) + b"--- " + b64(bytes(32)).encode() + b"\n"


def check(data: bytes, reviewers: int) -> None:
    """What the server runs on every upload's header (tipbox.intake.service.check_sealed)."""
    parsed = header.parse_header(io.BytesIO(data))
    header.check_x25519_recipients(parsed, reviewers)


# --- grease: at most one ----------------------------------------------------------------------


@pytest.mark.parametrize("position", [0, 1, 2])
def test_one_grease_stanza_is_accepted_anywhere(position: int) -> None:
    """Guard: the grease limit must not be off by one (rage adds one grease stanza to most files)."""
    stanzas = [x25519(1), x25519(2)]
    stanzas.insert(position, grease())
    check(age_header(*stanzas), 2)


def test_files_rage_seals_pass_with_their_grease() -> None:
    """Guard: grease allowance. Real rage output (one random grease stanza) must pass."""
    recipients = [pyrage.x25519.Identity.generate().to_public() for _ in range(2)]
    for _ in range(8):
        sealed = pyrage.encrypt(b"tip", recipients)
        parsed = header.parse_header(io.BytesIO(sealed))
        header.check_x25519_recipients(parsed, 2)


@pytest.mark.parametrize("extra", [2, 3, 50])
def test_more_than_one_grease_stanza_is_refused(extra: int) -> None:
    """Guard: MAX_GREASE_STANZAS. Grease stanzas carry arbitrary bytes: more than
    rage ever writes would be a side channel (or padding) the server cannot inspect."""
    stanzas = [x25519(1), *[grease(f"g{i}") for i in range(extra)], x25519(2)]
    with pytest.raises(errors.UnexpectedRecipients):
        check(age_header(*stanzas), 2)


def test_grease_means_the_suffix_not_the_word() -> None:
    """Guard: only a type *ending in* ``-grease`` is grease; anything else is a recipient type."""
    check(age_header(x25519(1), stanza("X25519-grease", [], b"")), 1)
    for kind in ("grease", "-greasy", "grease-X25519"):
        with pytest.raises(errors.UnexpectedRecipients):
            check(age_header(x25519(1), shaped_like_x25519(kind)), 2)


# --- X25519 only ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    ["mlkem768x25519", "x25519", "X25519X", "X25519-hybrid", "scrypt", "ssh-ed25519", "ssh-rsa", "piv-p256", "p256tag"],
)
def test_other_recipient_types_are_refused_even_when_shaped_like_x25519(kind: str) -> None:
    """Guard: ``stanza.type != "X25519"`` (FORMAT.md §1.1 rule 2). The stanza has one
    32-byte argument and a 32-byte body and the count matches, so only the type
    check stands in the way: a post-quantum or passphrase stanza could otherwise
    pass as a reviewer."""
    with pytest.raises(errors.UnexpectedRecipients):
        check(age_header(x25519(1), shaped_like_x25519(kind)), 2)
    with pytest.raises(errors.UnexpectedRecipients):
        check(age_header(shaped_like_x25519(kind)), 1)


def test_post_quantum_hybrid_stanza_is_refused_as_a_recipient_type() -> None:
    """Guard: X25519 only. age's ML-KEM-768 + X25519 hybrid stanza (one 1120+32-byte
    encapsulation, 32-byte body) is a valid age stanza tipbox does not use."""
    hybrid = stanza("mlkem768x25519", [b64(b"\x05" * 1152)], b"\x06" * 32)
    with pytest.raises(errors.UnexpectedRecipients):
        check(age_header(x25519(1), hybrid), 2)
    with pytest.raises(errors.UnexpectedRecipients):
        check(age_header(x25519(1), hybrid), 1)


def test_a_passphrase_sealed_file_is_refused() -> None:
    """Guard: X25519 only. A real scrypt file (the committed reviewer identity file) is not an upload."""
    sealed = base64.b64decode(load_vectors("identity")["identity_file_b64"])
    parsed = header.parse_header(io.BytesIO(sealed))
    assert parsed.stanzas[0].type == "scrypt"
    with pytest.raises(errors.UnexpectedRecipients):
        header.check_x25519_recipients(parsed, 1)


def test_a_file_sealed_to_an_ssh_key_is_refused() -> None:
    """Guard: X25519 only. age also seals to SSH keys; tipbox reviewers never have one."""
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    openssh = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    sealed = pyrage.encrypt(b"tip", [pyrage.ssh.Recipient.from_str(openssh)])
    parsed = header.parse_header(io.BytesIO(sealed))
    assert parsed.stanzas[0].type == "ssh-ed25519"
    with pytest.raises(errors.UnexpectedRecipients):
        header.check_x25519_recipients(parsed, 1)


def test_an_x25519_stanza_with_a_two_line_body_is_malformed() -> None:
    """Guard: the 32-byte body check must see the *whole* body, not its last line:
    an 80-byte body whose final line alone decodes to 32 bytes is refused."""
    body = b"\x09" * 48 + b"\x0a" * 32  # 64 base64 columns, then 43
    with pytest.raises(errors.MalformedHeader):
        check(age_header(stanza("X25519", [b64(b"\x01" * 32)], body)), 1)


@pytest.mark.parametrize("args", [[], ["A" * 43, "A" * 43], ["A" * 42], ["A" * 44]])
def test_x25519_stanza_needs_exactly_one_32_byte_share(args: list[str]) -> None:
    """Guard: one argument, 32 bytes once decoded."""
    with pytest.raises(errors.MalformedHeader):
        check(age_header(stanza("X25519", args, b"\x01" * 32)), 1)


@pytest.mark.parametrize(("stanzas", "reviewers"), [(1, 2), (3, 2), (2, 1), (1, 0)])
def test_one_x25519_stanza_per_active_reviewer(stanzas: int, reviewers: int) -> None:
    """Guard: the stanza count equals the number of active reviewers (FORMAT.md §1.1 rule 3)."""
    data = age_header(*[x25519(n) for n in range(stanzas)], grease())
    with pytest.raises(errors.UnexpectedRecipients):
        check(data, reviewers)
    check(data, stanzas)


# --- payload length: STREAM chunking ----------------------------------------------------------


def test_an_empty_file_is_one_empty_final_chunk() -> None:
    """Guard: ``full > 0`` in the empty-final-chunk rule. age seals zero bytes as a single
    empty final chunk, which stays legal; pyrage agrees."""
    assert header.plaintext_length(NONCE + TAG) == 0
    sealed = pyrage.encrypt(b"", [pyrage.x25519.Identity.generate().to_public()])
    assert len(sealed) - header.parse_header(io.BytesIO(sealed)).length == NONCE + TAG


@pytest.mark.parametrize("full_chunks", [1, 2, 3, 100])
def test_an_empty_final_chunk_after_full_chunks_is_refused(full_chunks: int) -> None:
    """Guard: ``rest == TAG and full > 0``. age never writes an empty final chunk
    after full ones (a full chunk is then the final one), and readers must refuse
    it (CCTV ``stream_last_chunk_empty``): such a length cannot come from an honest sealer."""
    with pytest.raises(errors.MalformedHeader):
        header.plaintext_length(NONCE + full_chunks * FULL + TAG)


@pytest.mark.parametrize("full_chunks", [1, 2])
@pytest.mark.parametrize("rest", [1, 8, 15])
def test_a_final_chunk_shorter_than_its_tag_is_refused(full_chunks: int, rest: int) -> None:
    """Guard: ``rest < TAG``. A final chunk has at least its 16-byte tag."""
    with pytest.raises(errors.MalformedHeader):
        header.plaintext_length(NONCE + full_chunks * FULL + rest)


@pytest.mark.parametrize("payload", [0, 1, NONCE, NONCE + TAG - 1])
def test_a_payload_without_nonce_and_tag_is_refused(payload: int) -> None:
    """Guard: ``body < TAG``."""
    with pytest.raises(errors.MalformedHeader):
        header.plaintext_length(payload)


def test_full_final_chunks_end_on_a_boundary() -> None:
    """A plaintext of exactly n * 64 KiB ends with a full final chunk, as rage writes it."""
    for n in (1, 2, 5):
        assert header.plaintext_length(NONCE + n * FULL) == n * CHUNK
    sealed = pyrage.encrypt(bytes(CHUNK), [pyrage.x25519.Identity.generate().to_public()])
    payload = len(sealed) - header.parse_header(io.BytesIO(sealed)).length
    assert payload == NONCE + FULL
    assert header.plaintext_length(payload) == CHUNK


def test_every_payload_length_is_either_impossible_or_exactly_one_plaintext_length() -> None:
    """plaintext_length and sealed_length are inverses on every length up to three chunks:
    a length is accepted exactly when some plaintext seals to it."""
    possible = {header.sealed_length(n, 0): n for n in range(0, 3 * CHUNK + 2)}
    assert header.sealed_length(0, 100) == 100 + NONCE + TAG
    for payload in range(0, 3 * FULL + TAG + 2):
        if payload in possible:
            assert header.plaintext_length(payload) == possible[payload], payload
        else:
            with pytest.raises(errors.MalformedHeader):
                header.plaintext_length(payload)


def test_an_empty_plaintext_is_not_a_padme_frame() -> None:
    """Guard: ``length == 0`` in check_padded_payload. padme(0) == 0, but a tipbox
    frame always holds at least the 0x80 marker, so an empty age file is unpadded."""
    with pytest.raises(errors.MalformedHeader):
        header.check_padded_payload(NONCE + TAG)


def test_padded_payloads_pass_and_unpadded_ones_do_not() -> None:
    """Guard: the Padmé bucket check, across one and several chunks."""
    for length in (1, 2, 10, 104, 1024, CHUNK, 67584, 1_015_808):
        assert header.check_padded_payload(header.sealed_length(length, 0)) == length
    for length in (9, 101, 1025, CHUNK + 1, 1_000_000):
        with pytest.raises(errors.MalformedHeader):
            header.check_padded_payload(header.sealed_length(length, 0))


# --- header grammar details the CCTV vectors do not pin ---------------------------------------


def test_the_size_budget_is_exact() -> None:
    """Guard: the header budget (64 KiB by default). A header of exactly ``max_bytes``
    parses; one byte less of budget refuses it, wherever the last line falls."""
    data = age_header(x25519(1), grease())
    parsed = header.parse_header(io.BytesIO(data + b"payload"), max_bytes=len(data))
    assert parsed.length == len(data)
    for budget in (len(data) - 1, len(data) - 40, 10):
        with pytest.raises(errors.MalformedHeader):
            header.parse_header(io.BytesIO(data + b"payload"), max_bytes=budget)


def test_the_default_budget_is_64_kib() -> None:
    big = stanza("big-grease", [], b"\x00" * 48_000)
    ok = age_header(x25519(1), big)
    assert len(ok) < header.MAX_HEADER_BYTES
    header.parse_header(io.BytesIO(ok))
    too_big = age_header(x25519(1), stanza("big-grease", [], b"\x00" * 49_200))
    assert len(too_big) > header.MAX_HEADER_BYTES
    with pytest.raises(errors.MalformedHeader):
        header.parse_header(io.BytesIO(too_big))


@pytest.mark.parametrize("byte", [0x7F, 0x80, 0xFF, 0x00, 0x09])
def test_argument_bytes_outside_printable_ascii_are_refused(byte: int) -> None:
    """Guard: arguments are runs of 0x21..0x7E; DEL (0x7F) is just past the end."""
    line = b"-> X25519-grease ab" + bytes([byte]) + b"cd\n\n"
    with pytest.raises(errors.MalformedHeader):
        header.parse_header(io.BytesIO(b"age-encryption.org/v1\n" + line + b"--- " + b64(bytes(32)).encode() + b"\n"))


def test_argument_bytes_at_both_ends_of_the_range_are_accepted() -> None:
    data = age_header(stanza("!~-grease", ["!", "~", "!~"], b""), x25519(1))
    assert header.parse_header(io.BytesIO(data)).stanzas[0].args == ("!", "~", "!~")


def test_canonical_base64_may_end_in_any_alphabet_character() -> None:
    """Guard: the canonical re-encoding check strips only "=" padding. A 3-byte body
    ends in a full 6-bit character, which may be any letter of the alphabet."""
    for last in range(64):
        body = bytes([0, 0, last])
        data = age_header(stanza("b-grease", [], body), x25519(1))
        assert header.parse_header(io.BytesIO(data)).stanzas[0].body == body


@pytest.mark.parametrize("size", [0, 1, 47, 48, 49, 96, 100, 1000])
def test_multi_line_bodies_are_read_whole(size: int) -> None:
    """Guard: the body is the concatenation of all its lines (64 columns each, then one shorter)."""
    body = bytes((i * 37 + 11) & 0xFF for i in range(size))
    data = age_header(stanza("body-grease", ["a"], body), x25519(1))
    parsed = header.parse_header(io.BytesIO(data))
    assert parsed.stanzas[0].body == body
    assert parsed.stanzas[1].body == bytes([101]) * 32
