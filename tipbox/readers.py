"""Who can read a tip: the published channels, routing over them, and the keys a tip is sealed to.

Routing (crypto/routing.py, FORMAT.md §14) runs over the channels as their
current signed key manifests publish them, not over the configuration rows:
the browser routes over exactly these manifests (the channel directory on
the page), so the server, the page and the offline tools agree on one set. A
channel without reviewers has no manifest and so can never receive a tip.

A tip's keys are the union of the current reviewers of every channel holding
it (a reviewer in two channels is one recipient), fingerprinted the way a
single manifest is (``key_manifest.recipients_fingerprint``): a
single-channel deployment's fingerprint is unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import nacl.signing
from sqlalchemy import event, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crypto import key_manifest, routing

from . import clock
from .models import TIP_READY, ChannelDirectory, KeyManifest, Message, RecipientSet, Tip, TipChannel


class NotRoutable(ValueError):
    """The channels a browser named are not an outcome routing can give, or one of them cannot receive tips."""


@dataclass(frozen=True)
class Published:
    """A channel as its current signed key manifest publishes it."""

    id: str
    body: dict[str, Any]
    document: dict[str, Any]
    fingerprint: str

    @property
    def names(self) -> dict[str, str]:
        return dict(self.body.get("names") or {})

    @property
    def recipients(self) -> list[str]:
        return key_manifest.recipients(self.body)

    @property
    def forward_only(self) -> bool:
        """Never routed to and never on the form: it receives forwards only (an agency desk)."""
        return bool((self.body.get("scope") or {}).get("forward_only"))

    def as_routed(self) -> routing.Channel:
        # Manifests issued before channels had a scope (FORMAT.md §7) are a single deployment's catch-all.
        scope = self.body.get("scope") or {"regions": [], "categories": [], "coordinating": False}
        return routing.Channel(
            self.id,
            routing.Scope(frozenset(scope["regions"]), frozenset(scope["categories"])),
            bool(scope["coordinating"]),
        )


@dataclass(frozen=True)
class ReaderKeys:
    """The keys a tip (or a message to it) is sealed to: the union over its channels."""

    channel_ids: tuple[str, ...]  # lead first
    recipients: tuple[str, ...]  # sorted, unique
    fingerprint: str

    @property
    def count(self) -> int:
        return len(self.recipients)


@lru_cache(maxsize=256)
def _parse(channel_id: str, document: str, fingerprint: str) -> Published:
    """A stored manifest, parsed once per process (keyed by its text: a stored manifest never changes)."""
    signed = json.loads(document)
    return Published(channel_id, key_manifest.validate_body(signed["body"]), signed, fingerprint)


def _published(row: KeyManifest) -> Published:
    return _parse(row.channel_id, row.document, row.fingerprint)


_PUBLISHED = "tipbox.published"


def published(db: Session) -> dict[str, Published]:
    """Every channel that can receive tips, by id: those with a current (newest) key manifest.

    Kept for the session (a request asks several times: route, check, keys);
    :func:`forget_published` drops it when a manifest is issued in it.
    """
    cached: dict[str, Published] | None = db.info.get(_PUBLISHED)
    if cached is not None:
        return cached
    newest = select(func.max(KeyManifest.id)).group_by(KeyManifest.channel_id)
    rows = db.scalars(select(KeyManifest).where(KeyManifest.id.in_(newest)).order_by(KeyManifest.channel_id))
    result = {row.channel_id: _published(row) for row in rows}
    db.info[_PUBLISHED] = result
    return result


def forget_published(db: Session) -> None:
    db.info.pop(_PUBLISHED, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(db: Session, _transaction: object) -> None:
    """The cache lives for one transaction: never past a rollback, never into the next request's view."""
    forget_published(db)


def publish_directory(db: Session, key: nacl.signing.SigningKey) -> ChannelDirectory:
    """Sign and store the channel directory (FORMAT.md §7) of the current manifests.

    Called wherever a manifest is issued (tipbox/keys.py), in the same
    transaction: the directory and the manifests never disagree, and the web
    process, which never holds the signing key, only serves what is stored.
    """
    documents = [p.document for p in published(db).values()]
    signed = key_manifest.sign_directory(key_manifest.build_directory(documents), key)
    row = ChannelDirectory(issued_at=clock.utcnow().replace(microsecond=0), document=json.dumps(signed, sort_keys=True))
    db.add(row)
    db.flush()
    return row


def directory(db: Session) -> dict[str, Any] | None:
    """The newest signed channel directory, or None before any channel had reviewers."""
    row = db.scalars(select(ChannelDirectory).order_by(ChannelDirectory.id.desc()).limit(1)).first()
    return json.loads(row.document) if row is not None else None


def directory_is_current(db: Session) -> bool:
    """Whether the stored directory lists exactly the current manifests (``tipbox db upgrade`` re-issues it if not)."""
    stored = directory(db)
    current = [p.document for p in published(db).values()]
    if stored is None:
        return not current
    return bool(stored["body"]["channels"] == current)


def routable(channels: dict[str, Published]) -> tuple[routing.Channel, ...]:
    """What routing runs over: every published channel but the forward-only ones."""
    return tuple(p.as_routed() for p in channels.values() if not p.forward_only)


@lru_cache(maxsize=8)
def _outcomes(channels: tuple[routing.Channel, ...]) -> frozenset[tuple[str, ...]]:
    return routing.outcomes(channels)


def route(db: Session, province: str | None, regency: str | None, category: str | None) -> tuple[str, ...]:
    """The readers (lead first) of a tip with these answers; raises ``crypto.errors.NoChannel``."""
    result = routing.route(routable(published(db)), province, regency, category)
    return tuple(c.id for c in result.readers)


def outcomes(db: Session) -> frozenset[tuple[str, ...]]:
    """Every readers tuple some answer leads to, over the published channels (cached per channel set)."""
    return _outcomes(routable(published(db)))


def checked_outcome(db: Session, channel_ids: object) -> tuple[str, ...]:
    """The readers a browser named, if routing could give them for some answers; else :class:`NotRoutable`.

    The browser routes and sends only the outcome (the server never learns
    the answers behind it): a page that left out a coordinating channel, or
    named a lead no answer picks, is refused rather than trusted.
    """
    if not isinstance(channel_ids, list) or not all(isinstance(c, str) for c in channel_ids):
        raise NotRoutable("channels must be a list of channel ids")
    outcome = tuple(channel_ids)
    if outcome not in outcomes(db):
        raise NotRoutable("these channels are not an outcome of routing")
    return outcome


def keys_for(db: Session, channel_ids: Sequence[str]) -> ReaderKeys:
    """The union of the current reviewers of ``channel_ids``; :class:`NotRoutable` if one has none."""
    channels = published(db)
    recipients: set[str] = set()
    for channel_id in channel_ids:
        if channel_id not in channels:
            raise NotRoutable(f"channel {channel_id!r} has no reviewers")
        recipients.update(channels[channel_id].recipients)
    ordered = tuple(sorted(recipients))
    return ReaderKeys(tuple(channel_ids), ordered, key_manifest.recipients_fingerprint(ordered))


def remember(db: Session, keys: ReaderKeys) -> None:
    """Keep the recipients behind ``keys.fingerprint`` (what something is being sealed to); a no-op if known.

    INSERT ... ON CONFLICT DO NOTHING: two requests sealing to the same new
    set at once must not fail on the primary key.
    """
    if db.get(RecipientSet, keys.fingerprint) is not None:
        return
    dialect = db.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    db.execute(insert(RecipientSet).values(fingerprint=keys.fingerprint, recipients="\n".join(keys.recipients))
               .on_conflict_do_nothing(index_elements=["fingerprint"]))


def sealed_to(db: Session, fingerprints: Iterable[str]) -> dict[str, frozenset[str]]:
    """Fingerprint -> the recipients it stands for (unknown fingerprints are left out)."""
    wanted = set(fingerprints)
    if not wanted:
        return {}
    rows = db.scalars(select(RecipientSet).where(RecipientSet.fingerprint.in_(wanted)))
    return {row.fingerprint: frozenset(row.recipients.split("\n")) for row in rows}


def stored_tips_by_recipient(db: Session) -> dict[str, int]:
    """Recipient -> how many stored tips have a part (payload, attachment, message) sealed to it.

    What a removed reviewer's key still opens on the server: non-zero means a
    reseal (``tipbox-review reseal``) is due. Attachments share their tip's or
    message's keys (they are checked against the same set), so payloads and
    messages are enough.
    """
    parts = db.execute(select(Tip.id, Tip.key_fingerprint).where(Tip.state == TIP_READY)).all()
    parts += db.execute(
        select(Message.tip_id, Message.key_fingerprint).where(Message.state == TIP_READY)).all()
    sets = sealed_to(db, {fingerprint for _, fingerprint in parts})
    tips: dict[str, set[str]] = {}
    for tip_id, fingerprint in parts:
        for recipient in sets.get(fingerprint, ()):
            tips.setdefault(recipient, set()).add(tip_id)
    return {recipient: len(ids) for recipient, ids in tips.items()}


def tip_keys(db: Session, tip: Tip) -> ReaderKeys:
    """Who a tip's later messages (follow-ups, replies) are sealed to: every channel holding it, now."""
    return keys_for(db, tip.channel_ids)


def hold(tip: Tip, channel_ids: Iterable[str]) -> None:
    """Record the channels holding a new tip, lead first (the lead is also ``tip.channel_id``)."""
    ids = list(channel_ids)
    tip.channel_id = ids[0]
    tip.holders = [TipChannel(channel_id=c, position=i, exported_seq=0) for i, c in enumerate(ids)]


def names(db: Session, channel_ids: Iterable[str], lang: str) -> list[str]:
    """The public names of ``channel_ids`` in ``lang`` ("id" or "en"), for telling a source who reads."""
    channels = published(db)
    out = []
    for channel_id in channel_ids:
        channel = channels.get(channel_id)
        named = channel.names if channel is not None else {}
        out.append(named.get(lang) or named.get("id") or channel_id)
    return out
