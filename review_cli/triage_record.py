"""The triage record of one tip, as typed data: the reviewer's current assessment and its full history.

A record is JSON sealed to the reviewer's own age recipient
(``triage/<id>.age``): triage notes and even a category reveal what a tip is
about, so they are ciphertext at rest like the tip itself. Every change is
appended to ``history`` with the time and the fingerprint of the reviewer's
signing key; nothing is ever removed from it.

This module only reads, writes and describes records; review_cli/triage.py
decides what a change may be, and review_cli/index.py caches the current
fields for `list`. Both import this module, neither imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TypeAlias

from crypto.documents import JSONObject, JSONValue
from crypto.vocabulary import AgencyKind, HoldReason, MaterialClass, Status, codes

from .records import Fields, RecordKind
from .workspace import Keys, Workspace, short

TRIAGE = RecordKind("tipbox-triage", 1, "restore it from a backup")

# What a field was or became, as the history keeps it: a code or text, a list of codes, or nothing.
FieldValue: TypeAlias = str | tuple[str, ...] | None


@dataclass(frozen=True)
class Triage:
    """The current triage fields of a tip (a new tip's are the defaults)."""

    category: str | None = None  # a Category code
    priority: str | None = None  # a Priority code
    priority_reason: str | None = None
    regions: tuple[str, ...] = ()  # Kemendagri codes
    targets: tuple[str, ...] = ()  # agency codes (review_cli/taxonomy.py AGENCIES)
    notes: str | None = None
    status: Status = Status.NEW
    hold_until: str | None = None  # YYYY-MM-DD, only when on hold
    hold_reason: HoldReason | None = None  # only when on hold
    disclose: AgencyKind | None = None  # the agency kind the source may be told about, or None: nothing
    # Each classified attachment as "<attachment id>=<MaterialClass code>", in the order first classified.
    # Records written before classes existed have none (read as empty).
    classes: tuple[str, ...] = ()

    def class_of(self) -> dict[str, str]:
        """Attachment id -> material class code."""
        return dict(entry.split("=", 1) for entry in self.classes if "=" in entry)

    def values(self) -> dict[str, FieldValue]:
        """Field name -> value, in the record's order (the names are the record's members)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def changes_from(self, old: Triage) -> dict[str, tuple[FieldValue, FieldValue]]:
        """What differs from ``old``: field name -> (old, new)."""
        before, after = old.values(), self.values()
        return {name: (before[name], after[name]) for name in after if before[name] != after[name]}

    def as_json(self) -> JSONObject:
        return {name: _json(value) for name, value in self.values().items()}

    @classmethod
    def read(cls, raw: Fields) -> Triage:
        """The fields of a record (or of the list cache); a member missing from an older record takes its default."""
        return cls(
            category=raw.optional_text("category"),
            priority=raw.optional_text("priority"),
            priority_reason=raw.optional_text("priority_reason"),
            regions=raw.texts("regions"),
            targets=raw.texts("targets"),
            notes=raw.optional_text("notes"),
            status=raw.code("status", Status) if raw.value("status") is not None else Status.NEW,
            hold_until=raw.optional_text("hold_until"),
            hold_reason=raw.optional_code("hold_reason", HoldReason),
            disclose=raw.optional_code("disclose", AgencyKind),
            classes=_classes(raw),
        )


def _classes(raw: Fields) -> tuple[str, ...]:
    entries = raw.texts("classes")
    for entry in entries:
        attachment_id, _, code = entry.partition("=")
        if not attachment_id or code not in codes(MaterialClass):
            raise raw.error("classes holds something other than attachment=class")
    return entries


def _json(value: FieldValue) -> JSONValue:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class Referral:
    """A referral packet written with `refer`: to whom, in which format and language, and its SHA-256."""

    to: str
    format: str
    lang: str
    sha256: str


@dataclass(frozen=True)
class HistoryItem:
    at: str
    by: str  # fingerprint of the reviewer's signing key
    changes: Mapping[str, tuple[FieldValue, FieldValue]]
    referral: Referral | None = None

    def as_json(self) -> JSONObject:
        document: JSONObject = {
            "at": self.at,
            "by": self.by,
            "changes": {name: [_json(old), _json(new)] for name, (old, new) in self.changes.items()},
        }
        if self.referral is not None:
            r = self.referral
            document["referral"] = {"to": r.to, "format": r.format, "lang": r.lang, "sha256": r.sha256}
        return document

    @classmethod
    def read(cls, raw: Fields) -> HistoryItem:
        changes: dict[str, tuple[FieldValue, FieldValue]] = {}
        for name, pair in raw.member("changes").raw.items():
            if not isinstance(pair, list) or len(pair) != 2:
                raise raw.error("a change is not a pair of values")
            old, new = (_field_value(value, raw) for value in pair)
            changes[name] = (old, new)
        referral = None
        if raw.value("referral") is not None:
            r = raw.member("referral")
            referral = Referral(r.text("to"), r.text("format"), r.text("lang"), r.text("sha256"))
        return cls(raw.text("at"), raw.text("by"), changes, referral)


def _field_value(value: object, raw: Fields) -> FieldValue:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise raw.error("a change holds something other than text or a list of text")


@dataclass(frozen=True)
class TriageRecord:
    tip_id: str
    current: Triage = field(default_factory=Triage)
    history: tuple[HistoryItem, ...] = ()

    def changed(self, new: Triage, item: HistoryItem) -> TriageRecord:
        """This record with ``new`` as its current fields and ``item`` appended to its history."""
        return TriageRecord(self.tip_id, new, (*self.history, item))

    def seal(self, keys: Keys) -> bytes:
        return TRIAGE.seal(
            {
                "tip_id": self.tip_id,
                "current": self.current.as_json(),
                "history": [item.as_json() for item in self.history],
            },
            keys,
        )


def what(tip_id: str) -> str:
    return f"the triage record of tip {short(tip_id)}"


def read(data: bytes, keys: Keys, tip_id: str) -> TriageRecord:
    """Open a sealed triage record and check it is ``tip_id``'s."""
    raw = TRIAGE.open(data, keys, what(tip_id))
    if raw.value("tip_id") != tip_id:
        raise raw.error("it belongs to another tip")
    current = Triage.read(raw.member("current"))
    return TriageRecord(tip_id, current, tuple(HistoryItem.read(item) for item in raw.items("history")))


def load(ws: Workspace, keys: Keys, tip_id: str) -> TriageRecord:
    """The tip's record, or a new empty one."""
    try:
        data = ws.triage_path(tip_id).read_bytes()
    except FileNotFoundError:
        return TriageRecord(tip_id)
    return read(data, keys, tip_id)


__all__ = ["TRIAGE", "FieldValue", "HistoryItem", "Referral", "Triage", "TriageRecord", "load", "read"]
