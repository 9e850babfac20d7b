"""Keys derived from a source's receipt code (FORMAT.md §12).

A receipt (tipbox/receipts.py: 20 Crockford base32 characters, about 100
random bits) deterministically yields, with HKDF-SHA256 (RFC 5869):

- an age X25519 identity for the source, so reviewers can seal replies to
  the source's recipient and only the holder of the receipt opens them;
- a lookup key, which the server stores only as a keyed or slow hash.

The browser derives the same strings in crypto/js/src/sealer.js
(``deriveReceiptKeys``); vectors/receipt_keys.json pins both to each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from bech32 import bech32_encode, convertbits
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .envelope import parse_identity
from .errors import MalformedReceipt

# Copied from tipbox/receipts.py (crypto/ must not import the web app); a test
# checks the two agree.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS = 5
GROUP_LEN = 4
_NORMALISE = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V", "-": None, " ": None})

SALT = b"tipbox/receipt/v1"
INFO_IDENTITY = b"source-identity"
INFO_LOOKUP = b"lookup"
IDENTITY_HRP = "age-secret-key-"


@dataclass(frozen=True)
class ReceiptKeys:
    identity: str  # AGE-SECRET-KEY-1..., canonical upper-case Bech32
    recipient: str  # age1...
    lookup: str  # 64 lowercase hex digits

    def __repr__(self) -> str:  # never print the secrets by accident
        return f"ReceiptKeys(recipient={self.recipient!r})"


def normalise(receipt: str) -> str | None:
    """Canonical form of what a source typed, or None if it cannot be a receipt."""
    cleaned = receipt.strip().upper().translate(_NORMALISE)
    if len(cleaned) != GROUPS * GROUP_LEN or any(c not in ALPHABET for c in cleaned):
        return None
    return cleaned


def _hkdf(ikm: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=info).derive(ikm)


def identity_from_bytes(secret: bytes) -> str:
    """The ``AGE-SECRET-KEY-1...`` string age uses for a 32-byte X25519 secret."""
    if len(secret) != 32:
        raise ValueError("an age X25519 secret is 32 bytes")
    words = convertbits(secret, 8, 5)
    assert words is not None
    return bech32_encode(IDENTITY_HRP, words).upper()


def derive(receipt: str) -> ReceiptKeys:
    """Derive the source's age identity, recipient and lookup key from a receipt.

    Raises :class:`MalformedReceipt` if ``receipt`` does not normalise to a
    receipt code (the message never repeats the input).
    """
    canonical = normalise(receipt) if isinstance(receipt, str) else None
    if canonical is None:
        raise MalformedReceipt()
    ikm = canonical.encode("ascii")
    identity = parse_identity(identity_from_bytes(_hkdf(ikm, INFO_IDENTITY)))
    return ReceiptKeys(
        identity=str(identity),
        recipient=str(identity.to_public()),
        lookup=_hkdf(ikm, INFO_LOOKUP).hex(),
    )


__all__ = ["ReceiptKeys", "derive", "identity_from_bytes", "normalise"]
