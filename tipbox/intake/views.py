"""The form page and its no-JavaScript submission.

With JavaScript off (Tor Browser "Safest"), the same form posts here as
multipart. :class:`~tipbox.security.requests.InMemoryRequest` keeps every part
in memory; the answers and files are sealed at once and only ciphertext is
written. The receipt is rendered in the response itself: never in a URL.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import get_locale

from crypto import regions

from .. import db
from ..keys import current_manifest
from . import context
from .fields import AGE_BANDS, CATEGORIES, DANGER, HOW_KNOWN, ONGOING, FieldError, parse_answers
from .service import PlainAttachment, submit_server_sealed


def _render_form(values: dict | None = None, error: FieldError | None = None, status: int = 200):
    manifest = current_manifest(db.session())
    return (
        render_template(
            "intake/form.html",
            values=values or {},
            selected_danger=values.getlist("danger") if values is not None and hasattr(values, "getlist") else [],
            error=error,
            regions=regions.load(),
            categories=CATEGORIES,
            danger=DANGER,
            ongoing=ONGOING,
            age_bands=AGE_BANDS,
            how_known=HOW_KNOWN,
            fingerprint=manifest.fingerprint if manifest else None,
            limits=context.limits(),
        ),
        status,
    )


def posted_files() -> list[PlainAttachment]:
    """The files of a multipart post's ``attachments`` field, still in memory (InMemoryRequest)."""
    return [
        PlainAttachment(f.filename or "", f.mimetype or "application/octet-stream", f.stream)
        for f in request.files.getlist("attachments")
        if f.filename
    ]


def form():
    return _render_form()


def submit():
    try:
        answers = parse_answers(request.form, context.limits().max_field_chars)
    except FieldError as exc:
        return _render_form(request.form, exc, 400)
    files = posted_files()
    lang = str(get_locale() or "id")
    with db.transaction() as session:
        receipt = submit_server_sealed(session, context.limits(), context.secret(), answers, lang, files)
    return render_template("intake/receipt.html", receipt=receipt.code, sealed_by="server")


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/", "form", form, methods=["GET"])
    blueprint.add_url_rule("/", "submit", submit, methods=["POST"])
