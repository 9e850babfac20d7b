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

Forwards and reseals queued by `forward` and `reseal` (review_cli/handover.py)
make the body version 3 (FORMAT.md §10.2) and the file a **package**: a ustar
archive, named ``*.tar``, whose first member is the signed document and whose
other members are the re-sealed parts, streamed from the workspace
(crypto.dispositions.write_package). Without them the file stays version 2.

With channels (FORMAT.md §14), only the tips the workspace's channel leads
go in a file: the server refuses a whole file that touches a tip the signer's
channel only reads along. The caller splits the tips (review_cli/channels.py);
:func:`changed_count` says how many entries stayed behind.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO

from crypto import dispositions as shared
from crypto.archive import ArchiveFile
from crypto.documents import JSONObject
from crypto.errors import BundleInvalid, MalformedDispositions
from crypto.signing import CONTEXT_DISPOSITIONS, canonical_json, sign_document
from crypto.vocabulary import Status

from . import handover
from .conversation import OutgoingReply
from .dispositions_state import EntryDocument, ExportedFile, SentHandover, SentReply, State, load_state, save_state
from .errors import StateConflict
from .handover import Queued
from .server_facts import HoldLimit
from .triage_record import Triage
from .workspace import Keys, Workspace, commit_exclusive, iso, short, write_atomic

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
    data: bytes  # the signed file, as written (a package's first member when it carries handovers)
    state: State  # the workspace's state once the file is written
    body: shared.Body | None = None  # the checked body: what a package's parts must match
    handovers: tuple[Queued, ...] = ()  # forwards and reseals: the file is then a package (§10.2)

    @property
    def empty(self) -> bool:
        return not self.entries and not self.replies and not self.handovers

    @property
    def package(self) -> bool:
        return bool(self.handovers)

    @property
    def forwards(self) -> int:
        return sum(1 for h in self.handovers if h.to is not None)


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
    handovers: Sequence[Queued] = (),
) -> Export:
    """Entries for every tip whose disposition differs from the last export (or all, with ``everything``),
    every pending reply, and every queued forward and reseal (then as version 3, for a package)."""
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
        "v": shared.HANDOVER_VERSION if handovers else VERSION,
        "id": file_id,
        "created": created,
        "entries": [dict(e) for e in entries],
        "replies": [shared.reply_document(r.id, r.tip_id, r.sealed) for r in replies],
    }
    if handovers:  # FORMAT.md §10.2; a file without any stays version 2, which older servers read
        body["forwards"] = [shared.handover_document(h.handover()) for h in handovers if h.to is not None]
        body["reseals"] = [shared.handover_document(h.handover()) for h in handovers if h.to is None]
    try:  # exactly what the server will check (crypto/dispositions.py), before signing
        parsed = shared.parse_body(body, now.replace(tzinfo=None), hold_limit.days)
    except MalformedDispositions as exc:
        raise StateConflict(f"the dispositions file would be refused: {exc}; nothing was written") from None
    document = sign_document(body, CONTEXT_DISPOSITIONS, keys.identity.signing_key)
    new_state = State(
        exported={**state.exported, **{e["tip_id"]: e for e in entries}},
        files=(*state.files, ExportedFile(file_id, created, len(entries), len(replies), len(handovers))),
        replies={**state.replies, **{r.id: SentReply(file_id, created, r.tip_id) for r in replies}},
        handovers={**state.handovers,
                   **{h.tip_id: SentHandover(file_id, created, h.to, h.lead) for h in handovers}},
    )
    # A package's first member is the bare canonical document (§10.2); a JSON file ends its line.
    data = canonical_json(document) + (b"" if handovers else b"\n")
    return Export(file_id, entries, len(replies), data, new_state, parsed, tuple(handovers))


def package_name(out_file: Path) -> Path:
    """Where a package goes: ``--out`` with ``.tar`` for its suffix, so the name says it is an archive."""
    return out_file if out_file.suffix == ".tar" else out_file.with_suffix(".tar")


def write_file(ws: Workspace, export: Export, out_file: Path) -> Path:
    """Write the export (never over an existing file); a package streams each queued part from the workspace.

    Returns the path written: for a package, :func:`package_name` of ``out_file``.
    """
    if not export.package:
        write_atomic(out_file, export.data, exclusive=True)
        return out_file
    assert export.body is not None
    final = package_name(out_file)
    if final.exists():
        raise StateConflict(f"{final} already exists; refusing to overwrite")
    files = [
        ArchiveFile(part.path, part.size, part.sha256, _opener(handover.part_file(ws, queued, stored)))
        for queued in export.handovers
        for part, stored in zip(queued.handover().parts, queued.parts, strict=True)
    ]
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f".{final.name}.{secrets.token_hex(6)}.partial")
    try:
        with open(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            try:
                shared.write_package(out, export.data, export.body, files)
            except BundleInvalid:
                raise StateConflict(
                    "a queued re-sealed file changed in the workspace since `forward` or `reseal` wrote it; "
                    "nothing was written"
                ) from None
            out.flush()
            os.fsync(out.fileno())
        commit_exclusive(temp, final)
    finally:
        temp.unlink(missing_ok=True)
    return final


def _opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


__all__ = ["Export", "build_export", "package_name", "write_file", "changed_count", "entry_of", "load_state", "save_state"]
