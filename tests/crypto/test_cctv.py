"""The official C2SP CCTV age vectors (npm cctv-age 0.2.0) against crypto/.

crypto/ opens binary age files with X25519 identities (crypto.envelope) and
reviewer identity files with a passphrase (crypto.identity); the server parses
every upload with crypto.header. Each vector must open to its payload hash or be
refused with a TipboxCryptoError, never yield plaintext. Out of scope, and
listed as skips: post-quantum hybrid identities (tipbox reviewers hold X25519
keys, pyrage 1.4.0 has no hybrid identity). Armored files are in scope only as
something crypto/ must refuse: tipbox stores and exchanges binary age only.

The vectors come from the pinned npm package (node dumps the module to JSON),
so JS and Python run exactly the same files (see crypto/js/test/cctv.test.mjs).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import zlib
from dataclasses import dataclass, field

import pyrage
import pytest

from crypto import envelope, errors, header, identity
from tests.support import ROOT, missing_service

PACKAGE = ROOT / "node_modules" / "cctv-age"
DUMP_JS = (
    "import * as v from 'cctv-age';"
    "const out = {}; for (const [k, b] of Object.entries(v)) out[k] = Buffer.from(b).toString('base64');"
    "process.stdout.write(JSON.stringify(out));"
)
# A key no vector was sealed to, for vectors that carry no usable X25519 identity.
UNRELATED = str(pyrage.x25519.Identity.generate())

# Header failures in the header *grammar*, which crypto.header.parse_header alone
# must refuse. The other header failures are about one recipient type's
# arguments (x25519_*, hybrid_*, scrypt_*) or the nonce (stream_*).
STRUCTURAL = {
    "empty",
    "header_crlf",
    "version_unsupported",
    "hmac_extra_space",
    "hmac_garbage",
    "hmac_missing",
    "hmac_no_space",
    "hmac_not_canonical",
    "hmac_trailing_space",
    "hmac_truncated",
    "stanza_bad_start",
    "stanza_base64_padding",
    "stanza_empty_argument",
    "stanza_invalid_character",
    "stanza_long_line",
    "stanza_missing_body",
    "stanza_missing_final_line",
    "stanza_multiple_short_lines",
    "stanza_no_arguments",
    "stanza_not_canonical",
    "stanza_spurious_cr",
    "x25519_not_canonical_body",
    "hybrid_not_canonical_body",
    "scrypt_not_canonical_body",
}
# Malformed X25519 stanzas and nonces the server's upload checks catch without a key.
SERVER_DETECTABLE = {
    "x25519_extra_argument",
    "x25519_long_share",
    "x25519_short_share",
    "x25519_not_canonical_share",
    "x25519_long_file_key",
    "hybrid_x25519_arg",
    "stream_no_nonce",
    "stream_short_nonce",
}
@dataclass
class Vector:
    expect: str
    body: bytes
    payload: str | None = None
    armored: bool = False
    identities: list[str] = field(default_factory=list)
    passphrases: list[str] = field(default_factory=list)

    @property
    def x25519(self) -> list[str]:
        return [i for i in self.identities if i.startswith("AGE-SECRET-KEY-1")]


def _parse(data: bytes) -> Vector:
    head, _, body = data.partition(b"\n\n")
    fields: dict[str, str] = {}
    vector = Vector(expect="", body=b"")
    for line in head.decode().split("\n"):
        key, _, value = line.partition(": ")
        if key == "identity":
            vector.identities.append(value)
        elif key == "passphrase":
            vector.passphrases.append(value)
        else:
            fields[key] = value
    if fields.get("compressed") not in (None, "zlib"):
        raise ValueError(f"unknown compression {fields['compressed']}")
    vector.expect = fields["expect"]
    vector.payload = fields.get("payload")
    vector.armored = fields.get("armored") == "yes"
    vector.body = zlib.decompress(body) if fields.get("compressed") == "zlib" else body
    return vector


def _load() -> dict[str, Vector] | None:
    node = shutil.which("node")
    if node is None or not PACKAGE.is_dir():
        return None
    assert json.loads((PACKAGE / "package.json").read_text())["version"] == "0.2.0"
    dump = subprocess.run(
        [node, "--input-type=module", "-e", DUMP_JS], cwd=ROOT, check=True, capture_output=True, timeout=60
    ).stdout
    return {name: _parse(base64.b64decode(b64)) for name, b64 in json.loads(dump).items()}


VECTORS = _load()
NAMES = sorted(VECTORS) if VECTORS else ["unavailable"]


def vector(name: str) -> Vector:
    if VECTORS is None:
        missing_service("the CCTV vectors need node and node_modules/cctv-age: run `npm ci`")
    return VECTORS[name]


def _names(predicate) -> list[str]:  # type: ignore[no-untyped-def]
    return [n for n in NAMES if VECTORS is None or predicate(VECTORS[n])] or ["unavailable"]


def test_vector_set() -> None:
    vectors = {name: vector(name) for name in NAMES}
    assert len(vectors) == 143
    assert STRUCTURAL | SERVER_DETECTABLE <= {n for n, v in vectors.items() if v.expect == "header failure"}


@pytest.mark.parametrize("name", NAMES)
def test_open_with_x25519(name: str) -> None:
    """crypto.envelope.open_bytes, with the vector's X25519 identities."""
    v = vector(name)
    if v.armored:
        with pytest.raises(errors.MalformedHeader):  # binary age only, by design
            envelope.open_bytes(v.body, v.x25519 or [UNRELATED])
        return
    if v.expect == "success":
        if v.passphrases:
            pytest.skip("passphrase vector: covered by test_open_with_passphrase")
        if not v.x25519:
            pytest.skip("post-quantum hybrid identity: out of scope (tipbox reviewers hold X25519 keys)")
        assert hashlib.sha256(envelope.open_bytes(v.body, v.x25519)).hexdigest() == v.payload
        return
    expected = {
        "no match": errors.NoMatchingIdentity,
        "payload failure": errors.CiphertextCorrupted,
        "HMAC failure": errors.CiphertextCorrupted,
    }.get(v.expect, errors.MalformedHeader if name in STRUCTURAL else errors.TipboxCryptoError)
    with pytest.raises(expected):
        envelope.open_bytes(v.body, v.x25519 or [UNRELATED])


def _open_with_passphrase(data: bytes, passphrase: str) -> bytes:
    """Strict header first (as crypto.identity does), then pyrage's scrypt decryption."""
    identity.check_passphrase_file(data)
    try:
        return pyrage.passphrase.decrypt(data, passphrase)
    except (pyrage.DecryptError, OSError):
        raise errors.CiphertextCorrupted() from None


@pytest.mark.parametrize(
    "name",
    _names(lambda v: bool(v.passphrases)),
)
def test_open_with_passphrase(name: str) -> None:
    """scrypt vectors: the success one opens; crypto.identity.decrypt_identity refuses every failure."""
    v = vector(name)
    if v.expect == "success":
        if v.armored:
            with pytest.raises(errors.TipboxCryptoError):
                _open_with_passphrase(v.body, v.passphrases[0])
            return
        assert hashlib.sha256(_open_with_passphrase(v.body, v.passphrases[0])).hexdigest() == v.payload
        return
    for passphrase in v.passphrases:
        with pytest.raises(errors.TipboxCryptoError):
            _open_with_passphrase(v.body, passphrase)  # refused as a file, not merely "not an identity"
        with pytest.raises(errors.TipboxCryptoError):
            identity.decrypt_identity(v.body, passphrase)


@pytest.mark.parametrize("name", sorted(STRUCTURAL))
def test_parse_header_rejects_structural_header_failures(name: str) -> None:
    with pytest.raises(errors.MalformedHeader):
        header.parse_header(io.BytesIO(vector(name).body))


@pytest.mark.parametrize("name", _names(lambda v: not v.armored and v.expect != "header failure"))
def test_parse_header_accepts_every_well_formed_header(name: str) -> None:
    """The server must not refuse valid age files: every vector that fails only
    later (no match, HMAC, payload) or succeeds has a header parse_header accepts."""
    data = vector(name).body
    parsed = header.parse_header(io.BytesIO(data))
    assert data[parsed.length - 1 : parsed.length] == b"\n"


@pytest.mark.parametrize("name", sorted(SERVER_DETECTABLE))
def test_server_upload_checks_reject_malformed_x25519_files(name: str) -> None:
    """Without any key, the upload checks still catch these header failures."""
    data = vector(name).body
    with pytest.raises(errors.MalformedHeader):
        parsed = header.parse_header(io.BytesIO(data))
        header.check_x25519_recipients(parsed, len(parsed.stanzas))
        header.plaintext_length(len(data) - parsed.length)
