"""Ed25519-signed JSON documents (PyNaCl), shared by every signed tipbox file.

A signed document is ``{"body": {...}, "signature": {"alg": "ed25519", "key":
<base64 public key>, "sig": <base64 signature>}}``. The signature covers
``context || 0x0A || canonical_json(body)``: the context string names the kind
of document, so a signature on a key manifest can never be replayed as an
export manifest or a disposition file. Canonical JSON is the RFC 8785 (JCS)
form restricted to what tipbox uses (objects with ASCII keys, arrays, strings,
integers, booleans, null; no floats), which Python produces with
``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any

import nacl.exceptions
import nacl.signing

from .errors import BadSignature, MalformedDocument

CONTEXT_KEY_MANIFEST = "tipbox/key-manifest/v1"
CONTEXT_EXPORT_MANIFEST = "tipbox/export-manifest/v1"
CONTEXT_DISPOSITIONS = "tipbox/dispositions/v1"
CONTEXT_AUDIT_CHECKPOINT = "tipbox/audit-checkpoint/v1"
CONTEXT_CHANNEL_DIRECTORY = "tipbox/channel-directory/v1"


def _reject_floats(value: Any) -> None:
    if isinstance(value, float):
        raise MalformedDocument("floats are not allowed in signed documents")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise MalformedDocument("object keys must be ASCII strings")
            _reject_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_floats(item)


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` in tipbox's canonical JSON (see module docstring)."""
    _reject_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: Any, length: int | None = None) -> bytes:
    """Strict standard base64 decode; ``length`` pins the decoded size."""
    if not isinstance(text, str):
        raise MalformedDocument("expected a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedDocument("invalid base64") from None
    if length is not None and len(raw) != length:
        raise MalformedDocument("base64 value has the wrong length")
    return raw


def public_key_b64(key: nacl.signing.SigningKey | nacl.signing.VerifyKey) -> str:
    verify = key.verify_key if isinstance(key, nacl.signing.SigningKey) else key
    return b64(bytes(verify))


def _message(context: str, body: Mapping[str, Any]) -> bytes:
    return context.encode() + b"\n" + canonical_json(body)


def sign_document(body: Mapping[str, Any], context: str, key: nacl.signing.SigningKey) -> dict[str, Any]:
    signature = key.sign(_message(context, body)).signature
    return {
        "body": dict(body),
        "signature": {"alg": "ed25519", "key": public_key_b64(key), "sig": b64(signature)},
    }


def verify_document(document: Any, context: str, trusted_keys: Collection[str] | None = None) -> dict[str, Any]:
    """Verify ``document`` and return its body.

    ``trusted_keys`` (base64 Ed25519 public keys) restricts who may have
    signed; ``None`` accepts any key and leaves pinning to the caller, who
    reads it from ``document["signature"]["key"]``.
    """
    if not isinstance(document, Mapping) or set(document) != {"body", "signature"}:
        raise MalformedDocument("not a signed tipbox document")
    body, signature = document["body"], document["signature"]
    if not isinstance(body, Mapping) or not isinstance(signature, Mapping):
        raise MalformedDocument("not a signed tipbox document")
    if signature.get("alg") != "ed25519":
        raise MalformedDocument("unsupported signature algorithm")
    key_b64 = signature.get("key")
    raw_key = unb64(key_b64, 32)
    raw_sig = unb64(signature.get("sig"), 64)
    if trusted_keys is not None and key_b64 not in trusted_keys:
        raise BadSignature("signed by a key that is not trusted")
    try:
        nacl.signing.VerifyKey(raw_key).verify(_message(context, body), raw_sig)
    except nacl.exceptions.BadSignatureError:
        raise BadSignature() from None
    return dict(body)


def grouped_fingerprint(digest_input: bytes, groups: int = 8) -> str:
    """Human-comparable fingerprint: SHA-256, base32 (no 0/1/8/9 confusion
    beyond RFC 4648's alphabet), in groups of four, e.g. ``ABCD-EFGH-...``."""
    encoded = base64.b32encode(hashlib.sha256(digest_input).digest()).decode()
    return "-".join(encoded[i * 4 : i * 4 + 4] for i in range(groups))


def key_fingerprint(public_key: str) -> str:
    """Fingerprint of a base64 Ed25519 public key (for pinning by eye)."""
    return grouped_fingerprint(b"tipbox/ed25519-key/v1\n" + unb64(public_key, 32))
