"""Requests that once got a 500: each now gets a clear 4xx and stores nothing, on SQLite and PostgreSQL.

One test per case found from outside (issue #19): Unicode digits in the no-JS
form, piece numbers past the database's integer, ids with a trailing line
break, deeply nested and huge-number JSON, and malformed chunked bodies
(through a real gunicorn, whose own parser raises inside the app).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bench.load import Client, TipboxServer
from bench.net import raw_exchange, status_of
from crypto import payload
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.conftest import csrf_token
from tipbox import db
from tipbox.models import AttachmentChunk, Tip
from tipbox.security.paths import MAX_PIECE

ATT = "cd" * 16


def _counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        session = db.session()
        return (session.scalar(select(func.count()).select_from(Tip).where(Tip.state == "ready")) or 0,
                session.scalar(select(func.count()).select_from(AttachmentChunk)) or 0)


def _error_code(response) -> str:
    return response.get_json()["error"]


# --------------------------------------------------------------------------- a. numbers in the no-JS form


@pytest.mark.parametrize("typed", ["²", "١٢", "１２", "12.0", "1e3", "-1", "+3", "0x10", "9" * 5000, "100001"])
def test_a_number_that_is_not_ascii_digits_is_refused_in_the_form(app: Flask, client: FlaskClient,
                                                                   typed: str) -> None:
    token = csrf_token(client)
    response = client.post("/", data={"csrf_token": token, "description": "teks saya", "victims_count": typed})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Silakan isi dengan angka bulat." in page  # the field's message, in the default language
    assert "teks saya" in page  # the text is kept
    assert _counts(app) == (0, 0)


def test_a_plain_number_is_kept_exactly(app: Flask, client: FlaskClient, reviewers) -> None:
    token = csrf_token(client)
    response = client.post("/", data={"csrf_token": token, "description": "x", "victims_count": " 12 "})
    assert response.status_code == 200
    with app.app_context():
        [tip] = db.session().scalars(select(Tip).where(Tip.state == "ready"))
        document = payload.open_tip(tip.payload, [reviewers[0].secret])
    assert document["answers"]["victims_count"] == 12


# --------------------------------------------------------------------------- b. path parameters at their limits


@pytest.mark.parametrize("seq", [str(MAX_PIECE + 1), str(2**70), "9" * 5000, "١٢", "-1", "1.5"])
def test_a_piece_number_past_the_column_is_a_404(app: Flask, client: FlaskClient, seq: str) -> None:
    browser = BrowserLike(client)
    opened = browser.open().get_json()
    for base, upload in (("/api/v1/submissions", opened["tip_id"]),):
        response = client.put(f"{base}/{upload}/attachments/{ATT}/chunks/{seq}", data=b"x",
                              headers=browser.headers(opened["token"]), content_type="application/octet-stream")
        assert response.status_code == 404 and _error_code(response) == "not_found"
    assert _counts(app) == (0, 0)


def test_the_largest_piece_number_is_stored(app: Flask, client: FlaskClient) -> None:
    """The bound is the column's own: the last representable number still works on both databases."""
    browser = BrowserLike(client)
    opened = browser.open().get_json()
    assert browser.put(opened["tip_id"], opened["token"], ATT, MAX_PIECE, b"x").status_code == 200
    assert _counts(app) == (0, 1)


@pytest.mark.parametrize("bad", [f"{ATT}%0A", f"{ATT}%00", ATT.upper(), ATT[:-1], ATT + "0"])
def test_an_id_that_is_not_32_hex_is_a_404(app: Flask, client: FlaskClient, bad: str) -> None:
    browser = BrowserLike(client)
    opened = browser.open().get_json()
    tip, token = opened["tip_id"], opened["token"]
    headers = browser.headers(token)
    for path in (f"/api/v1/submissions/{tip}/attachments/{bad}/chunks/0",
                 f"/api/v1/submissions/{bad}/attachments/{ATT}/chunks/0",
                 f"/api/v1/followups/{bad}/attachments/{ATT}/chunks/0"):
        response = client.put(path, data=b"x", headers=headers, content_type="application/octet-stream")
        assert response.status_code == 404, path
    response = client.post(f"/api/v1/submissions/{tip}/attachments/{bad}/complete",
                           json={"size": 1, "sha256": "a" * 64}, headers=headers)
    assert response.status_code == 404
    assert _counts(app) == (0, 0)


# --------------------------------------------------------------------------- c./d. JSON bodies


def _post_json(client: FlaskClient, path: str, body: str, headers: dict[str, str]):
    return client.post(path, data=body.encode("utf-8"), content_type="application/json", headers=headers)


@pytest.fixture
def upload(client: FlaskClient) -> tuple[BrowserLike, str, str]:
    browser = BrowserLike(client)
    opened = browser.open().get_json()
    return browser, opened["tip_id"], opened["token"]


def _json_targets(upload: tuple[BrowserLike, str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    browser, tip, token = upload
    yield "/api/v1/status", browser.headers()
    yield "/api/v1/followups", browser.headers()
    yield f"/api/v1/submissions/{tip}/attachments/{ATT}/complete", browser.headers(token)
    yield f"/api/v1/submissions/{tip}/finalize", browser.headers(token)


@pytest.mark.parametrize("levels", [5, 2_000, 5_000, 200_000])
def test_c_deeply_nested_json_is_a_400(app: Flask, client: FlaskClient, upload, levels: int) -> None:
    for path, headers in _json_targets(upload):
        for body in ("[" * levels + "]" * levels, '{"lookup": ' + "[" * levels, '{"a":' * levels + "1" + "}" * levels):
            if len(body) > 2 * 1024 * 1024:
                body = body[: 2 * 1024 * 1024]  # still within finalize's limit
            response = _post_json(client, path, body, headers)
            # Refused for its shape, or for its size before it is parsed (4 KiB everywhere but finalize).
            expected = (413, "too_large") if len(body) > 4096 and "/finalize" not in path else (400, "bad_request")
            assert (response.status_code, _error_code(response)) == expected, (path, levels)
    assert _counts(app) == (0, 0)


@pytest.mark.parametrize("number", ["9" * 5000, "-" + "9" * 5000, "9" * 21, "1e400", "-1e400", "NaN", "Infinity"])
def test_d_numbers_outside_the_limits_are_a_400(app: Flask, client: FlaskClient, upload, number: str) -> None:
    for path, headers in _json_targets(upload):
        for body in (f'{{"size": {number}, "sha256": "{"a" * 64}"}}',
                     f'{{"payload": "", "attachments": [], "key_fingerprint": "x", "extra": {number}}}'):
            response = _post_json(client, path, body, headers)
            # Only finalize takes bodies over 4 KiB; elsewhere a 5000-digit number is refused for its size first.
            expected = (413, "too_large") if len(body) > 4096 and "/finalize" not in path else (400, "bad_request")
            assert (response.status_code, _error_code(response)) == expected, (path, number)
    assert _counts(app) == (0, 0)


def test_d_ambiguous_json_is_a_400(app: Flask, client: FlaskClient, upload) -> None:
    """Duplicate keys (two parsers, two documents) and UTF-16 (json.loads would guess it)."""
    browser, tip, token = upload
    duplicate = f'{{"lookup": "{"a" * 64}", "lookup": "{"b" * 64}"}}'
    assert _post_json(client, "/api/v1/status", duplicate, browser.headers()).status_code == 400
    utf16 = json.dumps({"lookup": "a" * 64}).encode("utf-16")
    response = client.post("/api/v1/status", data=utf16, content_type="application/json", headers=browser.headers())
    assert response.status_code == 400
    assert _counts(app) == (0, 0)


# --------------------------------------------------------------------------- e. malformed transfer encodings


BROKEN_BODIES = {
    "bad size": b"zz\r\nhello\r\n0\r\n\r\n",
    "no terminator": b"5\r\nhelloXX0\r\n\r\n",
    "huge size": b"ffffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
    "cut short": b"100\r\nhello",
}


@pytest.fixture
def gunicorn(tmp_path: Path, db_url: str) -> Iterator[TipboxServer]:
    server = TipboxServer.create(tmp_path / "server-var", TIPBOX_DATABASE_URL=db_url)
    server.start()
    yield server
    server.stop()


def test_e_malformed_chunked_bodies_are_a_400_through_gunicorn(gunicorn: TipboxServer) -> None:
    """With a valid session, CSRF token and upload token, so that the app itself reads each broken body."""
    port = gunicorn.gunicorn.port
    client = Client(gunicorn.url)
    client.start()
    client.close()
    opened = client.api("POST", "/api/v1/submissions").json()
    upload = opened["tip_id"]
    targets = {
        ("POST", "/"): "application/x-www-form-urlencoded",
        ("POST", "/status"): "multipart/form-data; boundary=b",
        ("POST", "/api/v1/status"): "application/json",
        ("POST", f"/api/v1/submissions/{upload}/finalize"): "application/json",
        ("PUT", f"/api/v1/submissions/{upload}/attachments/{ATT}/chunks/0"): "application/octet-stream",
    }
    seen = {}
    for (method, path), media in targets.items():
        for name, body in BROKEN_BODIES.items():
            head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {media}\r\nCookie: {client.cookie}\r\n"
                    f"X-CSRFToken: {client.csrf}\r\nX-Upload-Token: {opened['token']}\r\n"
                    "Sec-Fetch-Site: same-origin\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            seen[(path, name)] = status_of(raw_exchange(port, head.encode() + body, half_close=True))
    assert all(status == 400 for status in seen.values()), seen
    assert "unhandled" not in gunicorn.log(), gunicorn.log()[-2000:]
    # Nothing was stored, and the server still answers normally.
    assert client.request("GET", "/retention").status == 200
    assert client.api("POST", "/api/v1/status", json.dumps({"lookup": "a" * 64}).encode(),
                      "application/json").status == 404
    client.close()
