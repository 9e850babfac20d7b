"""The tip payload v1: the plaintext document inside a sealed tip.

See FORMAT.md, "Tip payload v1". The document is canonical JSON (see
:mod:`crypto.signing`) followed by Padmé padding (:mod:`crypto.padding`) and is
then sealed as one age file. The version field gates everything: a reader
refuses versions it does not know instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from . import envelope, padding, strict_json
from .errors import MalformedJSON, MalformedPadding, MalformedPayload, TipboxCryptoError, UnknownPayloadVersion
from .signing import canonical_json
from .vocabulary import TIP_SEALERS, Language, codes

VERSION = 1
DOCUMENT_TYPE = "tipbox-tip"
LANGUAGES = codes(Language)
SEALED_BY = tuple(s.value for s in TIP_SEALERS)
MAX_PAYLOAD_BYTES = 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")
_ATTACHMENT_ID = re.compile(r"^[0-9a-f]{32}\Z")


def _check_answer(value: Any) -> bool:
    if value is None or isinstance(value, bool | str):
        return True
    if isinstance(value, int):
        return True
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value)
    return False


def check_attachment(entry: Any) -> None:
    """Refuse an attachment manifest entry that is not exactly as FORMAT.md §3 says."""
    if not isinstance(entry, Mapping):
        raise MalformedPayload("attachment entry is not an object")
    if not isinstance(entry.get("id"), str) or not _ATTACHMENT_ID.match(entry["id"]):
        raise MalformedPayload("attachment id must be 32 lowercase hex digits")
    for key in ("name", "type"):
        if not isinstance(entry.get(key), str):
            raise MalformedPayload(f"attachment {key} must be a string")
    size = entry.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise MalformedPayload("attachment size must be a non-negative integer")
    if not isinstance(entry.get("sha256"), str) or not _HEX64.match(entry["sha256"]):
        raise MalformedPayload("attachment sha256 must be 64 lowercase hex digits")


def validate(document: Any) -> dict[str, Any]:
    """Check a decoded payload against v1; return it as a dict."""
    if not isinstance(document, Mapping):
        raise MalformedPayload("payload is not a JSON object")
    version = document.get("v")
    if not isinstance(version, int) or isinstance(version, bool):
        raise MalformedPayload("payload has no integer version")
    if version != VERSION:
        raise UnknownPayloadVersion(f"payload version {version} is not supported (this reader knows {VERSION})")
    if document.get("type") != DOCUMENT_TYPE:
        raise MalformedPayload("payload is not a tipbox tip")
    if document.get("lang") not in LANGUAGES:
        raise MalformedPayload("payload language must be 'id' or 'en'")
    if document.get("sealed_by") not in SEALED_BY:
        raise MalformedPayload("payload sealed_by must be 'browser' or 'server'")
    answers = document.get("answers")
    if not isinstance(answers, Mapping) or not all(isinstance(k, str) and _check_answer(v) for k, v in answers.items()):
        raise MalformedPayload(
            "payload answers must map names to strings, integers, booleans, lists of strings or null"
        )
    attachments = document.get("attachments")
    check_attachments(attachments)
    return dict(document)


def check_attachments(attachments: Any) -> None:
    """An attachment manifest: a list of valid entries with unique ids."""
    if not isinstance(attachments, list):
        raise MalformedPayload("payload attachments must be a list")
    for entry in attachments:
        check_attachment(entry)
    if len({a["id"] for a in attachments}) != len(attachments):
        raise MalformedPayload("attachment ids must be unique")


def build(
    answers: Mapping[str, Any],
    *,
    lang: str,
    sealed_by: str,
    attachments: Sequence[Mapping[str, Any]] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble and validate a v1 payload document."""
    document: dict[str, Any] = {
        "v": VERSION,
        "type": DOCUMENT_TYPE,
        "lang": lang,
        "sealed_by": sealed_by,
        "answers": dict(answers),
        "attachments": [dict(a) for a in attachments],
        **(extra or {}),
    }
    return validate(document)


def encode(document: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes of a validated payload, *before* padding."""
    data = canonical_json(validate(document))
    if len(data) > MAX_PAYLOAD_BYTES:
        raise MalformedPayload("payload too large")
    return data


def parse_json(data: bytes) -> Any:
    """Unpadded bytes of a sealed document (a tip or a message) as JSON, size-checked."""
    if len(data) > MAX_PAYLOAD_BYTES:
        raise MalformedPayload("payload too large")
    try:
        return strict_json.loads(data)
    except MalformedJSON:
        raise MalformedPayload("payload is not UTF-8 JSON within tipbox's limits") from None


def decode(data: bytes) -> dict[str, Any]:
    """Parse unpadded payload bytes."""
    return validate(parse_json(data))


def seal_tip(document: Mapping[str, Any], recipients: Sequence[str | envelope.Recipient]) -> bytes:
    """Encode, pad and seal a tip payload: the bytes the server stores."""
    return envelope.seal_bytes(padding.pad(encode(document)), recipients)


def open_tip(sealed: bytes, identities: Sequence[str | envelope.Identity]) -> dict[str, Any]:
    """Open, unpad and decode a sealed tip payload."""
    return decode(padding.unpad(envelope.open_bytes(sealed, identities)))


__all__ = [
    "MalformedPadding",
    "MalformedPayload",
    "TipboxCryptoError",
    "UnknownPayloadVersion",
    "build",
    "decode",
    "encode",
    "open_tip",
    "seal_tip",
    "validate",
]
