"""Conversation messages v1: reviewer replies and source follow-ups (FORMAT.md §13).

A message is sealed exactly like a tip payload: canonical JSON, Padmé
padding, one age file. Only the recipients differ:

* a **follow-up** from a source is sealed to the reviewers (the tip's key
  manifest), like the tip it follows; its attachments are sealed like a tip's;
* a **reply** from a reviewer is sealed to the source's receipt-derived
  recipient (§12) *and* to the reviewers, so the team keeps its own copy and
  no reviewer depends on another to read the thread.

The server never holds a key that opens either, except in the JS-off status
page, which derives the source's identity from the typed receipt in memory for
one response.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import envelope, padding
from .errors import MalformedPayload, UnknownPayloadVersion
from .payload import LANGUAGES, MAX_PAYLOAD_BYTES, check_attachments, parse_json
from .signing import canonical_json
from .vocabulary import MESSAGE_SEALERS, MessageKind

VERSION = 1
DOCUMENT_TYPE = "tipbox-message"
REPLY = MessageKind.REPLY.value
FOLLOWUP = MessageKind.FOLLOWUP.value
# Who sealed each kind: a reply only ever comes from a reviewer's workstation.
SEALED_BY = {kind.value: tuple(s.value for s in sealers) for kind, sealers in MESSAGE_SEALERS.items()}
MAX_TEXT_CHARS = 20_000


def validate(document: Any) -> dict[str, Any]:
    """Check a decoded message against v1; return it as a dict."""
    if not isinstance(document, Mapping):
        raise MalformedPayload("message is not a JSON object")
    version = document.get("v")
    if not isinstance(version, int) or isinstance(version, bool):
        raise MalformedPayload("message has no integer version")
    if version != VERSION:
        raise UnknownPayloadVersion(f"message version {version} is not supported (this reader knows {VERSION})")
    if document.get("type") != DOCUMENT_TYPE:
        raise MalformedPayload("not a tipbox message")
    kind = document.get("kind")
    if kind not in SEALED_BY:
        raise MalformedPayload("message kind must be 'reply' or 'followup'")
    if document.get("sealed_by") not in SEALED_BY[kind]:
        raise MalformedPayload(f"a {kind} cannot be sealed by {document.get('sealed_by')!r}")
    if document.get("lang") not in LANGUAGES:
        raise MalformedPayload("message language must be 'id' or 'en'")
    text = document.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
        raise MalformedPayload(f"message text must be 1 to {MAX_TEXT_CHARS} characters")
    attachments = document.get("attachments")
    check_attachments(attachments)
    if kind == REPLY and attachments:
        raise MalformedPayload("replies carry no attachments")
    return dict(document)


def build(
    kind: str,
    text: str,
    *,
    lang: str,
    sealed_by: str,
    attachments: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Assemble and validate a v1 message (text is normalised as the form does: LF, trimmed)."""
    return validate(
        {
            "v": VERSION,
            "type": DOCUMENT_TYPE,
            "kind": kind,
            "lang": lang,
            "sealed_by": sealed_by,
            "text": text.replace("\r\n", "\n").strip(),
            "attachments": [dict(a) for a in attachments],
        }
    )


def encode(document: Mapping[str, Any]) -> bytes:
    data = canonical_json(validate(document))
    if len(data) > MAX_PAYLOAD_BYTES:
        raise MalformedPayload("message too large")
    return data


def seal_message(document: Mapping[str, Any], recipients: Sequence[str | envelope.Recipient]) -> bytes:
    """Encode, pad and seal a message: the bytes the server stores."""
    return envelope.seal_bytes(padding.pad(encode(document)), recipients)


def open_message(
    sealed: bytes, identities: Sequence[str | envelope.Identity], kind: str | None = None
) -> dict[str, Any]:
    """Open, unpad and decode a sealed message; with ``kind``, refuse any other kind."""
    document = validate(parse_json(padding.unpad(envelope.open_bytes(sealed, identities))))
    if kind is not None and document["kind"] != kind:
        raise MalformedPayload(f"expected a {kind}, found a {document['kind']}")
    return document


__all__ = ["FOLLOWUP", "REPLY", "build", "encode", "open_message", "seal_message", "validate"]
