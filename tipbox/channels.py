"""Channels: validation, overlap notes and changes, shared by the operator CLI and (later) the server.

A channel's scope is a set of Kemendagri region codes (a province covers its
kabupaten/kota) and/or tip category codes; an empty list means "any". A tip
is within a scope when both its region and its category are. The catch-all
(empty scope, not coordinating) receives what no other channel takes, so
there is at most one; a coordinating channel receives every tip within its
scope even when a more specific channel leads. Routing tips by scope is
crypto/routing.py's; this module keeps the saved configuration one that
routing accepts (by its own check_channels) and says where scopes overlap,
which is allowed.

Every change re-signs the channel's key manifest (its names and scope are
published in it, FORMAT.md §7) when the channel has reviewers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import nacl.signing
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto import key_manifest, routing
from crypto.errors import RoutingError

from .audit.log import record
from .keys import DEFAULT_CHANNEL, active_reviewers, current_manifest, reissue_if_staffed
from .models import Channel, KeyManifest, Reviewer, Tip

ID = re.compile(r"[a-z0-9-]{1,64}")
NAME_MAX = 100


class ChannelError(ValueError):
    """A channel change was refused; the message is one line, safe to print."""


@dataclass(frozen=True)
class Scope:
    regions: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    coordinating: bool = False
    forward_only: bool = False  # never routed to: receives forwards only (an agency desk)

    @property
    def catch_all(self) -> bool:
        return not self.regions and not self.categories and not self.coordinating and not self.forward_only

    def describe(self) -> str:
        if self.forward_only:
            return "forward-only (never routed to; receives forwards from other channels)"
        if self.catch_all:
            return "catch-all (whatever no other channel takes)"
        where = ", ".join(self.regions) or "any region"
        what = ", ".join(self.categories) or "any category"
        return f"{where}; {what}" + ("; coordinating" if self.coordinating else "")


def split_codes(stored: str) -> tuple[str, ...]:
    return tuple(stored.split(",")) if stored else ()


def join_codes(codes: Iterable[str]) -> str:
    """The canonical stored form: sorted, unique, comma-separated ('' for none)."""
    return ",".join(sorted(set(codes)))


def scope_of(channel: Channel) -> Scope:
    return Scope(split_codes(channel.scope_regions), split_codes(channel.scope_categories), bool(channel.coordinating),
                 bool(channel.forward_only))


def check_id(channel_id: str) -> str:
    if not ID.fullmatch(channel_id):
        raise ChannelError(f"bad channel id {channel_id!r}: use 1-64 of a-z 0-9 -")
    return channel_id


def check_name(name: str, language: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise ChannelError(f"the {language} name must be 1-{NAME_MAX} characters")
    if not key_manifest.printable(name):
        raise ChannelError(f"the {language} name holds a control or formatting character")
    return name


def canonical(codes: Iterable[str]) -> tuple[str, ...]:
    """Sorted and unique, as stored; whether the codes exist is crypto.routing.check_channels' to say."""
    return split_codes(join_codes(codes))


def _regions_overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if not a or not b:
        return True
    return any(x == y or x.startswith(y + ".") or y.startswith(x + ".") for x in a for y in b)


def overlaps(a: Scope, b: Scope) -> bool:
    """Whether some tip could be within both scopes (the catch-all overlaps nothing: it takes only leftovers)."""
    if a.catch_all or b.catch_all:
        return False
    categories = not a.categories or not b.categories or bool(set(a.categories) & set(b.categories))
    return categories and _regions_overlap(a.regions, b.regions)


def overlap_notes(db: Session, channel_id: str | None = None) -> list[str]:
    """Notes on non-coordinating channels whose scopes overlap (allowed: routing picks the more specific).

    Coordinating channels overlap by design and are not reported; forward-only ones are never routed to.
    """
    leading = [c for c in all_channels(db) if not c.coordinating and not c.forward_only]
    notes = []
    for i, a in enumerate(leading):
        for b in leading[i + 1:]:
            if channel_id not in (None, a.id, b.id) or not overlaps(scope_of(a), scope_of(b)):
                continue
            notes.append(f"note: the scopes of {a.id} ({scope_of(a).describe()}) and "
                         f"{b.id} ({scope_of(b).describe()}) overlap: the more specific leads, "
                         "a tie goes to the lowest id")
    return notes


def all_channels(db: Session) -> list[Channel]:
    return list(db.scalars(select(Channel).order_by(Channel.id)))


def get(db: Session, channel_id: str) -> Channel:
    channel = db.get(Channel, channel_id)
    if channel is None:
        raise ChannelError(f"no channel {channel_id!r}")
    return channel


def reviewer_count(db: Session, channel_id: str) -> int:
    return len(active_reviewers(db, channel_id))


def unstaffed_warning(channel_id: str) -> str:
    return (f"warning: {channel_id} has no reviewer and cannot receive tips "
            f"(tipbox reviewers add --channel {channel_id} ...)")


def _as_routed(channel_id: str, scope: Scope) -> routing.Channel:
    return routing.Channel(channel_id, routing.Scope(frozenset(scope.regions), frozenset(scope.categories)),
                           scope.coordinating)


def _check_set(db: Session, channel_id: str, scope: Scope) -> None:
    """The channel set as it would be after this change, checked by the rules routing relies on.

    One set of rules (crypto/routing.py): every code exists, at most one
    catch-all; so the configuration an operator saves is one routing accepts.
    Forward-only channels are never routed to, so routing never sees them;
    they have no scope to check.
    """
    if scope.forward_only:
        if scope.regions or scope.categories or scope.coordinating:
            raise ChannelError("a forward-only channel has no scope: it is never routed to")
        return
    others = [_as_routed(c.id, scope_of(c)) for c in all_channels(db) if c.id != channel_id and not c.forward_only]
    try:
        routing.check_channels([*others, _as_routed(channel_id, scope)])
    except RoutingError as exc:
        hint = "; give this channel a region or category, or make it --coordinating" if scope.catch_all else ""
        raise ChannelError(f"{exc}{hint}") from None


def add(db: Session, channel_id: str, name_id: str, name_en: str, scope: Scope) -> Channel:
    check_id(channel_id)
    if db.get(Channel, channel_id) is not None:
        raise ChannelError(f"channel {channel_id!r} already exists")
    name_id, name_en = check_name(name_id, "Bahasa Indonesia"), check_name(name_en, "English")
    scope = Scope(canonical(scope.regions), canonical(scope.categories), scope.coordinating, scope.forward_only)
    _check_set(db, channel_id, scope)
    channel = Channel(
        id=channel_id,
        name_id=name_id,
        name_en=name_en,
        scope_regions=join_codes(scope.regions),
        scope_categories=join_codes(scope.categories),
        coordinating=scope.coordinating,
        forward_only=scope.forward_only,
    )
    db.add(channel)
    db.flush()
    _log_change(db, "channel.added", channel)
    return channel


def _log_change(db: Session, event: str, channel: Channel) -> None:
    """Channel changes are audited: ids and public scope codes only (what the signed manifest publishes)."""
    scope = scope_of(channel)
    data: dict[str, object] = {"channel": channel.id, "regions": list(scope.regions),
                               "categories": list(scope.categories), "coordinating": scope.coordinating}
    if scope.forward_only:
        data["forward_only"] = True
    record(db, event, None, data)


@dataclass(frozen=True)
class Changes:
    """Fields to replace; None leaves a field as it is."""

    name_id: str | None = None
    name_en: str | None = None
    regions: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    coordinating: bool | None = None


def update(db: Session, key: nacl.signing.SigningKey, channel_id: str, changes: Changes) -> KeyManifest | None:
    """Apply ``changes`` and re-sign the manifest; the new manifest, or None while the channel has no reviewer."""
    channel = get(db, channel_id)
    old = scope_of(channel)
    scope = Scope(
        canonical(changes.regions) if changes.regions is not None else old.regions,
        canonical(changes.categories) if changes.categories is not None else old.categories,
        changes.coordinating if changes.coordinating is not None else old.coordinating,
        old.forward_only,
    )
    _check_set(db, channel_id, scope)
    if changes.name_id is not None:
        channel.name_id = check_name(changes.name_id, "Bahasa Indonesia")
    if changes.name_en is not None:
        channel.name_en = check_name(changes.name_en, "English")
    channel.scope_regions = join_codes(scope.regions)
    channel.scope_categories = join_codes(scope.categories)
    channel.coordinating = scope.coordinating
    db.flush()
    _log_change(db, "channel.updated", channel)
    return reissue_if_staffed(db, key, channel_id)


def remove(db: Session, channel_id: str) -> None:
    """Delete a channel that never had reviewers or tips; anything else would orphan keys or ciphertext."""
    if channel_id == DEFAULT_CHANNEL:
        raise ChannelError("the default channel cannot be removed")
    get(db, channel_id)
    if reviewer_count(db, channel_id):
        raise ChannelError(f"{channel_id} still has active reviewers: remove them first")
    reviewers = db.scalar(select(func.count()).select_from(Reviewer).where(Reviewer.channel_id == channel_id))
    tips = db.scalar(select(func.count()).select_from(Tip).where(Tip.channel_id == channel_id))
    if tips:
        raise ChannelError(f"{channel_id} holds {tips} tip(s): it cannot be removed while it has tips")
    if reviewers or current_manifest(db, channel_id) is not None:
        raise ChannelError(f"{channel_id} has issued key manifests: it is kept for the record")
    channel = get(db, channel_id)
    _log_change(db, "channel.removed", channel)
    db.delete(channel)
    db.flush()
