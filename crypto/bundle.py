"""The export bundle: ciphertext leaving the server for the offline reviewers.

A bundle is a POSIX ustar archive whose first member is ``manifest.json``, a
signed document (context ``tipbox/export-manifest/v1``) listing every tip and
the path, size and SHA-256 of each age file; the other members are exactly
those files. Member metadata is fixed (mtime 0, uid/gid 0, mode 0644) and
files are written in manifest order, so the same input gives the same bytes.
Readers verify the signature against a pinned key and every member against the
manifest before trusting anything, and refuse unknown or missing members.
See FORMAT.md, "Export bundle".
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import nacl.signing

from . import strict_json
from .audit import Policy
from .errors import BundleInvalid, MalformedDocument, MalformedJSON
from .signing import CONTEXT_EXPORT_MANIFEST, canonical_json, sign_document, verify_document

DOCUMENT_TYPE = "tipbox-export-bundle"
VERSION = 1
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
_ID = r"[0-9a-f]{32}"
_MEMBER = re.compile(rf"^tips/{_ID}/(payload|attachments/{_ID}|messages/{_ID})\.age$")
_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")
MESSAGE_KINDS = ("followup", "reply")
_READ = 1024 * 1024


def payload_path(tip_id: str) -> str:
    return f"tips/{tip_id}/payload.age"


def attachment_path(tip_id: str, attachment_id: str) -> str:
    return f"tips/{tip_id}/attachments/{attachment_id}.age"


def message_path(tip_id: str, message_id: str) -> str:
    return f"tips/{tip_id}/messages/{message_id}.age"


@dataclass(frozen=True)
class BundleFile:
    """One age file to put in a bundle; ``open`` is called once, when written."""

    path: str
    size: int
    sha256: str
    open: Callable[[], IO[bytes]]


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _files_in(body: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for tip in body["tips"]:
        yield tip["payload"]
        yield from tip.get("attachments", [])
        for message in tip.get("messages", []):
            yield message
            yield from message.get("attachments", [])


def validate_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping) or body.get("type") != DOCUMENT_TYPE or body.get("v") != VERSION:
        raise MalformedDocument("not a tipbox export manifest v1")
    if not isinstance(body.get("tips"), list):
        raise MalformedDocument("export manifest has no tip list")
    seen: set[str] = set()
    for tip in body["tips"]:
        if not isinstance(tip, Mapping) or not re.fullmatch(_ID, str(tip.get("id", ""))):
            raise MalformedDocument("tip id must be 32 lowercase hex digits")
        if tip.get("sealed_by") not in ("browser", "server"):
            raise MalformedDocument("tip sealed_by must be 'browser' or 'server'")
        if not isinstance(tip.get("payload"), Mapping):
            raise MalformedDocument("tip has no payload entry")
        source = tip.get("source_recipient")
        if source is not None and not (isinstance(source, str) and source.startswith("age1")):
            raise MalformedDocument("tip source_recipient must be an age recipient or null")
        _check_messages(tip)
    if "policy" in body:
        Policy.from_document(body["policy"])  # the server's retention policy: the CLI checks holds against it
    reviewers = body.get("reviewers", [])
    if not isinstance(reviewers, list) or not all(isinstance(r, str) and r.startswith("age1") for r in reviewers):
        raise MalformedDocument("reviewers must be a list of age recipients")
    for entry in _files_in(body):
        path = entry.get("path")
        if not isinstance(path, str) or not _MEMBER.match(path) or path in seen:
            raise MalformedDocument("invalid or duplicate file path in manifest")
        seen.add(path)
        if not isinstance(entry.get("size"), int) or entry["size"] < 0:
            raise MalformedDocument("invalid file size in manifest")
        if not isinstance(entry.get("sha256"), str) or not _HEX64.match(entry["sha256"]):
            raise MalformedDocument("invalid sha256 in manifest")
    return dict(body)


def _check_messages(tip: Mapping[str, Any]) -> None:
    messages = tip.get("messages", [])
    if not isinstance(messages, list) or not isinstance(tip.get("attachments", []), list):
        raise MalformedDocument("tip messages and attachments must be lists")
    for message in messages:
        if not isinstance(message, Mapping) or not re.fullmatch(_ID, str(message.get("id", ""))):
            raise MalformedDocument("message id must be 32 lowercase hex digits")
        if message.get("kind") not in MESSAGE_KINDS:
            raise MalformedDocument("message kind must be 'followup' or 'reply'")
        if message.get("path") != message_path(tip["id"], message["id"]):
            raise MalformedDocument("message path does not match its tip and id")
        if not isinstance(message.get("attachments", []), list):
            raise MalformedDocument("message attachments must be a list")


def write_bundle(
    out: BinaryIO,
    body: Mapping[str, Any],
    files: Iterable[BundleFile],
    key: nacl.signing.SigningKey,
) -> None:
    """Write a signed bundle; ``files`` must match the manifest, in order."""
    manifest = canonical_json(sign_document(validate_body(body), CONTEXT_EXPORT_MANIFEST, key))
    expected = {e["path"]: e for e in _files_in(body)}
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(_tarinfo(MANIFEST, len(manifest)), io.BytesIO(manifest))
        for file in files:
            entry = expected.pop(file.path, None)
            if entry is None or entry["size"] != file.size or entry["sha256"] != file.sha256:
                raise BundleInvalid("file does not match the manifest being written")
            with file.open() as handle:
                tar.addfile(_tarinfo(file.path, file.size), handle)
    if expected:
        raise BundleInvalid("manifest lists files that were not written")


@dataclass(frozen=True)
class VerifiedBundle:
    path: Path
    body: dict[str, Any]
    signer: str  # base64 Ed25519 key that signed the manifest

    def open_member(self, member: str) -> bytes:
        """Read one verified member (small files: payloads, messages)."""
        with tarfile.open(self.path, mode="r:") as tar:
            handle = tar.extractfile(member)
            if handle is None:
                raise BundleInvalid("member missing")
            return handle.read()

    def copy_member(self, member: str, dst: BinaryIO) -> None:
        with tarfile.open(self.path, mode="r:") as tar:
            handle = tar.extractfile(member)
            if handle is None:
                raise BundleInvalid("member missing")
            while chunk := handle.read(_READ):
                dst.write(chunk)


def read_manifest(path: Path, trusted_keys: Collection[str] | None) -> tuple[dict[str, Any], str]:
    """Return (verified body, signer key) from a bundle's first member."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise BundleInvalid("bundle does not start with manifest.json")
            if first.size > MAX_MANIFEST_BYTES:
                raise BundleInvalid("manifest too large")
            handle = tar.extractfile(first)
            assert handle is not None
            raw = handle.read()
    except (tarfile.TarError, EOFError) as exc:
        raise BundleInvalid(f"not a readable bundle ({type(exc).__name__})") from None
    try:
        document = strict_json.loads(raw)
    except MalformedJSON:
        raise MalformedDocument("manifest is not JSON") from None
    body = verify_document(document, CONTEXT_EXPORT_MANIFEST, trusted_keys)
    return validate_body(body), document["signature"]["key"]


def verify_bundle(path: Path, trusted_keys: Collection[str] | None) -> VerifiedBundle:
    """Check signature, then every member's presence, size and SHA-256."""
    body, signer = read_manifest(path, trusted_keys)
    expected = {e["path"]: e for e in _files_in(body)}
    try:
        with tarfile.open(path, mode="r:") as tar:
            tar.next()  # manifest, already verified
            while (member := tar.next()) is not None:
                entry = expected.pop(member.name, None)
                if entry is None or not member.isfile():
                    raise BundleInvalid("bundle holds a file its manifest does not list")
                if member.size != entry["size"]:
                    raise BundleInvalid("a file's size differs from the manifest")
                handle = tar.extractfile(member)
                assert handle is not None
                digest = hashlib.sha256()
                while chunk := handle.read(_READ):
                    digest.update(chunk)
                if digest.hexdigest() != entry["sha256"]:
                    raise BundleInvalid("a file's SHA-256 differs from the manifest")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleInvalid(f"bundle is truncated or corrupted ({type(exc).__name__})") from None
    if expected:
        raise BundleInvalid("bundle is missing files its manifest lists")
    return VerifiedBundle(Path(path), body, signer)
