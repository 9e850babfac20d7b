"""Every response carries the browser policy: every route, every error, static files.

The walk covers each rule of ``app.url_map`` with each of its methods, plus a
404, a 405, a 413, a CSRF failure, a 429 and a 500 (from a route this test
registers), and checks every header. CSRF is checked for every state-changing
route, and error pages are checked to leak nothing of the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from crypto.identity import ReviewerIdentity
from tests.tipbox.conftest import csrf_token, make_app
from tipbox import static_assets
from tipbox.config import RATELIMIT_VARIABLES
from tipbox.security.headers import PERMISSIONS, parse_csp

EXPECTED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "object-src": "'none'",
}
ONION = "http://" + "a" * 56 + ".onion"
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
CANARY = "zz-canary-7f3a"
SMALL_NOJS = 64 * 1024


def build(tmp_path: Path, reviewers: list[ReviewerIdentity], db_url: str | None = None, **env: str) -> Flask:
    return make_app(tmp_path / "var", db_url or f"sqlite:///{tmp_path / 'headers.sqlite3'}", reviewers,
                    TIPBOX_MAX_NOJS_BYTES=str(SMALL_NOJS), **env)


@pytest.fixture
def app(tmp_path: Path, reviewers: list[ReviewerIdentity], db_url: str) -> Iterator[Flask]:
    """The walks below run on both databases: errors raised by PostgreSQL must get the same headers and pages."""
    # The limiter runs (its hooks are part of every response) but no walk here comes near a limit.
    roomy = {name: "10000/hour" for name in RATELIMIT_VARIABLES.values()}
    application = build(tmp_path, reviewers, db_url, TIPBOX_RATELIMIT_ENABLED="1", **roomy)

    @application.route("/__test__/boom", methods=["GET", "POST"])
    def boom():  # a test-only route: an unexpected exception deep in a view
        raise RuntimeError(f"secret detail {CANARY}")

    @application.route("/api/__test__/database-gone", methods=["GET"])
    def database_gone():  # a test-only route: PostgreSQL restarting under a request
        from sqlalchemy.exc import OperationalError

        raise OperationalError(f"SELECT {CANARY}", {}, ConnectionError(CANARY))

    yield application
    application.extensions["tipbox.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def assert_policy(response: TestResponse, *, cacheable: bool = False) -> None:
    h = response.headers
    what = f"{response.request.method} {response.request.path} -> {response.status_code}"
    csp = parse_csp(h.get("Content-Security-Policy", ""))
    assert csp == EXPECTED_CSP, what
    assert "unsafe" not in h["Content-Security-Policy"] and "http" not in h["Content-Security-Policy"], what
    assert h.get("Referrer-Policy") == "no-referrer", what
    assert h.get("X-Content-Type-Options") == "nosniff", what
    policy = dict(item.strip().split("=", 1) for item in h.get("Permissions-Policy", "").split(","))
    assert set(policy) == set(PERMISSIONS) and set(policy.values()) == {"()"}, what
    assert {"camera", "microphone", "geolocation", "clipboard-read", "payment", "usb"} <= set(policy), what
    assert h.get("Cross-Origin-Opener-Policy") == "same-origin", what
    assert h.get("Cross-Origin-Resource-Policy") == "same-origin", what
    assert "noindex" in h.get("X-Robots-Tag", ""), what
    assert h.get("X-Frame-Options") == "DENY", what
    if cacheable:
        assert h.get("Cache-Control") == "public, max-age=31536000, immutable", what
    else:
        assert h.get("Cache-Control") == "no-store", what
    assert "Strict-Transport-Security" not in h, what  # plain http here
    assert "Onion-Location" not in h, what  # not configured here
    for cookie in h.getlist("Set-Cookie"):
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie, what


def _url_for_rule(app: Flask, rule) -> str:
    values = {}
    for name in rule.arguments:
        values[name] = {"filename": "css/tipbox.css", "seq": 0}.get(name, "ab" * 16)
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_every_route_and_method_carries_every_header(app: Flask, client: FlaskClient) -> None:
    token = csrf_token(client)
    seen = set()
    for rule in app.url_map.iter_rules():
        url = _url_for_rule(app, rule)
        for method in sorted(rule.methods or ()):
            headers = {"X-CSRFToken": token}
            with client.open(url, method=method, headers=headers, data=b"") as response:
                assert response.status_code < 600
                assert_policy(response)
            seen.add((rule.endpoint, method))
    assert {("intake.form", "GET"), ("intake.submit", "POST"), ("intake.open_upload", "POST"),
            ("intake.upload_chunk", "PUT"), ("intake.finalize", "POST"), ("static", "GET")} <= seen


def test_errors_carry_every_header(app: Flask, client: FlaskClient) -> None:
    token = csrf_token(client)
    not_found = client.get("/no-such-page")
    assert not_found.status_code == 404
    assert_policy(not_found)
    api_not_found = client.get("/api/v1/nothing")
    assert api_not_found.status_code == 404 and api_not_found.get_json()["error"] == "not_found"
    assert_policy(api_not_found)

    wrong_method = client.delete("/")
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
    assert_policy(wrong_method)

    too_large = client.post("/", data=b"x" * (SMALL_NOJS + 1), headers={"X-CSRFToken": token},
                            content_type="application/x-www-form-urlencoded")
    assert too_large.status_code == 413
    assert_policy(too_large)

    csrf = client.post("/", data={"description": "x"})
    assert csrf.status_code == 400 and "kedaluwarsa" in csrf.get_data(as_text=True)
    assert_policy(csrf)
    api_csrf = client.post("/api/v1/submissions")
    assert api_csrf.status_code == 400 and api_csrf.get_json()["error"] == "csrf"
    assert_policy(api_csrf)

    gone = client.get("/api/__test__/database-gone")
    assert gone.status_code == 503 and gone.headers["Retry-After"] == "30"
    assert gone.get_json()["error"] == "unavailable" and gone.get_json()["retry_after"] == 30
    assert CANARY not in gone.get_data(as_text=True)
    assert_policy(gone)

    for method in ("GET", "POST"):
        boom = client.open("/__test__/boom", method=method, headers={"X-CSRFToken": token})
        assert boom.status_code == 500
        assert CANARY not in boom.get_data(as_text=True) and "RuntimeError" not in boom.get_data(as_text=True)
        assert_policy(boom)


def test_rate_limited_responses_carry_every_header(tmp_path: Path, reviewers) -> None:
    app = build(tmp_path, reviewers, TIPBOX_RATELIMIT_ENABLED="1", TIPBOX_RATELIMIT_PAGES="2/hour")
    client = app.test_client()
    assert [client.get("/retention").status_code for _ in range(2)] == [200, 200]
    page = client.get("/retention")
    assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1
    assert_policy(page)
    api = client.get("/api/v1/keys")
    assert api.status_code == 429 and api.get_json()["error"] == "rate_limited"
    assert_policy(api)
    app.extensions["tipbox.engine"].dispose()


def test_static_files_are_cached_only_under_their_current_hash(client: FlaskClient) -> None:
    for name in ("css/tipbox.css", "js/form.js", "js/sealer.js"):
        digest = static_assets._digest(name)[1]
        with client.get(f"/static/{name}?v={digest}") as current:
            assert current.status_code == 200
            assert_policy(current, cacheable=True)
        for stale in (f"/static/{name}", f"/static/{name}?v=0000000000000000", f"/static/{name}?v="):
            with client.get(stale) as response:
                assert response.status_code == 200
                assert_policy(response)
    missing = client.get("/static/css/none.css?v=0000000000000000")
    assert missing.status_code == 404
    assert_policy(missing)
    # The page links its assets with the hash that makes them cacheable.
    page = client.get("/").get_data(as_text=True)
    assert f"/static/css/tipbox.css?v={static_assets._digest('css/tipbox.css')[1]}" in page


def test_hsts_only_over_https_and_never_on_onion(tmp_path: Path, reviewers) -> None:
    app = build(tmp_path, reviewers)
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://tips.example.org")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    onion = client.get("/", base_url="https://" + "b" * 56 + ".onion")
    assert "Strict-Transport-Security" not in onion.headers
    plain_onion = client.get("/", base_url=ONION)
    assert "Strict-Transport-Security" not in plain_onion.headers
    app.extensions["tipbox.engine"].dispose()


def test_onion_location_is_advertised_off_the_onion_only(tmp_path: Path, reviewers) -> None:
    app = build(tmp_path, reviewers, TIPBOX_ONION_LOCATION=ONION + "/")
    client = app.test_client()
    clearnet = client.get("/retention?lang=en", base_url="https://tips.example.org")
    assert clearnet.headers["Onion-Location"] == ONION + "/retention?lang=en"
    assert "Onion-Location" not in client.get("/retention", base_url=ONION).headers
    # A path with a newline or other raw input is percent-encoded, never echoed raw into a header.
    odd = client.get("/x%0Ay%20z?a=%0D", base_url="https://tips.example.org")
    assert odd.status_code == 404
    assert odd.headers["Onion-Location"] == ONION + "/x%0Ay%20z?a=%250D"
    app.extensions["tipbox.engine"].dispose()


def test_every_state_changing_route_requires_csrf(app: Flask, client: FlaskClient) -> None:
    token = csrf_token(client)
    checked = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("boom", "database_gone"):
            continue
        for method in sorted((rule.methods or set()) & STATE_CHANGING):
            url = _url_for_rule(app, rule)
            # A valid token does not help a request the browser says another site made, subdomains included
            # (same-site: a sibling host under the same registrable domain is not this origin), whatever the case.
            refused = [{}, {"X-CSRFToken": "forged"}] + [
                {"X-CSRFToken": token, "Sec-Fetch-Site": site} for site in ("cross-site", "same-site", "Cross-Site")
            ]
            for headers in refused:
                response = client.open(url, method=method, headers=headers, data=b"",
                                       content_type="application/json")
                assert response.status_code == 400, (method, url, headers)
                body = response.get_data(as_text=True)
                if url.startswith("/api/"):
                    assert response.get_json()["error"] == "csrf", (method, url)
                else:
                    assert "kedaluwarsa" in body, (method, url)
            # With the token (and a same-origin fetch) the request gets past CSRF.
            response = client.open(url, method=method, data=b"", content_type="application/json",
                                   headers={"X-CSRFToken": token, "Sec-Fetch-Site": "same-origin"})
            if url.startswith("/api/"):
                assert (response.get_json() or {}).get("error") != "csrf", (method, url)
            else:
                assert "kedaluwarsa" not in response.get_data(as_text=True), (method, url)
            checked.append((rule.endpoint, method))
    assert {e for e, _ in checked} >= {"intake.submit", "intake.open_upload", "intake.upload_chunk",
                                       "intake.complete", "intake.finalize", "status.show", "status.message",
                                       "status.forget", "status.api_status", "status.open_followup",
                                       "status.followup_chunk", "status.followup_complete",
                                       "status.finalize_followup"}


def test_secure_cookie_and_https_post_without_referer(tmp_path: Path, reviewers) -> None:
    app = build(tmp_path, reviewers, TIPBOX_SECURE_COOKIES="1")
    client = app.test_client()
    https = "https://tips.example.org"
    page = client.get("/", base_url=https)
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-tipbox=")
    for attribute in ("Secure", "HttpOnly", "Path=/", "SameSite=Strict"):
        assert attribute in cookie
    assert "Domain" not in cookie
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    # Referrer-Policy: no-referrer means browsers send no Referer: the token alone must suffice.
    opened = client.post("/api/v1/submissions", base_url=https, headers={"X-CSRFToken": token})
    assert opened.status_code == 201, opened.get_json()
    app.extensions["tipbox.engine"].dispose()


def test_error_pages_leak_nothing_in_either_language(client: FlaskClient) -> None:
    for lang in ("id", "en"):
        for url in (f"/{CANARY}?q={CANARY}&lang={lang}", f"/api/v1/{CANARY}?lang={lang}"):
            response = client.get(url, headers={"User-Agent": CANARY, "X-Forwarded-For": "198.51.100.7"})
            body = response.get_data(as_text=True)
            assert response.status_code == 404
            assert CANARY not in body and "198.51.100.7" not in body and "Traceback" not in body
        boom = client.get(f"/__test__/boom?lang={lang}").get_data(as_text=True)
        assert CANARY not in boom and "Traceback" not in boom and "RuntimeError" not in boom
        assert ("Terjadi" in boom or "salah" in boom) if lang == "id" else "Something went wrong" in boom


@pytest.mark.parametrize("bad", [
    "https://example.com", "http://evil.example/.onion", "http://" + "a" * 56 + ".onion/path",
    "http://user@" + "a" * 56 + ".onion", "http://" + "a" * 16 + ".onion", "http://" + "a" * 56 + ".onion?x=1",
    "http://" + "a" * 56 + ".onion:99999", "ftp://" + "a" * 56 + ".onion",
])
def test_onion_location_setting_is_validated_without_echoing(bad: str) -> None:
    from tipbox.config import ConfigError, load_config

    with pytest.raises(ConfigError) as info:
        load_config({"TIPBOX_ONION_LOCATION": bad})
    assert "TIPBOX_ONION_LOCATION" in str(info.value) and bad not in str(info.value)


def test_onion_location_setting_is_normalised() -> None:
    from tipbox.config import load_config

    assert load_config({"TIPBOX_ONION_LOCATION": ONION.upper().replace("HTTP", "http") + "/"}).onion_location == ONION
    assert load_config({}).onion_location is None and load_config({}).secure_cookies is False
    assert load_config({"TIPBOX_SECURE_COOKIES": "1"}).secure_cookies is True
