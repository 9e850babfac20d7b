"""`tipbox-review dispositions export`: signed status changes for the server.

The file is a signed tipbox document (crypto/FORMAT.md §6, context
``tipbox/dispositions/v1``) made with the Ed25519 key derived from the
reviewer's identity. Its body holds only ids, statuses, hold end dates and
hold reason codes: never a category, a note or anything else from a tip. See
docs/review.md, "Dispositions file", for the format.

The workspace remembers (in ``dispositions.age``, sealed to the reviewer) what
each tip's last exported disposition was, so the next export lists only what
changed since; ``--all`` lists every triaged tip's current state again.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from crypto.signing import CONTEXT_DISPOSITIONS, canonical_json, sign_document

from .errors import StateConflict
from .taxonomy import MAX_HOLD_DAYS
from .tips import short
from .workspace import Keys, Workspace, iso, open_record, seal_record, write_atomic

DOCUMENT_TYPE = "tipbox-dispositions"
VERSION = 1
STATE_TYPE = "tipbox-review-dispositions-state"


def entry_of(tip_id: str, current: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"tip_id": tip_id, "status": current["status"]}
    if current["status"] == "hold":
        entry["hold_until"] = current["hold_until"]
        entry["hold_reason"] = current["hold_reason"]
    return entry


def load_state(ws: Workspace, keys: Keys) -> dict[str, Any]:
    try:
        data = ws.dispositions_file.read_bytes()
    except FileNotFoundError:
        return {"type": STATE_TYPE, "v": 1, "exported": {}, "files": []}
    state = open_record(data, keys, "the dispositions record")
    if state.get("type") != STATE_TYPE or not isinstance(state.get("exported"), dict):
        raise StateConflict("the dispositions record is damaged; restore it from a backup or use --all")
    return state


@dataclass
class Export:
    document: dict[str, Any]
    data: bytes
    state: dict[str, Any]

    @property
    def entries(self) -> list[dict[str, Any]]:
        return self.document["body"]["entries"]


def build_export(
    currents: Mapping[str, Mapping[str, Any]], state: Mapping[str, Any], keys: Keys, now: datetime, *, everything: bool
) -> Export:
    """Entries for every tip whose disposition differs from the last export (or all, with ``everything``)."""
    exported = state["exported"]
    entries = []
    today = now.date()
    for tip_id in sorted(currents):
        entry = entry_of(tip_id, currents[tip_id])
        if entry["status"] == "hold":
            until = date.fromisoformat(entry["hold_until"])
            if until <= today:
                raise StateConflict(
                    f"tip {short(tip_id)}: its hold ended on {until}; renew it (triage --hold-until) or change its status"
                )
            if until > today + timedelta(days=MAX_HOLD_DAYS):
                raise StateConflict(f"tip {short(tip_id)}: its hold ends more than {MAX_HOLD_DAYS} days from now")
        previous = exported.get(tip_id)
        if everything or previous != entry:
            if previous is None and entry["status"] == "new" and not everything:
                continue  # the server's default: nothing to say
            entries.append(entry)
    body = {
        "type": DOCUMENT_TYPE,
        "v": VERSION,
        "id": secrets.token_hex(16),
        "created": iso(now),
        "entries": entries,
    }
    document = sign_document(body, CONTEXT_DISPOSITIONS, keys.identity.signing_key)
    new_state = {
        **state,
        "exported": {**exported, **{e["tip_id"]: e for e in entries}},
        "files": [*state.get("files", []), {"id": body["id"], "created": body["created"], "entries": len(entries)}],
    }
    return Export(document, canonical_json(document) + b"\n", new_state)


def save_state(ws: Workspace, keys: Keys, state: Mapping[str, Any]) -> None:
    write_atomic(ws.dispositions_file, seal_record(state, keys))
