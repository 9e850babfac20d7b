"""Receipt codes: what a source keeps to come back; the server keeps a slow hash.

A receipt is 100 random bits written as five groups of four Crockford base32
characters (no I, L, O, U: easy to copy by hand). The server stores
Argon2id(receipt, salt) where the salt is derived from the server secret, so
the value can be looked up by index yet a stolen database alone does not allow
testing guesses offline without the secret, and each guess costs a full
Argon2id even with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import nacl.pwhash

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS = 5
GROUP_LEN = 4
_NORMALISE = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V", "-": None, " ": None})
OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE


def new_receipt() -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LEN))
    return "-".join(chars[i : i + GROUP_LEN] for i in range(0, len(chars), GROUP_LEN))


def normalise(receipt: str) -> str | None:
    """Canonical form of what a source typed, or None if it cannot be a receipt."""
    cleaned = receipt.strip().upper().translate(_NORMALISE)
    if len(cleaned) != GROUPS * GROUP_LEN or any(c not in ALPHABET for c in cleaned):
        return None
    return cleaned


def lookup_key(receipt: str, server_secret: bytes) -> str:
    canonical = normalise(receipt)
    if canonical is None:
        raise ValueError("not a receipt code")
    salt = hmac.new(server_secret, b"tipbox/receipt-salt/v1", hashlib.sha256).digest()[:16]
    derived = nacl.pwhash.argon2id.kdf(32, canonical.encode(), salt, opslimit=OPSLIMIT, memlimit=MEMLIMIT)
    return derived.hex()
