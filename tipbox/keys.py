"""Reviewer recipients, the signed key manifest, and the server's signing key.

The server signs with one Ed25519 key (key manifests, export bundles, later
audit checkpoints). Reviewers pin its public key on first import, so losing or
replacing it is loud by design: back it up with the database.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import nacl.signing
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import key_manifest
from crypto.envelope import parse_recipient
from crypto.identity import recipient_fingerprint

from . import clock, readers
from .audit.log import record
from .models import Channel, KeyManifest, Reviewer

DEFAULT_CHANNEL = "default"
# The names migration 0005 gives an existing deployment's single channel, and a new one gets.
DEFAULT_NAME_ID = "Tim peninjau"
DEFAULT_NAME_EN = "Review team"


class ReviewerError(ValueError):
    """A reviewer change was refused; the message is safe to print."""


def write_secret_file(path: Path, data: bytes) -> bool:
    """Create ``path`` with mode 0600 holding ``data``; False if it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return True


def load_server_key(path: Path) -> nacl.signing.SigningKey:
    try:
        seed = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        raise ReviewerError("cannot read the server signing key; run `tipbox init` first") from None
    if len(seed) != 32:
        raise ReviewerError("the server signing key file is malformed")
    return nacl.signing.SigningKey(seed)


def ensure_server_key(path: Path) -> bool:
    return write_secret_file(path, secrets.token_bytes(32).hex().encode() + b"\n")


def ensure_channel(db: Session, channel_id: str = DEFAULT_CHANNEL) -> Channel:
    channel = db.get(Channel, channel_id)
    if channel is None:
        channel = Channel(id=channel_id, name_id=DEFAULT_NAME_ID, name_en=DEFAULT_NAME_EN)
        db.add(channel)
        db.flush()
    return channel


def active_reviewers(db: Session, channel_id: str = DEFAULT_CHANNEL) -> list[Reviewer]:
    return list(
        db.scalars(
            select(Reviewer)
            .where(Reviewer.channel_id == channel_id, Reviewer.removed_at.is_(None))
            .order_by(Reviewer.recipient)
        )
    )


def removed_reviewers(db: Session, channel_id: str = DEFAULT_CHANNEL) -> list[Reviewer]:
    """Reviewers who left the channel (and are not back): their keys may still open stored tips."""
    active = {r.recipient for r in active_reviewers(db, channel_id)}
    rows = db.scalars(select(Reviewer).where(Reviewer.channel_id == channel_id, Reviewer.removed_at.is_not(None))
                      .order_by(Reviewer.recipient))
    return [r for r in rows if r.recipient not in active]


def issue_manifest(db: Session, key: nacl.signing.SigningKey, channel_id: str = DEFAULT_CHANNEL) -> KeyManifest:
    reviewers = active_reviewers(db, channel_id)
    now = clock.utcnow().replace(microsecond=0)
    if not reviewers:
        raise ReviewerError("a channel needs at least one active reviewer")
    channel = db.get(Channel, channel_id)
    named = channel is not None and bool(channel.name_id and channel.name_en)
    body = key_manifest.build_body(
        channel_id,
        now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        [{"label": r.label, "recipient": r.recipient, "signing_key": r.signing_key or ""} for r in reviewers],
        # Published signed so the page and the review CLI can later show and check them (FORMAT.md §7).
        names={"id": channel.name_id, "en": channel.name_en} if channel is not None and named else None,
        scope=_manifest_scope(channel) if channel is not None and named else None,
    )
    record = KeyManifest(
        channel_id=channel_id,
        issued_at=now,
        fingerprint=key_manifest.recipients_fingerprint(key_manifest.recipients(body)),
        recipient_count=len(reviewers),
        document=json.dumps(key_manifest.sign(body, key), sort_keys=True),
    )
    db.add(record)
    db.flush()
    readers.forget_published(db)
    readers.publish_directory(db, key)
    return record


def _codes(stored: str) -> list[str]:
    return stored.split(",") if stored else []


def _manifest_scope(channel: Channel) -> dict[str, object]:
    scope: dict[str, object] = {
        "regions": _codes(channel.scope_regions),
        "categories": _codes(channel.scope_categories),
        "coordinating": bool(channel.coordinating),
    }
    if channel.forward_only:
        scope["forward_only"] = True  # only when set: manifests of routed channels stay as they were
    return scope


def reissue_if_staffed(db: Session, key: nacl.signing.SigningKey, channel_id: str) -> KeyManifest | None:
    """Re-sign a channel's manifest after its names or scope changed; None while it has no reviewer."""
    if not active_reviewers(db, channel_id):
        return None
    return issue_manifest(db, key, channel_id)


def current_manifest(db: Session, channel_id: str = DEFAULT_CHANNEL) -> KeyManifest | None:
    return db.scalars(
        select(KeyManifest).where(KeyManifest.channel_id == channel_id).order_by(KeyManifest.id.desc()).limit(1)
    ).first()


def manifest_recipients(manifest: KeyManifest) -> list[str]:
    """The reviewers' age recipients a stored manifest lists (what tips and replies are sealed to)."""
    return key_manifest.recipients(key_manifest.validate_body(json.loads(manifest.document)["body"]))


@dataclass(frozen=True)
class NewReviewer:
    label: str
    recipient: str
    signing_key: str | None = None


def add_reviewer(
    db: Session, key: nacl.signing.SigningKey, new: NewReviewer, channel_id: str = DEFAULT_CHANNEL
) -> Reviewer:
    recipient = str(parse_recipient(new.recipient))
    if channel_id != DEFAULT_CHANNEL and db.get(Channel, channel_id) is None:
        # Only "default" appears on its own (single-channel deployments); others need names and a scope first.
        raise ReviewerError(f"no channel {channel_id!r}: create it with `tipbox channels add` first")
    ensure_channel(db, channel_id)
    existing = db.scalars(
        select(Reviewer).where(Reviewer.channel_id == channel_id, Reviewer.recipient == recipient)
    ).first()
    if existing is not None and existing.removed_at is None:
        raise ReviewerError("this recipient is already an active reviewer")
    if existing is not None:
        existing.removed_at = None
        existing.label = new.label
        existing.signing_key = new.signing_key
        reviewer = existing
    else:
        reviewer = Reviewer(
            id=secrets.token_hex(16),
            channel_id=channel_id,
            label=new.label,
            recipient=recipient,
            signing_key=new.signing_key,
            added_at=clock.utcnow().replace(microsecond=0),
        )
        db.add(reviewer)
    db.flush()
    manifest = issue_manifest(db, key, channel_id)
    _log_reviewer_change(db, "reviewer.added", reviewer, manifest)
    return reviewer


def remove_reviewer(
    db: Session, key: nacl.signing.SigningKey, recipient_or_label: str, channel_id: str = DEFAULT_CHANNEL
) -> Reviewer:
    matches = [r for r in active_reviewers(db, channel_id) if recipient_or_label in (r.recipient, r.label, r.id)]
    if len(matches) != 1:
        raise ReviewerError("no single active reviewer matches")
    if len(active_reviewers(db, channel_id)) == 1:
        raise ReviewerError("cannot remove the last reviewer: tips would have nobody to be sealed to")
    matches[0].removed_at = clock.utcnow().replace(microsecond=0)
    db.flush()
    manifest = issue_manifest(db, key, channel_id)
    _log_reviewer_change(db, "reviewer.removed", matches[0], manifest)
    return matches[0]


def _log_reviewer_change(db: Session, event: str, reviewer: Reviewer, manifest: KeyManifest) -> None:
    record(db, event, None, {"recipient": recipient_fingerprint(reviewer.recipient),
                             "key_manifest": manifest.fingerprint, "channel": reviewer.channel_id})
