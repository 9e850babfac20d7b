"""Test helpers for the reviewer's side of a conversation: signed dispositions v2 with replies."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence

from flask import Flask

from crypto import messages
from crypto.dispositions import reply_document
from crypto.identity import ReviewerIdentity
from crypto.signing import CONTEXT_DISPOSITIONS, sign_document
from tipbox import clock, db
from tipbox.audit.log import record
from tipbox.dispositions import ImportResult, import_dispositions
from tipbox.models import Tip


def sealed_reply(text: str, source_recipient: str, reviewers: Sequence[ReviewerIdentity], lang: str = "id") -> bytes:
    document = messages.build(messages.REPLY, text, lang=lang, sealed_by="reviewer")
    return messages.seal_message(document, [source_recipient, *(r.recipient for r in reviewers)])


def dispositions_file(
    reviewer: ReviewerIdentity,
    *,
    entries: Sequence[dict] = (),
    replies: Sequence[tuple[str, bytes]] = (),
    reply_ids: Sequence[str] | None = None,
) -> bytes:
    """A signed v2 file; ``replies`` are (tip id, sealed reply) pairs."""
    ids = list(reply_ids) if reply_ids is not None else [secrets.token_hex(16) for _ in replies]
    body = {
        "type": "tipbox-dispositions",
        "v": 2,
        "id": secrets.token_hex(16),
        "created": clock.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "entries": list(entries),
        "replies": [reply_document(rid, tip_id, sealed) for rid, (tip_id, sealed) in zip(ids, replies, strict=True)],
    }
    return json.dumps(sign_document(body, CONTEXT_DISPOSITIONS, reviewer.signing_key)).encode()


def import_file(app: Flask, data: bytes) -> ImportResult:
    with app.app_context(), db.transaction() as session:
        return import_dispositions(session, data, record_event=lambda s, e, t, d: record(s, e, t, d))


def source_recipient(app: Flask, tip_id: str) -> str:
    with app.app_context():
        tip = db.session().get(Tip, tip_id)
        assert tip is not None and tip.source_recipient
        return tip.source_recipient


def only_tip_id(app: Flask) -> str:
    with app.app_context():
        from sqlalchemy import select

        ids = list(db.session().scalars(select(Tip.id).where(Tip.state == "ready")))
    assert len(ids) == 1
    return ids[0]
