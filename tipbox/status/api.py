"""The status page's JSON API: the browser sends the lookup key, gets sealed replies back.

The receipt and the source's identity never leave the browser on this path:
replies are returned as the age files reviewers sealed, and follow-ups are
uploaded sealed, through the same chunked upload as a new report
(tipbox/intake/service.py), opened with the status page's ``access`` token.
"""

from __future__ import annotations

import base64

from flask import Blueprint, jsonify

from .. import db
from ..errors import error_response
from ..intake import context
from ..intake.api import complete_part, json_body, sealed_parts, store_chunk, upload_limits, upload_token
from ..intake.service import IntakeError, finalize_followup, start_followup
from . import access
from .service import find_tip, status_of, tip_by_id

ISO = "%Y-%m-%dT%H:%M:%SZ"


def api_status():
    body = json_body(4096)
    tip = find_tip(db.session(), context.secret(), body.get("lookup"))
    if tip is None:
        return error_response("status_not_found", 404)
    view = status_of(tip)
    return jsonify(
        status=view.status,
        status_text=view.status_text,
        agency_kind=view.agency_kind,
        agency_text=view.agency_text,
        received=view.received.strftime(ISO),
        replies=[
            {"id": m.id, "sent": m.received_at.strftime(ISO), "message": base64.b64encode(m.payload).decode("ascii")}
            for m in view.sealed_replies
            if m.received_at is not None and m.payload is not None
        ],
        followups=[{"sent": f.sent.strftime(ISO), "attachments": f.attachments} for f in view.followups],
        access=access.mint(context.secret(), tip.id, context.limits().status_access_minutes),
    )


def open_followup():
    body = json_body(4096)
    tip_id = access.tip_id_of(context.secret(), body.get("access"))
    with db.transaction() as session:
        tip = tip_by_id(session, tip_id) if tip_id else None
        if tip is None:
            raise IntakeError("access_expired", 403)
        upload = start_followup(session, context.limits(), tip)
    return upload_limits(upload)


def followup_chunk(upload_id: str, attachment_id: str, seq: int):
    return store_chunk(upload_id, attachment_id, seq, followup=True)


def followup_complete(upload_id: str, attachment_id: str):
    return complete_part(upload_id, attachment_id, followup=True)


def finish_followup(upload_id: str):
    _body, sealed, attachments, fingerprint = sealed_parts()
    with db.transaction() as session:
        finalize_followup(session, context.limits(), upload_id, upload_token(), sealed, attachments, fingerprint)
    return jsonify(ok=True)


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/api/v1/status", "api_status", api_status, methods=["POST"])
    blueprint.add_url_rule("/api/v1/followups", "open_followup", open_followup, methods=["POST"])
    base = "/api/v1/followups/<hexid:upload_id>/attachments/<hexid:attachment_id>"
    blueprint.add_url_rule(f"{base}/chunks/<piece:seq>", "followup_chunk", followup_chunk, methods=["PUT"])
    blueprint.add_url_rule(f"{base}/complete", "followup_complete", followup_complete, methods=["POST"])
    blueprint.add_url_rule(
        "/api/v1/followups/<hexid:upload_id>/finalize", "finalize_followup", finish_followup, methods=["POST"]
    )
