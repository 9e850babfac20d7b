"""Receipt codes and the one thing the server keeps of them: a keyed hash of their lookup key.

A receipt (crypto/receipt_keys.py, FORMAT.md §12) derives the source's age
identity and a lookup key. A browser-sealed report's receipt is made in the
browser, which sends only the recipient and the lookup key; on the no-JS path
the server makes the receipt, derives both in memory and forgets it.

The server stores ``HMAC-SHA256(K, lookup)`` with ``K`` derived from the
server secret. The lookup key already carries the receipt's 100 random bits,
so a slow hash would add nothing but cost (Argon2id used to cap intake at
about 8 reports a second); the key means a stolen database alone cannot test
a single guess.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from crypto.receipt_keys import ALPHABET, GROUP_LEN, GROUPS, ReceiptKeys, derive, normalise

from .security.subkeys import subkey

LOOKUP_PATTERN = re.compile(r"^[0-9a-f]{64}\Z")
_HASH_INFO = b"tipbox/status-lookup/v1"
# Derived in place of a receipt that cannot be one, so a mistyped code costs the same work.
_DECOY = "0000-0000-0000-0000-0000"


def new_receipt() -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LEN))
    return "-".join(chars[i : i + GROUP_LEN] for i in range(0, len(chars), GROUP_LEN))


def lookup_hash(lookup: str, server_secret: bytes) -> str:
    """What the database stores and is searched by: a keyed hash of a lookup key (64 hex)."""
    if not LOOKUP_PATTERN.match(lookup):
        raise ValueError("a lookup key is 64 lowercase hex digits")
    return hmac.new(subkey(server_secret, _HASH_INFO), bytes.fromhex(lookup), hashlib.sha256).hexdigest()


def keys_for_typed(receipt: str) -> ReceiptKeys | None:
    """Derive the keys of what a source typed; None if it cannot be a receipt.

    A malformed code still runs one derivation (of a decoy), so it is answered
    after the same work as a well-formed code that matches nothing.
    """
    canonical = normalise(receipt) if isinstance(receipt, str) else None
    keys = derive(canonical or _DECOY)
    return keys if canonical is not None else None


__all__ = ["LOOKUP_PATTERN", "keys_for_typed", "lookup_hash", "new_receipt", "normalise"]
