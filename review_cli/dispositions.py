"""`tipbox-review dispositions export`: signed status changes and replies for the server.

The file is a signed tipbox document (crypto/FORMAT.md §6 and §10, context
``tipbox/dispositions/v1``) made with the Ed25519 key derived from the
reviewer's identity. Its body (version 2) holds only ids, statuses, hold end
dates and hold reason codes, the agency *kind* a source may be told about
(``disclose``), and the replies written with ``tipbox-review reply``, each an
age file sealed to the source and the reviewers: never a category, a note or
anything else from a tip. The body is built with crypto/dispositions.py's
helpers and checked with its parser (the server's) before it is signed.

The workspace remembers (in ``dispositions.age``, sealed to the reviewer:
review_cli/dispositions_state.py) what each tip's last exported disposition
was, so the next export lists only what changed since (``--all`` lists every
triaged tip's current state again), and which replies a file already carried,
so each reply is sent once.

With channels (FORMAT.md §14), only the tips the workspace's channel leads
go in a file: the server refuses a whole file that touches a tip the signer's
channel only reads along. The caller splits the tips (review_cli/channels.py);
:func:`changed_count` says how many entries stayed behind.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from crypto import dispositions as shared
from crypto.documents import JSONObject
from crypto.errors import MalformedDispositions
from crypto.signing import CONTEXT_DISPOSITIONS, canonical_json, sign_document
from crypto.vocabulary import Status

from .conversation import OutgoingReply
from .dispositions_state import EntryDocument, ExportedFile, SentReply, State, load_state, save_state
from .errors import StateConflict
from .server_facts import HoldLimit
from .triage_record import Triage
from .workspace import Keys, iso, short

DOCUMENT_TYPE = shared.DOCUMENT_TYPE
VERSION = shared.VERSION


def entry_of(tip_id: str, current: Triage) -> dict[str, str]:
    """The entry for a tip's current triage fields, as crypto/dispositions.py writes it."""
    on_hold = current.status == Status.HOLD
    hold_until = None
    if on_hold and current.hold_until is not None:
        hold_until = datetime.strptime(current.hold_until, "%Y-%m-%d")
    entry = shared.Entry(
        tip_id,
        current.status,
        hold_until=hold_until,
        hold_reason=current.hold_reason if on_hold else None,
        disclose=current.disclose,
    )
    return shared.entry_document(entry)


@dataclass(frozen=True)
class Export:
    file_id: str
    entries: list[dict[str, str]]
    replies: int
    data: bytes  # the signed file, as written
    state: State  # the workspace's state once the file is written

    @property
    def empty(self) -> bool:
        return not self.entries and not self.replies


def _check_hold(tip_id: str, current: Triage, today: date, hold_limit: HoldLimit) -> None:
    if current.status != Status.HOLD or current.hold_until is None:
        return
    until = date.fromisoformat(current.hold_until)
    if until <= today:
        raise StateConflict(
            f"tip {short(tip_id)}: its hold ended on {until}; renew it (triage --hold-until) or change its status"
        )
    if until > today + timedelta(days=hold_limit.days):
        raise StateConflict(
            f"tip {short(tip_id)}: its hold ends more than {hold_limit.days} days from now ({hold_limit.origin}); "
            "shorten it with triage --hold-until"
        )


def _changed(tip_id: str, current: Triage, state: State, everything: bool) -> dict[str, str] | None:
    """The tip's entry if the file should carry it: changed since the last export (or ``everything``)."""
    entry = entry_of(tip_id, current)
    previous: EntryDocument | None = state.exported.get(tip_id)
    if not everything and previous == entry:
        return None
    if previous is None and entry == {"tip_id": tip_id, "status": Status.NEW} and not everything:
        return None  # the server's default: nothing to say
    return entry


def changed_count(currents: Mapping[str, Triage], state: State, *, everything: bool) -> int:
    """How many entries these tips would add to a file (those kept local, for the export's summary)."""
    return sum(1 for tip_id, current in currents.items() if _changed(tip_id, current, state, everything) is not None)


def build_export(
    currents: Mapping[str, Triage],
    state: State,
    keys: Keys,
    now: datetime,
    *,
    everything: bool,
    hold_limit: HoldLimit,
    replies: Sequence[OutgoingReply] = (),
) -> Export:
    """Entries for every tip whose disposition differs from the last export (or all, with ``everything``),
    and every pending reply."""
    entries = []
    for tip_id in sorted(currents):
        current = currents[tip_id]
        _check_hold(tip_id, current, now.date(), hold_limit)
        entry = _changed(tip_id, current, state, everything)
        if entry is not None:
            entries.append(entry)
    file_id, created = secrets.token_hex(16), iso(now)
    body: JSONObject = {
        "type": DOCUMENT_TYPE,
        "v": VERSION,
        "id": file_id,
        "created": created,
        "entries": [dict(e) for e in entries],
        "replies": [shared.reply_document(r.id, r.tip_id, r.sealed) for r in replies],
    }
    try:  # exactly what the server will check (crypto/dispositions.py), before signing
        shared.parse_body(body, now.replace(tzinfo=None), hold_limit.days)
    except MalformedDispositions as exc:
        raise StateConflict(f"the dispositions file would be refused: {exc}; nothing was written") from None
    document = sign_document(body, CONTEXT_DISPOSITIONS, keys.identity.signing_key)
    new_state = State(
        exported={**state.exported, **{e["tip_id"]: e for e in entries}},
        files=(*state.files, ExportedFile(file_id, created, len(entries), len(replies))),
        replies={**state.replies, **{r.id: SentReply(file_id, created, r.tip_id) for r in replies}},
    )
    return Export(file_id, entries, len(replies), canonical_json(document) + b"\n", new_state)


__all__ = ["Export", "build_export", "changed_count", "entry_of", "load_state", "save_state"]
