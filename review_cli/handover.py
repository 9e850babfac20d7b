"""`tipbox-review forward` and `reseal`: a tip re-sealed whole and queued for the next dispositions export.

A reviewer hands a tip to another channel (**forward**) or seals a channel's
tips again to its current reviewers after one left (**reseal**) by re-sealing
the tip *whole* (crypto/FORMAT.md §10.2): every stored part (the payload, every
attachment of the tip and of its follow-ups, every message, replies included)
is opened and the same plaintext, padding and all, sealed to the new set:

* forward: the tip's current ``reviewers`` (from the newest bundle) and the
  target channel's, as the signed channel directory lists them;
* reseal: the tip's current ``reviewers``;
* a reply part also to the tip's source recipient (the source reads it too).

The server cannot decrypt: it checks the stanza counts, that every stored part
is there and that no padded length changed, and refuses the whole file
otherwise. So the checks it *can* make are made here first, before the
passphrase, with one-line errors: the tip is held by one of this workspace's
channels, the target is in the verified directory with reviewers and does not
hold the tip yet, only the lead hands over the lead.

The re-sealed parts wait in ``handovers/<tip id>/`` (ciphertext only, mode
0600; review_cli/resealing.py streams them, so no plaintext is written), with
a record sealed to the reviewer, ``handover.age``, written last. The next
`dispositions export` carries them in a package (review_cli/dispositions.py)
and removes them.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from crypto import key_manifest, messages
from crypto.dispositions import NOTE, Handover, Part, part_path
from crypto.documents import JSONObject
from crypto.errors import NoMatchingIdentity, TipboxCryptoError
from crypto.vocabulary import MessageKind, SealedBy

from . import channels, conversation, server_facts
from .channels import Directory
from .errors import InputError, NotSealedToYou, StateConflict, VerificationError
from .records import Fields, RecordKind
from .resealing import file_sha256, reseal_file
from .workspace import TIP_ID, Keys, TipMeta, Workspace, iso, short, utc_now, write_atomic

HANDOVER = RecordKind(
    "tipbox-review-handover", 1, "delete that tip's directory under handovers/ and forward or re-seal it again"
)
FORWARDS, RESEALS = "forwards", "reseals"
RECORD = "handover.age"


@dataclass(frozen=True)
class QueuedPart:
    """One re-sealed file waiting in the workspace: which stored part it replaces, its size and SHA-256."""

    kind: str  # crypto.dispositions.PART_KINDS
    id: str | None  # None for the payload
    size: int
    sha256: str

    def relative(self) -> str:
        """Its file inside ``handovers/<tip id>/`` (the package path without ``forwards/<tip id>/``)."""
        return part_path("x", "y", self.kind, self.id).split("/", 2)[2]


@dataclass(frozen=True)
class Queued:
    """A forward (``to`` set) or a reseal of one tip, re-sealed and waiting for `dispositions export`."""

    tip_id: str
    to: str | None
    lead: bool
    created: str
    recipients: int  # how many reviewers it is sealed to (replies: one more, the source)
    parts: tuple[QueuedPart, ...]

    @property
    def list_name(self) -> str:
        return FORWARDS if self.to is not None else RESEALS

    def handover(self) -> Handover:
        """The entry the dispositions body lists (crypto/dispositions.py), with the package paths."""
        parts = tuple(
            Part(p.kind, p.id, part_path(self.list_name, self.tip_id, p.kind, p.id), p.size, p.sha256)
            for p in self.parts
        )
        return Handover(self.tip_id, parts, self.to, self.lead)

    def as_json(self) -> JSONObject:
        return {
            "tip_id": self.tip_id,
            "to": self.to,
            "lead": self.lead,
            "created": self.created,
            "recipients": self.recipients,
            "parts": [{"kind": p.kind, "id": p.id, "size": p.size, "sha256": p.sha256} for p in self.parts],
        }

    @classmethod
    def read(cls, raw: Fields) -> Queued:
        parts = tuple(
            QueuedPart(item.text("kind"), item.optional_text("id"), item.integer("size"), item.text("sha256"))
            for item in raw.items("parts")
        )
        lead = raw.value("lead")
        if not isinstance(lead, bool):
            raise raw.error("lead is not true or false")
        return cls(raw.text("tip_id"), raw.optional_text("to"), lead, raw.text("created"),
                   raw.integer("recipients"), parts)


# --- where the queue lives ------------------------------------------------------------------------


def queue_dir(ws: Workspace) -> Path:
    return ws.root / "handovers"


def tip_queue(ws: Workspace, tip_id: str) -> Path:
    return queue_dir(ws) / tip_id


def queued_ids(ws: Workspace) -> list[str]:
    """Tips with a complete queued handover (its record is written last)."""
    try:
        names = os.listdir(queue_dir(ws))
    except FileNotFoundError:
        return []
    return sorted(n for n in names if TIP_ID.match(n) and (queue_dir(ws) / n / RECORD).is_file())


def load_queued(ws: Workspace, keys: Keys) -> list[Queued]:
    """Every queued forward and reseal, checked against the record (the tip id must be the directory's)."""
    out = []
    for tip_id in queued_ids(ws):
        what = f"the queued handover of tip {short(tip_id)}"
        raw = HANDOVER.open((tip_queue(ws, tip_id) / RECORD).read_bytes(), keys, what)
        queued = Queued.read(raw)
        if queued.tip_id != tip_id:
            raise raw.error("it is another tip's")
        out.append(queued)
    return out


def part_file(ws: Workspace, queued: Queued, part: QueuedPart) -> Path:
    return tip_queue(ws, queued.tip_id) / part.relative()


def forget(ws: Workspace, tip_ids: list[str]) -> None:
    """Remove queued handovers once a package carries them (their ciphertext is in the package)."""
    for tip_id in tip_ids:
        shutil.rmtree(tip_queue(ws, tip_id), ignore_errors=True)


# --- what a forward or a reseal is checked against ------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A tip to re-seal and the reviewers it goes to (besides the source, for replies)."""

    meta: TipMeta
    reviewers: tuple[str, ...]
    to: str | None = None
    lead: bool = False
    note: str | None = None  # a forward's note to the readers (never the source), as it will be sealed
    note_lang: str = "id"


def _facts(ws: Workspace) -> server_facts.ServerFacts:
    facts = server_facts.known(ws)
    if facts is None or facts.directory is None:
        raise InputError("no bundle with channels has been imported: forward and reseal need one")
    return facts


def _directory(facts: server_facts.ServerFacts) -> Directory:
    assert facts.directory is not None
    return facts.directory


def verified_channels(ws: Workspace, facts: server_facts.ServerFacts) -> dict[str, tuple[str, ...]]:
    """Channel id -> its reviewers' recipients, from the signed directory verified again with the pinned key."""
    pinned = ws.pinned_key()
    if facts.signed_directory is None or pinned is None:
        raise InputError("the workspace holds no signed channel directory yet: import your channel's newest bundle")
    try:
        body = key_manifest.verify_directory(facts.signed_directory, [pinned])
    except TipboxCryptoError as exc:
        raise VerificationError(
            f"the channel directory kept in {ws.reviewers_file} is not signed by the pinned server key ({exc}); "
            "import your channel's newest bundle again"
        ) from None
    return {cid: tuple(key_manifest.recipients(body)) for cid, body in key_manifest.directory_manifests(body).items()}


def _held_by_mine(meta: TipMeta, directory: Directory) -> tuple[str, ...]:
    holders = meta.entry.channels
    if not holders:
        raise InputError(
            f"tip {short(meta.id)} came in a bundle without channels: import a newer bundle of your channel first"
        )
    mine = tuple(c for c in holders if c in directory.mine)
    if not mine:
        raise InputError(
            f"tip {short(meta.id)} is not held by your channel ({', '.join(directory.mine) or 'none'}): "
            "only a channel holding it can forward or re-seal it"
        )
    return holders


def _not_queued(ws: Workspace, tip_id: str) -> None:
    if tip_queue(ws, tip_id).exists():
        raise StateConflict(
            f"tip {short(tip_id)} already has a forward or reseal waiting: run `dispositions export` first"
        )


def _reviewers(meta: TipMeta) -> tuple[str, ...]:
    if not meta.entry.reviewers:
        raise InputError(f"the newest bundle did not list the reviewers of tip {short(meta.id)}: import a newer one")
    return meta.entry.reviewers


def plan_forward(ws: Workspace, meta: TipMeta, to: str, lead: bool, note: str | None = None,
                 note_lang: str = "id") -> Target:
    """Check a forward (no passphrase needed): a one-line refusal for everything the server would refuse."""
    facts = _facts(ws)
    directory = _directory(facts)
    holders = _held_by_mine(meta, directory)
    known = verified_channels(ws, facts)
    target = to.strip()
    if target not in known or not known[target]:
        raise InputError(
            f"channel {target} is not in the server's channel directory: only a channel with reviewers "
            "receives tips (see `list` for the channels' names)"
        )
    if target in holders:
        raise InputError(f"channel {channels.label(target, directory)} already holds tip {short(meta.id)}")
    if lead and not channels.leads(directory, holders):
        raise InputError(
            f"tip {short(meta.id)} is led by channel {channels.label(holders[0], directory)}: "
            "only its reviewers hand over the lead (forward without --lead)"
        )
    _not_queued(ws, meta.id)
    reviewers = tuple(sorted({*_reviewers(meta), *known[target]}))
    text = conversation.check_text(note, "note") if note is not None else None
    return Target(meta, reviewers, target, lead, text, note_lang)


@dataclass
class ResealPlan:
    targets: list[Target]
    current: int = 0  # tips the channel holds that are already sealed to their current reviewers
    waiting: int = 0  # tips with a forward or reseal already queued


def plan_reseal(ws: Workspace, channel: str, everything: bool) -> ResealPlan:
    """The tips ``channel`` holds whose stored parts are not sealed to their current reviewers (all: ``everything``).

    Stale means the bundle's ``key_fingerprint`` (of the keys the tip was sealed
    to) is not the fingerprint of the tip's current ``reviewers``: a reviewer
    left (or joined) since. The bundle must be exported *after* the change.
    """
    directory = _directory(_facts(ws))
    wanted = channel.strip()
    if wanted not in directory.mine:
        raise InputError(
            f"you do not review for channel {wanted} (you review for: {', '.join(directory.mine) or 'none'})"
        )
    plan = ResealPlan([])
    for meta in ws.metas():
        if wanted not in (meta.entry.channels or ()):
            continue
        reviewers = _reviewers(meta)
        if not everything and key_manifest.recipients_fingerprint(reviewers) == meta.entry.key_fingerprint:
            plan.current += 1
        elif tip_queue(ws, meta.id).exists():
            plan.waiting += 1
        else:
            plan.targets.append(Target(meta, tuple(sorted(reviewers))))
    return plan


# --- re-sealing -----------------------------------------------------------------------------------


def _stored_parts(ws: Workspace, meta: TipMeta) -> Iterator[tuple[QueuedPart, Path, bool]]:
    """(part as signed, stored file, is a reply) for every part of the tip, the payload first."""
    yield QueuedPart("payload", None, meta.payload.size, meta.payload.sha256), ws.payload_path(meta.id), False
    for a in meta.attachments:
        yield QueuedPart("attachment", a.id, a.size, a.sha256), ws.attachment_path(meta.id, a.id), False
    for m in meta.messages:
        yield QueuedPart("message", m.id, m.size, m.sha256), ws.message_path(meta.id, m.id), m.kind == MessageKind.REPLY
        for a in m.attachments:
            yield QueuedPart("attachment", a.id, a.size, a.sha256), ws.attachment_path(meta.id, a.id), False


def _check_stored(path: Path, part: QueuedPart, tip_id: str) -> None:
    what = f"the stored {part.kind} {'' if part.id is None else part.id[:8] + ' '}of tip {short(tip_id)}"
    try:
        actual = file_sha256(path)
    except FileNotFoundError:
        raise VerificationError(f"{what} is missing from the workspace; import the bundle again") from None
    if actual != (part.size, part.sha256):
        raise VerificationError(f"{what} does not match the signed manifest; import the bundle again")


def _source(sources: Mapping[str, str], meta: TipMeta) -> str | None:
    if not any(m.kind == MessageKind.REPLY for m in meta.messages):
        return None
    source = sources.get(meta.id)
    if not source:
        raise VerificationError(f"tip {short(meta.id)} holds replies but no source recipient is known for it")
    return source


def queue(
    ws: Workspace, keys: Keys, target: Target, sources: Mapping[str, str],
    on_part: Callable[[int], None] = lambda n: None,
) -> Queued:
    """Re-seal every part of the tip to ``target.reviewers`` (replies: and the source) and queue it, or nothing."""
    meta = target.meta
    if keys.recipient not in target.reviewers:
        raise StateConflict(
            f"your recipient is not among the reviewers of tip {short(meta.id)} in the newest bundle: "
            "the server would refuse the file; ask the operator"
        )
    source = _source(sources, meta)
    queue_dir(ws).mkdir(mode=0o700, exist_ok=True)
    staging = queue_dir(ws) / f".{meta.id}.{secrets.token_hex(6)}"
    staging.mkdir(mode=0o700)
    try:
        parts = []
        for part, stored, reply in _stored_parts(ws, meta):
            _check_stored(stored, part, meta.id)
            out = staging / part.relative()
            out.parent.mkdir(mode=0o700, exist_ok=True)
            to = [*target.reviewers, *([source] if reply and source else [])]
            try:
                sealed = reseal_file(stored, out, keys.age, to)
            except TipboxCryptoError as exc:
                what = f"the {part.kind} of tip {short(meta.id)}"
                if isinstance(exc, NoMatchingIdentity):
                    raise NotSealedToYou(f"{what} is not sealed to your key: it cannot be re-sealed") from None
                raise VerificationError(f"{what} cannot be opened: {exc}") from None
            parts.append(QueuedPart(part.kind, part.id, sealed.size, sealed.sha256))
            on_part(part.size)
        if target.note is not None:
            parts.append(_seal_note(staging, target))
        queued = Queued(meta.id, target.to, target.lead, iso(utc_now()), len(target.reviewers), tuple(parts))
        write_atomic(staging / RECORD, HANDOVER.seal(queued.as_json(), keys))
        _not_queued(ws, meta.id)
        os.rename(staging, tip_queue(ws, meta.id))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return queued


def _seal_note(staging: Path, target: Target) -> QueuedPart:
    """The forward's note: a new message of kind note, sealed to the tip's readers and the target (not the source)."""
    assert target.note is not None
    document = messages.build(MessageKind.NOTE, target.note, lang=target.note_lang, sealed_by=SealedBy.REVIEWER)
    sealed = messages.seal_message(document, target.reviewers)
    part = QueuedPart(NOTE, secrets.token_hex(16), len(sealed), hashlib.sha256(sealed).hexdigest())
    out = staging / part.relative()
    out.parent.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(sealed)
    return part


def load_sources(ws: Workspace, keys: Keys) -> dict[str, str]:
    return conversation.load_sources(ws, keys)


__all__ = [
    "HANDOVER",
    "Queued",
    "QueuedPart",
    "ResealPlan",
    "Target",
    "forget",
    "load_queued",
    "part_file",
    "plan_forward",
    "plan_reseal",
    "queue",
    "verified_channels",
]
