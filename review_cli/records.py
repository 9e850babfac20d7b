"""Workspace records: how each kind is written and read back, and the one error when one cannot be.

A record is a JSON object whose ``type`` names its kind and whose ``v`` its
version (a :class:`RecordKind`). Records about tips (triage, replies, source
recipients, the dispositions state, the list cache) are sealed to the
reviewer's own recipient, with age and Padmé padding like everything tipbox
stores; records of public facts (``reviewers.json``) are plain JSON.

Reading is the same for every kind: open (sealed ones), parse the JSON, check
``type`` and ``v``, then read members through :class:`Fields`, which types
them. Whatever is wrong (the record does not
open with this identity, its padding or JSON is broken, it is another kind of
record, a member has the wrong type, a newer tipbox-review wrote it) is one
:class:`~review_cli.errors.DamagedRecord`: exit code 3, a message naming the
record and what to do. Records are written only by this program, so none of
this is expected; it must still never be a traceback or a wrong answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from crypto import envelope, padding
from crypto.documents import JSONObject, JSONValue
from crypto.errors import MalformedPadding, NoMatchingIdentity, TipboxCryptoError
from crypto.signing import canonical_json

from .errors import DamagedRecord

Code = TypeVar("Code")


class OwnKeys(Protocol):
    """What sealing a record to oneself needs (review_cli.workspace.Keys has it)."""

    @property
    def recipient(self) -> str: ...

    @property
    def age(self) -> envelope.Identity: ...


@dataclass(frozen=True)
class Fields:
    """A record's members, read with the types the record promises; anything else raises ``error``."""

    raw: Mapping[str, object]
    error: Callable[[str], DamagedRecord]  # why -> the record's error

    def value(self, key: str) -> object:
        return self.raw.get(key)

    def text(self, key: str) -> str:
        value = self.raw.get(key)
        if not isinstance(value, str):
            raise self.error(f"{key} is not text")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is not None and not isinstance(value, str):
            raise self.error(f"{key} is not text")
        return value

    def integer(self, key: str) -> int:
        value = self.raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(f"{key} is not a number")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of strings; absent or null reads as empty (records written before the member existed)."""
        value = self.raw.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(f"{key} is not a list of text")
        return tuple(value)

    def items(self, key: str) -> list[Fields]:
        """A list of objects, each read as Fields with the same error."""
        value = self.raw.get(key)
        if not isinstance(value, list):
            raise self.error(f"{key} is not a list")
        return [self.nested(item, key) for item in value]

    def table(self, key: str) -> dict[str, Fields]:
        """An object of objects (id -> entry), each read as Fields with the same error."""
        value = self.raw.get(key)
        if not isinstance(value, Mapping):
            raise self.error(f"{key} is not an object")
        return {str(name): self.nested(item, key) for name, item in value.items()}

    def strings(self, key: str) -> dict[str, str]:
        """An object of strings (id -> text)."""
        return self.nested(self.raw.get(key), key).all_text()

    def all_text(self) -> dict[str, str]:
        """Every member, each of which must be text (an object of strings, read whole)."""
        if not all(isinstance(value, str) for value in self.raw.values()):
            raise self.error("an entry holds something that is not text")
        return {str(key): str(value) for key, value in self.raw.items()}

    def member(self, key: str) -> Fields:
        """A member that is an object, read as Fields with the same error."""
        return self.nested(self.raw.get(key), key)

    def nested(self, value: object, where: str) -> Fields:
        if not isinstance(value, Mapping):
            raise self.error(f"{where} holds something that is not an object")
        return Fields(value, self.error)

    def code(self, key: str, kind: Callable[[str], Code]) -> Code:
        """A code of a vocabulary (a StrEnum): unknown text is damage."""
        try:
            return kind(self.text(key))
        except ValueError:
            raise self.error(f"{key} is not a known code") from None

    def optional_code(self, key: str, kind: Callable[[str], Code]) -> Code | None:
        return None if self.raw.get(key) is None else self.code(key, kind)


def _object(data: bytes, error: Callable[[str], DamagedRecord]) -> Mapping[str, object]:
    """The JSON object in ``data``, with the standard library's C parser.

    Records are written by this program, so crypto.strict_json (for JSON another
    side wrote, FORMAT.md §3) is not needed, and `list` reads one per tip:
    10,000 with the strict reader's depth walk cost about half a second.
    """
    try:
        document: object = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise error("not JSON") from None
    if not isinstance(document, Mapping):
        raise error("not a JSON object")
    return document


def read_json(data: bytes, what: str, remedy: str) -> Fields:
    """A plain JSON object that has no type or version of its own (meta.json: a signed manifest entry)."""

    def error(why: str) -> DamagedRecord:
        return damaged(what, why, remedy)

    return Fields(_object(data, error), error)


def damaged(what: str, why: str, remedy: str) -> DamagedRecord:
    """The one message style: what, why, and what to do."""
    return DamagedRecord(f"{what} is damaged ({why}); {remedy}")


@dataclass(frozen=True)
class RecordKind:
    """One kind of workspace record: its ``type``, the ``v`` this program writes and reads, and the remedy."""

    type: str
    version: int
    remedy: str  # what the reviewer can do when one is damaged

    def document(self, body: Mapping[str, JSONValue]) -> JSONObject:
        return {"type": self.type, "v": self.version, **{k: v for k, v in body.items() if k not in ("type", "v")}}

    def seal(self, body: Mapping[str, JSONValue], keys: OwnKeys) -> bytes:
        """The record sealed (age + Padmé) to the reviewer's own recipient."""
        return envelope.seal_bytes(padding.pad(canonical_json(self.document(body))), [keys.recipient])

    def open(self, data: bytes, keys: OwnKeys, what: str) -> Fields:
        """A sealed record's members, after its type and version are checked."""
        try:
            plaintext = padding.unpad(envelope.open_bytes(data, [keys.age]))
        except NoMatchingIdentity:
            raise damaged(what, "it is not sealed to this identity", self.remedy) from None
        except MalformedPadding:
            raise damaged(what, "bad padding", self.remedy) from None
        except TipboxCryptoError as exc:
            raise damaged(what, f"it cannot be decrypted: {exc}", self.remedy) from None
        return self.checked(plaintext, what)

    def json_text(self, body: Mapping[str, JSONValue]) -> bytes:
        """A plain record as the JSON text written to disk (indented: it is meant to be readable)."""
        return json.dumps(self.document(body), indent=1).encode() + b"\n"

    def checked(self, data: bytes, what: str) -> Fields:
        """A record's members from its JSON bytes, after its type and version are checked."""
        fields = Fields(_object(data, self._damaged(what)), self._damaged(what))
        if fields.value("type") != self.type:
            raise damaged(what, f"it is not a {self.type} record", self.remedy)
        version = fields.value("v")
        if version != self.version:
            raise DamagedRecord(
                f"{what} has version {version!r}, which this tipbox-review does not know (it reads {self.version});"
                " update tipbox-review"
            )
        return fields

    def _damaged(self, what: str) -> Callable[[str], DamagedRecord]:
        return lambda why: damaged(what, why, self.remedy)


__all__ = ["Fields", "OwnKeys", "RecordKind", "damaged", "read_json"]
