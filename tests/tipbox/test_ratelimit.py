"""Abuse limits: keyed by a hashed network or Tor circuit, global buckets, Redis shared by workers,
in-memory fallback when Redis goes away, and a translated answer saying when to come back."""

from __future__ import annotations

import logging
import re
import time
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crypto.identity import ReviewerIdentity
from tests.load.services import PrivateRedis
from tests.tipbox.conftest import csrf_token, make_app
from tipbox.config import RATELIMIT_VARIABLES, ConfigError, load_config
from tipbox.security.ratelimit import CLIENT_BUCKETS, GLOBAL_BUCKETS, buckets_for, client_key, network_of

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
WRITES = {"intake.submit", "intake.open_upload", "intake.upload_chunk", "intake.finalize"}
CIRCUIT = "fc00:dead:beef:4dad::{:x}:{:x}"


def build(tmp_path: Path, reviewers: list[ReviewerIdentity], db_url: str | None = None, **env: str) -> Flask:
    """An app with limits on; SQLite unless a test that writes tips asks for ``db_url`` (both backends)."""
    return make_app(tmp_path / "var", db_url or f"sqlite:///{tmp_path / 'rl.sqlite3'}", reviewers,
                    TIPBOX_RATELIMIT_ENABLED="1", **env)


def from_address(client: FlaskClient, address: str, method: str = "GET", path: str = "/retention", **kw):
    return client.open(path, method=method, environ_base={"REMOTE_ADDR": address}, **kw)


# ---------------------------------------------------------------- keys


def test_keys_group_networks_and_circuits_and_never_hold_an_address() -> None:
    secret, day = b"s" * 32, date(2026, 11, 23)
    key = client_key(secret, "203.0.113.9", day)
    assert re.fullmatch(r"c[0-9a-f]{32}", key), key
    assert "203" not in key and "113" not in key
    # One bucket per IPv4 /24 and per IPv6 /64 ...
    assert key == client_key(secret, "203.0.113.250", day)
    assert key != client_key(secret, "203.0.114.9", day)
    assert client_key(secret, "2001:db8:1:2::1", day) == client_key(secret, "2001:db8:1:2:ffff::9", day)
    assert client_key(secret, "2001:db8:1:2::1", day) != client_key(secret, "2001:db8:1:3::1", day)
    assert client_key(secret, "::ffff:203.0.113.7", day) == key  # IPv4-mapped is the IPv4 network
    # ... but one per Tor circuit: the circuit id is the low 32 bits of the PROXY source address.
    a, b = CIRCUIT.format(0x1234, 0x5678), CIRCUIT.format(0x1234, 0x5679)
    assert client_key(secret, a, day) != client_key(secret, b, day)
    assert network_of(a) != network_of(b)
    # The key rotates daily and depends on the app secret.
    assert key != client_key(secret, "203.0.113.9", date(2026, 11, 24))
    assert key != client_key(b"t" * 32, "203.0.113.9", day)
    assert network_of("not an address") == network_of(None) == b"unknown"


def test_every_state_changing_route_has_a_bucket_and_every_write_a_global_one(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        if (rule.methods or set()) & STATE_CHANGING:
            assert rule.endpoint in CLIENT_BUCKETS, f"{rule.endpoint} has no rate-limit bucket"
    assert WRITES <= set(GLOBAL_BUCKETS)
    assert buckets_for("intake.form", "GET") == {"pages"}
    assert buckets_for(None, "DELETE") == {"pages"}
    assert buckets_for("intake.finalize", "POST") == {"finalize", "global_submit"}
    # The sealed open delivers a tip in the same request: it counts as an open and as a finalize.
    assert buckets_for("intake.open_sealed", "POST") == {"open_upload", "finalize", "global_open", "global_submit"}


@pytest.mark.parametrize("name", sorted(RATELIMIT_VARIABLES.values()))
@pytest.mark.parametrize("bad", ["lots", "0/minute", "10/fortnight", "-5/hour"])
def test_bad_rate_settings_name_the_variable_without_echoing_it(name: str, bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({name: bad})
    assert name in str(info.value) and bad not in str(info.value)


def test_rate_settings_defaults_and_switch() -> None:
    config = load_config({"TIPBOX_RATELIMIT_OPEN": "3/minute;9/hour"})
    assert config.ratelimits.enabled and config.ratelimits.open_upload == "3/minute;9/hour"
    assert not load_config({"TIPBOX_TESTING": "1"}).ratelimits.enabled  # tests opt in
    assert not load_config({"TIPBOX_RATELIMIT_ENABLED": "0"}).ratelimits.enabled
    with pytest.raises(ConfigError, match="TIPBOX_RATELIMIT_ENABLED"):
        load_config({"TIPBOX_RATELIMIT_ENABLED": "maybe"})
    for bad in ("-1", "9", "x"):
        with pytest.raises(ConfigError, match="TIPBOX_TRUSTED_PROXIES"):
            load_config({"TIPBOX_TRUSTED_PROXIES": bad})
    with pytest.raises(ConfigError, match="TIPBOX_SECURE_COOKIES"):
        load_config({"TIPBOX_SECURE_COOKIES": "sometimes"})
    for good in ("memory://", "redis://127.0.0.1:6379/0", "rediss://h:6380/1", "redis+unix:///run/redis.sock"):
        assert load_config({"TIPBOX_RATELIMIT_STORAGE": good}).ratelimit_storage == good
    with pytest.raises(ConfigError, match="TIPBOX_RATELIMIT_STORAGE"):
        load_config({"TIPBOX_RATELIMIT_STORAGE": "unix:///run/redis.sock"})


# ---------------------------------------------------------------- in-process, memory storage
# Limits per hour where a test counts to the limit exactly: the sliding window weighs the previous
# window down as the next begins, so requests straddling a minute boundary could all pass.


def test_pages_are_limited_per_network_with_a_translated_answer(tmp_path: Path, reviewers) -> None:
    app = build(tmp_path, reviewers, TIPBOX_RATELIMIT_PAGES="3/hour")
    client = app.test_client()
    assert [from_address(client, "198.51.100.1").status_code for _ in range(3)] == [200] * 3
    refused = from_address(client, "198.51.100.77")  # same /24
    assert refused.status_code == 429
    seconds = int(refused.headers["Retry-After"])
    assert 1 <= seconds <= 3600
    page = refused.get_data(as_text=True)
    assert '<html lang="id"' in page and "Terlalu banyak" in page and "menit" in page
    english = from_address(client, "198.51.100.2", path="/retention?lang=en")
    assert english.status_code == 429 and "Too many requests" in english.get_data(as_text=True)
    api = from_address(client, "198.51.100.3", path="/api/v1/keys")
    body = api.get_json()
    assert api.status_code == 429 and set(body) == {"error", "message", "retry_after"}
    assert body["error"] == "rate_limited" and body["retry_after"] == int(api.headers["Retry-After"])
    assert from_address(client, "198.51.101.1").status_code == 200  # another /24 has its own budget
    assert from_address(client, "2001:db8::1").status_code == 200
    app.extensions["tipbox.engine"].dispose()


def test_tor_circuits_get_a_bucket_each(tmp_path: Path, reviewers) -> None:
    app = build(tmp_path, reviewers, TIPBOX_RATELIMIT_PAGES="2/hour")
    client = app.test_client()
    first, second = CIRCUIT.format(0xA, 0x1), CIRCUIT.format(0xA, 0x2)
    assert [from_address(client, first).status_code for _ in range(3)] == [200, 200, 429]
    assert from_address(client, second).status_code == 200  # same /64, different circuit
    # An ordinary IPv6 /64 is one bucket, however many addresses it uses.
    assert [from_address(client, f"2001:db8:5:5::{n}").status_code for n in range(3)] == [200, 200, 429]
    app.extensions["tipbox.engine"].dispose()


def test_uploads_have_their_own_budget_and_the_global_bucket_stops_a_spread_flood(
    tmp_path: Path, reviewers, db_url: str
) -> None:
    app = build(tmp_path, reviewers, db_url, TIPBOX_RATELIMIT_OPEN="2/hour", TIPBOX_RATELIMIT_GLOBAL_OPEN="5/hour")
    client = app.test_client()
    token = csrf_token(client)

    def open_from(address: str) -> int:
        return from_address(client, address, "POST", "/api/v1/submissions",
                            headers={"X-CSRFToken": token}).status_code

    assert [open_from("192.0.2.1") for _ in range(3)] == [201, 201, 429]
    # Many networks (or circuits): each within its own budget, but together over the global one.
    statuses = [open_from(CIRCUIT.format(0xB, n)) for n in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    assert from_address(client, CIRCUIT.format(0xC, 1)).status_code == 200  # pages are not affected
    app.extensions["tipbox.engine"].dispose()


def test_the_sealed_open_counts_as_a_finalize_too(tmp_path: Path, reviewers, db_url: str) -> None:
    """It delivers a tip in one request (FORMAT.md §4.1), so it cannot be a way around the finalize and
    global submit budgets. Refused bodies count as well: the limiter answers before the body is read."""
    app = build(tmp_path, reviewers, db_url, TIPBOX_RATELIMIT_FINALIZE="2/hour", TIPBOX_RATELIMIT_GLOBAL_SUBMIT="3/hour")
    client = app.test_client()
    token = csrf_token(client)

    def sealed_from(address: str) -> int:
        return from_address(client, address, "POST", "/api/v1/submissions/sealed",
                            headers={"X-CSRFToken": token, "Content-Type": "application/json"}, data="{}").status_code

    assert [sealed_from("192.0.2.1") for _ in range(3)] == [400, 400, 429]
    assert [sealed_from(CIRCUIT.format(0xD, n)) for n in range(2)] == [400, 429]  # the global budget: 3 in all
    app.extensions["tipbox.engine"].dispose()


def test_trusted_proxy_header_is_used_only_when_configured(tmp_path: Path, reviewers) -> None:
    untrusted = build(tmp_path / "a", reviewers, TIPBOX_RATELIMIT_PAGES="2/hour")
    client = untrusted.test_client()
    codes = [client.get("/retention", headers={"X-Forwarded-For": f"203.0.{n}.1"}).status_code for n in range(3)]
    assert codes == [200, 200, 429]  # a client cannot pick its own bucket
    untrusted.extensions["tipbox.engine"].dispose()
    trusted = build(tmp_path / "b", reviewers, TIPBOX_RATELIMIT_PAGES="2/hour", TIPBOX_TRUSTED_PROXIES="1")
    client = trusted.test_client()
    codes = [client.get("/retention", headers={"X-Forwarded-For": f"203.0.{n}.1"}).status_code for n in range(3)]
    assert codes == [200, 200, 200]  # behind nginx: the proxy's X-Forwarded-For names the network
    trusted.extensions["tipbox.engine"].dispose()


def test_limiter_logs_neither_keys_nor_addresses(tmp_path: Path, reviewers, caplog) -> None:
    app = build(tmp_path, reviewers, TIPBOX_RATELIMIT_PAGES="1/minute")
    client = app.test_client()
    with caplog.at_level(logging.DEBUG):
        for _ in range(3):
            from_address(client, "198.51.100.200")
    text = caplog.text
    assert "198.51.100" not in text and "exceeded" not in text
    assert not any(record.name == "flask-limiter" for record in caplog.records)
    app.extensions["tipbox.engine"].dispose()


# ---------------------------------------------------------------- Redis


@pytest.fixture
def redis_server(tmp_path: Path):
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.mark.redis
def test_redis_holds_hashed_keys_only_and_is_shared_between_apps(
    tmp_path: Path, reviewers, redis_server, db_url: str
) -> None:
    env = {"TIPBOX_RATELIMIT_STORAGE": redis_server.url, "TIPBOX_RATELIMIT_PAGES": "4/hour"}
    first = build(tmp_path / "a", reviewers, db_url, **env)
    second = build(tmp_path / "b", [], db_url, **env)  # same secret and database (reviewers added once): two workers
    a, b = first.test_client(), second.test_client()
    assert [from_address(a, "203.0.113.10").status_code for _ in range(2)] == [200, 200]
    assert [from_address(b, "203.0.113.11").status_code for _ in range(3)] == [200, 200, 429]
    assert from_address(a, "203.0.113.12").status_code == 429
    keys = redis_server.keys()
    assert keys
    for key in keys:
        assert "203.0.113" not in key and "127.0.0.1" not in key
        assert "/c" in key or "/all/" in key, key
    for app in (first, second):
        app.extensions["tipbox.engine"].dispose()


@pytest.mark.redis
@pytest.mark.slow
def test_redis_going_away_mid_run_falls_back_to_memory_and_comes_back(tmp_path: Path, reviewers, redis_server,
                                                                      caplog, db_url: str) -> None:
    app = build(tmp_path, reviewers, db_url, TIPBOX_RATELIMIT_STORAGE=redis_server.url, TIPBOX_RATELIMIT_PAGES="50/minute",
                TIPBOX_RATELIMIT_OPEN="100/minute")
    client = app.test_client()
    token = csrf_token(client)

    def intake() -> list[int]:
        return [client.get("/").status_code,
                client.post("/api/v1/submissions", headers={"X-CSRFToken": token}).status_code]

    assert intake() == [200, 201]
    assert redis_server.keys()
    with caplog.at_level(logging.INFO, logger="flask-limiter"):
        redis_server.stop()
        for _ in range(5):
            assert intake() == [200, 201]  # intake keeps working on in-memory limits
        warnings = [r for r in caplog.records if "falling back to in-memory" in r.getMessage()]
        assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING  # once, not per request
        # Limits still hold while Redis is away.
        statuses = [client.get("/retention").status_code for _ in range(60)]
        assert 429 in statuses and statuses.count(200) <= 50
        redis_server.start()  # same port, empty
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not redis_server.keys():
            client.post("/api/v1/submissions", headers={"X-CSRFToken": token})
            time.sleep(0.5)
        assert redis_server.keys(), "the limiter did not go back to Redis"
        assert any("recovered" in r.getMessage() for r in caplog.records)
    app.extensions["tipbox.engine"].dispose()


@pytest.mark.redis
def test_redis_keys_live_at_most_the_documented_48_hours(tmp_path: Path, reviewers, redis_server) -> None:
    """docs/deploy.md (Redis): a key lives at most twice its window, so 48 h for a daily limit; measured here.

    flask-limiter's sliding window keeps the previous window's count, so each
    counter is created with twice its window as its time to live; a per-client
    key is never touched again after midnight UTC (its daily HMAC key changes)
    and so is deleted at most 48 h after that client's first request of the day.
    """
    app = build(tmp_path, reviewers, TIPBOX_RATELIMIT_STORAGE=redis_server.url,
                TIPBOX_RATELIMIT_OPEN="5/minute;50/hour;300/day", TIPBOX_RATELIMIT_GLOBAL_OPEN="3000/day")
    client = app.test_client()
    token = csrf_token(client)
    assert from_address(client, "203.0.113.5", "POST", "/api/v1/submissions",
                        headers={"X-CSRFToken": token}).status_code == 201
    import redis

    storage = redis.Redis.from_url(redis_server.url)
    try:
        ttls = {key.decode(): storage.pttl(key) / 1000 for key in storage.scan_iter(count=1000)}
    finally:
        storage.close()
    app.extensions["tipbox.engine"].dispose()
    day, hour, minute = 24 * 3600, 3600, 60
    by_window = {window: [ttl for key, ttl in ttls.items() if key.rstrip("}").endswith(f"/1/{window}")]
                 for window in ("day", "hour", "minute")}
    client_day = [ttl for key, ttl in ttls.items() if "/c" in key and key.rstrip("}").endswith("/1/day")]
    assert client_day and all(day < ttl <= 2 * day for ttl in client_day), ttls  # more than a day: not "within a day"
    assert all(0 < ttl <= 2 * day for ttl in by_window["day"]) and len(by_window["day"]) == 2  # client + global
    assert all(0 < ttl <= 2 * hour for ttl in by_window["hour"]) and by_window["hour"]
    assert all(0 < ttl <= 2 * minute for ttl in by_window["minute"]) and by_window["minute"]
    assert max(ttls.values()) <= 48 * 3600
    doc = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    assert "within a day" not in doc and "at most 48 h" in doc
