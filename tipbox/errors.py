"""Error responses in the visitor's language that reveal nothing internal.

Pages get a translated HTML page; ``/api/`` gets JSON with a stable ``error``
code and a translated ``message``. Tracebacks go nowhere near the response,
and the log line carries the exception type only, never the request.
"""

from __future__ import annotations

import logging
import math

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from .security.ratelimit import retry_after

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
    "channels_changed": _l(
        "The teams that receive reports changed while you were writing. Please reload the page and send again; copy your text first."
    ),
    "no_reviewers": _l("The tip line is not accepting reports right now: no reviewer keys are set up."),
    "unsupported_media": _l("This kind of request is not accepted here."),
    "receipt_conflict": _l("This receipt code is already in use. Please send the report again."),
    "status_not_found": _l(
        "No report matches this code. Check each character and try again. "
        "Reports are deleted after the time on the retention page; after that, no code opens them."
    ),
    "access_expired": _l("For your safety this page has timed out. Please enter your receipt code again."),
    "message_required": _l("Please write a message."),
    "server_error": _l("Something went wrong on our side. Nothing you sent was stored. Please try again later."),
    "unavailable": _l("The tip line is briefly unavailable. Please try again."),
    "rate_limited": _l(
        "Too many requests are arriving right now. Nothing from this attempt was stored. "
        "Please send again later; copy your text first so that nothing is lost."
    ),
}


def wait_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    # "min." reads right for one or many, so no plural forms are needed.
    return gettext("You can try again in about %(minutes)d min.", minutes=minutes)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(code: str, status: int, retry_after: int | None = None):
    message = str(MESSAGES.get(code, MESSAGES["bad_request"]))
    headers = {}
    wait = None
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
        wait = wait_message(retry_after)
    if wants_json():
        body = {"error": code, "message": f"{message} {wait}" if wait else message}
        if retry_after is not None:
            body["retry_after"] = retry_after
        return jsonify(body), status, headers
    try:
        return render_template("error.html", message=message, wait=wait, status=status), status, headers
    except Exception as exc:  # a broken template must not turn an error into a traceback
        log.error("error page failed to render: %s", type(exc).__name__)
        headers["Content-Type"] = "text/plain; charset=utf-8"
        return message, status, headers


def init_app(app: Flask) -> None:
    from .intake.service import IntakeError

    @app.errorhandler(IntakeError)
    def _intake(exc: IntakeError):
        return error_response(exc.code, exc.status)

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(_exc: RateLimitExceeded):
        return error_response("rate_limited", 429, retry_after=retry_after())

    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError):
        return error_response("csrf", 400)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        code = {404: "not_found", 405: "method", 413: "too_large", 415: "unsupported_media"}.get(
            status, "bad_request" if status < 500 else "server_error"
        )
        if status == 429:  # a 429 from anywhere else still says when to come back
            return error_response("rate_limited", 429, retry_after=retry_after())
        response = error_response(code, status)
        if status == 405 and getattr(exc, "valid_methods", None):
            response[2]["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # Type only: the message or traceback could quote request data.
        if database_unavailable(exc):
            # A restart or failover of PostgreSQL: the transaction rolled back; clients retry.
            log.warning("database unavailable: %s", type(exc).__name__)
            return error_response("unavailable", 503, retry_after=UNAVAILABLE_RETRY_AFTER)
        log.error("unhandled %s", type(exc).__name__)
        return error_response("server_error", 500)


UNAVAILABLE_RETRY_AFTER = 30


def database_unavailable(exc: BaseException) -> bool:
    """A lost or refused database connection (as opposed to a bug)."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
