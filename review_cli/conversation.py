"""Conversations with a source: follow-ups in, replies out (crypto/FORMAT.md §8, §10, §13).

What the workspace keeps for them:

* ``tips/<id>/messages/<mid>.age``: each follow-up and each reply the server
  published, exactly as exported, checked against the signed bundle manifest
  (their entries live in the tip's ``meta.json``, like the payload's); a
  follow-up's attachments sit beside the tip's own in ``attachments/``;
* ``sources.age``: each tip's ``source_recipient`` (the receipt-derived age
  recipient replies are sealed to). It is a public key, but it ties a source's
  receipt to a tip, so it is sealed to the reviewer like every other record;
* ``reviewers.json`` (review_cli/server_facts.py): the ``reviewers`` list of
  the newest imported bundle (the server's key manifest, public): a reply is
  sealed to the source and to exactly these;
* ``replies/<id>.age``: the replies written with ``tipbox-review reply``, each
  kept as the age file that will be sent (sealed to the source and the
  reviewers), inside a record sealed to the reviewer. Which of them a
  ``dispositions export`` already carried is in ``dispositions.age``.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crypto import envelope, messages
from crypto.errors import NoMatchingIdentity, TipboxCryptoError

from . import server_facts
from .errors import InputError, NotSealedToYou, StateConflict, VerificationError
from .tips import read_verified, short
from .workspace import TIP_ID, Keys, Workspace, iso, open_record, seal_record, write_atomic

SOURCES_TYPE = "tipbox-review-sources"
REPLIES_TYPE = "tipbox-review-replies"
RECORD_VERSION = 1
MESSAGE_KEYS = ("id", "kind", "received", "sealed_by", "path", "size", "sha256", "attachments")
MAX_TEXT = messages.MAX_TEXT_CHARS


def message_entry(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A message's signed manifest entry, as kept in meta.json (no content)."""
    entry = {k: raw.get(k) for k in MESSAGE_KEYS}
    entry["attachments"] = [dict(a) for a in raw.get("attachments") or []]
    return entry


def kind_name(kind: str) -> str:
    return "follow-up" if kind == messages.FOLLOWUP else "reply"


# --- source recipients (sealed) -------------------------------------------------------------------


def load_sources(ws: Workspace, keys: Keys) -> dict[str, str]:
    """tip id -> the source's age recipient, for tips whose bundle entry carried one."""
    try:
        data = ws.sources_file.read_bytes()
    except FileNotFoundError:
        return {}
    record = open_record(data, keys, "the source recipients record")
    sources = record.get("sources")
    if record.get("type") != SOURCES_TYPE or record.get("v") != RECORD_VERSION or not isinstance(sources, dict):
        raise StateConflict("the source recipients record is damaged; import the bundles again into a new workspace")
    return dict(sources)


def save_sources(ws: Workspace, keys: Keys, sources: Mapping[str, str]) -> None:
    record = {"type": SOURCES_TYPE, "v": RECORD_VERSION, "sources": dict(sorted(sources.items()))}
    write_atomic(ws.sources_file, seal_record(record, keys))


# --- stored messages ------------------------------------------------------------------------------


def open_stored_message(ws: Workspace, keys: Keys, tip_id: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """A message from the workspace, checked against its signed entry, then opened in memory."""
    what = f"a {kind_name(str(entry.get('kind')))} of tip {short(tip_id)}"
    data = read_verified(ws.message_path(tip_id, entry["id"]), entry, what)
    return open_message_bytes(data, keys, tip_id, entry)


def open_message_bytes(data: bytes, keys: Keys, tip_id: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """Open a sealed message of the kind its manifest entry says; a one-line error otherwise."""
    kind = entry.get("kind")
    what = f"{kind_name(str(kind))} {str(entry.get('id'))[:8]} of tip {short(tip_id)}"
    try:
        document = messages.open_message(data, [keys.age], kind=kind)
    except NoMatchingIdentity:
        raise NotSealedToYou(f"{what} was not sealed to your key (sealed to someone else)") from None
    except TipboxCryptoError as exc:
        raise VerificationError(f"{what} cannot be opened: {exc}") from None
    if kind == messages.FOLLOWUP:
        in_message = sorted(a["id"] for a in document["attachments"])
        in_bundle = sorted(str(a.get("id")) for a in entry.get("attachments") or [])
        if in_message != in_bundle:
            raise VerificationError(f"{what}: its attachment list does not match the bundle's")
    return document


def all_attachments(
    ws: Workspace, keys: Keys, tip_id: str, meta: Mapping[str, Any], document: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(meta, document) whose ``attachments`` list the tip's own and then every follow-up's.

    The shape review_cli/extract.py reads (the sealed entries from the manifest,
    the content entries from the opened tip and follow-ups), so `attachments`
    extracts follow-up files too; each follow-up is opened and checked first.
    """
    sealed = [dict(a) for a in meta.get("attachments") or []]
    content = [dict(a) for a in document.get("attachments") or []]
    for entry in meta.get("messages") or []:
        if entry.get("kind") != messages.FOLLOWUP or not entry.get("attachments"):
            continue
        followup = open_stored_message(ws, keys, tip_id, entry)
        sealed += [dict(a) for a in entry["attachments"]]
        content += [dict(a) for a in followup["attachments"]]
    return {**meta, "attachments": sealed}, {**document, "attachments": content}


# --- replies --------------------------------------------------------------------------------------


def _new_replies_record(tip_id: str) -> dict[str, Any]:
    return {"type": REPLIES_TYPE, "v": RECORD_VERSION, "tip_id": tip_id, "replies": []}


def load_replies(ws: Workspace, keys: Keys, tip_id: str) -> dict[str, Any]:
    try:
        data = ws.replies_path(tip_id).read_bytes()
    except FileNotFoundError:
        return _new_replies_record(tip_id)
    record = open_record(data, keys, f"the replies record of tip {short(tip_id)}")
    if (
        record.get("type") != REPLIES_TYPE
        or record.get("v") != RECORD_VERSION
        or record.get("tip_id") != tip_id
        or not isinstance(record.get("replies"), list)
    ):
        raise StateConflict(f"the replies record of tip {short(tip_id)} is damaged or belongs to another tip")
    return record


def save_replies(ws: Workspace, keys: Keys, record: Mapping[str, Any]) -> None:
    ws.replies_dir.mkdir(mode=0o700, exist_ok=True)
    write_atomic(ws.replies_path(record["tip_id"]), seal_record(record, keys))


def replied_tips(ws: Workspace) -> list[str]:
    try:
        names = os.listdir(ws.replies_dir)
    except FileNotFoundError:
        return []
    return sorted(n[:-4] for n in names if n.endswith(".age") and TIP_ID.match(n[:-4]))


def reply_recipients(ws: Workspace, keys: Keys, tip_id: str, sources: Mapping[str, str] | None = None) -> list[str]:
    """[the tip's source recipient] + the reviewers of the newest bundle, or a one-line refusal."""
    reviewers = server_facts.known(ws)
    if reviewers is None or not reviewers.recipients:
        raise InputError(
            "no reviewers list is known yet: import a bundle from a server that lists its reviewers, then reply"
        )
    source = (load_sources(ws, keys) if sources is None else sources).get(tip_id)
    if not source:
        raise InputError(
            f"tip {short(tip_id)} has no source recipient (it was sent before replies existed, "
            "or its bundle did not carry one): this source cannot receive replies"
        )
    if keys.recipient not in reviewers.recipients:
        raise StateConflict(
            "your recipient is not in the reviewers list of the newest imported bundle: you could not read the "
            "reply and the server would refuse your dispositions; ask the operator"
        )
    try:
        envelope.parse_recipient(source)
    except TipboxCryptoError:
        raise VerificationError(f"tip {short(tip_id)}: its source recipient is not a valid age recipient") from None
    return [source, *reviewers.recipients]


def check_text(text: str) -> str:
    """The reply text as it will be sealed (LF, trimmed); refuse empty or oversized text without quoting it."""
    normalised = text.replace("\r\n", "\n").strip()
    if not normalised:
        raise InputError("the reply is empty; nothing was saved")
    if len(normalised) > MAX_TEXT:
        raise InputError(
            f"the reply is {len(normalised)} characters; at most {MAX_TEXT} are allowed; nothing was saved"
        )
    return normalised


@dataclass
class WrittenReply:
    id: str
    tip_id: str
    recipients: list[str]
    lang: str


def write_reply(
    ws: Workspace, keys: Keys, tip_id: str, text: str, lang: str, recipients: Sequence[str], now: datetime
) -> WrittenReply:
    """Seal a reply to ``recipients`` and keep it in the workspace as pending."""
    document = messages.build(messages.REPLY, check_text(text), lang=lang, sealed_by="reviewer")
    sealed = messages.seal_message(document, list(recipients))
    # Prove the reviewer can read what is about to be sent.
    messages.open_message(sealed, [keys.age], kind=messages.REPLY)
    record = load_replies(ws, keys, tip_id)
    reply_id = secrets.token_hex(16)
    record["replies"].append(
        {
            "id": reply_id,
            "created": iso(now),
            "by": keys.fingerprint,
            "lang": lang,
            "recipients": list(recipients),
            "message": base64.b64encode(sealed).decode("ascii"),
        }
    )
    save_replies(ws, keys, record)
    return WrittenReply(reply_id, tip_id, list(recipients), lang)


def discard_reply(ws: Workspace, keys: Keys, tip_id: str, prefix: str, sent: Mapping[str, Any]) -> str:
    """Remove a pending reply (id or a prefix of at least 4 characters); return its id.

    A reply a dispositions export already carried cannot be taken back here: it
    is on its way to the server or already on the source's status page.
    """
    record = load_replies(ws, keys, tip_id)
    needle = prefix.strip().lower()
    matches = [r for r in record["replies"] if len(needle) >= 4 and str(r.get("id", "")).startswith(needle)]
    if len(matches) != 1:
        raise InputError(
            f"tip {short(tip_id)} has {'no' if not matches else 'more than one'} written reply starting with "
            f"{needle[:32]!r}; `show` lists them"
        )
    [reply] = matches
    if reply["id"] in sent:
        raise StateConflict(
            f"reply {reply['id'][:8]} was already exported in dispositions file {sent[reply['id']]['file'][:8]}; "
            "it cannot be discarded (ask the operator not to import that file if it has not been)"
        )
    record["replies"] = [r for r in record["replies"] if r is not reply]
    save_replies(ws, keys, record)
    return reply["id"]


@dataclass
class OutgoingReply:
    id: str
    tip_id: str
    sealed: bytes
    resealed: bool = False


def pending_replies(ws: Workspace, keys: Keys, sent: Mapping[str, Any]) -> list[OutgoingReply]:
    """Every written reply not yet carried by a dispositions export, sealed to the current recipients.

    A reply written before a newer bundle changed the reviewers list is opened
    and sealed again to the new list (same id and text), since the server
    accepts only exactly one stanza per current reviewer plus the source.
    """
    out: list[OutgoingReply] = []
    sources: dict[str, str] | None = None
    for tip_id in replied_tips(ws):
        record = load_replies(ws, keys, tip_id)
        changed = False
        for reply in record["replies"]:
            if reply.get("id") in sent:
                continue
            sealed = base64.b64decode(reply["message"])
            if sources is None:
                sources = load_sources(ws, keys)
            recipients = reply_recipients(ws, keys, tip_id, sources)
            resealed = False
            if sorted(recipients) != sorted(reply.get("recipients") or []):
                try:
                    document = messages.open_message(sealed, [keys.age], kind=messages.REPLY)
                except TipboxCryptoError as exc:
                    raise VerificationError(
                        f"pending reply {str(reply.get('id'))[:8]} of tip {short(tip_id)} cannot be opened: {exc}"
                    ) from None
                sealed = messages.seal_message(document, recipients)
                reply["recipients"] = recipients
                reply["message"] = base64.b64encode(sealed).decode("ascii")
                changed = resealed = True
            out.append(OutgoingReply(reply["id"], tip_id, sealed, resealed))
        if changed:
            save_replies(ws, keys, record)
    return out


# --- the thread `show` prints ---------------------------------------------------------------------


@dataclass
class ThreadItem:
    kind: str  # "followup" | "reply"
    id: str
    state: str  # "received" (a follow-up), "published" (in a bundle), "sent" (exported), "pending"
    when: str | None  # the hour the server received it, or when the reply was written
    sealed_by: str | None = None  # as the signed bundle says
    document: dict[str, Any] | None = None
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


def thread(ws: Workspace, keys: Keys, tip_id: str, meta: Mapping[str, Any], sent: Mapping[str, Any]) -> Thread:
    """Follow-ups and published replies from the bundles, then this reviewer's sent and pending replies."""
    result = Thread(tip_id, bool(load_sources(ws, keys).get(tip_id)))
    published: set[str] = set()
    for entry in meta.get("messages") or []:
        kind = entry.get("kind")
        item = ThreadItem(
            kind=kind,
            id=entry["id"],
            state="received" if kind == messages.FOLLOWUP else "published",
            when=entry.get("received"),
            sealed_by=entry.get("sealed_by"),
        )
        try:
            item.document = open_stored_message(ws, keys, tip_id, entry)
        except VerificationError as exc:
            item.problem = str(exc)
        published.add(entry["id"])
        result.items.append(item)
    for reply in load_replies(ws, keys, tip_id)["replies"]:
        if reply.get("id") in published:
            continue  # the server published it: shown above, from the bundle
        item = ThreadItem(
            kind=messages.REPLY,
            id=reply["id"],
            state="sent" if reply["id"] in sent else "pending",
            when=reply.get("created"),
            sealed_by="reviewer",
            sent_in=(sent.get(reply["id"]) or {}).get("file") if reply["id"] in sent else None,
        )
        try:
            item.document = messages.open_message(base64.b64decode(reply["message"]), [keys.age], kind=messages.REPLY)
        except (TipboxCryptoError, ValueError) as exc:
            item.problem = f"reply {reply['id'][:8]} of tip {short(tip_id)} cannot be opened: {exc}"
        result.items.append(item)
    return result


__all__ = [
    "MESSAGE_KEYS",
    "OutgoingReply",
    "Thread",
    "ThreadItem",
    "all_attachments",
    "check_text",
    "load_replies",
    "load_sources",
    "message_entry",
    "open_message_bytes",
    "open_stored_message",
    "pending_replies",
    "reply_recipients",
    "save_sources",
    "thread",
    "write_reply",
]
