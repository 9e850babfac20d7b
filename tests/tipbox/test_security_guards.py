"""Guards in tipbox/security/ that mutation testing (`make mutate`, docs/testing.md) found untested.

Each test names the guard it protects. They call the helpers directly (no app, no
database) so that they are fast enough to run against every mutant; the app-level
behaviour is covered by test_headers.py, test_ratelimit.py, test_logging.py and
test_bad_requests.py.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import sys
import time
from datetime import date
from types import SimpleNamespace

import pytest
from flask import Flask, g
from werkzeug.exceptions import BadRequest
from werkzeug.test import EnvironBuilder

from tipbox.security import fetch_metadata, headers, logs, ratelimit
from tipbox.security.requests import ClientBody, InMemoryRequest, UnreadableBody

# --- fetch_metadata ---------------------------------------------------------------------------


def test_only_safe_methods_skip_the_fetch_metadata_check() -> None:
    """Guard: fetch_metadata.READ_METHODS / REFUSED_SITES (module constants mutmut cannot mutate)."""
    assert frozenset({"GET", "HEAD", "OPTIONS"}) == fetch_metadata.READ_METHODS
    assert frozenset({"cross-site", "same-site"}) == fetch_metadata.REFUSED_SITES


# --- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "onion"),
    [
        ("abcdef.onion", True),
        ("abcdef.onion:8080", True),
        ("abcdef.onion.", True),  # a fully qualified name ends in a dot
        ("ABCDEF.ONION:80", True),
        ("example.org", False),
        ("onion", False),
        ("abcdef.onion.example.org", False),
        ("", False),
    ],
)
def test_onion_hosts_are_recognised_with_port_and_trailing_dot(host: str, onion: bool) -> None:
    """Guard: headers.is_onion, which keeps HSTS and Onion-Location off onion responses."""
    assert headers.is_onion(host) is onion


def test_parse_csp_splits_each_directive_at_its_first_space() -> None:
    """Guard: parse_csp (what the header tests read the policy with) keeps multi-token values whole."""
    parsed = headers.parse_csp("default-src 'self'; script-src 'self' 'sha256-x'; ; object-src 'none'")
    assert parsed == {"default-src": "'self'", "script-src": "'self' 'sha256-x'", "object-src": "'none'"}
    assert headers.parse_csp(headers.build_csp()) == headers.CSP_DIRECTIVES


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/", "", "http://x.onion/"),
        ("/status", "", "http://x.onion/status"),
        ("/a b/é", "", "http://x.onion/a%20b/%C3%A9"),
        ("/", "lang=id&x=1", "http://x.onion/?lang=id&x=1"),
        ("/", "q=<script>\r\n", "http://x.onion/?q=%3Cscript%3E%0D%0A"),
    ],
)
def test_onion_location_is_percent_encoded_and_has_no_empty_query(path: str, query: str, expected: str) -> None:
    """Guard: headers.onion_location: request input never reaches a header raw, and no stray '?'."""
    app = Flask(__name__)
    with app.test_request_context(path, query_string=query):
        assert headers.onion_location("http://x.onion") == expected


# --- logs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from 203.0.113.9 at 12:30:01", "from [address] at 12:30:01"),
        ("peer 2001:db8::1 closed", "peer [address] closed"),
        ("peer [2001:db8::1]:443", "peer [[address]]:443"),
        ("scoped fe80::1%eth0 here", "scoped [address] here"),
        ("mapped ::ffff:198.51.100.7", "mapped ::ffff:[address]"),  # the IPv4 part is the address
        ("version 1.2.3.4.5 and time 10:20:30", "version 1.2.3.4.5 and time 10:20:30"),
    ],
)
def test_scrub_replaces_every_address_literal_and_nothing_else(text: str, expected: str) -> None:
    """Guard: logs.scrub, the last net under "no address in any log line"."""
    assert logs.scrub(text) == expected


def _record(msg: str, *args: object, name: str = "tipbox", exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args or None, exc_info)  # type: ignore[arg-type]


def test_redact_filter_keeps_the_message_without_addresses_arguments_or_stack() -> None:
    """Guard: RedactFilter.filter rewrites the record in place and lets it through."""
    record = _record("client %s sent %d bytes", "198.51.100.4", 12)
    record.stack_info = "Stack (most recent call last): ..."
    assert logs.RedactFilter().filter(record) is True
    assert record.msg == "client [address] sent 12 bytes"
    assert record.args is None and record.exc_info is None and record.stack_info is None
    assert record.getMessage() == "client [address] sent 12 bytes"


def test_redact_filter_truncates_long_messages() -> None:
    record = _record("x" * 5000)
    logs.RedactFilter().filter(record)
    assert record.msg == "x" * 2000


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        ("Invalid request from ip=203.0.113.5: %s", "Invalid request refused (details withheld)"),
        ("Error handling request /status?receipt=SECRET", "Error handling request (request details withheld)"),
    ],
)
def test_gunicorn_lines_that_quote_requests_lose_their_details(msg: str, expected: str) -> None:
    """Guard: RedactFilter._message replaces gunicorn's two request-quoting lines whole."""
    record = _record(msg, "Bad header 'X-Canary: SECRET'") if "%s" in msg else _record(msg)
    logs.RedactFilter().filter(record)
    assert record.msg == expected


@pytest.mark.parametrize("name", ["flask-limiter", "flask-limiter.storage"])
def test_limiter_lines_are_dropped_unless_allowed(name: str) -> None:
    """Guard: only flask-limiter's storage messages pass; its "exceeded" line quotes the bucket key."""
    assert logs.RedactFilter().filter(_record("ratelimit 5/minute (c0ffee) exceeded at endpoint", name=name)) is False
    allowed = _record("Rate limit storage recovered", name=name)
    assert logs.RedactFilter().filter(allowed) is True
    assert logs.RedactFilter().filter(_record("any text", name="flask-limiterx")) is True


def test_tracebacks_keep_frames_and_types_but_no_message() -> None:
    """Guard: logs._safe_traceback: every exception in the chain, its frames and its type; never its text."""
    secret = "SEC" + "RET 192.0.2.1"  # built at run time: frames quote source lines, not values
    try:
        try:
            raise KeyError(secret)
        except KeyError as inner:
            raise ValueError(secret) from inner
    except ValueError:
        exc_info = sys.exc_info()
    text = logs._safe_traceback(exc_info)  # type: ignore[arg-type]
    assert "SECRET" not in text and "192.0.2.1" not in text
    assert text.count("Traceback (most recent call last):\n") == 2
    assert text.index("builtins.ValueError (message withheld)") < text.index("builtins.KeyError (message withheld)")
    assert "test_tracebacks_keep_frames_and_types_but_no_message" in text  # the frames are kept
    assert text.endswith("builtins.KeyError (message withheld)")


def test_traceback_chains_are_cut_after_five_exceptions() -> None:
    chain: BaseException | None = None
    for n in range(8):
        exc = RuntimeError(f"level {n}")
        exc.__cause__ = chain
        chain = exc
    assert chain is not None
    text = logs._safe_traceback((RuntimeError, chain, None))
    assert text.count("builtins.RuntimeError (message withheld)") == 5
    assert "Traceback" not in text  # never raised: no frames to show


def test_an_exception_that_was_never_raised_still_has_its_type_logged() -> None:
    """Guard: the filter uses the exception (exc_info[1]), not its traceback, to decide."""
    record = _record("failed", exc_info=(ValueError, ValueError("SECRET"), None))
    logs.RedactFilter().filter(record)
    assert record.exc_text == "builtins.ValueError (message withheld)"
    assert record.exc_info is None


def test_a_logged_exception_is_formatted_safely_once() -> None:
    """Guard: ``_tipbox_redacted``: a record seen by two filters (logger and handler) keeps
    its safe traceback instead of having it replaced by "(traceback withheld)"."""
    secret = "SEC" + "RET path"
    try:
        raise OSError(secret)
    except OSError:
        record = _record("failed", exc_info=sys.exc_info())
    first = logs.RedactFilter()
    assert first.filter(record) is True
    text = record.exc_text
    assert text and "builtins.OSError (message withheld)" in text and "SECRET" not in text
    assert logs.RedactFilter().filter(record) is True
    assert record.exc_text == text


def test_a_cached_traceback_text_is_withheld() -> None:
    """Guard: a record whose traceback was already formatted elsewhere loses that text."""
    record = _record("failed")
    record.exc_text = "Traceback ... ValueError: SECRET"
    logs.RedactFilter().filter(record)
    assert record.exc_text == "(traceback withheld)"


def test_add_filter_puts_one_filter_on_logger_and_handlers() -> None:
    logger = logging.getLogger("tipbox.test-security-guards")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        logs.add_filter(logger)
        logs.add_filter(logger)
        assert sum(isinstance(f, logs.RedactFilter) for f in logger.filters) == 1
        assert sum(isinstance(f, logs.RedactFilter) for f in handler.filters) == 1
    finally:
        logger.removeHandler(handler)
        logger.filters.clear()


# --- ratelimit --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("192.0.2.77", b"v4/24:" + bytes([192, 0, 2])),
        ("::ffff:192.0.2.1", b"v4/24:" + bytes([192, 0, 2])),
        ("[2001:db8:1:2:3:4:5:6]", b"v6/64:" + bytes.fromhex("20010db800010002")),
        ("2001:db8:1:2::9%eth0", b"v6/64:" + bytes.fromhex("20010db800010002")),
        ("fc00:dead:beef:4dad::1:2", b"tor-circuit:" + bytes.fromhex("fc00deadbeef4dad0000000000010002")),
        ("", b"unknown"),
        (None, b"unknown"),
        ("not an address", b"unknown"),
    ],
)
def test_client_networks_are_keyed_by_family_and_prefix(address: str | None, network: bytes) -> None:
    """Guard: ratelimit.network_of: a /24, a /64 or one Tor circuit, each under its own label
    so an IPv4 prefix can never collide with an IPv6 one."""
    assert ratelimit.network_of(address) == network


def test_the_daily_key_is_the_documented_hmac() -> None:
    """Guard: daily_key = HMAC-SHA256(secret, "tipbox ratelimit v1 " + UTC date) (module docstring)."""
    secret = b"s" * 64
    expected = hmac.new(secret, b"tipbox ratelimit v1 2026-11-23", hashlib.sha256).digest()
    assert ratelimit.daily_key(secret, date(2026, 11, 23)) == expected
    assert ratelimit.client_key(secret, "192.0.2.1", date(2026, 11, 23)) == "c" + hmac.new(
        expected, b"v4/24:" + bytes([192, 0, 2]), hashlib.sha256
    ).hexdigest()[:32]


def test_retry_after_defaults_to_a_minute_and_uses_what_the_breach_stored() -> None:
    """Guard: retry_after reads g.tipbox_retry_after, set by _remember_retry_after."""
    with Flask(__name__).app_context():
        assert ratelimit.retry_after() == 60
        assert ratelimit.retry_after(5) == 5
        g.tipbox_retry_after = 7
        assert ratelimit.retry_after() == 7


def _limit(reset_at: object, expiry: int = 60) -> SimpleNamespace:
    return SimpleNamespace(reset_at=reset_at, limit=SimpleNamespace(get_expiry=lambda: expiry))


class _Broken:
    def __sub__(self, other: object) -> float:
        raise ConnectionError("storage went away")


def test_retry_after_is_the_time_left_in_the_window_at_least_one_second() -> None:
    """Guard: _remember_retry_after: between 1 s and the window length; the window if storage fails."""
    with Flask(__name__).app_context():
        ratelimit._remember_retry_after(_limit(time.time() + 30))  # type: ignore[arg-type]
        assert 1 <= g.tipbox_retry_after <= 30
        ratelimit._remember_retry_after(_limit(time.time() - 5))  # type: ignore[arg-type]
        assert g.tipbox_retry_after == 1
        ratelimit._remember_retry_after(_limit(_Broken(), expiry=45))  # type: ignore[arg-type]
        assert g.tipbox_retry_after == 45


# --- requests ---------------------------------------------------------------------------------


def test_client_body_passes_reads_through() -> None:
    """Guard: ClientBody forwards every read method with its arguments."""
    assert ClientBody(io.BytesIO(b"ab\ncd\n")).read(1) == b"a"
    assert ClientBody(io.BytesIO(b"ab\ncd\n")).readline() == b"ab\n"
    assert ClientBody(io.BytesIO(b"ab\ncd\n")).readline(1) == b"a"
    assert ClientBody(io.BytesIO(b"ab\ncd\n")).readlines() == [b"ab\n", b"cd\n"]
    assert list(ClientBody(io.BytesIO(b"ab\ncd\n"))) == [b"ab\n", b"cd\n"]


class _FailingStream:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def read(self, *args: object) -> bytes:
        raise self.error

    readline = readlines = read


@pytest.mark.parametrize("method", ["read", "readline", "readlines"])
def test_any_failure_to_read_the_body_is_a_400_without_its_message(method: str) -> None:
    """Guard: ClientBody._call turns server stream errors into UnreadableBody (a 400)."""
    body = ClientBody(_FailingStream(ValueError("chunk size 'SECRET'")))  # type: ignore[arg-type]
    with pytest.raises(UnreadableBody) as info:
        getattr(body, method)()
    assert "SECRET" not in str(info.value)
    passthrough = ClientBody(_FailingStream(BadRequest("already an HTTP error")))  # type: ignore[arg-type]
    with pytest.raises(BadRequest) as http:
        getattr(passthrough, method)()
    assert not isinstance(http.value, UnreadableBody)


def test_the_request_wraps_the_input_stream_once() -> None:
    """Guard: InMemoryRequest.__init__ wraps wsgi.input in ClientBody, and only once."""
    environ = EnvironBuilder(method="POST", data=b"body").get_environ()
    request = InMemoryRequest(environ)
    wrapped = request.environ["wsgi.input"]
    assert isinstance(wrapped, ClientBody)
    assert request.get_data() == b"body"
    again = InMemoryRequest(request.environ)
    assert again.environ["wsgi.input"] is wrapped
    assert InMemoryRequest(EnvironBuilder().get_environ(), True, True).shallow is True
    assert InMemoryRequest(EnvironBuilder().get_environ(), shallow=True).shallow is True


def test_uploaded_files_stay_in_memory() -> None:
    """Guard: InMemoryRequest never spools a file part to a temporary file (plaintext on disk)."""
    builder = EnvironBuilder(method="POST", data={"file": (io.BytesIO(b"x" * 600_000), "big.bin")})
    environ = builder.get_environ()
    encoded = environ["wsgi.input"]  # the test client's own encoding of the body (a temporary file)
    try:
        request = InMemoryRequest(environ)
        assert isinstance(request.files["file"].stream, io.BytesIO)
        request.close()
    finally:
        encoded.close()
        builder.close()
