"""Error responses in the visitor's language that reveal nothing internal.

Pages get a translated HTML page; ``/api/`` gets JSON with a stable ``error``
code and a translated ``message``. Tracebacks go nowhere near the response,
and the log line carries the exception type only, never the request.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("tipbox")

MESSAGES = {
    "bad_request": _l("The request could not be understood."),
    "csrf": _l("This page has expired. Please reload it and try again; your text is still in the form."),
    "not_found": _l("This page or upload does not exist (or has expired)."),
    "method": _l("This action is not allowed here."),
    "too_large": _l("The upload is too large. Remove or shrink attachments and try again."),
    "attachment_too_large": _l("An attachment is larger than the allowed size."),
    "submission_too_large": _l("The attachments together are larger than the allowed size."),
    "too_many_attachments": _l("Too many attachments."),
    "payload_too_large": _l("The report is too long."),
    "malformed_ciphertext": _l("The encrypted upload was damaged or not encrypted correctly. Please try again."),
    "bad_chunk": _l("A piece of the upload was damaged. Please try again."),
    "chunk_conflict": _l("A piece of the upload was sent twice with different content. Please start again."),
    "incomplete_upload": _l("Some parts of the upload did not arrive. Please try again."),
    "already_finalized": _l("This report was already sent."),
    "keys_changed": _l(
        "The reviewers' keys changed while you were writing. Please reload the page and send again; copy your text first."
    ),
    "no_reviewers": _l("The tip line is not accepting reports right now: no reviewer keys are set up."),
    "unsupported_media": _l("This kind of request is not accepted here."),
    "server_error": _l("Something went wrong on our side. Nothing you sent was stored. Please try again later."),
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(code: str, status: int):
    message = str(MESSAGES.get(code, MESSAGES["bad_request"]))
    if wants_json():
        return jsonify(error=code, message=message), status
    try:
        return render_template("error.html", message=message, status=status), status
    except Exception as exc:  # a broken template must not turn an error into a traceback
        log.error("error page failed to render: %s", type(exc).__name__)
        return message, status, {"Content-Type": "text/plain; charset=utf-8"}


def init_app(app: Flask) -> None:
    from .intake.service import IntakeError

    @app.errorhandler(IntakeError)
    def _intake(exc: IntakeError):
        return error_response(exc.code, exc.status)

    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError):
        return error_response("csrf", 400)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        code = {404: "not_found", 405: "method", 413: "too_large", 415: "unsupported_media"}.get(
            status, "bad_request" if status < 500 else "server_error"
        )
        return error_response(code, status)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # Type only: the message or traceback could quote request data.
        log.error("unhandled %s", type(exc).__name__)
        return error_response("server_error", 500)
