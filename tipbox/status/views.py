"""The status page without JavaScript: receipt in, status and replies out, follow-ups posted.

Everything is a POST, so the receipt never sits in a URL, a log line or a
Referer. On this path the server derives the source's identity from the typed
receipt, opens the replies for this one response and forgets both; the page
says so. With JavaScript, tipbox/static/js/status.js does all of that in the
browser and talks to tipbox/status/api.py instead.
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, render_template, request, url_for
from flask_babel import get_locale

from .. import db
from ..errors import MESSAGES
from ..intake import context
from ..intake.service import submit_followup_server_sealed
from ..intake.views import posted_files
from ..receipts import keys_for_typed
from . import access
from .service import find_tip, status_of, tip_by_id

_MAX_RECEIPT_CHARS = 200


def _api_urls() -> SimpleNamespace:
    """The JSON endpoints status.js calls (attributes, so templates can write ``api.status``)."""
    return SimpleNamespace(
        status=url_for("status.api_status"),
        followups=url_for("status.open_followup"),
    )


def _lookup_page(status: int = 200, error: str | None = None, notice: str | None = None, kept: str | None = None):
    return (
        render_template(
            "status/lookup.html",
            error=str(MESSAGES[error]) if error else None,
            notice=notice,
            kept_message=kept,
            api=_api_urls(),
            limits=context.limits(),
        ),
        status,
    )


def lookup():
    return _lookup_page()


def show():
    typed = request.form.get("receipt", "")[:_MAX_RECEIPT_CHARS]
    keys = keys_for_typed(typed)
    session = db.session()
    tip = find_tip(session, context.secret(), keys.lookup if keys else None)
    if tip is None or keys is None:
        return _lookup_page(404, error="status_not_found")
    view = status_of(tip, identity=keys.identity)
    token = access.mint(context.secret(), tip.id, context.limits().status_access_minutes)
    return render_template(
        "status/thread.html", view=view, access=token, limits=context.limits(), server_decrypted=True
    )


def message():
    token = request.form.get("access", "")
    text = request.form.get("message", "")
    tip_id = access.tip_id_of(context.secret(), token)
    tip = tip_by_id(db.session(), tip_id) if tip_id else None
    if tip is None:
        return _lookup_page(403, error="access_expired", kept=text or None)
    if not text.strip():
        return _followup_page(token, text, "message_required", 400)
    limits = context.limits()
    if len(text) > limits.max_field_chars:
        return _followup_page(token, text, "payload_too_large", 413)
    files = posted_files()
    lang = str(get_locale() or "id")
    with db.transaction() as session:
        tip = tip_by_id(session, tip.id)
        if tip is None:
            return _lookup_page(403, error="access_expired", kept=text)
        submit_followup_server_sealed(session, limits, tip, text, lang, files)
    return render_template("status/sent.html", attachments=len(files))


def _followup_page(token: str, text: str, error: str, status: int):
    return (
        render_template(
            "status/followup.html", access=token, message=text, error=str(MESSAGES[error]), limits=context.limits()
        ),
        status,
    )


def forget():
    page, status = _lookup_page(notice="forgotten")
    # Ask the browser to drop anything it cached of this origin's pages (no-store already forbids it).
    return page, status, {"Clear-Site-Data": '"cache"'}


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/status", "lookup", lookup, methods=["GET"])
    blueprint.add_url_rule("/status", "show", show, methods=["POST"])
    blueprint.add_url_rule("/status/message", "message", message, methods=["POST"])
    blueprint.add_url_rule("/status/forget", "forget", forget, methods=["POST"])
