"""Strict parser for the age v1 header (C2SP age spec, "Header" section).

The server never holds a key, so it cannot decrypt what browsers upload; what
it *can* do is refuse anything that is not a canonical age file sealed the way
tipbox seals: only X25519 stanzas, one per active reviewer, canonical base64,
and a payload whose length is consistent with age's STREAM chunking and with a
Padmé-padded plaintext. pyrage (rage 0.11) is lenient about two malformed
headers (``stanza_missing_body``, ``stanza_missing_final_line`` in the CCTV
vectors); :func:`crypto.envelope.open_stream` runs this parser first so crypto/
rejects them too.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import BinaryIO

from .errors import MalformedHeader, UnexpectedRecipients
from .padding import padme

INTRO = b"age-encryption.org/v1\n"
STANZA_PREFIX = b"-> "
MAC_PREFIX = b"--- "
COLUMNS = 64
MAX_HEADER_BYTES = 64 * 1024
CHUNK = 64 * 1024
TAG = 16
NONCE = 16
MAX_GREASE_STANZAS = 1


@dataclass(frozen=True)
class Stanza:
    type: str
    args: tuple[str, ...]
    body: bytes


@dataclass(frozen=True)
class Header:
    stanzas: tuple[Stanza, ...]
    length: int  # bytes from the start of the file to the end of the MAC line


def _b64decode_canonical(text: bytes) -> bytes:
    """Decode unpadded standard base64, rejecting any non-canonical encoding."""
    if b"=" in text or b"\r" in text or b"\n" in text:
        raise MalformedHeader("non-canonical base64 in header")
    padded = text + b"=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedHeader("invalid base64 in header") from None
    if base64.b64encode(raw).rstrip(b"=") != text:
        raise MalformedHeader("non-canonical base64 in header")
    return raw


def _is_arg(token: bytes) -> bool:
    return bool(token) and all(0x21 <= c <= 0x7E for c in token)


def _read_line(stream: BinaryIO, budget: list[int]) -> bytes:
    line = stream.readline(budget[0] + 1)
    budget[0] -= len(line)
    if budget[0] < 0:
        raise MalformedHeader("header too large")
    if not line.endswith(b"\n"):
        raise MalformedHeader("header truncated")
    return line[:-1]


def parse_header(stream: BinaryIO, max_bytes: int = MAX_HEADER_BYTES) -> Header:
    """Read and validate an age v1 header from ``stream``, leaving it at the payload."""
    budget = [max_bytes]
    if _read_line(stream, budget) + b"\n" != INTRO:
        raise MalformedHeader("not an age v1 file")
    stanzas: list[Stanza] = []
    while True:
        line = _read_line(stream, budget)
        if line.startswith(MAC_PREFIX):
            mac = line[len(MAC_PREFIX) :]
            if len(_b64decode_canonical(mac)) != 32:
                raise MalformedHeader("header MAC has the wrong length")
            break
        if not line.startswith(STANZA_PREFIX):
            raise MalformedHeader("unexpected line in header")
        tokens = line[len(STANZA_PREFIX) :].split(b" ")
        if not all(_is_arg(t) for t in tokens):
            raise MalformedHeader("invalid stanza arguments")
        body = bytearray()
        while True:
            body_line = _read_line(stream, budget)
            if body_line.startswith((STANZA_PREFIX, MAC_PREFIX)):
                raise MalformedHeader("stanza body missing its final short line")
            if len(body_line) > COLUMNS:
                raise MalformedHeader("stanza body line too long")
            body += _b64decode_canonical(body_line)
            if len(body_line) < COLUMNS:
                break
        stanzas.append(Stanza(tokens[0].decode(), tuple(t.decode() for t in tokens[1:]), bytes(body)))
    if not stanzas:
        raise MalformedHeader("header has no recipient stanza")
    return Header(tuple(stanzas), max_bytes - budget[0])


def check_x25519_recipients(header: Header, expected_count: int) -> None:
    """Require exactly ``expected_count`` well-formed X25519 stanzas and nothing else.

    age deliberately hides which recipient a stanza is for, so the server can
    check the *number* of reviewers sealed to, not their identity. rage adds
    one random "grease" stanza (type ending in ``-grease``) to keep parsers
    honest about unknown stanzas; those are allowed, anything else is not.
    """
    x25519 = [s for s in header.stanzas if not s.type.endswith("-grease")]
    if len(header.stanzas) - len(x25519) > MAX_GREASE_STANZAS:
        raise UnexpectedRecipients("too many grease stanzas")
    for stanza in x25519:
        if stanza.type != "X25519":
            raise UnexpectedRecipients("only X25519 recipients are accepted")
        if len(stanza.args) != 1 or len(_b64decode_canonical(stanza.args[0].encode())) != 32:
            raise MalformedHeader("malformed X25519 stanza")
        if len(stanza.body) != 32:
            raise MalformedHeader("malformed X25519 stanza body")
    if len(x25519) != expected_count:
        raise UnexpectedRecipients("not sealed to every active reviewer")


def plaintext_length(payload_length: int) -> int:
    """Plaintext size implied by an age payload of ``payload_length`` bytes
    (nonce + STREAM chunks); raise if no plaintext could produce that size."""
    body = payload_length - NONCE
    if body < TAG:
        raise MalformedHeader("age payload too short")
    full, rest = divmod(body, CHUNK + TAG)
    if rest == 0:
        # Only a full final chunk can end exactly on a boundary.
        return full * CHUNK
    if rest < TAG or (rest == TAG and full > 0):
        raise MalformedHeader("age payload length is impossible")
    return full * CHUNK + rest - TAG


def sealed_length(plaintext_len: int, header_len: int) -> int:
    """Total age file size for a plaintext of ``plaintext_len`` bytes."""
    chunks = max(1, -(-plaintext_len // CHUNK))
    return header_len + NONCE + plaintext_len + chunks * TAG


def check_padded_payload(payload_length: int) -> int:
    """Require that the sealed plaintext length is a Padmé bucket; return it."""
    length = plaintext_length(payload_length)
    if length == 0 or padme(length) != length:
        raise MalformedHeader("sealed plaintext is not Padmé-padded")
    return length
