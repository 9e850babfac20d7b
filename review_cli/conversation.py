"""Conversations with a source: follow-ups in, replies out (crypto/FORMAT.md §8, §10, §13).

What the workspace keeps for them:

* ``tips/<id>/messages/<mid>.age``: each follow-up and each reply the server
  published, exactly as exported, checked against the signed bundle manifest
  (their entries live in the tip's ``meta.json``, like the payload's); a
  follow-up's attachments sit beside the tip's own in ``attachments/``;
* ``sources.age``: each tip's ``source_recipient`` (the receipt-derived age
  recipient replies are sealed to). It is a public key, but it ties a source's
  receipt to a tip, so it is sealed to the reviewer like every other record;
* the tip's own ``reviewers`` (in its ``meta.json``), which a bundle from a
  server with channels gives per tip (every reviewer of every channel holding
  it, FORMAT.md §14): a reply is sealed to the source and to exactly these;
* ``reviewers.json`` (review_cli/server_facts.py): the ``reviewers`` list of
  the newest imported bundle (the server's key manifest, public), used instead
  for tips from older bundles, which give no per-tip list;
* ``replies/<id>.age``: the replies written with ``tipbox-review reply``, each
  kept as the age file that will be sent (sealed to the source and the
  reviewers), inside a record sealed to the reviewer. Which of them a
  ``dispositions export`` already carried is in ``dispositions.age``.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from crypto import envelope, messages
from crypto.bundle import BundleAttachment, BundleMessage
from crypto.documents import JSONObject
from crypto.errors import NoMatchingIdentity, TipboxCryptoError
from crypto.messages import MessageDocument
from crypto.payload import AttachmentEntry, TipDocument
from crypto.vocabulary import Language, MessageKind, SealedBy

from . import server_facts
from .dispositions_state import SentReply
from .errors import InputError, NotSealedToYou, StateConflict, VerificationError
from .records import Fields, RecordKind
from .tips import read_verified
from .workspace import TIP_ID, Keys, TipMeta, Workspace, iso, short, write_atomic

SOURCES = RecordKind("tipbox-review-sources", 1, "import the bundles again into a new workspace")
REPLIES = RecordKind("tipbox-review-replies", 1, "restore it from a backup")
MAX_TEXT = messages.MAX_TEXT_CHARS
KIND_NAMES = {MessageKind.FOLLOWUP: "follow-up", MessageKind.REPLY: "reply", MessageKind.NOTE: "forwarding note"}


def kind_name(kind: MessageKind) -> str:
    return KIND_NAMES[kind]


# --- source recipients (sealed) -------------------------------------------------------------------


def load_sources(ws: Workspace, keys: Keys) -> dict[str, str]:
    """tip id -> the source's age recipient, for tips whose bundle entry carried one."""
    try:
        data = ws.sources_file.read_bytes()
    except FileNotFoundError:
        return {}
    return SOURCES.open(data, keys, "the source recipients record").strings("sources")


def save_sources(ws: Workspace, keys: Keys, sources: Mapping[str, str]) -> None:
    write_atomic(ws.sources_file, SOURCES.seal({"sources": dict(sorted(sources.items()))}, keys))


# --- stored messages ------------------------------------------------------------------------------


def open_stored_message(ws: Workspace, keys: Keys, tip_id: str, entry: BundleMessage) -> MessageDocument:
    """A message from the workspace, checked against its signed entry, then opened in memory."""
    what = f"a {kind_name(entry.kind)} of tip {short(tip_id)}"
    data = read_verified(ws.message_path(tip_id, entry.id), entry, what)
    return open_message_bytes(data, keys, tip_id, entry)


def open_message_bytes(data: bytes, keys: Keys, tip_id: str, entry: BundleMessage) -> MessageDocument:
    """Open a sealed message of the kind its manifest entry says; a one-line error otherwise."""
    what = f"{kind_name(entry.kind)} {entry.id[:8]} of tip {short(tip_id)}"
    try:
        document = messages.open_message(data, [keys.age], kind=entry.kind)
    except NoMatchingIdentity:
        raise NotSealedToYou(f"{what} was not sealed to your key (sealed to someone else)") from None
    except TipboxCryptoError as exc:
        raise VerificationError(f"{what} cannot be opened: {exc}") from None
    if entry.kind == MessageKind.FOLLOWUP:
        in_message = sorted(a.id for a in document.attachments)
        in_bundle = sorted(a.id for a in entry.attachments)
        if in_message != in_bundle:
            raise VerificationError(f"{what}: its attachment list does not match the bundle's")
    return document


def all_attachments(
    ws: Workspace, keys: Keys, meta: TipMeta, document: TipDocument
) -> tuple[list[AttachmentEntry], list[BundleAttachment]]:
    """(content entries, sealed entries) of the tip's own attachments and then every follow-up's.

    What review_cli/extract.py reads (the content entries from the opened tip
    and follow-ups, the sealed ones from the signed manifest), so `attachments`
    extracts follow-up files too; each follow-up is opened and checked first.
    """
    content, sealed = list(document.attachments), list(meta.attachments)
    for entry in meta.messages:
        if entry.kind != MessageKind.FOLLOWUP or not entry.attachments:
            continue
        followup = open_stored_message(ws, keys, meta.id, entry)
        sealed += entry.attachments
        content += followup.attachments
    return content, sealed


# --- replies --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredReply:
    """A reply written with `tipbox-review reply`, kept as the age file that will be sent."""

    id: str
    created: str
    by: str  # fingerprint of the reviewer's signing key
    lang: str
    recipients: tuple[str, ...]  # the source's, then the reviewers' it was sealed to
    sealed: bytes

    def as_json(self) -> JSONObject:
        return {
            "id": self.id,
            "created": self.created,
            "by": self.by,
            "lang": self.lang,
            "recipients": list(self.recipients),
            "message": base64.b64encode(self.sealed).decode("ascii"),
        }

    @classmethod
    def read(cls, raw: Fields) -> StoredReply:
        try:
            sealed = base64.b64decode(raw.text("message"), validate=True)
        except (binascii.Error, ValueError):
            raise raw.error("a reply's message is not base64") from None
        recipients = raw.texts("recipients")
        return cls(raw.text("id"), raw.text("created"), raw.text("by"), raw.text("lang"), recipients, sealed)


@dataclass(frozen=True)
class RepliesRecord:
    tip_id: str
    replies: tuple[StoredReply, ...] = ()

    def seal(self, keys: Keys) -> bytes:
        return REPLIES.seal({"tip_id": self.tip_id, "replies": [r.as_json() for r in self.replies]}, keys)


def load_replies(ws: Workspace, keys: Keys, tip_id: str) -> RepliesRecord:
    try:
        data = ws.replies_path(tip_id).read_bytes()
    except FileNotFoundError:
        return RepliesRecord(tip_id)
    raw = REPLIES.open(data, keys, f"the replies record of tip {short(tip_id)}")
    if raw.value("tip_id") != tip_id:
        raise raw.error("it belongs to another tip")
    return RepliesRecord(tip_id, tuple(StoredReply.read(item) for item in raw.items("replies")))


def save_replies(ws: Workspace, keys: Keys, record: RepliesRecord) -> None:
    ws.replies_dir.mkdir(mode=0o700, exist_ok=True)
    write_atomic(ws.replies_path(record.tip_id), record.seal(keys))


def replied_tips(ws: Workspace) -> list[str]:
    try:
        names = os.listdir(ws.replies_dir)
    except FileNotFoundError:
        return []
    return sorted(n[:-4] for n in names if n.endswith(".age") and TIP_ID.match(n[:-4]))


def tip_reviewers(ws: Workspace, tip_id: str) -> tuple[list[str], str]:
    """(the reviewers a reply to this tip is sealed to besides the source, where that list comes from).

    The tip's own list when its bundle gave one: with channels, the bundle-wide
    list is only the exporting channel's, and the server counts a reply's
    stanzas against every reviewer of every channel holding the tip.
    """
    meta = ws.read_meta(tip_id)
    if meta is not None and meta.entry.reviewers is not None:
        return list(meta.entry.reviewers), f"of tip {short(tip_id)} in the newest bundle"
    facts = server_facts.known(ws)
    if facts is None or not facts.recipients:
        raise InputError(
            "no reviewers list is known yet: import a bundle from a server that lists its reviewers, then reply"
        )
    return list(facts.recipients), "of the newest imported bundle"


def reply_recipients(ws: Workspace, keys: Keys, tip_id: str, sources: Mapping[str, str] | None = None) -> list[str]:
    """[the tip's source recipient] + the tip's reviewers (else the newest bundle's), or a one-line refusal."""
    reviewers, origin = tip_reviewers(ws, tip_id)
    source = (load_sources(ws, keys) if sources is None else sources).get(tip_id)
    if not source:
        raise InputError(
            f"tip {short(tip_id)} has no source recipient (it was sent before replies existed, "
            "or its bundle did not carry one): this source cannot receive replies"
        )
    if keys.recipient not in reviewers:
        raise StateConflict(
            f"your recipient is not in the reviewers list {origin}: you could not read the "
            "reply and the server would refuse your dispositions; ask the operator"
        )
    try:
        envelope.parse_recipient(source)
    except TipboxCryptoError:
        raise VerificationError(f"tip {short(tip_id)}: its source recipient is not a valid age recipient") from None
    return [source, *reviewers]


def check_text(text: str, what: str = "reply") -> str:
    """A reply's (or note's) text as it will be sealed (LF, trimmed); refuse empty or oversized text without quoting it."""
    normalised = text.replace("\r\n", "\n").strip()
    if not normalised:
        raise InputError(f"the {what} is empty; nothing was saved")
    if len(normalised) > MAX_TEXT:
        raise InputError(
            f"the {what} is {len(normalised)} characters; at most {MAX_TEXT} are allowed; nothing was saved"
        )
    return normalised


@dataclass(frozen=True)
class WrittenReply:
    id: str
    tip_id: str
    recipients: list[str]
    lang: Language


def write_reply(
    ws: Workspace, keys: Keys, tip_id: str, text: str, lang: Language, recipients: Sequence[str], now: datetime
) -> WrittenReply:
    """Seal a reply to ``recipients`` and keep it in the workspace as pending."""
    document = messages.build(MessageKind.REPLY, check_text(text), lang=lang, sealed_by=SealedBy.REVIEWER)
    sealed = messages.seal_message(document, list(recipients))
    # Prove the reviewer can read what is about to be sent.
    messages.open_message(sealed, [keys.age], kind=MessageKind.REPLY)
    record = load_replies(ws, keys, tip_id)
    reply = StoredReply(secrets.token_hex(16), iso(now), keys.fingerprint, lang.value, tuple(recipients), sealed)
    save_replies(ws, keys, RepliesRecord(tip_id, (*record.replies, reply)))
    return WrittenReply(reply.id, tip_id, list(recipients), lang)


def discard_reply(ws: Workspace, keys: Keys, tip_id: str, prefix: str, sent: Mapping[str, SentReply]) -> str:
    """Remove a pending reply (id or a prefix of at least 4 characters); return its id.

    A reply a dispositions export already carried cannot be taken back here: it
    is on its way to the server or already on the source's status page.
    """
    record = load_replies(ws, keys, tip_id)
    needle = prefix.strip().lower()
    matches = [r for r in record.replies if len(needle) >= 4 and r.id.startswith(needle)]
    if len(matches) != 1:
        raise InputError(
            f"tip {short(tip_id)} has {'no' if not matches else 'more than one'} written reply starting with "
            f"{needle[:32]!r}; `show` lists them"
        )
    [reply] = matches
    if reply.id in sent:
        raise StateConflict(
            f"reply {reply.id[:8]} was already exported in dispositions file {sent[reply.id].file[:8]}; "
            "it cannot be discarded (ask the operator not to import that file if it has not been)"
        )
    save_replies(ws, keys, RepliesRecord(tip_id, tuple(r for r in record.replies if r is not reply)))
    return reply.id


@dataclass(frozen=True)
class OutgoingReply:
    id: str
    tip_id: str
    sealed: bytes
    resealed: bool = False


def pending_replies(
    ws: Workspace, keys: Keys, sent: Mapping[str, SentReply], keep_local: Collection[str] = ()
) -> list[OutgoingReply]:
    """Every written reply not yet carried by a dispositions export, sealed to the current recipients.

    A reply written before a newer bundle changed the reviewers list is opened
    and sealed again to the new list (same id and text), since the server
    accepts only exactly one stanza per current reviewer plus the source.
    Replies to the tips in ``keep_local`` (led by another channel: the server
    would refuse the whole file) stay pending, untouched.
    """
    out: list[OutgoingReply] = []
    sources: dict[str, str] | None = None
    for tip_id in replied_tips(ws):
        if tip_id in keep_local:
            continue
        record = load_replies(ws, keys, tip_id)
        kept: list[StoredReply] = []
        for reply in record.replies:
            if reply.id in sent:
                kept.append(reply)
                continue
            if sources is None:
                sources = load_sources(ws, keys)
            recipients = reply_recipients(ws, keys, tip_id, sources)
            resealed = sorted(recipients) != sorted(reply.recipients)
            if resealed:
                reply = _resealed(reply, tip_id, keys, recipients)
            kept.append(reply)
            out.append(OutgoingReply(reply.id, tip_id, reply.sealed, resealed))
        if tuple(kept) != record.replies:
            save_replies(ws, keys, RepliesRecord(tip_id, tuple(kept)))
    return out


def unsent_count(ws: Workspace, keys: Keys, tip_ids: Iterable[str], sent: Mapping[str, SentReply]) -> int:
    """How many written replies to these tips no dispositions export has carried yet."""
    replied = set(replied_tips(ws))
    return sum(
        1 for tip_id in tip_ids if tip_id in replied for r in load_replies(ws, keys, tip_id).replies if r.id not in sent
    )


def _resealed(reply: StoredReply, tip_id: str, keys: Keys, recipients: list[str]) -> StoredReply:
    try:
        document = messages.open_message(reply.sealed, [keys.age], kind=MessageKind.REPLY)
    except TipboxCryptoError as exc:
        what = f"pending reply {reply.id[:8]} of tip {short(tip_id)}"
        raise VerificationError(f"{what} cannot be opened: {exc}") from None
    sealed = messages.seal_message(document, recipients)
    return StoredReply(reply.id, reply.created, reply.by, reply.lang, tuple(recipients), sealed)


# --- the thread `show` prints ---------------------------------------------------------------------

RECEIVED, PUBLISHED, SENT, PENDING = "received", "published", "sent", "pending"


@dataclass
class ThreadItem:
    kind: MessageKind
    id: str
    state: str  # RECEIVED (a follow-up), PUBLISHED (a reply in a bundle), SENT (exported), PENDING
    when: str | None  # the hour the server received it, or when the reply was written
    sealed_by: SealedBy | None = None  # as the signed bundle says
    document: MessageDocument | None = None
    problem: str | None = None  # why it could not be opened (shown instead of the text)
    sent_in: str | None = None  # the dispositions file id that carried it


@dataclass
class Thread:
    tip_id: str
    can_reply: bool
    items: list[ThreadItem] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [i.problem for i in self.items if i.problem]


def thread(ws: Workspace, keys: Keys, meta: TipMeta, sent: Mapping[str, SentReply]) -> Thread:
    """Follow-ups and published replies from the bundles, then this reviewer's sent and pending replies."""
    tip_id = meta.id
    result = Thread(tip_id, bool(load_sources(ws, keys).get(tip_id)))
    published: set[str] = set()
    for entry in meta.messages:
        item = ThreadItem(
            kind=entry.kind,
            id=entry.id,
            state=PUBLISHED if entry.kind == MessageKind.REPLY else RECEIVED,  # only replies reach the status page
            when=entry.received,
            sealed_by=entry.sealed_by,
        )
        try:
            item.document = open_stored_message(ws, keys, tip_id, entry)
        except VerificationError as exc:
            item.problem = str(exc)
        published.add(entry.id)
        result.items.append(item)
    for reply in load_replies(ws, keys, tip_id).replies:
        if reply.id in published:
            continue  # the server published it: shown above, from the bundle
        carried = sent.get(reply.id)
        item = ThreadItem(
            kind=MessageKind.REPLY,
            id=reply.id,
            state=SENT if carried is not None else PENDING,
            when=reply.created,
            sealed_by=SealedBy.REVIEWER,
            sent_in=carried.file if carried is not None else None,
        )
        try:
            item.document = messages.open_message(reply.sealed, [keys.age], kind=MessageKind.REPLY)
        except TipboxCryptoError as exc:
            item.problem = f"reply {reply.id[:8]} of tip {short(tip_id)} cannot be opened: {exc}"
        result.items.append(item)
    return result


__all__ = [
    "OutgoingReply",
    "RepliesRecord",
    "StoredReply",
    "Thread",
    "ThreadItem",
    "all_attachments",
    "check_text",
    "load_replies",
    "load_sources",
    "open_message_bytes",
    "open_stored_message",
    "pending_replies",
    "reply_recipients",
    "tip_reviewers",
    "unsent_count",
    "save_sources",
    "thread",
    "write_reply",
]
