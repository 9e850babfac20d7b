"""Abuse limits that work over Tor, keyed without ever holding an address.

Every request is counted in a per-client bucket and, for the requests that
write to the database, in a global bucket shared by the whole deployment, so a
flood spread over many Tor circuits still cannot fill the disk.

The per-client key is ``HMAC-SHA256(daily key, client network)``:

- the network is the /24 of an IPv4 address or the /64 of an IPv6 address;
- behind a Tor onion service with ``HiddenServiceExportCircuitID haproxy`` and
  gunicorn's ``--proxy-protocol``, each Tor circuit arrives from its own
  address in ``fc00:dead:beef:4dad::/64`` whose low 32 bits are the circuit id
  (Tor's haproxy-proxy spec): those addresses are keyed whole, one bucket per
  circuit;
- the daily key is ``HMAC-SHA256(app secret, "tipbox ratelimit v1 " + UTC date)``,
  so yesterday's keys cannot be linked to today's and nobody without the app
  secret can test a guessed address against the keys in Redis.

Keys and addresses are never logged (flask-limiter's own "exceeded" line,
which quotes the key, is dropped by :mod:`tipbox.security.logs`).

Storage comes from ``TIPBOX_RATELIMIT_STORAGE``. If Redis goes away,
flask-limiter's in-memory fallback takes over with the *same* buckets (the
fallback list is the same :class:`~flask_limiter.Limit` objects) and logs one
warning per worker; it returns to Redis by itself once Redis answers again.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import time
from datetime import UTC, date, datetime
from functools import partial

from flask import Flask, g, request
from flask_limiter import Limit, Limiter, RequestLimit

from ..config import RateLimits

# Tor's source prefix for HiddenServiceExportCircuitID haproxy (spec: haproxy-proxy).
TOR_CIRCUIT_NETWORK = ipaddress.IPv6Network("fc00:dead:beef:4dad::/64")

# Which bucket each state-changing endpoint draws from; everything else that is
# read-only (GET/HEAD/OPTIONS) draws from "pages". tests/tipbox/test_ratelimit.py
# checks that every state-changing route of the app appears here.
CLIENT_BUCKETS: dict[str, str | tuple[str, ...]] = {
    "intake.submit": "nojs",
    "intake.open_upload": "open_upload",
    # The sealed open both opens an upload and delivers a tip (FORMAT.md §4.1): it draws from both.
    "intake.open_sealed": ("open_upload", "finalize"),
    "intake.upload_chunk": "chunks",
    "intake.complete": "chunks",
    "intake.finalize": "finalize",
    "status.show": "status",
    "status.api_status": "status",
    "status.message": "nojs",
    "status.forget": "pages",
    "status.open_followup": "open_upload",
    "status.followup_chunk": "chunks",
    "status.followup_complete": "chunks",
    "status.finalize_followup": "finalize",
}
GLOBAL_BUCKETS: dict[str, str | tuple[str, ...]] = {
    "intake.open_upload": "global_open",
    "intake.open_sealed": ("global_open", "global_submit"),
    "intake.upload_chunk": "global_chunks",
    "intake.finalize": "global_submit",
    "intake.submit": "global_submit",
    "status.show": "global_status",
    "status.api_status": "global_status",
    "status.message": "global_submit",
    "status.open_followup": "global_open",
    "status.followup_chunk": "global_chunks",
    "status.finalize_followup": "global_submit",
}
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
UNROUTED = "-unrouted-"  # 404s and 405s have no endpoint; count them as pages too
GLOBAL_KEY = "all"


def network_of(address: str | None) -> bytes:
    """The part of a client address the per-client bucket is keyed on (never stored as is)."""
    try:
        ip = ipaddress.ip_address((address or "").strip("[]").split("%")[0])
    except ValueError:
        return b"unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return b"v4/24:" + ip.packed[:3]
    if ip in TOR_CIRCUIT_NETWORK:
        return b"tor-circuit:" + ip.packed
    return b"v6/64:" + ip.packed[:8]


def daily_key(secret: bytes, day: date) -> bytes:
    return hmac.new(secret, b"tipbox ratelimit v1 " + day.isoformat().encode(), hashlib.sha256).digest()


def keyed(day_key: bytes, address: str | None) -> str:
    """``c`` + 32 hex characters: the bucket name of the client's network (or circuit) under ``day_key``."""
    return "c" + hmac.new(day_key, network_of(address), hashlib.sha256).hexdigest()[:32]


def client_key(secret: bytes, address: str | None, day: date) -> str:
    return keyed(daily_key(secret, day), address)


def buckets_for(endpoint: str | None, method: str) -> set[str]:
    """The buckets one request draws from."""
    endpoint = endpoint or UNROUTED
    names = set()
    if endpoint in CLIENT_BUCKETS and method not in READ_METHODS:
        for table in (CLIENT_BUCKETS, GLOBAL_BUCKETS):
            named = table.get(endpoint, ())
            names.update((named,) if isinstance(named, str) else named)
    else:
        names.add("pages")
    return names


class RateLimiting:
    """The app's flask-limiter, its buckets and its key function."""

    def __init__(self, app: Flask, limits: RateLimits, storage_uri: str, secret: bytes) -> None:
        self.rules = limits
        self._secret = secret
        self._today: tuple[date | None, bytes] = (None, b"")  # replaced whole: threads never see half of it
        self.buckets: list[Limit] = [
            Limit(
                limit_provider=partial(self._rule, name),
                key_function=self._global_key if name.startswith("global_") else self._client_key,
                scope=name,
                shared=True,
            )
            for name in ("pages", "open_upload", "chunks", "finalize", "nojs", "status",
                         "global_open", "global_chunks", "global_submit", "global_status")
        ]
        options: dict[str, str | int] = {}
        if storage_uri.startswith(("redis://", "rediss://", "redis+unix://")):
            # Fail fast when Redis is unreachable: the in-memory fallback takes over.
            options = {"socket_connect_timeout": 1, "socket_timeout": 1}
        self.limiter = Limiter(
            key_func=self._client_key,
            default_limits=self.buckets,  # type: ignore[arg-type]
            in_memory_fallback=self.buckets,  # type: ignore[arg-type]
            in_memory_fallback_enabled=True,
            storage_uri=storage_uri,
            storage_options=options,
            strategy="sliding-window-counter",
            key_prefix="tipbox",
            headers_enabled=False,
            request_identifier=lambda: request.endpoint or UNROUTED,
            on_breach=_remember_retry_after,
            enabled=limits.enabled,
        )
        self.limiter.init_app(app)

    def _rule(self, name: str) -> str:
        if name not in _request_buckets():
            return ""
        return getattr(self.rules, name)

    def _client_key(self) -> str:
        day, key = self._today
        today = datetime.now(UTC).date()
        if day != today:
            key = daily_key(self._secret, today)
            self._today = (today, key)
        return keyed(key, request.remote_addr)

    @staticmethod
    def _global_key() -> str:
        return GLOBAL_KEY


def _request_buckets() -> set[str]:
    if "tipbox_buckets" not in g:
        g.tipbox_buckets = buckets_for(request.endpoint, request.method)
    return g.tipbox_buckets


def _remember_retry_after(limit: RequestLimit) -> None:
    """Seconds until the breached window frees up again (for Retry-After and the error body)."""
    try:
        seconds = math.ceil(limit.reset_at - time.time())
    except Exception:  # the storage may fail right now; fall back to the window length
        seconds = limit.limit.get_expiry()
    g.tipbox_retry_after = max(1, min(seconds, limit.limit.get_expiry()))


def retry_after(default: int = 60) -> int:
    return int(g.get("tipbox_retry_after", default))


def init_app(app: Flask, limits: RateLimits, storage_uri: str, secret: bytes) -> RateLimiting:
    limiting = RateLimiting(app, limits, storage_uri, secret)
    app.extensions["tipbox.ratelimit"] = limiting
    return limiting

