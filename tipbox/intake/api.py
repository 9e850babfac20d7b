"""JSON + binary upload API for the in-browser sealer (ciphertext only).

Flow: ``POST /api/v1/submissions`` opens an upload and returns a capability
token; ``PUT .../chunks/<seq>`` sends ciphertext pieces (idempotent, so a
flaky Tor circuit can retry); ``POST .../complete`` closes an attachment;
``POST .../finalize`` sends the sealed tip and makes it visible in one
transaction. Every call is CSRF-protected (``X-CSRFToken``).

Over Tor each of those is a round trip of about a second, so the form takes
the short way (FORMAT.md §4.1): ``POST /api/v1/submissions/sealed`` opens the
upload with the sealed tip itself (a tip without attachments is received by
that one request), each chunk carries its
own SHA-256 (``Content-Digest``), and an attachment's last chunk carries its
completion (``Tipbox-Complete``), which also receives the tip when it was the
last part missing.
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
    ChunkResult,
    Completion,
    IntakeError,
    SourceKeys,
    Upload,
    browser_route,
    complete_attachment,
    finalize,
    open_sealed,
    put_chunk,
    start_upload,
)

TOKEN_HEADER = "X-Upload-Token"
# The deepest body is finalize's: an object holding a list of strings.
MAX_BODY_DEPTH = 4
_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")
# RFC 9530 Content-Digest with a sha-256 member (the only one tipbox reads; others are ignored).
_CONTENT_DIGEST = re.compile(r"(?:^|,)\s*sha-256=:([A-Za-z0-9+/]{43}=):\s*(?:,|\Z)")
# Tipbox-Complete: size=<age file bytes>, chunks-sha256=<hex> (FORMAT.md §4.1)
_COMPLETE = re.compile(r"^\s*size=(\d{1,15})\s*,\s*chunks-sha256=([0-9a-f]{64})\s*\Z")
COMPLETE_HEADER = "Tipbox-Complete"


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
    body = json_body(4096) if request.content_length else {}
    with db.transaction() as session:
        upload = start_upload(session, context.limits(), browser_route(session, body.get("channels")),
                              urgent=_urgent(body))
    return upload_limits(upload)


def _urgent(body: dict) -> bool:
    """``urgent``: the source ticked "alert the team now" (absent means no)."""
    value = body.get("urgent", False)
    if not isinstance(value, bool):
        raise IntakeError("bad_request")
    return value


def open_sealed_upload():
    """Send a tip sealed in the page with the request that opens its upload (the short way, :func:`open_sealed`)."""
    body = json_body(2 * 1024 * 1024)
    recipients = body.get("recipients")
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        raise IntakeError("bad_request")
    sealed, attachments = _sealed_payload(body)
    source = SourceKeys.checked(body.get("source_recipient"), body.get("lookup"))
    with db.transaction() as session:
        opened = open_sealed(session, context.limits(), context.secret(), body.get("channels"),
                             recipients, sealed, attachments, source, urgent=_urgent(body))
    return upload_limits(opened.upload, received=opened.received)


def upload_limits(upload: Upload, **extra: object):
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
        **extra,
    ), 201


def _chunk_digest() -> bytes | None:
    """The chunk's SHA-256 from its ``Content-Digest`` header, if the client sent one."""
    value = request.headers.get("Content-Digest")
    if value is None:
        return None
    match = _CONTENT_DIGEST.search(value)
    if match is None:
        raise IntakeError("bad_request")
    return base64.b64decode(match.group(1))


def _completion_header() -> Completion | None:
    value = request.headers.get(COMPLETE_HEADER)
    if value is None:
        return None
    match = _COMPLETE.match(value)
    if match is None:
        raise IntakeError("bad_request")
    return Completion(int(match.group(1)), chunks_sha256=match.group(2))


def _chunk_answer(result: ChunkResult):
    return jsonify(ok=True, completed=result.completed, received=result.received)


def store_chunk(upload_id: str, attachment_id: str, seq: int, *, followup: bool = False):
    limits = context.limits()
    if request.mimetype != "application/octet-stream":
        raise IntakeError("unsupported_media", 415)
    digest, completion = _chunk_digest(), _completion_header()
    data = _body(limits.upload_chunk_bytes)
    with db.transaction() as session:
        result = put_chunk(session, limits, upload_id, upload_token(), attachment_id, seq, data,
                           followup=followup, sha256=digest, completion=completion)
    return _chunk_answer(result)


def complete_part(upload_id: str, attachment_id: str, *, followup: bool = False):
    """Close an attachment: ``size`` and either ``sha256`` (the whole age file) or ``chunks_sha256`` (§4.1)."""
    body = json_body(4096)
    size, sha256, listed = body.get("size"), body.get("sha256"), body.get("chunks_sha256")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise IntakeError("bad_request")
    declared = [d for d in (sha256, listed) if d is not None]
    if len(declared) != 1 or not isinstance(declared[0], str) or not _SHA256.match(declared[0]):
        raise IntakeError("bad_request")
    with db.transaction() as session:
        result = complete_attachment(session, context.limits(), upload_id, upload_token(), attachment_id,
                                     Completion(size, sha256=sha256, chunks_sha256=listed), followup=followup)
    return _chunk_answer(result)


def _sealed_payload(body: dict) -> tuple[bytes, list[str]]:
    """The sealed document (base64 ``payload``) and the attachment ids of a finalize or sealed open."""
    sealed_b64, attachments = body.get("payload"), body.get("attachments", [])
    if not isinstance(sealed_b64, str) or not isinstance(attachments, list):
        raise IntakeError("bad_request")
    if not all(isinstance(a, str) for a in attachments):
        raise IntakeError("bad_request")
    try:
        sealed = base64.b64decode(sealed_b64, validate=True)
    except (binascii.Error, ValueError):
        raise IntakeError("bad_request") from None
    return sealed, attachments


def sealed_parts() -> tuple[dict, bytes, list[str], str]:
    """A finalize body: (the JSON, the sealed payload, the attachment ids, the key fingerprint)."""
    body = json_body(2 * 1024 * 1024)
    if not isinstance(body.get("attachments"), list) or not isinstance(body.get("key_fingerprint"), str):
        raise IntakeError("bad_request")
    sealed, attachments = _sealed_payload(body)
    return body, sealed, attachments, body["key_fingerprint"]


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
    blueprint.add_url_rule("/api/v1/submissions/sealed", "open_sealed", open_sealed_upload, methods=["POST"])
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
