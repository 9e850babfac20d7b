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

Parsing (:func:`parse`, :func:`open_message`) returns a frozen
:class:`MessageDocument`, like a tip's :class:`crypto.payload.TipDocument`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from . import envelope, padding
from .documents import FrozenJSON, JSONDocument, JSONObject, frozen_members, no_members, thawed
from .errors import MalformedPayload, UnknownPayloadVersion
from .payload import LANGUAGES, MAX_PAYLOAD_BYTES, AttachmentEntry, parse_attachments, parse_json
from .signing import canonical_json
from .vocabulary import MESSAGE_SEALERS, Language, MessageKind, SealedBy

VERSION = 1
DOCUMENT_TYPE = "tipbox-message"
REPLY = MessageKind.REPLY
FOLLOWUP = MessageKind.FOLLOWUP
# Who sealed each kind: a reply only ever comes from a reviewer's workstation.
SEALED_BY: Mapping[MessageKind, tuple[SealedBy, ...]] = MESSAGE_SEALERS
MAX_TEXT_CHARS = 20_000
_MEMBERS = frozenset({"v", "type", "kind", "lang", "sealed_by", "text", "attachments"})


@dataclass(frozen=True, eq=False)
class MessageDocument(JSONDocument):
    """A valid v1 reply or follow-up (FORMAT.md §13); reads as its JSON object too (see :mod:`crypto.documents`)."""

    version: int
    kind: MessageKind
    lang: Language
    sealed_by: SealedBy
    text: str  # untrusted: a source's words, or a reviewer's
    attachments: tuple[AttachmentEntry, ...]  # always empty for a reply
    extra: Mapping[str, FrozenJSON] = field(default_factory=no_members)  # top-level members this reader ignores

    def as_document(self) -> JSONObject:
        return {
            **thawed(self.extra),
            "v": self.version,
            "type": DOCUMENT_TYPE,
            "kind": self.kind.value,
            "lang": self.lang.value,
            "sealed_by": self.sealed_by.value,
            "text": self.text,
            "attachments": [a.as_document() for a in self.attachments],
        }


def parse(document: object) -> MessageDocument:
    """Check a decoded message against v1; return it typed."""
    if not isinstance(document, Mapping):
        raise MalformedPayload("message is not a JSON object")
    version = document.get("v")
    if not isinstance(version, int) or isinstance(version, bool):
        raise MalformedPayload("message has no integer version")
    if version != VERSION:
        raise UnknownPayloadVersion(f"message version {version} is not supported (this reader knows {VERSION})")
    if document.get("type") != DOCUMENT_TYPE:
        raise MalformedPayload("not a tipbox message")
    kind_code = document.get("kind")
    if not isinstance(kind_code, str) or kind_code not in SEALED_BY:
        raise MalformedPayload("message kind must be 'reply', 'followup' or 'note'")
    kind = MessageKind(kind_code)
    sealed_by = document.get("sealed_by")
    if not isinstance(sealed_by, str) or sealed_by not in SEALED_BY[kind]:
        raise MalformedPayload(f"a {kind.value} cannot be sealed by {sealed_by!r}")
    lang = document.get("lang")
    if not isinstance(lang, str) or lang not in LANGUAGES:
        raise MalformedPayload("message language must be 'id' or 'en'")
    text = document.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
        raise MalformedPayload(f"message text must be 1 to {MAX_TEXT_CHARS} characters")
    attachments = parse_attachments(document.get("attachments"))
    if kind != MessageKind.FOLLOWUP and attachments:
        raise MalformedPayload("only follow-ups carry attachments")
    return MessageDocument(
        version, kind, Language(lang), SealedBy(sealed_by), text, attachments, frozen_members(document, _MEMBERS)
    )


def build(
    kind: MessageKind | str,
    text: str,
    *,
    lang: Language | str,
    sealed_by: SealedBy | str,
    attachments: Sequence[AttachmentEntry | Mapping[str, object]] = (),
) -> MessageDocument:
    """Assemble and validate a v1 message (text is normalised as the form does: LF, trimmed)."""
    return parse(
        {
            "v": VERSION,
            "type": DOCUMENT_TYPE,
            "kind": kind,
            "lang": lang,
            "sealed_by": sealed_by,
            "text": text.replace("\r\n", "\n").strip(),
            "attachments": [a.as_document() if isinstance(a, AttachmentEntry) else dict(a) for a in attachments],
        }
    )


def encode(document: MessageDocument | Mapping[str, object]) -> bytes:
    """Canonical JSON bytes of a valid message, *before* padding."""
    typed = document if isinstance(document, MessageDocument) else parse(document)
    data = canonical_json(typed.as_document())
    if len(data) > MAX_PAYLOAD_BYTES:
        raise MalformedPayload("message too large")
    return data


def seal_message(
    document: MessageDocument | Mapping[str, object], recipients: Sequence[str | envelope.Recipient]
) -> bytes:
    """Encode, pad and seal a message: the bytes the server stores."""
    return envelope.seal_bytes(padding.pad(encode(document)), recipients)


def open_message(
    sealed: bytes, identities: Sequence[str | envelope.Identity], kind: MessageKind | str | None = None
) -> MessageDocument:
    """Open, unpad and decode a sealed message; with ``kind``, refuse any other kind."""
    document = parse(parse_json(padding.unpad(envelope.open_bytes(sealed, identities))))
    if kind is not None and document.kind != kind:
        raise MalformedPayload(f"expected a {kind}, found a {document.kind.value}")
    return document


__all__ = ["FOLLOWUP", "REPLY", "MessageDocument", "build", "encode", "open_message", "parse", "seal_message"]
