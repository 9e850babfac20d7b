"""The signed key manifest: which age recipients a channel's tips are sealed to.

The server signs it; the page seals to the recipients it lists and shows the
recipients' fingerprint so a source, reviewer or auditor can compare it out of
band (a printed card, a phone call). The fingerprint covers only the sorted
recipient set, so re-issuing the same set gives the same fingerprint.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import nacl.signing

from .envelope import parse_recipient
from .errors import MalformedDocument
from .signing import CONTEXT_KEY_MANIFEST, grouped_fingerprint, sign_document, unb64, verify_document

DOCUMENT_TYPE = "tipbox-key-manifest"
VERSION = 1
_LABEL = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")


def recipients_fingerprint(recipients: Collection[str]) -> str:
    canonical = "\n".join(sorted(r.strip() for r in recipients))
    return grouped_fingerprint(b"tipbox/recipients/v1\n" + canonical.encode())


def build_body(channel: str, issued: str, reviewers: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """``reviewers``: dicts with ``label``, ``recipient`` and optional ``signing_key``."""
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
    return dict(body)


def sign(body: Mapping[str, Any], key: nacl.signing.SigningKey) -> dict[str, Any]:
    return sign_document(validate_body(body), CONTEXT_KEY_MANIFEST, key)


def verify(document: Any, trusted_keys: Collection[str] | None = None) -> dict[str, Any]:
    return validate_body(verify_document(document, CONTEXT_KEY_MANIFEST, trusted_keys))


def recipients(body: Mapping[str, Any]) -> list[str]:
    return [entry["recipient"] for entry in body["reviewers"]]
