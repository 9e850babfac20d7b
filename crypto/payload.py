"""The tip payload v1: the plaintext document inside a sealed tip.

See FORMAT.md, "Tip payload v1". The document is canonical JSON (see
:mod:`crypto.signing`) followed by Padmé padding (:mod:`crypto.padding`) and is
then sealed as one age file. The version field gates everything: a reader
refuses versions it does not know instead of guessing.

Parsing (:func:`parse`, :func:`decode`, :func:`open_tip`) returns a frozen
:class:`TipDocument`; :func:`build` assembles one from a mapping of answers.
Either way the document encodes to the same canonical bytes it was read from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeAlias

from . import envelope, padding, strict_json
from .documents import FrozenJSON, JSONDocument, JSONObject, JSONValue, frozen_members, no_members, thawed
from .errors import MalformedJSON, MalformedPadding, MalformedPayload, TipboxCryptoError, UnknownPayloadVersion
from .signing import canonical_json
from .vocabulary import TIP_SEALERS, Language, SealedBy, codes

VERSION = 1
DOCUMENT_TYPE = "tipbox-tip"
LANGUAGES = codes(Language)
SEALED_BY = tuple(s.value for s in TIP_SEALERS)
MAX_PAYLOAD_BYTES = 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")
_ATTACHMENT_ID = re.compile(r"^[0-9a-f]{32}\Z")
_MEMBERS = frozenset({"v", "type", "lang", "sealed_by", "answers", "attachments"})
_ATTACHMENT_MEMBERS = frozenset({"id", "name", "type", "size", "sha256"})

# The answer keys of FORMAT.md §3 (tipbox/intake/fields.py's form fields); a newer form may send others.
KNOWN_ANSWERS = frozenset(
    {
        "danger",
        "category",
        "description",
        "province",
        "regency",
        "place",
        "when",
        "ongoing",
        "victims_count",
        "victims_age_band",
        "victims_nationality",
        "responsible",
        "online_places",
        "how_known",
        "contact",
        "contact_consent",
    }
)
# One answer as sent, frozen: text, a count, a yes/no, a list of codes or texts, or nothing.
AnswerValue: TypeAlias = str | int | bool | tuple[str, ...] | None


@dataclass(frozen=True)
class AttachmentEntry:
    """One attachment in a tip's (or a follow-up's) manifest (FORMAT.md §3): content size and hash, before padding."""

    id: str
    name: str  # as the source's device gave it: untrusted text
    media_type: str  # the wire's ``type``: what the browser reported, untrusted
    size: int
    sha256: str
    extra: Mapping[str, FrozenJSON] = field(default_factory=no_members)  # members this reader ignores

    def as_document(self) -> JSONObject:
        return {
            **thawed(self.extra),
            "id": self.id,
            "name": self.name,
            "type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class Answers:
    """The form's answers (FORMAT.md §3): every answer as sent, and typed readers for the keys this reader knows.

    Readers must ignore answer keys they do not know, and a newer form may send
    a code this reader has no word for; neither is refused or dropped. So
    ``raw`` keeps every answer exactly as sent (it is what is encoded again, and
    :meth:`unknown` shows a reviewer what this version cannot name), and the
    properties read the known keys: a value of another type than the form's
    reads as ``None`` (or empty), never as an error. Codes stay strings, to be
    compared with crypto/vocabulary.py's ``StrEnum``s, so an unknown code can
    still be shown, marked unknown.
    """

    raw: Mapping[str, AnswerValue]

    @classmethod
    def of(cls, answers: Mapping[str, object]) -> Answers:
        """Answers from a mapping of JSON values (lists become tuples); the caller has checked their types."""
        frozen: dict[str, AnswerValue] = {}
        for key, value in answers.items():
            if isinstance(value, list | tuple):
                frozen[key] = tuple(str(item) for item in value)
            elif value is None or isinstance(value, str | int):
                frozen[key] = value
            else:
                raise MalformedPayload(f"answer {key!r} is not a JSON answer value")
        return cls(MappingProxyType(frozen))

    def as_document(self) -> JSONObject:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in self.raw.items()}

    def text(self, key: str) -> str | None:
        """A text answer, or None when it is absent, empty or not text."""
        value = self.raw.get(key)
        return value if isinstance(value, str) and value else None

    def texts(self, key: str) -> tuple[str, ...]:
        """A list answer (codes or texts), or () when it is absent or not a list."""
        value = self.raw.get(key)
        return value if isinstance(value, tuple) else ()

    def unknown(self) -> dict[str, AnswerValue]:
        """Answers whose key this reader does not know (a newer form's), as sent: shown, never interpreted."""
        return {key: value for key, value in self.raw.items() if key not in KNOWN_ANSWERS}

    @property
    def description(self) -> str | None:
        return self.text("description")

    @property
    def category(self) -> str | None:
        """A ``Category`` code, or one this reader does not know."""
        return self.text("category")

    @property
    def danger(self) -> tuple[str, ...]:
        """``Danger`` codes (or ones this reader does not know)."""
        return self.texts("danger")

    @property
    def province(self) -> str | None:
        return self.text("province")

    @property
    def regency(self) -> str | None:
        return self.text("regency")

    @property
    def place(self) -> str | None:
        return self.text("place")

    @property
    def when(self) -> str | None:
        return self.text("when")

    @property
    def ongoing(self) -> str | None:
        """An ``Ongoing`` code (or one this reader does not know)."""
        return self.text("ongoing")

    @property
    def victims_count(self) -> int | None:
        value = self.raw.get("victims_count")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def victims_age_band(self) -> str | None:
        """An ``AgeBand`` code (or one this reader does not know)."""
        return self.text("victims_age_band")

    @property
    def victims_nationality(self) -> str | None:
        return self.text("victims_nationality")

    @property
    def responsible(self) -> str | None:
        return self.text("responsible")

    @property
    def online_places(self) -> tuple[str, ...]:
        return self.texts("online_places")

    @property
    def how_known(self) -> str | None:
        """A ``HowKnown`` code (or one this reader does not know)."""
        return self.text("how_known")

    @property
    def contact(self) -> str | None:
        return self.text("contact")

    @property
    def contact_consent(self) -> bool:
        """True only for an explicit ``true``: anything else is no consent."""
        return self.raw.get("contact_consent") is True


@dataclass(frozen=True, eq=False)
class TipDocument(JSONDocument):
    """A valid v1 tip payload (FORMAT.md §3); reads as its JSON object too (see :mod:`crypto.documents`)."""

    version: int
    lang: Language
    sealed_by: SealedBy
    answers: Answers
    attachments: tuple[AttachmentEntry, ...]
    extra: Mapping[str, FrozenJSON] = field(default_factory=no_members)  # top-level members this reader ignores

    def as_document(self) -> JSONObject:
        return {
            **thawed(self.extra),
            "v": self.version,
            "type": DOCUMENT_TYPE,
            "lang": self.lang.value,
            "sealed_by": self.sealed_by.value,
            "answers": self.answers.as_document(),
            "attachments": [a.as_document() for a in self.attachments],
        }


def _check_answer(value: object) -> bool:
    if value is None or isinstance(value, bool | str):
        return True
    if isinstance(value, int):
        return True
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value)
    return False


def parse_attachment(entry: object) -> AttachmentEntry:
    """An attachment manifest entry exactly as FORMAT.md §3 says, or MalformedPayload."""
    if not isinstance(entry, Mapping):
        raise MalformedPayload("attachment entry is not an object")
    attachment_id = entry.get("id")
    if not isinstance(attachment_id, str) or not _ATTACHMENT_ID.match(attachment_id):
        raise MalformedPayload("attachment id must be 32 lowercase hex digits")
    name, media_type = entry.get("name"), entry.get("type")
    if not isinstance(name, str):
        raise MalformedPayload("attachment name must be a string")
    if not isinstance(media_type, str):
        raise MalformedPayload("attachment type must be a string")
    size = entry.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise MalformedPayload("attachment size must be a non-negative integer")
    sha256 = entry.get("sha256")
    if not isinstance(sha256, str) or not _HEX64.match(sha256):
        raise MalformedPayload("attachment sha256 must be 64 lowercase hex digits")
    return AttachmentEntry(
        attachment_id, name, media_type, size, sha256, frozen_members(entry, _ATTACHMENT_MEMBERS)
    )


def parse_attachments(attachments: object) -> tuple[AttachmentEntry, ...]:
    """An attachment manifest: a list of valid entries with unique ids."""
    if not isinstance(attachments, list):
        raise MalformedPayload("payload attachments must be a list")
    entries = tuple(parse_attachment(entry) for entry in attachments)
    if len({a.id for a in entries}) != len(entries):
        raise MalformedPayload("attachment ids must be unique")
    return entries


def parse(document: object) -> TipDocument:
    """Check a decoded payload against v1; return it typed."""
    if not isinstance(document, Mapping):
        raise MalformedPayload("payload is not a JSON object")
    version = document.get("v")
    if not isinstance(version, int) or isinstance(version, bool):
        raise MalformedPayload("payload has no integer version")
    if version != VERSION:
        raise UnknownPayloadVersion(f"payload version {version} is not supported (this reader knows {VERSION})")
    if document.get("type") != DOCUMENT_TYPE:
        raise MalformedPayload("payload is not a tipbox tip")
    lang = document.get("lang")
    if not isinstance(lang, str) or lang not in LANGUAGES:
        raise MalformedPayload("payload language must be 'id' or 'en'")
    sealed_by = document.get("sealed_by")
    if not isinstance(sealed_by, str) or sealed_by not in SEALED_BY:
        raise MalformedPayload("payload sealed_by must be 'browser' or 'server'")
    answers = document.get("answers")
    if not isinstance(answers, Mapping) or not all(isinstance(k, str) and _check_answer(v) for k, v in answers.items()):
        raise MalformedPayload(
            "payload answers must map names to strings, integers, booleans, lists of strings or null"
        )
    attachments = parse_attachments(document.get("attachments"))
    return TipDocument(
        version,
        Language(lang),
        SealedBy(sealed_by),
        Answers.of(answers),
        attachments,
        frozen_members(document, _MEMBERS),
    )


def _manifest(attachments: Sequence[AttachmentEntry | Mapping[str, object]]) -> list[object]:
    return [a.as_document() if isinstance(a, AttachmentEntry) else dict(a) for a in attachments]


def build(
    answers: Mapping[str, object],
    *,
    lang: Language | str,
    sealed_by: SealedBy | str,
    attachments: Sequence[AttachmentEntry | Mapping[str, object]] = (),
    extra: Mapping[str, JSONValue] | None = None,
) -> TipDocument:
    """Assemble and validate a v1 payload document (through :func:`parse`, the one validation)."""
    document: dict[str, object] = {
        "v": VERSION,
        "type": DOCUMENT_TYPE,
        "lang": lang,
        "sealed_by": sealed_by,
        "answers": {k: list(v) if isinstance(v, tuple) else v for k, v in answers.items()},
        "attachments": _manifest(attachments),
        **(extra or {}),
    }
    return parse(document)


def encode(document: TipDocument | Mapping[str, object]) -> bytes:
    """Canonical JSON bytes of a valid payload, *before* padding."""
    typed = document if isinstance(document, TipDocument) else parse(document)
    data = canonical_json(typed.as_document())
    if len(data) > MAX_PAYLOAD_BYTES:
        raise MalformedPayload("payload too large")
    return data


def parse_json(data: bytes) -> object:
    """Unpadded bytes of a sealed document (a tip or a message) as JSON, size-checked."""
    if len(data) > MAX_PAYLOAD_BYTES:
        raise MalformedPayload("payload too large")
    try:
        parsed: object = strict_json.loads(data)
    except MalformedJSON:
        raise MalformedPayload("payload is not UTF-8 JSON within tipbox's limits") from None
    return parsed


def decode(data: bytes) -> TipDocument:
    """Parse unpadded payload bytes."""
    return parse(parse_json(data))


def seal_tip(document: TipDocument | Mapping[str, object], recipients: Sequence[str | envelope.Recipient]) -> bytes:
    """Encode, pad and seal a tip payload: the bytes the server stores."""
    return envelope.seal_bytes(padding.pad(encode(document)), recipients)


def open_tip(sealed: bytes, identities: Sequence[str | envelope.Identity]) -> TipDocument:
    """Open, unpad and decode a sealed tip payload."""
    return decode(padding.unpad(envelope.open_bytes(sealed, identities)))


__all__ = [
    "Answers",
    "AttachmentEntry",
    "MalformedPadding",
    "MalformedPayload",
    "TipDocument",
    "TipboxCryptoError",
    "UnknownPayloadVersion",
    "build",
    "decode",
    "encode",
    "open_tip",
    "parse",
    "parse_attachments",
    "seal_tip",
]
