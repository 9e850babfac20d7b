"""Receipt-derived keys (FORMAT.md §12): vectors, refusals, and JS interop."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
from pathlib import Path

import pyrage
import pytest

from crypto import envelope, padding, receipt_keys
from crypto.errors import MalformedReceipt, NoMatchingIdentity, TipboxCryptoError
from tests.support import ROOT, load_vectors, missing_service
from tipbox import receipts

R = load_vectors("receipt_keys")


def _rfc5869(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """An independent HKDF-SHA256 (one output block) from the stdlib."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


@pytest.mark.parametrize("vector", R["valid"], ids=[v["why"] for v in R["valid"]])
def test_valid_vectors(vector: dict[str, str]) -> None:
    assert receipt_keys.normalise(vector["input"]) == vector["canonical"]
    keys = receipt_keys.derive(vector["input"])
    assert (keys.identity, keys.recipient, keys.lookup) == (vector["identity"], vector["recipient"], vector["lookup"])


@pytest.mark.parametrize("vector", R["valid"], ids=[v["why"] for v in R["valid"]])
def test_vectors_follow_the_documented_kdf(vector: dict[str, str]) -> None:
    ikm = vector["canonical"].encode("ascii")
    secret = _rfc5869(ikm, b"tipbox/receipt/v1", b"source-identity")
    assert receipt_keys.identity_from_bytes(secret) == vector["identity"]
    assert _rfc5869(ikm, b"tipbox/receipt/v1", b"lookup").hex() == vector["lookup"]
    identity = pyrage.x25519.Identity.from_str(vector["identity"])  # checks the Bech32 checksum
    assert str(identity) == vector["identity"]
    assert str(identity.to_public()) == vector["recipient"]


def test_mistypes_derive_the_same_keys() -> None:
    by_canonical: dict[str, set[tuple[str, str, str]]] = {}
    for v in R["valid"]:
        by_canonical.setdefault(v["canonical"], set()).add((v["identity"], v["recipient"], v["lookup"]))
    assert all(len(keys) == 1 for keys in by_canonical.values())
    assert max(sum(v["canonical"] == c for v in R["valid"]) for c in by_canonical) >= 3


def test_identity_and_lookup_are_independent() -> None:
    keys = receipt_keys.derive(R["valid"][0]["input"])
    assert keys.lookup not in keys.identity.lower()
    assert len({v["lookup"] for v in R["valid"]}) == len({v["canonical"] for v in R["valid"]})


@pytest.mark.parametrize("vector", R["invalid"], ids=[v["why"] for v in R["invalid"]])
def test_invalid_vectors(vector: dict[str, str]) -> None:
    assert receipt_keys.normalise(vector["input"]) is None
    with pytest.raises(MalformedReceipt) as info:
        receipt_keys.derive(vector["input"])
    assert isinstance(info.value, TipboxCryptoError)
    if vector["input"]:
        assert vector["input"] not in str(info.value)


@pytest.mark.parametrize("value", [None, 12345, b"7K3M-Q9XD-2HPA-W4RT-ZB6N"])
def test_non_strings_are_refused(value: object) -> None:
    with pytest.raises(MalformedReceipt):
        receipt_keys.derive(value)  # type: ignore[arg-type]


def test_server_made_receipts_normalise_and_derive() -> None:
    made = [receipts.new_receipt() for _ in range(200)]
    assert len(set(made)) == len(made)
    for text in made:
        canonical = receipt_keys.normalise(text)
        assert canonical is not None and canonical == text.replace("-", "")
        assert receipts.keys_for_typed(text.lower().replace("-", " ")) == receipt_keys.derive(text)


def test_repr_does_not_show_secrets() -> None:
    keys = receipt_keys.derive(R["valid"][0]["input"])
    assert keys.identity not in repr(keys) and keys.lookup not in repr(keys)


def test_sealed_to_derived_recipient_opens_with_derived_identity() -> None:
    a, b = receipt_keys.derive(R["valid"][0]["input"]), receipt_keys.derive(R["valid"][4]["input"])
    sealed = envelope.seal_bytes(padding.pad(b"balasan"), [a.recipient])
    assert padding.unpad(envelope.open_bytes(sealed, [a.identity])) == b"balasan"
    with pytest.raises(NoMatchingIdentity):
        envelope.open_bytes(sealed, [b.identity])


JS_SEAL = """
import { writeFileSync } from "node:fs";
import { deriveReceiptKeys, sealAttachmentBytes } from "./crypto/js/src/sealer.js";
const [receipts, out] = JSON.parse(process.argv[1]);
const result = [];
for (const receipt of receipts) {
  const keys = await deriveReceiptKeys(receipt);
  const text = new TextEncoder().encode("reply for " + keys.recipient);
  const { sealed } = await sealAttachmentBytes(text, [keys.recipient]);
  result.push({ recipient: keys.recipient, age_b64: Buffer.from(sealed).toString("base64") });
}
writeFileSync(out, JSON.stringify(result));
"""


def test_js_derived_recipient_opens_with_python_derived_identity(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        missing_service("node is not installed (needed to run the JS sealer)")
    if not (ROOT / "node_modules" / "age-encryption").is_dir():
        missing_service("node_modules is missing: run `npm ci`")
    inputs = [v["input"] for v in R["valid"]]
    out = tmp_path / "sealed.json"
    subprocess.run(
        [node, "--input-type=module", "-e", JS_SEAL, json.dumps([inputs, str(out)])],
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    for text, item in zip(inputs, json.loads(out.read_text()), strict=True):
        keys = receipt_keys.derive(text)
        assert item["recipient"] == keys.recipient
        opened = envelope.open_bytes(base64.b64decode(item["age_b64"]), [keys.identity])
        assert padding.unpad(opened) == f"reply for {keys.recipient}".encode()
