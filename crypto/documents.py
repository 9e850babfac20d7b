"""What tipbox's typed documents share: the JSON value types and a read-only JSON view.

Parsing a document (:mod:`crypto.payload`, :mod:`crypto.messages`,
:mod:`crypto.bundle`) returns a frozen dataclass with typed fields, codes as
crypto/vocabulary.py's ``StrEnum``s; raw JSON stays at the parse boundary.

A parsed document can still be read as the JSON object it is on the wire:
:class:`JSONDocument` is a read-only ``Mapping`` of its canonical form
(``as_document()``), so it compares equal to that object and ``doc["answers"]``
reads as JSON. The view is for code that treats documents as JSON on purpose
(the test vectors, the JS-interop and server tests, which compare whole
documents); typed code uses the attributes, and mypy types the view's values
as :data:`JSONValue`, which must be narrowed before use.

Members a reader does not know are kept (frozen) in each document's ``extra``,
never interpreted, so a document parsed and encoded again is the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TypeAlias

# JSON as crypto.strict_json.loads returns it (no floats: tipbox's canonical JSON has none).
JSONValue: TypeAlias = None | bool | int | str | list["JSONValue"] | dict[str, "JSONValue"]
JSONObject: TypeAlias = dict[str, JSONValue]
# The same, immutable: what a frozen document keeps of members it does not interpret.
FrozenJSON: TypeAlias = None | bool | int | str | tuple["FrozenJSON", ...] | Mapping[str, "FrozenJSON"]


def freeze(value: object) -> FrozenJSON:
    """``value`` (parsed JSON) with lists as tuples and objects as read-only mappings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    if isinstance(value, Mapping):
        return MappingProxyType({str(key): freeze(item) for key, item in value.items()})
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def thaw(value: FrozenJSON) -> JSONValue:
    """The JSON form of a frozen value: what :func:`crypto.signing.canonical_json` encodes."""
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    return value


def frozen_members(document: Mapping[str, object], known: frozenset[str]) -> Mapping[str, FrozenJSON]:
    """The members of ``document`` a reader does not know, frozen (kept, never interpreted)."""
    return MappingProxyType({key: freeze(value) for key, value in document.items() if key not in known})


def no_members() -> Mapping[str, FrozenJSON]:
    """An empty ``extra``: the default of a document built from known members only."""
    return MappingProxyType({})


def thawed(members: Mapping[str, FrozenJSON]) -> JSONObject:
    return {key: thaw(value) for key, value in members.items()}


class JSONDocument(Mapping[str, JSONValue]):
    """A typed document that also reads as its canonical JSON object (read-only).

    Subclasses are frozen dataclasses declared with ``eq=False``, so equality is
    the ``Mapping``'s: two documents, or a document and a ``dict``, are equal
    when their JSON is. Each lookup builds the JSON afresh: the view is for
    comparisons and tests, not for hot paths.
    """

    __slots__ = ()

    def as_document(self) -> JSONObject:
        raise NotImplementedError

    def __getitem__(self, key: str) -> JSONValue:
        return self.as_document()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_document())

    def __len__(self) -> int:
        return len(self.as_document())


__all__ = [
    "FrozenJSON",
    "JSONDocument",
    "JSONObject",
    "JSONValue",
    "freeze",
    "frozen_members",
    "no_members",
    "thaw",
    "thawed",
]
