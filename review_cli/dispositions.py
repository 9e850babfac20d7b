"""`tipbox-review dispositions export`: signed status changes and replies for the server.

The file is a signed tipbox document (crypto/FORMAT.md §6 and §10, context
``tipbox/dispositions/v1``) made with the Ed25519 key derived from the
reviewer's identity. Its body (version 2) holds only ids, statuses, hold end
dates and hold reason codes, the agency *kind* a source may be told about
(``disclose``), and the replies written with ``tipbox-review reply``, each an
age file sealed to the source and the reviewers: never a category, a note or
anything else from a tip. The body is built with crypto/dispositions.py's
helpers and checked with its parser (the server's) before it is signed.

The workspace remembers (in ``dispositions.age``, sealed to the reviewer) what
each tip's last exported disposition was, so the next export lists only what
changed since (``--all`` lists every triaged tip's current state again), and
which replies a file already carried, so each reply is sent once.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from crypto import dispositions as shared
from crypto.errors import MalformedDispositions
from crypto.signing import CONTEXT_DISPOSITIONS, canonical_json, sign_document

from .conversation import OutgoingReply
from .errors import StateConflict
from .server_facts import HoldLimit
from .tips import short
from .workspace import Keys, Workspace, iso, open_record, seal_record, write_atomic

DOCUMENT_TYPE = shared.DOCUMENT_TYPE
VERSION = shared.VERSION
STATE_TYPE = "tipbox-review-dispositions-state"


def entry_of(tip_id: str, current: Mapping[str, Any]) -> dict[str, Any]:
    """The entry for a tip's current triage fields, as crypto/dispositions.py writes it."""
    hold_until = None
    if current["status"] == "hold":
        hold_until = datetime.strptime(current["hold_until"], "%Y-%m-%d")
    entry = shared.Entry(
        tip_id,
        current["status"],
        hold_until=hold_until,
        hold_reason=current.get("hold_reason") if current["status"] == "hold" else None,
        disclose=current.get("disclose"),
    )
    return shared.entry_document(entry)


def load_state(ws: Workspace, keys: Keys) -> dict[str, Any]:
    try:
        data = ws.dispositions_file.read_bytes()
    except FileNotFoundError:
        return {"type": STATE_TYPE, "v": 1, "exported": {}, "files": [], "replies": {}}
    state = open_record(data, keys, "the dispositions record")
    if state.get("type") != STATE_TYPE or not isinstance(state.get("exported"), dict):
        raise StateConflict("the dispositions record is damaged; restore it from a backup or use --all")
    if not isinstance(state.setdefault("replies", {}), dict):
        raise StateConflict("the dispositions record is damaged; restore it from a backup")
    return state


def sent_replies(state: Mapping[str, Any]) -> dict[str, Any]:
    """reply id -> {"file": dispositions file id, "at": its created time}, for replies already exported."""
    return dict(state.get("replies") or {})


@dataclass
class Export:
    document: dict[str, Any]
    data: bytes
    state: dict[str, Any]

    @property
    def entries(self) -> list[dict[str, Any]]:
        return self.document["body"]["entries"]

    @property
    def replies(self) -> list[dict[str, Any]]:
        return self.document["body"]["replies"]

    @property
    def empty(self) -> bool:
        return not self.entries and not self.replies


def build_export(
    currents: Mapping[str, Mapping[str, Any]],
    state: Mapping[str, Any],
    keys: Keys,
    now: datetime,
    *,
    everything: bool,
    hold_limit: HoldLimit,
    replies: Sequence[OutgoingReply] = (),
) -> Export:
    """Entries for every tip whose disposition differs from the last export (or all, with ``everything``),
    and every pending reply."""
    exported = state["exported"]
    entries = []
    today = now.date()
    for tip_id in sorted(currents):
        current = currents[tip_id]
        if current["status"] == "hold":
            until = date.fromisoformat(current["hold_until"])
            if until <= today:
                raise StateConflict(
                    f"tip {short(tip_id)}: its hold ended on {until}; renew it (triage --hold-until) or change its status"
                )
            if until > today + timedelta(days=hold_limit.days):
                raise StateConflict(
                    f"tip {short(tip_id)}: its hold ends more than {hold_limit.days} days from now ({hold_limit.origin}); "
                    "shorten it with triage --hold-until"
                )
        entry = entry_of(tip_id, current)
        previous = exported.get(tip_id)
        if everything or previous != entry:
            if previous is None and entry == {"tip_id": tip_id, "status": "new"} and not everything:
                continue  # the server's default: nothing to say
            entries.append(entry)
    body = {
        "type": DOCUMENT_TYPE,
        "v": VERSION,
        "id": secrets.token_hex(16),
        "created": iso(now),
        "entries": entries,
        "replies": [shared.reply_document(r.id, r.tip_id, r.sealed) for r in replies],
    }
    try:  # exactly what the server will check (crypto/dispositions.py), before signing
        shared.parse_body(body, now.replace(tzinfo=None), hold_limit.days)
    except MalformedDispositions as exc:
        raise StateConflict(f"the dispositions file would be refused: {exc}; nothing was written") from None
    document = sign_document(body, CONTEXT_DISPOSITIONS, keys.identity.signing_key)
    sent = {r.id: {"file": body["id"], "at": body["created"], "tip_id": r.tip_id} for r in replies}
    new_state = {
        **state,
        "exported": {**exported, **{e["tip_id"]: e for e in entries}},
        "files": [
            *state.get("files", []),
            {"id": body["id"], "created": body["created"], "entries": len(entries), "replies": len(replies)},
        ],
        "replies": {**sent_replies(state), **sent},
    }
    return Export(document, canonical_json(document) + b"\n", new_state)


def save_state(ws: Workspace, keys: Keys, state: Mapping[str, Any]) -> None:
    write_atomic(ws.dispositions_file, seal_record(state, keys))
