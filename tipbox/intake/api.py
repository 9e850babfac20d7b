"""JSON + binary upload API for the in-browser sealer (ciphertext only).

Flow: ``POST /api/v1/submissions`` opens an upload and returns a capability
token; ``PUT .../chunks/<seq>`` sends ciphertext pieces (idempotent, so a
flaky Tor circuit can retry); ``POST .../complete`` closes an attachment;
``POST .../finalize`` sends the sealed tip and makes it visible in one
transaction. Every call is CSRF-protected (``X-CSRFToken``).
"""

from __future__ import annotations

import base64
import binascii
import re

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from crypto import strict_json
from crypto.errors import MalformedJSON

from .. import db, readers
from . import context
from .service import (
    IntakeError,
    SourceKeys,
    Upload,
    browser_route,
    complete_attachment,
    finalize,
    put_chunk,
    start_upload,
)

TOKEN_HEADER = "X-Upload-Token"
# The deepest body is finalize's: an object holding a list of strings.
MAX_BODY_DEPTH = 4
_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")


def upload_token() -> str:
    token = request.headers.get(TOKEN_HEADER, "")
    if not token or len(token) > 128:
        raise IntakeError("not_found", 404)
    return token


def _body(max_bytes: int) -> bytes:
    """The raw body, refused with 413 (before reading, when the length is declared)
    if it is larger than ``max_bytes``."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise RequestEntityTooLarge()
    data = request.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise RequestEntityTooLarge()
    return data


def json_body(max_bytes: int) -> dict:
    """Every JSON body of the API, read by the one strict reader (crypto/strict_json.py):
    deep nesting, huge numbers or duplicate keys are a 400, never a 500."""
    if request.mimetype != "application/json":
        raise IntakeError("unsupported_media", 415)
    try:
        body = strict_json.loads(_body(max_bytes), max_depth=MAX_BODY_DEPTH)
    except MalformedJSON:
        raise IntakeError("bad_request") from None
    if not isinstance(body, dict):
        raise IntakeError("bad_request")
    return body


def keys():
    """The signed channel directory (FORMAT.md §7): every channel that can receive tips, as published."""
    directory = readers.directory(db.session())
    if directory is None:
        raise IntakeError("no_reviewers", 503)
    return jsonify(directory=directory)


def open_upload():
    """Open a tip's upload. The body (optional) names the channels the page routed to, never the answers."""
    channels = json_body(4096).get("channels") if request.content_length else None
    with db.transaction() as session:
        upload = start_upload(session, context.limits(), browser_route(session, channels))
    return upload_limits(upload)


def upload_limits(upload: Upload):
    """The answer that opens an upload (a tip's or a follow-up's): its capability, the keys to seal to, the limits."""
    limits = context.limits()
    return jsonify(
        tip_id=upload.tip_id,
        upload_id=upload.tip_id,
        token=upload.token,
        channels=list(upload.keys.channel_ids),
        recipients=list(upload.keys.recipients),
        key_fingerprint=upload.keys.fingerprint,
        chunk_bytes=limits.upload_chunk_bytes,
        max_attachment_bytes=limits.max_attachment_bytes,
        max_submission_bytes=limits.max_submission_bytes,
        max_attachments=limits.max_attachments,
    ), 201


def store_chunk(upload_id: str, attachment_id: str, seq: int, *, followup: bool = False):
    limits = context.limits()
    if request.mimetype != "application/octet-stream":
        raise IntakeError("unsupported_media", 415)
    data = _body(limits.upload_chunk_bytes)
    with db.transaction() as session:
        put_chunk(session, limits, upload_id, upload_token(), attachment_id, seq, data, followup=followup)
    return jsonify(ok=True)


def complete_part(upload_id: str, attachment_id: str, *, followup: bool = False):
    body = json_body(4096)
    size, sha256 = body.get("size"), body.get("sha256")
    if not isinstance(size, int) or isinstance(size, bool) or not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise IntakeError("bad_request")
    with db.transaction() as session:
        complete_attachment(
            session, context.limits(), upload_id, upload_token(), attachment_id, size, sha256, followup=followup
        )
    return jsonify(ok=True)


def sealed_parts() -> tuple[dict, bytes, list[str], str]:
    """A finalize body: (the JSON, the sealed payload, the attachment ids, the key fingerprint)."""
    body = json_body(2 * 1024 * 1024)
    sealed_b64, attachments, fingerprint = body.get("payload"), body.get("attachments"), body.get("key_fingerprint")
    if not isinstance(sealed_b64, str) or not isinstance(attachments, list) or not isinstance(fingerprint, str):
        raise IntakeError("bad_request")
    if not all(isinstance(a, str) for a in attachments):
        raise IntakeError("bad_request")
    try:
        sealed = base64.b64decode(sealed_b64, validate=True)
    except (binascii.Error, ValueError):
        raise IntakeError("bad_request") from None
    return body, sealed, attachments, fingerprint


def finish(tip_id: str):
    body, sealed, attachments, fingerprint = sealed_parts()
    source = SourceKeys.checked(body.get("source_recipient"), body.get("lookup"))
    with db.transaction() as session:
        finalize(
            session, context.limits(), context.secret(), tip_id, upload_token(), sealed, attachments, fingerprint, source
        )
    # The browser made the receipt and shows it; the server never had it.
    return jsonify(ok=True)


def upload_chunk(tip_id: str, attachment_id: str, seq: int):
    return store_chunk(tip_id, attachment_id, seq)


def complete(tip_id: str, attachment_id: str):
    return complete_part(tip_id, attachment_id)


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/api/v1/keys", "keys", keys, methods=["GET"])
    blueprint.add_url_rule("/api/v1/submissions", "open_upload", open_upload, methods=["POST"])
    blueprint.add_url_rule(
        "/api/v1/submissions/<hexid:tip_id>/attachments/<hexid:attachment_id>/chunks/<piece:seq>",
        "upload_chunk",
        upload_chunk,
        methods=["PUT"],
    )
    blueprint.add_url_rule(
        "/api/v1/submissions/<hexid:tip_id>/attachments/<hexid:attachment_id>/complete",
        "complete",
        complete,
        methods=["POST"],
    )
    blueprint.add_url_rule("/api/v1/submissions/<hexid:tip_id>/finalize", "finalize", finish, methods=["POST"])
