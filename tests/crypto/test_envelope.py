"""The committed envelope vectors, plus bad input that must never yield plaintext."""

from __future__ import annotations

import base64
import io

import pytest

from crypto import attachments, envelope, errors, header, payload
from crypto.attachments import ContentDigest
from tests.support import load_vectors

E = load_vectors("envelope")
P = load_vectors("payload")
EXPECT = {
    "payload failure": errors.CiphertextCorrupted,
    "no match": errors.NoMatchingIdentity,
    "header failure": errors.MalformedHeader,
}


@pytest.mark.parametrize("case", E["files"], ids=lambda f: f["name"])
def test_vector_files(case: dict) -> None:
    data = base64.b64decode(case["age_b64"])
    for identity in E["identities"]:
        if case["expect"] != "success":
            with pytest.raises(EXPECT[case["expect"]]):
                envelope.open_bytes(data, [identity])
        elif case["kind"] == "tip":
            assert payload.open_tip(data, [identity]) == P["valid"][0]["document"]
        else:
            content = base64.b64decode(case["content_b64"])
            out = io.BytesIO()
            attachments.open_attachment(io.BytesIO(data), out, [identity])
            assert out.getvalue() == content


def test_every_sealed_vector_passes_the_servers_upload_checks() -> None:
    for case in E["files"]:
        if case["expect"] != "success":
            continue
        data = base64.b64decode(case["age_b64"])
        parsed = header.parse_header(io.BytesIO(data))
        header.check_x25519_recipients(parsed, len(E["recipients"]))
        header.check_padded_payload(len(data) - parsed.length)
        with pytest.raises(errors.UnexpectedRecipients):
            header.check_x25519_recipients(parsed, 3)


def test_unpadded_upload_is_refused_by_length_check() -> None:
    sealed = envelope.seal_bytes(b"x" * 100, E["recipients"])
    parsed = header.parse_header(io.BytesIO(sealed))
    with pytest.raises(errors.MalformedHeader):
        header.check_padded_payload(len(sealed) - parsed.length)


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 200_000])
def test_plaintext_length_inverts_sealed_length(size: int) -> None:
    sealed = envelope.seal_bytes(bytes(size), E["recipients"][:1])
    parsed = header.parse_header(io.BytesIO(sealed))
    assert header.plaintext_length(len(sealed) - parsed.length) == size
    assert header.sealed_length(size, parsed.length) == len(sealed)


def test_truncation_at_every_region_never_returns_plaintext() -> None:
    sealed = payload.seal_tip(P["valid"][0]["document"], E["recipients"])
    for cut in [1, 10, 21, 22, 60, 200, len(sealed) // 2, len(sealed) - 17, len(sealed) - 1]:
        with pytest.raises(errors.TipboxCryptoError):
            payload.open_tip(sealed[:cut], [E["identities"][0]])


def test_attachment_digest_mismatch_is_tamper() -> None:
    sealed = io.BytesIO()
    digest = attachments.seal_attachment(io.BytesIO(b"evidence"), sealed, E["recipients"])
    wrong = ContentDigest(digest.size, "0" * 64)
    with pytest.raises(errors.CiphertextCorrupted):
        attachments.open_attachment(io.BytesIO(sealed.getvalue()), io.BytesIO(), [E["identities"][0]], wrong)


def test_attachment_size_limit() -> None:
    with pytest.raises(errors.TooLarge):
        attachments.seal_attachment(io.BytesIO(bytes(200_000)), io.BytesIO(), E["recipients"], limit=100_000)


@pytest.mark.parametrize("bad", ["", "age1", "AGE-SECRET-KEY-1", "age1qqqq", "ssh-ed25519 AAAA"])
def test_malformed_recipients_and_identities(bad: str) -> None:
    with pytest.raises(errors.MalformedIdentity):
        envelope.seal_bytes(b"x", [bad])
    with pytest.raises(errors.MalformedIdentity):
        envelope.open_bytes(base64.b64decode(E["files"][0]["age_b64"]), [bad])


def test_sealing_needs_a_recipient() -> None:
    with pytest.raises(errors.MalformedIdentity):
        envelope.seal_bytes(b"x", [])


class _FullDisk(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        raise OSError(28, "No space left on device")


def test_a_full_disk_is_not_reported_as_tampering() -> None:
    sealed = payload.seal_tip(P["valid"][0]["document"], E["recipients"])
    with pytest.raises(OSError) as info:
        envelope.open_stream(io.BytesIO(sealed), _FullDisk(), [E["identities"][0]])
    assert not isinstance(info.value, errors.TipboxCryptoError) and info.value.errno == 28
    with pytest.raises(OSError) as info:
        envelope.seal(io.BytesIO(b"x" * 100_000), _FullDisk(), E["recipients"])
    assert info.value.errno == 28
