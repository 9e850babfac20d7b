"""The status page's short-lived capability: lets a page that has shown a report's
status send follow-ups to it, without the receipt staying in the page.

``access`` = base64url(tip id (16 bytes) ‖ expiry (8 bytes, Unix seconds) ‖
HMAC-SHA256(subkey, both)[:16]). It reveals the tip's id to whoever holds the
page, which already shows that tip's status; it never opens replies (that
needs the receipt) and it expires after ``TIPBOX_STATUS_ACCESS_MINUTES``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from datetime import UTC, datetime, timedelta

from .. import clock
from ..security.subkeys import subkey

_INFO = b"tipbox/status-access/v1"
_MAC_BYTES = 16
_LENGTH = 16 + 8 + _MAC_BYTES


def _mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(subkey(secret, _INFO), body, hashlib.sha256).digest()[:_MAC_BYTES]


def _unix(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


def mint(secret: bytes, tip_id: str, minutes: int) -> str:
    body = bytes.fromhex(tip_id) + struct.pack(">Q", _unix(clock.utcnow() + timedelta(minutes=minutes)))
    return base64.urlsafe_b64encode(body + _mac(secret, body)).decode("ascii").rstrip("=")


def tip_id_of(secret: bytes, token: object) -> str | None:
    """The tip an unexpired, authentic ``token`` opens; None for anything else."""
    if not isinstance(token, str) or len(token) > 64:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _LENGTH:
        return None
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(secret, body)):
        return None
    (expires,) = struct.unpack(">Q", body[16:24])
    if expires <= _unix(clock.utcnow()):
        return None
    return body[:16].hex()
