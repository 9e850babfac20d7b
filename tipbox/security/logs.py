"""Logs that cannot identify a source: no address, user agent, URL query or request body.

tipbox itself logs exception *types* only. This module is the net under that
rule for everything else that writes to the log (gunicorn, flask-limiter,
libraries):

- :class:`RedactFilter` rewrites every record it sees: IP address literals
  become ``[address]``; exception messages are dropped (a traceback keeps its
  frames and the exception type, never the text, which may quote input);
  gunicorn's "Invalid request from ip=..." and "Error handling request <uri>"
  lose their details; flask-limiter may only say that its storage went away or
  came back (its "ratelimit ... exceeded" line quotes the bucket key).
- :class:`GunicornLogger` (``logger_class`` in tipbox/gunicorn_conf.py) puts
  the filter on gunicorn's handlers and on a root handler that carries the
  app's own log lines to the same stream. There is no access log.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import sys
import traceback
from types import TracebackType

from flask import Flask

REDACTED = "[address]"
LIMITER_LOGGER = "flask-limiter"
LIMITER_MESSAGES = frozenset(
    {
        "Rate limit storage unreachable - falling back to in-memory storage",
        "Rate limit storage recovered",
        "Storage has been reset and all limits cleared",
    }
)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
# Candidate IPv6 literals (checked with ipaddress, so "12:30:01" stays a time).
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?(?:(?<=:)(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])")
_MAX_MESSAGE = 2000


def scrub(text: str) -> str:
    """Replace every IPv4 or IPv6 literal in ``text``."""

    def v6(match: re.Match[str]) -> str:
        candidate = match.group(0)
        try:
            ipaddress.IPv6Address(candidate.split("%")[0])
        except ValueError:
            return candidate
        return REDACTED

    return _IPV6.sub(v6, _IPV4.sub(REDACTED, text))


def _safe_traceback(exc_info: tuple[type[BaseException], BaseException, TracebackType | None]) -> str:
    """Frames and exception types only: messages can quote request data."""
    lines: list[str] = []
    exc: BaseException | None = exc_info[1]
    seen = 0
    while exc is not None and seen < 5:
        if exc.__traceback__ is not None:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_tb(exc.__traceback__))
        lines.append(f"{type(exc).__module__}.{type(exc).__qualname__} (message withheld)\n")
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return scrub("".join(lines)).rstrip("\n")


class RedactFilter(logging.Filter):
    """Rewrites (or drops) log records so that they carry nothing identifying."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_tipbox_redacted", False):
            return True
        if record.name == LIMITER_LOGGER or record.name.startswith(LIMITER_LOGGER + "."):
            if record.msg not in LIMITER_MESSAGES:
                return False
        message = self._message(record)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = _safe_traceback(record.exc_info)  # type: ignore[arg-type]
        elif record.exc_text:
            record.exc_text = "(traceback withheld)"
        record.exc_info = None
        record.stack_info = None
        record.msg = scrub(message)[:_MAX_MESSAGE]
        record.args = None
        record._tipbox_redacted = True  # type: ignore[attr-defined]
        return True

    @staticmethod
    def _message(record: logging.LogRecord) -> str:
        template = str(record.msg)
        if template.startswith("Invalid request from ip="):
            return "Invalid request refused (details withheld)"
        if template.startswith("Error handling request"):
            return "Error handling request (request details withheld)"
        try:
            return record.getMessage()
        except Exception:
            return template


def add_filter(*loggers: logging.Logger) -> None:
    """Put one RedactFilter on each logger and on each of its handlers."""
    for logger in loggers:
        for target in (logger, *logger.handlers):
            if not any(isinstance(f, RedactFilter) for f in target.filters):
                target.addFilter(RedactFilter())


def init_app(app: Flask) -> None:
    """In every process that runs the app: tame the loggers that could quote a request."""
    limiter = logging.getLogger(LIMITER_LOGGER)
    limiter.setLevel(logging.INFO)  # "storage unreachable" / "recovered"; the rest is dropped
    # Werkzeug's request log carries client addresses and URLs: never log it.
    logging.getLogger("werkzeug").disabled = True
    add_filter(limiter, logging.getLogger("tipbox"), app.logger)


try:
    from gunicorn import glogging
except ImportError:  # the review side has no gunicorn; nothing below is needed there
    glogging = None  # type: ignore[assignment]

if glogging is not None:

    class GunicornLogger(glogging.Logger):  # type: ignore[misc,name-defined]
        """gunicorn's logger with every handler filtered, and the app's log lines routed through it."""

        def setup(self, cfg) -> None:  # type: ignore[no-untyped-def]
            super().setup(cfg)
            root = logging.getLogger()
            if not root.handlers:
                handler = logging.StreamHandler(sys.stderr)
                handler.setFormatter(logging.Formatter(self.error_fmt, self.datefmt))
                root.addHandler(handler)
            add_filter(self.error_log, self.access_log, root)

        def access(self, resp, req, environ, request_time) -> None:  # type: ignore[no-untyped-def]
            """Never write an access log line, whatever the configuration says."""
