"""The signed key manifest: which age recipients a channel's tips are sealed to.

The server signs it; the page seals to the recipients it lists and shows the
recipients' fingerprint so a source, reviewer or auditor can compare it out of
band (a printed card, a phone call). The fingerprint covers only the sorted
recipient set, so re-issuing the same set gives the same fingerprint.

Optional ``names`` and ``scope`` members publish, signed, what a channel is
called and which tips it takes (FORMAT.md §7), so the browser and the review
CLI can later show and check them. They are optional so manifests issued
before channels had them still verify, and readers that ignore them still work.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import nacl.signing

from .envelope import parse_recipient
from .errors import MalformedDocument
from .signing import (
    CONTEXT_CHANNEL_DIRECTORY,
    CONTEXT_KEY_MANIFEST,
    grouped_fingerprint,
    sign_document,
    unb64,
    verify_document,
)

DOCUMENT_TYPE = "tipbox-key-manifest"
VERSION = 1
_LABEL = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")
_REGION = re.compile(r"^[0-9]{2}(\.[0-9]{2})?\Z")
_CATEGORY = re.compile(r"^[A-Z]+(-[A-Z]+)*\Z")
NAME_MAX = 100


def recipients_fingerprint(recipients: Collection[str]) -> str:
    canonical = "\n".join(sorted(r.strip() for r in recipients))
    return grouped_fingerprint(b"tipbox/recipients/v1\n" + canonical.encode())


def build_body(
    channel: str,
    issued: str,
    reviewers: Sequence[Mapping[str, str]],
    names: Mapping[str, str] | None = None,
    scope: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``reviewers``: dicts with ``label``, ``recipient`` and optional ``signing_key``.

    ``names`` (``{"id": ..., "en": ...}``) and ``scope`` (``{"regions": [...],
    "categories": [...], "coordinating": bool}``) are added only when given.
    """
    entries = []
    for reviewer in reviewers:
        entry = {"label": reviewer["label"], "recipient": str(parse_recipient(reviewer["recipient"]))}
        if reviewer.get("signing_key"):
            unb64(reviewer["signing_key"], 32)
            entry["signing_key"] = reviewer["signing_key"]
        entries.append(entry)
    body = {
        "type": DOCUMENT_TYPE,
        "v": VERSION,
        "channel": channel,
        "issued": issued,
        "reviewers": sorted(entries, key=lambda e: e["recipient"]),
    }
    if names is not None:
        body["names"] = {"id": names["id"], "en": names["en"]}
    if scope is not None:
        published: dict[str, Any] = {
            "regions": sorted(scope.get("regions", ())),
            "categories": sorted(scope.get("categories", ())),
            "coordinating": bool(scope.get("coordinating", False)),
        }
        if scope.get("forward_only"):
            published["forward_only"] = True
        body["scope"] = published
    return validate_body(body)


def validate_body(body: Mapping[str, Any]) -> dict[str, Any]:
    if body.get("type") != DOCUMENT_TYPE or body.get("v") != VERSION:
        raise MalformedDocument("not a tipbox key manifest v1")
    reviewers = body.get("reviewers")
    if not isinstance(reviewers, list) or not reviewers:
        raise MalformedDocument("key manifest lists no reviewers")
    for entry in reviewers:
        if not isinstance(entry, Mapping) or not _LABEL.match(str(entry.get("label", ""))):
            raise MalformedDocument("reviewer label must be 1-64 of A-Z a-z 0-9 . _ -")
        parse_recipient(str(entry.get("recipient", "")))
    if len({e["recipient"] for e in reviewers}) != len(reviewers):
        raise MalformedDocument("a recipient is listed twice")
    if "names" in body:
        _validate_names(body["names"])
    if "scope" in body:
        _validate_scope(body["scope"])
    return dict(body)


def _validate_names(names: Any) -> None:
    if not isinstance(names, Mapping) or set(names) != {"id", "en"}:
        raise MalformedDocument("key manifest names must have exactly id and en")
    for name in names.values():
        if not isinstance(name, str) or not 1 <= len(name) <= NAME_MAX or name != name.strip():
            raise MalformedDocument(f"a channel name must be 1-{NAME_MAX} characters without outer spaces")
        if not printable(name):
            raise MalformedDocument("a channel name must not hold control or formatting characters")


def printable(text: str) -> bool:
    """No control, formatting (bidi overrides, zero-width), private-use or unassigned characters.

    Names are shown on the source's page, in terminals and in PDFs: a
    terminal escape or a right-to-left override in a signed, public name
    would be shown as if the server vouched for it.
    """
    return not any(unicodedata.category(c).startswith("C") for c in text)


def _sorted_unique_codes(value: Any, pattern: re.Pattern[str], what: str) -> None:
    if not isinstance(value, list) or not all(isinstance(c, str) and pattern.match(c) for c in value):
        raise MalformedDocument(f"key manifest scope {what} must be a list of codes")
    if value != sorted(set(value)):
        raise MalformedDocument(f"key manifest scope {what} must be sorted and unique")


def _validate_scope(scope: Any) -> None:
    """Shapes only: a verifier with older region or category lists must still accept a newer manifest."""
    members = {"regions", "categories", "coordinating"}
    if not isinstance(scope, Mapping) or not members <= set(scope) <= members | {"forward_only"}:
        raise MalformedDocument("key manifest scope must have exactly regions, categories and coordinating"
                                " (and forward_only)")
    if scope.get("forward_only", True) is not True:
        raise MalformedDocument("key manifest scope forward_only, when present, must be true")
    _sorted_unique_codes(scope["regions"], _REGION, "regions")
    _sorted_unique_codes(scope["categories"], _CATEGORY, "categories")
    if not isinstance(scope["coordinating"], bool):
        raise MalformedDocument("key manifest scope coordinating must be true or false")


def sign(body: Mapping[str, Any], key: nacl.signing.SigningKey) -> dict[str, Any]:
    return sign_document(validate_body(body), CONTEXT_KEY_MANIFEST, key)


def verify(document: Any, trusted_keys: Collection[str] | None = None) -> dict[str, Any]:
    return validate_body(verify_document(document, CONTEXT_KEY_MANIFEST, trusted_keys))


def recipients(body: Mapping[str, Any]) -> list[str]:
    return [entry["recipient"] for entry in body["reviewers"]]


# --- the channel directory (FORMAT.md §7): every staffed channel's signed manifest, in one signed document

DIRECTORY_TYPE = "tipbox-channel-directory"


def build_directory(manifests: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The directory body for signed key manifests (one per channel), ordered by channel id.

    The manifests stay signed inside it, so one can be taken out and checked
    alone (an export bundle carries them); the directory's own signature says
    this is the *whole* set, so a reader can tell a channel left out.
    """
    ordered = sorted(manifests, key=lambda m: str(m["body"]["channel"]))
    return validate_directory({"type": DIRECTORY_TYPE, "v": VERSION, "channels": [dict(m) for m in ordered]})


def validate_directory(body: Mapping[str, Any], trusted_keys: Collection[str] | None = None) -> dict[str, Any]:
    """Shape of a directory body; with ``trusted_keys``, every manifest's signature is checked too."""
    if body.get("type") != DIRECTORY_TYPE or body.get("v") != VERSION:
        raise MalformedDocument("not a tipbox channel directory v1")
    channels = body.get("channels")
    if not isinstance(channels, list):
        raise MalformedDocument("channel directory has no channel list")
    ids: list[str] = []
    for document in channels:
        if not isinstance(document, Mapping) or not isinstance(document.get("body"), Mapping):
            raise MalformedDocument("channel directory entry is not a signed key manifest")
        manifest = verify(document, trusted_keys) if trusted_keys is not None else validate_body(document["body"])
        channel = manifest.get("channel")
        if not isinstance(channel, str):
            raise MalformedDocument("channel directory entry names no channel")
        ids.append(channel)
    if ids != sorted(set(ids)):
        raise MalformedDocument("channel directory must list each channel once, by id")
    return dict(body)


def sign_directory(body: Mapping[str, Any], key: nacl.signing.SigningKey) -> dict[str, Any]:
    return sign_document(validate_directory(body), CONTEXT_CHANNEL_DIRECTORY, key)


def verify_directory(document: Any, trusted_keys: Collection[str]) -> dict[str, str | Any]:
    """The verified directory body: its signature and every manifest's by one of ``trusted_keys``."""
    return validate_directory(verify_document(document, CONTEXT_CHANNEL_DIRECTORY, trusted_keys), trusted_keys)


def directory_manifests(body: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Channel id -> manifest body, from a validated directory body."""
    return {str(m["body"]["channel"]): dict(m["body"]) for m in body["channels"]}
