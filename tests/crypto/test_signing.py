from __future__ import annotations

import copy

import nacl.signing
import pytest

from crypto import errors, key_manifest
from crypto.signing import (
    CONTEXT_EXPORT_MANIFEST,
    canonical_json,
    key_fingerprint,
    sign_document,
    verify_document,
)
from tests.support import load_vectors

S = load_vectors("signing")
SERVER = nacl.signing.SigningKey(bytes.fromhex(S["server_seed_hex"]))


def test_key_manifest_vector_verifies_and_is_reproducible() -> None:
    document = S["key_manifest"]
    body = key_manifest.verify(document, [S["server_public_key"]])
    assert key_manifest.sign(body, SERVER) == document
    assert key_manifest.recipients_fingerprint(key_manifest.recipients(body)) == S["recipients_fingerprint"]
    assert key_fingerprint(S["server_public_key"]) == S["server_key_fingerprint"]


def test_recipients_fingerprint_ignores_order_and_date() -> None:
    recipients = [r["recipient"] for r in S["reviewers"]]
    assert key_manifest.recipients_fingerprint(recipients) == key_manifest.recipients_fingerprint(
        list(reversed(recipients))
    )
    assert key_manifest.recipients_fingerprint(recipients[:1]) != S["recipients_fingerprint"]


def test_canonical_json_vector() -> None:
    other = S["other_context"]
    assert canonical_json(other["document"]["body"]).decode() == other["canonical_body"]
    verify_document(other["document"], other["context"], [S["server_public_key"]])


def test_signature_does_not_transfer_between_contexts() -> None:
    with pytest.raises(errors.BadSignature):
        verify_document(S["key_manifest"], CONTEXT_EXPORT_MANIFEST)


def test_tampered_body_fails() -> None:
    document = copy.deepcopy(S["key_manifest"])
    document["body"]["reviewers"][0]["label"] = "mallory"
    with pytest.raises(errors.BadSignature):
        key_manifest.verify(document)


def test_untrusted_signer_fails() -> None:
    other = nacl.signing.SigningKey.generate()
    document = key_manifest.sign(S["key_manifest"]["body"], other)
    key_manifest.verify(document)  # valid signature by *some* key...
    with pytest.raises(errors.BadSignature):
        key_manifest.verify(document, [S["server_public_key"]])  # ...but not the pinned one


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d.pop("signature"),
        lambda d: d.update(extra=1),
        lambda d: d["signature"].update(alg="rsa"),
        lambda d: d["signature"].update(sig="!!!"),
        lambda d: d["signature"].update(key="AAAA"),
    ],
    ids=["no-signature", "extra-field", "alg", "bad-base64", "short-key"],
)
def test_malformed_documents(mangle) -> None:
    document = copy.deepcopy(S["key_manifest"])
    mangle(document)
    with pytest.raises(errors.MalformedDocument):
        key_manifest.verify(document)


def test_floats_are_refused() -> None:
    with pytest.raises(errors.MalformedDocument):
        sign_document({"x": 1.5}, CONTEXT_EXPORT_MANIFEST, SERVER)
