"""``dispositions.age``: what earlier `dispositions export` runs sent, sealed to the reviewer.

For each tip, the entry the last export carried (so the next one lists only
what changed); every file written; and which replies a file already carried
(so each reply is sent once, and a sent reply cannot be discarded). Read by
review_cli/dispositions.py, which builds exports, and by
review_cli/conversation.py, which must know which replies are still pending.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from crypto.documents import JSONObject

from .records import Fields, RecordKind
from .workspace import Keys, Workspace, write_atomic

STATE = RecordKind("tipbox-review-dispositions-state", 1, "restore it from a backup or use --all")
# An entry as crypto/dispositions.py writes it (tip_id, status, and hold or disclose members): all text.
EntryDocument = Mapping[str, str]


@dataclass(frozen=True)
class SentReply:
    """Which dispositions file carried a reply, and when."""

    file: str  # the dispositions file's id
    at: str  # its created time
    tip_id: str | None = None

    def as_json(self) -> JSONObject:
        return {"file": self.file, "at": self.at, "tip_id": self.tip_id}


@dataclass(frozen=True)
class SentHandover:
    """Which dispositions package carried a forward or a reseal of a tip (the re-sealed files travel in it)."""

    file: str  # the package's id
    at: str
    to: str | None  # the channel a forward went to; None for a reseal
    lead: bool = False

    def as_json(self) -> JSONObject:
        return {"file": self.file, "at": self.at, "to": self.to, "lead": self.lead}


@dataclass(frozen=True)
class ExportedFile:
    id: str
    created: str
    entries: int
    replies: int
    handovers: int = 0

    def as_json(self) -> JSONObject:
        return {"id": self.id, "created": self.created, "entries": self.entries, "replies": self.replies,
                "handovers": self.handovers}


@dataclass(frozen=True)
class State:
    exported: Mapping[str, EntryDocument] = field(default_factory=dict)  # tip id -> the entry last exported
    files: tuple[ExportedFile, ...] = ()
    replies: Mapping[str, SentReply] = field(default_factory=dict)  # reply id -> the file that carried it
    # tip id -> the package that carried its latest forward or reseal
    handovers: Mapping[str, SentHandover] = field(default_factory=dict)

    def as_json(self) -> JSONObject:
        return {
            "exported": {tip_id: dict(entry) for tip_id, entry in self.exported.items()},
            "files": [f.as_json() for f in self.files],
            "replies": {reply_id: sent.as_json() for reply_id, sent in self.replies.items()},
            "handovers": {tip_id: sent.as_json() for tip_id, sent in self.handovers.items()},
        }


def _file(raw: Fields) -> ExportedFile:
    handovers = raw.integer("handovers") if raw.value("handovers") is not None else 0  # files before forwards
    return ExportedFile(raw.text("id"), raw.text("created"), raw.integer("entries"), raw.integer("replies"), handovers)


def _handover(raw: Fields) -> SentHandover:
    lead = raw.value("lead")
    if not isinstance(lead, bool):
        raise raw.error("a handover's lead is not true or false")
    return SentHandover(raw.text("file"), raw.text("at"), raw.optional_text("to"), lead)


def _sent(raw: Fields) -> SentReply:
    return SentReply(raw.text("file"), raw.text("at"), raw.optional_text("tip_id"))


def load_state(ws: Workspace, keys: Keys) -> State:
    try:
        data = ws.dispositions_file.read_bytes()
    except FileNotFoundError:
        return State()
    raw = STATE.open(data, keys, "the dispositions record")
    exported = {tip_id: entry.all_text() for tip_id, entry in raw.table("exported").items()}
    replies = raw.table("replies") if raw.value("replies") is not None else {}
    handovers = raw.table("handovers") if raw.value("handovers") is not None else {}
    return State(
        exported,
        tuple(_file(item) for item in raw.items("files")) if raw.value("files") is not None else (),
        {reply_id: _sent(item) for reply_id, item in replies.items()},
        {tip_id: _handover(item) for tip_id, item in handovers.items()},
    )


def save_state(ws: Workspace, keys: Keys, state: State) -> None:
    write_atomic(ws.dispositions_file, STATE.seal(state.as_json(), keys))


__all__ = ["STATE", "EntryDocument", "ExportedFile", "SentHandover", "SentReply", "State", "load_state", "save_state"]
