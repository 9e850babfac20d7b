"""The export bundle: ciphertext leaving the server for the offline reviewers.

A bundle is a POSIX ustar archive whose first member is ``manifest.json``, a
signed document (context ``tipbox/export-manifest/v1``) listing every tip and
the path, size and SHA-256 of each age file; the other members are exactly
those files. Member metadata is fixed (mtime 0, uid/gid 0, mode 0644) and
files are written in manifest order, so the same input gives the same bytes.
Readers verify the signature against a pinned key and every member against the
manifest before trusting anything, and refuse unknown or missing members.
See FORMAT.md, "Export bundle".

Reading returns the manifest body as a frozen :class:`BundleManifest`
(:class:`BundleTip`, :class:`BundleMessage`, :class:`BundleFileEntry`); writing
signs the body mapping it is given, exactly as given, once it parses.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import nacl.signing

from . import archive, key_manifest, strict_json
from .audit import Policy
from .documents import FrozenJSON, JSONDocument, JSONObject, frozen_members, thawed
from .errors import MalformedDocument, MalformedJSON
from .routing import CHANNEL_ID
from .signing import CONTEXT_EXPORT_MANIFEST, canonical_json, sign_document, verify_document
from .vocabulary import TIP_SEALERS, MessageKind, SealedBy, codes

DOCUMENT_TYPE = "tipbox-export-bundle"
VERSION = 1
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
_ID = r"[0-9a-f]{32}"
_MEMBER = re.compile(rf"^tips/{_ID}/(payload|attachments/{_ID}|messages/{_ID})\.age$")
_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")
MESSAGE_KINDS = codes(MessageKind)
TIP_SEALED_BY = tuple(s.value for s in TIP_SEALERS)
MESSAGE_SEALED_BY = codes(SealedBy)
_READ = 1024 * 1024


def payload_path(tip_id: str) -> str:
    return f"tips/{tip_id}/payload.age"


def attachment_path(tip_id: str, attachment_id: str) -> str:
    return f"tips/{tip_id}/attachments/{attachment_id}.age"


def message_path(tip_id: str, message_id: str) -> str:
    return f"tips/{tip_id}/messages/{message_id}.age"


# --- the manifest body, typed ----------------------------------------------------------------------


@dataclass(frozen=True)
class BundleFileEntry:
    """One age file the manifest lists: where it is in the bundle, and its ciphertext size and SHA-256."""

    path: str
    size: int
    sha256: str

    def as_document(self) -> JSONObject:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class BundleAttachment(BundleFileEntry):
    """A sealed attachment of a tip or of a follow-up; its path is ``attachment_path(tip, id)``."""

    id: str

    def as_document(self) -> JSONObject:
        return {"id": self.id, **super().as_document()}


@dataclass(frozen=True)
class BundleMessage(BundleFileEntry):
    """A follow-up or a published reply (FORMAT.md §13), as the signed manifest lists it."""

    id: str
    kind: MessageKind
    received: str  # the hour the server received it
    sealed_by: SealedBy  # as the server recorded it; the message itself says too
    attachments: tuple[BundleAttachment, ...]

    def files(self) -> Iterator[BundleFileEntry]:
        yield self
        yield from self.attachments

    def as_document(self) -> JSONObject:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "received": self.received,
            "sealed_by": self.sealed_by.value,
            **super().as_document(),
            "attachments": [a.as_document() for a in self.attachments],
        }


@dataclass(frozen=True)
class BundleTip:
    """One report's entry: its payload, attachments and thread, and the source's recipient for replies."""

    id: str
    received: str  # the hour the server received it
    sealed_by: SealedBy  # browser or server
    key_fingerprint: str | None  # of the key manifest it was sealed against
    payload: BundleFileEntry
    attachments: tuple[BundleAttachment, ...]
    source_recipient: str | None  # None: sent before replies existed (FORMAT.md §12)
    messages: tuple[BundleMessage, ...]
    # The channels holding the tip, lead first (FORMAT.md §14); None in bundles from before channels.
    channels: tuple[str, ...] | None = None
    # Who a reply to it is sealed to, with the source: every reviewer of every holding channel.
    reviewers: tuple[str, ...] | None = None
    # The source ticked "alert the team now" (the only thing about a tip the server is told on purpose).
    urgent: bool = False

    @property
    def lead(self) -> str | None:
        return self.channels[0] if self.channels else None

    def files(self) -> Iterator[BundleFileEntry]:
        yield self.payload
        yield from self.attachments
        for message in self.messages:
            yield from message.files()

    def as_document(self) -> JSONObject:
        document: JSONObject = {
            "id": self.id,
            "received": self.received,
            "sealed_by": self.sealed_by.value,
            "key_fingerprint": self.key_fingerprint,
            "payload": self.payload.as_document(),
            "attachments": [a.as_document() for a in self.attachments],
            "source_recipient": self.source_recipient,
            "messages": [m.as_document() for m in self.messages],
        }
        if self.channels is not None:
            document["channels"] = list(self.channels)
        if self.reviewers is not None:
            document["reviewers"] = list(self.reviewers)
        if self.urgent:
            document["urgent"] = True
        return document


@dataclass(frozen=True, eq=False)
class BundleManifest(JSONDocument):
    """The signed manifest body (FORMAT.md §8); reads as its JSON object too (see :mod:`crypto.documents`)."""

    version: int
    created: str
    since: str | None
    tips: tuple[BundleTip, ...]
    reviewers: tuple[str, ...] | None  # None: the bundle predates the reviewers list
    policy: Policy | None  # None: the bundle predates the policy; readers assume Policy()'s defaults
    channel: str | None = None  # whose export this is (FORMAT.md §14); None: from before channels
    # The signed channel directory (key_manifest.verify_directory checks it against the pinned key).
    directory: Mapping[str, FrozenJSON] | None = None

    def files(self) -> Iterator[BundleFileEntry]:
        for tip in self.tips:
            yield from tip.files()

    def as_document(self) -> JSONObject:
        document: JSONObject = {
            "type": DOCUMENT_TYPE,
            "v": self.version,
            "created": self.created,
            "since": self.since,
            "tips": [t.as_document() for t in self.tips],
        }
        if self.reviewers is not None:
            document["reviewers"] = list(self.reviewers)
        if self.policy is not None:
            policy: JSONObject = self.policy.as_document()
            document["policy"] = policy
        if self.channel is not None:
            document["channel"] = self.channel
        if self.directory is not None:
            document["directory"] = thawed(self.directory)
        return document


# --- parsing -------------------------------------------------------------------------------------


def _is_id(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(_ID, value) is not None


def _file(raw: Mapping[str, object], path: str | None = None) -> BundleFileEntry:
    """The (path, size, sha256) of a manifest entry; ``path``, when given, is where it must be."""
    entry_path, size, sha256 = raw.get("path"), raw.get("size"), raw.get("sha256")
    if not isinstance(entry_path, str) or not _MEMBER.match(entry_path) or (path is not None and entry_path != path):
        raise MalformedDocument("invalid or duplicate file path in manifest")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise MalformedDocument("invalid file size in manifest")
    if not isinstance(sha256, str) or not _HEX64.match(sha256):
        raise MalformedDocument("invalid sha256 in manifest")
    return BundleFileEntry(entry_path, size, sha256)


def _attachments(raw: object, tip_id: str, where: str) -> tuple[BundleAttachment, ...]:
    if not isinstance(raw, list):
        raise MalformedDocument(f"{where} attachments must be a list")
    out = []
    for entry in raw:
        if not isinstance(entry, Mapping) or not _is_id(entry.get("id")):
            raise MalformedDocument("attachment id must be 32 lowercase hex digits")
        attachment_id = str(entry["id"])
        file = _file(entry, attachment_path(tip_id, attachment_id))
        out.append(BundleAttachment(file.path, file.size, file.sha256, attachment_id))
    return tuple(out)


def _string(raw: Mapping[str, object], key: str, what: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str):
        raise MalformedDocument(f"{what} {key} must be a string")
    return value


def _optional_string(raw: Mapping[str, object], key: str, what: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise MalformedDocument(f"{what} {key} must be a string or null")
    return value


def _message(raw: object, tip_id: str) -> BundleMessage:
    if not isinstance(raw, Mapping) or not _is_id(raw.get("id")):
        raise MalformedDocument("message id must be 32 lowercase hex digits")
    message_id = str(raw["id"])
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in MESSAGE_KINDS:
        raise MalformedDocument("message kind must be 'followup' or 'reply'")
    if raw.get("path") != message_path(tip_id, message_id):
        raise MalformedDocument("message path does not match its tip and id")
    sealed_by = raw.get("sealed_by")
    if not isinstance(sealed_by, str) or sealed_by not in MESSAGE_SEALED_BY:
        raise MalformedDocument("message sealed_by must be 'browser', 'server' or 'reviewer'")
    file = _file(raw)
    return BundleMessage(
        file.path,
        file.size,
        file.sha256,
        message_id,
        MessageKind(kind),
        _string(raw, "received", "message"),
        SealedBy(sealed_by),
        _attachments(raw.get("attachments", []), tip_id, "message"),
    )


def parse_tip(raw: object) -> BundleTip:
    """One tip entry of a manifest (also how the review CLI reads its stored copy of one)."""
    if not isinstance(raw, Mapping) or not _is_id(raw.get("id")):
        raise MalformedDocument("tip id must be 32 lowercase hex digits")
    tip_id = str(raw["id"])
    sealed_by = raw.get("sealed_by")
    if not isinstance(sealed_by, str) or sealed_by not in TIP_SEALED_BY:
        raise MalformedDocument("tip sealed_by must be 'browser' or 'server'")
    payload = raw.get("payload")
    if not isinstance(payload, Mapping):
        raise MalformedDocument("tip has no payload entry")
    source = raw.get("source_recipient")
    if source is not None and not (isinstance(source, str) and source.startswith("age1")):
        raise MalformedDocument("tip source_recipient must be an age recipient or null")
    messages = raw.get("messages", [])
    if not isinstance(messages, list) or not isinstance(raw.get("attachments", []), list):
        raise MalformedDocument("tip messages and attachments must be lists")
    return BundleTip(
        tip_id,
        _string(raw, "received", "tip"),
        SealedBy(sealed_by),
        _optional_string(raw, "key_fingerprint", "tip"),
        _file(payload, payload_path(tip_id)),
        _attachments(raw.get("attachments", []), tip_id, "tip"),
        source,
        tuple(_message(message, tip_id) for message in messages),
        _channel_ids(raw.get("channels")),
        _recipients(raw.get("reviewers"), "tip reviewers") if "reviewers" in raw else None,
        _urgent(raw.get("urgent", False)),
    )


def _urgent(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise MalformedDocument("tip urgent must be true or false")
    return raw


def _channel_ids(raw: object) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw or not all(isinstance(c, str) and CHANNEL_ID.fullmatch(c) for c in raw):
        raise MalformedDocument("tip channels must be a non-empty list of channel ids")
    if len(set(raw)) != len(raw):
        raise MalformedDocument("tip channels lists a channel twice")
    return tuple(raw)


def _recipients(raw: object, what: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(r, str) and r.startswith("age1") for r in raw):
        raise MalformedDocument(f"{what} must be a list of age recipients")
    return tuple(raw)


def validate_body(body: object) -> BundleManifest:
    """The manifest body, typed, or MalformedDocument (also for a malformed ``policy``)."""
    if not isinstance(body, Mapping) or body.get("type") != DOCUMENT_TYPE or body.get("v") != VERSION:
        raise MalformedDocument("not a tipbox export manifest v1")
    raw_tips = body.get("tips")
    if not isinstance(raw_tips, list):
        raise MalformedDocument("export manifest has no tip list")
    tips = tuple(parse_tip(tip) for tip in raw_tips)
    # the server's retention policy: the CLI checks holds against it
    policy = Policy.from_document(body["policy"]) if "policy" in body else None
    reviewers = _recipients(body.get("reviewers", []), "reviewers")
    channel = body.get("channel")
    if channel is not None and not (isinstance(channel, str) and CHANNEL_ID.fullmatch(channel)):
        raise MalformedDocument("export manifest channel must be a channel id")
    directory = body.get("directory")
    if directory is not None:
        if not isinstance(directory, Mapping) or not isinstance(directory.get("body"), Mapping):
            raise MalformedDocument("export manifest directory must be a signed channel directory")
        key_manifest.validate_directory(directory["body"])
    manifest = BundleManifest(
        VERSION,
        _string(body, "created", "export manifest"),
        _optional_string(body, "since", "export manifest"),
        tips,
        reviewers if "reviewers" in body else None,
        policy,
        channel,
        frozen_members(directory, frozenset()) if isinstance(directory, Mapping) else None,
    )
    seen: set[str] = set()
    for entry in manifest.files():
        if entry.path in seen:
            raise MalformedDocument("invalid or duplicate file path in manifest")
        seen.add(entry.path)
    return manifest


# --- writing -------------------------------------------------------------------------------------


# Bundles are signed archives (crypto/archive.py); its errors say "bundle" and "manifest".
WORDS = archive.Words("bundle", "manifest")
BundleFile = archive.ArchiveFile


def _listed(manifest: BundleManifest) -> dict[str, tuple[int, str]]:
    return {e.path: (e.size, e.sha256) for e in manifest.files()}


def write_bundle(
    out: BinaryIO,
    body: Mapping[str, object],
    files: Iterable[BundleFile],
    key: nacl.signing.SigningKey,
) -> None:
    """Write a signed bundle; ``files`` must match the manifest, in order. The body is signed as given."""
    manifest = body if isinstance(body, BundleManifest) else validate_body(body)
    signed = canonical_json(sign_document(dict(body), CONTEXT_EXPORT_MANIFEST, key))
    archive.write_archive(out, (MANIFEST, signed), files, _listed(manifest), WORDS)


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedBundle:
    path: Path
    manifest: BundleManifest
    signer: str  # base64 Ed25519 key that signed the manifest

    @property
    def body(self) -> BundleManifest:
        """The manifest under its older name (it reads as the signed body's JSON, too)."""
        return self.manifest

    def open_member(self, member: str) -> bytes:
        """Read one verified member (small files: payloads, messages)."""
        return archive.read_member(self.path, member)

    def copy_member(self, member: str, dst: BinaryIO) -> None:
        archive.copy_member(self.path, member, dst)


def read_manifest(path: Path, trusted_keys: Collection[str] | None) -> tuple[BundleManifest, str]:
    """Return (verified manifest, signer key) from a bundle's first member."""
    raw = archive.read_first(path, MANIFEST, MAX_MANIFEST_BYTES, WORDS)
    try:
        document = strict_json.loads(raw)
    except MalformedJSON:
        raise MalformedDocument("manifest is not JSON") from None
    body = verify_document(document, CONTEXT_EXPORT_MANIFEST, trusted_keys)
    signer: str = document["signature"]["key"]
    return validate_body(body), signer


def verify_bundle(path: Path, trusted_keys: Collection[str] | None) -> VerifiedBundle:
    """Check signature, then every member's presence, size and SHA-256."""
    manifest, signer = read_manifest(path, trusted_keys)
    archive.verify_members(path, _listed(manifest), WORDS)
    return VerifiedBundle(Path(path), manifest, signer)


__all__ = [
    "BundleAttachment",
    "BundleFile",
    "BundleFileEntry",
    "BundleManifest",
    "BundleMessage",
    "BundleTip",
    "VerifiedBundle",
    "attachment_path",
    "message_path",
    "parse_tip",
    "payload_path",
    "read_manifest",
    "validate_body",
    "verify_bundle",
    "write_bundle",
]
