"""Load benchmark: tipbox under gunicorn + PostgreSQL + Redis, against a bare insert endpoint.

    python bench/load.py                          # about a minute on a small machine
    python bench/load.py --small 40 --attachments 10 --clients 4    # smoke run
    python bench/load.py --slow-clients 64        # instead: through docs/deploy/'s nginx, with/without slow clients
    python bench/load.py --channels 10 --channel-reviewers 3   # instead: 1 channel against 10, tips routed per tip
    python bench/load.py --notify --small 200 --rounds 3   # instead: with and without a notifier stuck on a dead target

Concurrent browser-like clients submit tips that were sealed beforehand with
crypto/ (exactly what the browser sealer produces: a Padmé-padded age payload
and age attachments streamed in pieces), through the real API: open an upload,
PUT the pieces, complete each attachment, finalize. Sealing happens before the
clock starts, so the figures measure the server, not the sealer.

In the same run it measures a bare Flask + SQLAlchemy endpoint that inserts
each request's body as one row (bench/baseline_app.py) on the same gunicorn
settings and the same PostgreSQL, and prints:

- accepted tips per second, and that rate as a ratio to the baseline's
  inserts per second (small tips, and tips with attachments, separately);
- p50 / p99 latency of a whole submission and of single requests;
- the result of checking the database afterwards: every tip acknowledged to a
  client (a receipt came back) is there, complete, with the ciphertext that was
  sent, and has its ``tip.received`` audit event; no tip is half-stored; no
  5xx occurred. Exit status 1 if any of that fails.

Rate limits stay on (Redis storage) but are raised so that they do not throttle
the run. The database is a fresh ``tipbox_bench`` on the local PostgreSQL
(``--database-url`` to choose another); Redis uses database 14.

With ``--channels N`` it runs the same load against a one-channel server and
an N-channel one side by side, each tip routed as the page routes it
(:func:`channel_benchmark`), and also checks that every stored tip is held
(tip_channels) by exactly the channels its client routed it to.

tests/load/test_faults.py reuses the client, the runner and the checks while
it kills workers and restarts PostgreSQL and Redis under load.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import io
import itertools
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout without `pip install -e .`

from bench.deploy import Loopback, tor_proxy_line  # noqa: E402
from bench.net import free_port, wait_for_port  # noqa: E402
from bench.nginx import Nginx  # noqa: E402
from bench.slow_clients import SlowClients  # noqa: E402
from crypto import payload, receipt_keys  # noqa: E402
from crypto.attachments import seal_attachment  # noqa: E402
from crypto.identity import ReviewerIdentity  # noqa: E402
from tipbox.receipts import new_receipt  # noqa: E402

BIN = Path(sys.executable).parent
KIB = 1024
RATE_VARIABLES = ("PAGES", "OPEN", "CHUNKS", "FINALIZE", "NOJS", "GLOBAL_OPEN", "GLOBAL_CHUNKS", "GLOBAL_SUBMIT")
# On, with Redis storage, but far above what a run sends.
HIGH_LIMITS = {f"TIPBOX_RATELIMIT_{name}": "1000000/minute" for name in RATE_VARIABLES}
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
ANSWERS = {
    "description": "Ada anak-anak yang dipekerjakan di kapal ikan, mereka tidak sekolah.",
    "category": "ANAK-EKO",
    "danger": ["danger_now"],
    "province": "18",
    "regency": "18.09",
}


# --------------------------------------------------------------------------- processes


@dataclass
class Gunicorn:
    """A gunicorn (tipbox's config file, so the same workers, threads and logging) in its own session."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    port: int
    cwd: Path = ROOT
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([str(BIN / "gunicorn"), *self.args], cwd=self.cwd, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_for_port(self.port, 30, self.process):
            self.stop()
            raise RuntimeError("gunicorn did not start:\n" + self.log())

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def kill_worker(self) -> int:
        """``kill -9`` one worker (the arbiter replaces it)."""
        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class TipboxServer:
    """tipbox set up through its own CLI, as an operator would, then served by gunicorn."""

    var_dir: Path
    env: dict[str, str]
    reviewer: ReviewerIdentity
    gunicorn: Gunicorn

    @classmethod
    def create(cls, var_dir: Path, port: int | None = None, **env: str) -> TipboxServer:
        port = port or free_port()
        tmp = var_dir.parent / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        full_env = {**os.environ, "TIPBOX_VAR_DIR": str(var_dir), "TIPBOX_BIND": f"127.0.0.1:{port}",
                    "TIPBOX_WORKERS": "2", "TMPDIR": str(tmp), **env}
        server = cls(var_dir, full_env, ReviewerIdentity.generate(),
                     Gunicorn(["--config", "tipbox/gunicorn_conf.py", "wsgi:app"], full_env,
                              var_dir.parent / "gunicorn.log", port))
        server.tipbox("init")
        server.tipbox("db", "upgrade")
        server.tipbox("reviewers", "add", "bench-reviewer", server.reviewer.recipient,
                      "--signing-key", server.reviewer.signing_public_key)
        return server

    @property
    def url(self) -> str:
        return self.gunicorn.url

    @property
    def database_url(self) -> str:
        from tipbox.config import load_config

        return load_config(self.env).database_url

    def tipbox(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "tipbox"), *args], env=self.env, cwd=ROOT, capture_output=True, text=True,
                              check=True)

    def instance(self, port: int, log_name: str, **env: str) -> Gunicorn:
        """Another gunicorn of this same tipbox (var/, database, Redis) with other settings.

        docs/deploy.md runs two, the Tor one and the web one, that differ only in
        their environment file.
        """
        full_env = {**self.env, **env, "TIPBOX_BIND": f"127.0.0.1:{port}"}
        return Gunicorn(list(self.gunicorn.args), full_env, self.var_dir.parent / log_name, port)

    def start(self) -> None:
        self.gunicorn.start()

    def stop(self) -> None:
        self.gunicorn.stop()

    def log(self) -> str:
        return self.gunicorn.log()


# --------------------------------------------------------------------------- sealing (before the clock)


@dataclass(frozen=True)
class SealedFile:
    id: str
    data: bytes
    sha256: str


@dataclass(frozen=True)
class SealedTip:
    payload: bytes
    attachments: tuple[SealedFile, ...] = ()
    # Routed like the page does (--channels): the readers (lead first) it names when it opens its upload, and
    # the fingerprint of the recipients it was sealed to. Empty: it names nothing (the server routes it).
    channels: tuple[str, ...] = ()
    fingerprint: str | None = None
    urgent: bool = False  # the source ticked "alert the team now" (--notify)

    @property
    def payload_sha256(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()


def seal_tips(recipients: list[str], count: int, attachments: int = 0, attachment_bytes: int = 0,
              variety: int = 8, *, answers: Sequence[Mapping[str, object]] = (), channels: Sequence[str] = (),
              fingerprint: str | None = None) -> list[SealedTip]:
    """``count`` tips (``variety`` distinct ciphertexts, reused), each with ``attachments`` sealed files.

    ``answers`` (cycled) replace :data:`ANSWERS`'s place and category; ``channels`` and ``fingerprint``
    are the route the tips name at open (:class:`SealedTip`).
    """
    distinct = []
    for n in range(min(count, variety)):
        tip_answers = dict(ANSWERS)
        if answers:
            for key in ("province", "regency", "category"):
                tip_answers.pop(key, None)
            tip_answers.update(answers[n % len(answers)])
        files, manifest = [], []
        for _ in range(attachments):
            content = secrets.token_bytes(attachment_bytes)
            out = io.BytesIO()
            digest = seal_attachment(io.BytesIO(content), out, recipients)
            sealed = out.getvalue()
            file_id = secrets.token_hex(16)
            files.append(SealedFile(file_id, sealed, hashlib.sha256(sealed).hexdigest()))
            manifest.append({"id": file_id, "name": f"bukti-{n}.jpg", "type": "image/jpeg",
                             "size": digest.size, "sha256": digest.sha256})
        document = payload.build({**tip_answers, "description": f"{ANSWERS['description']} #{n}"},
                                 lang="id", sealed_by="browser", attachments=manifest)
        distinct.append(SealedTip(payload.seal_tip(document, recipients), tuple(files), tuple(channels), fingerprint))
    return [distinct[i % len(distinct)] for i in range(count)]


# --------------------------------------------------------------------------- a browser-like client


class ConnectionFailed(Exception):
    """The connection broke (refused, reset, timed out): the request may or may not have been handled."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> dict:
        try:
            value = json.loads(self.body)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class TorConnection(http.client.HTTPConnection):
    """A connection as tor opens it to the onion service's nginx: the circuit's PROXY line comes first."""

    def __init__(self, host: str, port: int, timeout: float, circuit: int) -> None:
        super().__init__(host, port, timeout=timeout)
        self.circuit = circuit

    def connect(self) -> None:
        super().connect()
        self.sock.sendall(tor_proxy_line(self.circuit))


class Client:
    """One visitor: a keep-alive connection, the session cookie and its CSRF token.

    With ``circuit``, a Tor Browser behind the onion service: every connection
    it opens starts with that circuit's PROXY line (for nginx-onion.conf).
    """

    def __init__(self, base_url: str, timeout: float = 30.0, headers: dict[str, str] | None = None,
                 circuit: int | None = None) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self.extra = dict(headers or {})
        self.circuit = circuit
        self.connections = 0  # how many this client opened: 1 means every request was kept alive
        self.cookie = ""
        self.csrf = ""
        self._conn: http.client.HTTPConnection | None = None
        self.latencies: list[float] = []

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        h = {**self.extra, **(headers or {})}
        if self.cookie:
            h["Cookie"] = self.cookie
        started = time.perf_counter()
        try:
            if self._conn is None:
                self._conn = (http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                              if self.circuit is None else
                              TorConnection(self.host, self.port, self.timeout, self.circuit))
                self.connections += 1
            self._conn.request(method, path, body=body, headers=h)
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise ConnectionFailed(type(exc).__name__) from None
        seconds = time.perf_counter() - started
        self.latencies.append(seconds)
        reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data, seconds)
        cookie = reply.headers.get("set-cookie", "")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        if response.will_close:
            self.close()
        return reply

    def start(self) -> None:
        """Load the form like a browser: the session cookie and the CSRF token come with it."""
        page = self.request("GET", "/")
        match = re.search(rb'name="csrf_token" value="([^"]+)"', page.body)
        if page.status != 200 or not match:
            raise ConnectionFailed(f"form page answered {page.status}")
        self.csrf = match.group(1).decode()

    def api(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None,
            token: str | None = None) -> Reply:
        headers = {"X-CSRFToken": self.csrf, "Sec-Fetch-Site": "same-origin"}
        if content_type:
            headers["Content-Type"] = content_type
        if token:
            headers["X-Upload-Token"] = token
        return self.request(method, path, body, headers)


# --------------------------------------------------------------------------- one submission


@dataclass
class Outcome:
    """What one submission did, as the client saw it."""

    tip: SealedTip
    tip_id: str | None = None
    receipt: str | None = None
    seconds: float = 0.0
    statuses: list[int] = field(default_factory=list)
    retries: int = 0
    error: str | None = None
    # The finalize may have committed although no receipt came back (a retry found it done).
    ambiguous: bool = False

    @property
    def acknowledged(self) -> bool:
        return self.receipt is not None


class Failed(Exception):
    pass


RETRYABLE = {408, 429, 500, 502, 503, 504}


def _attempt(outcome: Outcome, client: Client, call: Callable[[], Reply], retries: int, delay: float,
             deadline: float) -> Reply:
    """One API step; with ``retries``, a broken connection or a 5xx/429 is retried like form.js does."""
    attempt = 0
    while True:
        try:
            reply = call()
        except ConnectionFailed as exc:
            outcome.statuses.append(0)
            if attempt >= retries or time.monotonic() > deadline:
                raise Failed(f"connection: {exc}") from None
        else:
            outcome.statuses.append(reply.status)
            if reply.status not in RETRYABLE or attempt >= retries or time.monotonic() > deadline:
                return reply
        attempt += 1
        outcome.retries += 1
        time.sleep(delay * min(attempt, 4))


def submit(client: Client, tip: SealedTip, fingerprint: str, chunk_bytes: int, retries: int = 0,
           delay: float = 0.25, patience: float = 60.0) -> Outcome:
    """Open, upload every piece, complete, finalize: the browser sealer's sequence."""
    outcome = Outcome(tip)
    started = time.perf_counter()
    deadline = time.monotonic() + patience
    try:
        if tip.channels or tip.urgent:  # as form.js: the readers it routed to, never the answers
            said: dict[str, object] = {"channels": list(tip.channels)} if tip.channels else {}
            named = json.dumps({**said, **({"urgent": True} if tip.urgent else {})}).encode()
            opened = _attempt(outcome, client, lambda: client.api("POST", "/api/v1/submissions", named,
                                                                  "application/json"), retries, delay, deadline)
        else:
            opened = _attempt(outcome, client, lambda: client.api("POST", "/api/v1/submissions"), retries, delay,
                              deadline)
        if opened.status != 201:
            raise Failed(f"open answered {opened.status}")
        body = opened.json()
        outcome.tip_id, token = body["tip_id"], body["token"]
        if tip.channels:
            # Sealed ahead to the recipients routing over the directory gave: the answer must name the same ones.
            if body.get("channels") != list(tip.channels) or body.get("key_fingerprint") != tip.fingerprint:
                raise Failed(f"open answered channels {body.get('channels')} / other recipients than sealed to")
            fingerprint = tip.fingerprint
        base = f"/api/v1/submissions/{outcome.tip_id}"
        for file in tip.attachments:
            where = f"{base}/attachments/{file.id}"
            for seq, start in enumerate(range(0, len(file.data), chunk_bytes)):
                piece = file.data[start:start + chunk_bytes]
                reply = _attempt(outcome, client, lambda p=piece, s=seq, w=where: client.api(
                    "PUT", f"{w}/chunks/{s}", p, "application/octet-stream", token), retries, delay, deadline)
                if reply.status != 200:
                    raise Failed(f"chunk answered {reply.status}")
            done = json.dumps({"size": len(file.data), "sha256": file.sha256}).encode()
            reply = _attempt(outcome, client, lambda d=done, w=where: client.api(
                "POST", f"{w}/complete", d, "application/json", token), retries, delay, deadline)
            if reply.status != 200:
                raise Failed(f"complete answered {reply.status}")
        receipt = new_receipt()  # made by the client, as form.js does; the server gets only derived keys
        keys = receipt_keys.derive(receipt)
        final = json.dumps({"payload": base64.b64encode(tip.payload).decode(),
                            "attachments": [f.id for f in tip.attachments],
                            "key_fingerprint": fingerprint,
                            "source_recipient": keys.recipient, "lookup": keys.lookup}).encode()
        attempts_before = len(outcome.statuses)
        reply = _attempt(outcome, client, lambda: client.api("POST", f"{base}/finalize", final, "application/json",
                                                             token), retries, delay, deadline)
        if reply.status == 200 and reply.json().get("ok"):
            outcome.receipt = receipt
        else:
            # A retried finalize that finds the upload gone may have committed the first time.
            outcome.ambiguous = len(outcome.statuses) - attempts_before > 1
            raise Failed(f"finalize answered {reply.status}")
    except Failed as exc:
        outcome.error = str(exc)
        if outcome.tip_id is not None and any(s in (0, *RETRYABLE) for s in outcome.statuses):
            outcome.ambiguous = True
    outcome.seconds = time.perf_counter() - started
    return outcome


# --------------------------------------------------------------------------- many clients


@dataclass
class Run:
    outcomes: list[Outcome]
    seconds: float
    request_latencies: list[float]

    @property
    def acknowledged(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.acknowledged]

    @property
    def server_errors(self) -> int:
        return sum(1 for o in self.outcomes for s in o.statuses if s >= 500)

    @property
    def rate(self) -> float:
        return len(self.acknowledged) / self.seconds if self.seconds else 0.0


def _in_threads(worker: Callable[[], None], clients: int) -> float:
    """Run ``worker`` in ``clients`` threads at once; return the wall time."""
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def run_load(base_url: str, tips: list[SealedTip], clients: int, fingerprint: str, chunk_bytes: int,
             retries: int = 0, until: Callable[[], bool] | None = None, circuits: Iterator[int] | None = None,
             on_outcome: Callable[[Outcome], None] | None = None) -> Run:
    """``clients`` threads take tips from the list until it is empty (or ``until()`` says stop).

    With ``circuits`` each client is a Tor Browser on the next circuit of it (through nginx-onion.conf).
    ``on_outcome`` is called (in the client's thread) after each submission: a caller can wait for
    progress, e.g. so many more acknowledged tips, instead of sleeping.
    """
    queue: Iterator[SealedTip] = iter(tips)
    lock = threading.Lock()
    outcomes: list[Outcome] = []
    latencies: list[float] = []

    def worker() -> None:
        with lock:
            circuit = next(circuits) if circuits is not None else None
        client = Client(base_url, circuit=circuit)
        try:
            for attempt in range(50):
                try:
                    client.start()
                    break
                except ConnectionFailed:
                    time.sleep(0.2 * (attempt + 1))
            while True:
                if until is not None and until():
                    return
                with lock:
                    tip = next(queue, None)
                if tip is None:
                    return
                outcome = submit(client, tip, fingerprint, chunk_bytes, retries=retries)
                with lock:
                    outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
        finally:
            client.close()
            with lock:
                latencies.extend(client.latencies)

    return Run(outcomes, _in_threads(worker, clients), latencies)


def run_baseline(base_url: str, bodies: list[bytes], clients: int) -> Run:
    """The same clients, one POST /insert per item."""
    queue = iter(bodies)
    lock = threading.Lock()
    outcomes: list[Outcome] = []
    latencies: list[float] = []

    def worker() -> None:
        client = Client(base_url)
        try:
            while True:
                with lock:
                    body = next(queue, None)
                if body is None:
                    return
                outcome = Outcome(SealedTip(b""))
                try:
                    reply = client.request("POST", "/insert", body, {"Content-Type": "application/octet-stream"})
                    outcome.statuses.append(reply.status)
                    outcome.seconds = reply.seconds
                    if reply.status == 201:
                        outcome.receipt = reply.json().get("id")
                except ConnectionFailed as exc:
                    outcome.statuses.append(0)
                    outcome.error = str(exc)
                with lock:
                    outcomes.append(outcome)
        finally:
            client.close()
            with lock:
                latencies.extend(client.latencies)

    return Run(outcomes, _in_threads(worker, clients), latencies)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


# --------------------------------------------------------------------------- checking the database


@dataclass
class Check:
    acknowledged: int = 0
    acknowledged_found: int = 0
    unacknowledged_stored: int = 0
    unacknowledged_absent: int = 0
    ready_tips: int = 0
    audit: str = "not checked"
    routes: str = "not checked"
    problems: list[str] = field(default_factory=list)


def check_database(database_url: str, outcomes: list[Outcome]) -> Check:
    """Every acknowledged tip is stored whole; no tip is half-stored; the audit log has each one."""
    from sqlalchemy import create_engine, func, inspect, select
    from sqlalchemy.orm import Session

    from tipbox import storage
    from tipbox.models import TIP_READY, Tip

    check = Check()
    engine = create_engine(database_url)
    try:
        with Session(engine) as db:
            ready = {t.id: t for t in db.scalars(select(Tip).where(Tip.state == TIP_READY))}
            check.ready_tips = len(ready)
            # Whole or nothing: every tip export can see is complete and consistent.
            for tip in ready.values():
                if tip.payload is None or hashlib.sha256(tip.payload).hexdigest() != tip.payload_sha256:
                    check.problems.append(f"ready tip {tip.id[:8]}: payload missing or altered")
                for attachment in tip.attachments:
                    stored = storage.digest(db, tip.id, attachment.id)
                    if not attachment.complete or (stored.size, stored.sha256) != (attachment.size, attachment.sha256):
                        check.problems.append(f"ready tip {tip.id[:8]}: attachment incomplete")
            for outcome in outcomes:
                stored = ready.get(outcome.tip_id or "")
                if outcome.acknowledged:
                    check.acknowledged += 1
                    if stored is None:
                        check.problems.append(f"acknowledged tip {str(outcome.tip_id)[:8]} is not in the database")
                        continue
                    check.acknowledged_found += 1
                    if stored.payload_sha256 != outcome.tip.payload_sha256:
                        check.problems.append(f"acknowledged tip {stored.id[:8]}: not the ciphertext sent")
                    sent = {(f.id, len(f.data), f.sha256) for f in outcome.tip.attachments}
                    kept = {(a.id, a.size, a.sha256) for a in stored.attachments}
                    if sent != kept:
                        check.problems.append(f"acknowledged tip {stored.id[:8]}: attachments differ")
                elif stored is not None:
                    check.unacknowledged_stored += 1
                    if stored.payload_sha256 != outcome.tip.payload_sha256:
                        check.problems.append(f"unacknowledged tip {stored.id[:8]}: not the ciphertext sent")
                else:
                    check.unacknowledged_absent += 1
            routed = [o for o in outcomes if o.acknowledged and o.tip.channels and o.tip_id in ready]
            if routed:
                from tipbox.models import TipChannel

                held: dict[str, list[tuple[int, str]]] = {}
                for tip_id, channel_id, position in db.execute(
                        select(TipChannel.tip_id, TipChannel.channel_id, TipChannel.position)):
                    held.setdefault(tip_id, []).append((position, channel_id))
                wrong = 0
                for outcome in routed:
                    rows = sorted(held.get(outcome.tip_id or "", []))
                    stored_route = tuple(c for _, c in rows)
                    lead = ready[outcome.tip_id or ""].channel_id
                    if (stored_route != outcome.tip.channels or [p for p, _ in rows] != list(range(len(rows)))
                            or lead != outcome.tip.channels[0]):
                        wrong += 1
                        if wrong <= 5:
                            check.problems.append(f"tip {str(outcome.tip_id)[:8]}: tip_channels {rows}, lead {lead}, "
                                                  f"routed to {list(outcome.tip.channels)}")
                check.routes = (f"checked: {len(routed) - wrong}/{len(routed)} acknowledged routed tips have "
                                f"tip_channels rows (and lead) equal to the route the client chose")
            if "audit_events" in inspect(engine).get_table_names():
                from tipbox.audit.models import AuditEvent

                counts = dict(db.execute(
                    select(AuditEvent.tip_id, func.count()).where(AuditEvent.event == "tip.received")
                    .group_by(AuditEvent.tip_id)).all())
                missing = [t for t in ready if counts.get(t, 0) != 1]
                for tip_id in missing[:5]:
                    check.problems.append(f"tip {tip_id[:8]}: {counts.get(tip_id, 0)} tip.received audit events")
                stray = [t for t in counts if t not in ready]
                for tip_id in stray[:5]:
                    check.problems.append(f"audit event for tip {tip_id[:8]} that is not stored")
                check.audit = (f"checked: {len(ready) - len(missing)}/{len(ready)} stored tips have exactly one "
                               f"tip.received event")
            else:
                check.audit = "not checked: this database has no audit_events table"
    finally:
        engine.dispose()
    return check


# --------------------------------------------------------------------------- the benchmark


def fresh_postgres_database(admin_url: str, name: str) -> str:
    import psycopg

    plain = admin_url.replace("+psycopg", "")
    with psycopg.connect(f"{plain}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{admin_url}/{name}"


def drop_postgres_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{admin_url.replace('+psycopg', '')}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_keys(base_url: str) -> tuple[list[str], str, int]:
    """The recipients a tip that names no channel is sealed to, their fingerprint and the upload piece size.

    What the page learns when it opens an upload (the answer names the recipients: FORMAT.md §14).
    """
    client = Client(base_url)
    try:
        client.start()
        opened = client.api("POST", "/api/v1/submissions").json()
    finally:
        client.close()
    return list(opened["recipients"]), opened["key_fingerprint"], int(opened["chunk_bytes"])


def _fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


@dataclass
class Condition:
    """The normal clients' figures under one condition, over its runs."""

    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return sum(len(r.acknowledged) for r in self.runs) / sum(r.seconds for r in self.runs)

    def p99_request(self) -> float:
        return percentile([s for r in self.runs for s in r.request_latencies], 99)

    def p99_submission(self) -> float:
        return percentile([o.seconds for r in self.runs for o in r.acknowledged], 99)

    def row(self) -> str:
        requests = [s for r in self.runs for s in r.request_latencies]
        return (f"{self.label:40}{self.rate:9.1f}{_fmt_ms(percentile(requests, 50)):>9}"
                f"{_fmt_ms(self.p99_request()):>9}{_fmt_ms(self.p99_submission()):>12}")


SLOW_GOAL = 0.9


def slow_client_benchmark(args: argparse.Namespace) -> int:
    """--slow-clients N: the normal load through the documented nginx + gunicorn, with and without N slow clients.

    The deployment is docs/deploy/'s onion side (nginx-onion.conf in front of a
    gunicorn with tor.env), rendered by bench/deploy.py. Normal clients each
    come on their own Tor circuit and submit small tips; the slow clients
    (bench/slow_clients.py) each open ``POST /`` with ``Content-Length: 1000``
    on a circuit of their own and send one byte every 2 s. ``--rounds`` times
    it runs gunicorn alone, nginx + gunicorn, the same with slow clients, then
    back in reverse order, so that drift hits every condition alike; the
    first line (gunicorn without nginx) shows what nginx itself costs.
    """
    database_url = args.database_url or fresh_postgres_database(DEFAULT_PG, "tipbox_bench")
    work = Path(tempfile.mkdtemp(prefix="tipbox-slow-"))
    ports = Loopback(free_port(), free_port(), 0, 0, 0, work / "deploy")
    ports.write_proxy_include()
    env = {"TIPBOX_DATABASE_URL": database_url, "TIPBOX_RATELIMIT_STORAGE": args.redis_url,
           "TIPBOX_WORKERS": str(args.workers), "TIPBOX_LOG_LEVEL": "warning", **HIGH_LIMITS, **ports.tor_env()}
    server = TipboxServer.create(work / "var", port=ports.tor_gunicorn, **env)
    nginx = Nginx(work / "nginx", {"tipbox-onion": ports.nginx_onion()}, workers="auto")
    circuits = itertools.count(0x1000)
    onion = f"http://127.0.0.1:{ports.onion}"
    bare, quiet = Condition("gunicorn alone, no slow clients"), Condition("nginx + gunicorn, no slow clients")
    attacked = Condition(f"nginx + gunicorn, {args.slow_clients} slow clients")
    slow_seen: list[SlowClients] = []
    try:
        server.start()
        nginx.start([ports.onion])
        recipients, fingerprint, chunk = server_keys(server.url)
        tips = seal_tips(recipients, args.small)
        print(f"{args.small} small tips per run, {args.clients} normal clients, {6 * args.rounds} runs; "
              f"{args.slow_clients} slow clients in the attacked runs", flush=True)
        run_load(onion, tips[: args.clients], args.clients, fingerprint, chunk, circuits=circuits)  # warm up
        # Each round goes there and back (the database grows run by run, other jobs come and go), so that on
        # average every condition runs at the same time.
        for condition in (bare, quiet, attacked, attacked, quiet, bare) * args.rounds:
            url = server.url if condition is bare else onion
            slow = None
            if condition is attacked:
                first = 0x100000 * (len(slow_seen) + 1)
                slow = SlowClients(ports.onion, args.slow_clients, duration=3600,
                                   proxy_line=lambda n, first=first: tor_proxy_line(first + n))
                slow.start()
                time.sleep(2 + args.slow_clients / 50)  # every slow connection has sent its header
            try:
                condition.runs.append(run_load(url, tips, args.clients, fingerprint, chunk,
                                               circuits=None if condition is bare else circuits))
            finally:
                if slow is not None:
                    slow.stop()
                    slow_seen.append(slow)
    finally:
        nginx.stop()
        server.stop()
    spooled = nginx.spooled()

    print()
    print(f"docs/deploy/ onion side: nginx ({os.cpu_count()} cores, worker_processes auto) in front of gunicorn "
          f"{args.workers} workers x {server.env.get('TIPBOX_THREADS', '4')} threads; PostgreSQL + Redis on loopback")
    print(f"{'normal clients':40}{'tips/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'p99 tip ms':>12}  (per request; per tip)")
    for condition in (bare, quiet, attacked):
        print(condition.row())
    rate_ratio = attacked.rate / quiet.rate if quiet.rate else 0.0
    p99_ratio = attacked.p99_request() / quiet.p99_request() if quiet.runs else float("nan")
    print(f"with {args.slow_clients} slow clients / without: throughput {rate_ratio:.2f}x, p99 {p99_ratio:.2f}x "
          f"(goal: throughput >= {SLOW_GOAL}x): {'met' if rate_ratio >= SLOW_GOAL else 'NOT MET'}")
    print(f"nginx in front of gunicorn, no slow clients: throughput {quiet.rate / bare.rate:.2f}x of gunicorn alone")
    for n, slow in enumerate(slow_seen, 1):
        print(f"slow clients, attacked run {n}: {slow.opened} connected, {len(slow.answered)} answered early, "
              f"{slow.closed_by_server} cut off, {slow.refused} refused")

    runs = [*bare.runs, *quiet.runs, *attacked.runs]
    outcomes = [o for r in runs for o in r.outcomes]
    check = check_database(database_url, outcomes)
    errors = sum(r.server_errors for r in runs)
    refused = [o for o in outcomes if not o.acknowledged]
    problems = [*check.problems, *(f"nginx spooled: {s}" for s in spooled)]
    problems += [f"not acknowledged: {o.error}" for o in refused[:5]]
    problems += [f"slow clients: {slow.opened}/{args.slow_clients} connected, {len(slow.answered)} answered early, "
                 f"{slow.closed_by_server} cut off" for slow in slow_seen
                 if slow.opened != args.slow_clients or slow.answered or slow.closed_by_server]
    print(f"acknowledged: {check.acknowledged}/{len(outcomes)}; 5xx: {errors}; nothing spooled by nginx: "
          f"{not spooled}")
    for problem in problems[:20]:
        print(f"  PROBLEM: {problem}")
    if problems or errors or check.acknowledged_found != check.acknowledged:
        print(f"FAIL (logs kept in {work})")
        return 1
    print("PASS: every acknowledged tip is stored whole, no 5xx, no slow client dropped, nothing spooled")
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    if args.database_url is None:
        drop_postgres_database(DEFAULT_PG, "tipbox_bench")
    return 0


# --------------------------------------------------------------------------- --channels: many channels vs one

# Provinces the regional channels are scoped to, in this order (then any other): spread over the country.
REGIONAL_PROVINCES = ("11", "12", "31", "32", "33", "35", "51", "73", "61", "94")


def add_reviewers(server: TipboxServer, channel: str, count: int, skip: int = 0) -> None:
    """``count`` reviewers in ``channel`` (each its own identity), added through the CLI as an operator would."""
    for n in range(skip, count):
        reviewer = ReviewerIdentity.generate()
        server.tipbox("reviewers", "add", f"{channel}-{n + 1}", reviewer.recipient,
                      "--signing-key", reviewer.signing_public_key, "--channel", channel)


def add_channels(server: TipboxServer, count: int, reviewers: int) -> None:
    """``count`` channels of ``reviewers`` each: ``default`` (the catch-all), a coordinating national desk and
    regional channels scoped to one province each (REGIONAL_PROVINCES). ``count`` 1: ``default`` alone."""
    add_reviewers(server, "default", reviewers, skip=1)  # TipboxServer.create added the first
    if count < 2:
        return
    server.tipbox("channels", "add", "nasional", "--name-id", "Koordinasi nasional", "--name-en",
                  "National coordination", "--coordinating")
    add_reviewers(server, "nasional", reviewers)
    from crypto import regions

    provinces = [*REGIONAL_PROVINCES, *(p.code for p in regions.load().provinces if p.code not in REGIONAL_PROVINCES)]
    for code in provinces[: count - 2]:
        channel = f"wilayah-{code}"
        server.tipbox("channels", "add", channel, "--name-id", f"Tim wilayah {code}", "--name-en",
                      f"Regional team {code}", "--region", code)
        add_reviewers(server, channel, reviewers)


@dataclass(frozen=True)
class Directory:
    """The published channel directory as the page routes over it: routing channels and each one's recipients."""

    channels: tuple  # crypto.routing.Channel
    recipients: dict[str, list[str]]

    @classmethod
    def fetch(cls, base_url: str) -> Directory:
        from crypto import key_manifest, routing

        client = Client(base_url)
        try:
            reply = client.request("GET", "/api/v1/keys")
        finally:
            client.close()
        if reply.status != 200:
            raise RuntimeError(f"GET /api/v1/keys answered {reply.status}")
        body = key_manifest.validate_directory(reply.json()["directory"]["body"])
        channels, recipients = [], {}
        for channel_id, manifest in key_manifest.directory_manifests(body).items():
            scope = manifest.get("scope") or {"regions": [], "categories": [], "coordinating": False}
            channels.append(routing.Channel(channel_id, routing.Scope(frozenset(scope["regions"]),
                                                                      frozenset(scope["categories"])),
                                            bool(scope["coordinating"])))
            recipients[channel_id] = key_manifest.recipients(manifest)
        return cls(tuple(channels), recipients)

    def keys(self, readers: Sequence[str]) -> tuple[list[str], str]:
        """What the server answers at open: the union of the readers' reviewers and its fingerprint."""
        from crypto import key_manifest

        union = sorted({r for channel in readers for r in self.recipients[channel]})
        return union, key_manifest.recipients_fingerprint(union)


def random_answers(rng) -> dict[str, str]:
    """A source's optional answers: a province (9 in 10 say one), often a kabupaten/kota in it, a category."""
    from crypto import regions
    from crypto.routing import CATEGORIES

    known = regions.load()
    answers: dict[str, str] = {}
    if rng.random() < 0.9:
        province = rng.choice(known.provinces).code
        answers["province"] = province
        regencies = [r.code for r in known.regencies if r.province_code == province]
        if regencies and rng.random() < 0.6:
            answers["regency"] = rng.choice(regencies)
    if rng.random() < 0.9:
        answers["category"] = rng.choice(sorted(CATEGORIES))
    return answers


def seal_routed_tips(directory: Directory, count: int, rng, attachments: int = 0, attachment_bytes: int = 0,
                     variety: int = 8) -> tuple[list[SealedTip], dict[tuple[str, ...], int]]:
    """``count`` tips, each with its own random answers routed over ``directory`` (crypto.routing, as the page
    does), sealed ahead to its route's recipients, grouped by route (``variety`` ciphertexts per route).

    Returns the tips in submission order and how many go to each route.
    """
    from crypto import routing

    routes: list[tuple[str, ...]] = []
    grouped: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for _ in range(count):
        answers = random_answers(rng)
        readers = tuple(c.id for c in routing.route(directory.channels, answers.get("province"),
                                                    answers.get("regency"), answers.get("category")).readers)
        routes.append(readers)
        grouped.setdefault(readers, []).append(answers)
    sealed: dict[tuple[str, ...], Iterator[SealedTip]] = {}
    for readers, group in grouped.items():
        recipients, fingerprint = directory.keys(readers)
        sealed[readers] = iter(seal_tips(recipients, len(group), attachments, attachment_bytes, variety,
                                         answers=group, channels=readers, fingerprint=fingerprint))
    return [next(sealed[r]) for r in routes], {r: len(g) for r, g in grouped.items()}


def _server_env(database_url: str, args: argparse.Namespace) -> dict[str, str]:
    """A benchmarked tipbox's settings: this database, Redis for rate limits raised out of the way, small pieces."""
    return {"TIPBOX_DATABASE_URL": database_url, "TIPBOX_RATELIMIT_STORAGE": args.redis_url,
            "TIPBOX_WORKERS": str(args.workers), "TIPBOX_UPLOAD_CHUNK_BYTES": str(64 * KIB),
            "TIPBOX_LOG_LEVEL": "warning", **HIGH_LIMITS}


def channel_benchmark(args: argparse.Namespace) -> int:
    """--channels N: the normal intake load against one channel and against N channels, in one invocation.

    Two tipbox servers (own database, own var/, same Redis and gunicorn
    settings) run side by side: "single" is today's set-up, the ``default``
    channel with ``--channel-reviewers`` reviewers; "channels" has N channels
    of as many reviewers each (``default`` as the catch-all, a coordinating
    national desk, N-2 channels scoped to one province each). Each tip gets
    random answers (province, kabupaten/kota, category), is routed over the
    server's published directory (GET /api/v1/keys) with crypto.routing as
    form.js routes, names its readers when it opens its upload and is sealed
    to their reviewers; both servers' tips go through this same path (the
    single server's route is always ``default``). Sealing happens before the
    clock, per route. Each of ``--rounds`` rounds runs the small tips on
    both servers, then the tips with attachments, the first server
    alternating round by round, so that drift hits both alike; the ratio is
    printed pooled (all runs) and round by round (median and range).
    ``--database-url`` is the single server's; the channels server always
    gets a fresh ``tipbox_bench_channels`` on the local PostgreSQL.
    """
    import random
    import shutil

    rng = random.Random(args.seed)
    names = {"single": "tipbox_bench", "channels": "tipbox_bench_channels"}
    urls = {key: (args.database_url if args.database_url and key == "single" else
                  fresh_postgres_database(DEFAULT_PG, name)) for key, name in names.items()}
    work = Path(tempfile.mkdtemp(prefix="tipbox-channels-"))
    servers: dict[str, TipboxServer] = {}
    counts = {"single": 1, "channels": args.channels}
    started = time.perf_counter()
    try:
        for key in ("single", "channels"):
            servers[key] = server = TipboxServer.create(work / key / "var", **_server_env(urls[key], args))
            add_channels(server, counts[key], args.channel_reviewers)
            server.start()
        print(f"set up both servers in {time.perf_counter() - started:.0f} s", flush=True)
        tips: dict[tuple[str, str], list[SealedTip]] = {}
        chunk = 0
        print(f"sealing {args.small} small tips and {args.attachments} tips with {args.files} x "
              f"{args.attachment_kib} KiB attachments per run and server, routed per tip (before the clock) ...",
              flush=True)
        for key, server in servers.items():
            directory = Directory.fetch(server.url)
            chunk = server_keys(server.url)[2]
            tips[key, "small"], small_routes = seal_routed_tips(directory, args.small, rng)
            tips[key, "large"], _ = seal_routed_tips(directory, args.attachments, rng, args.files,
                                                     args.attachment_kib * KIB)
            print(f"  {key}: {len(directory.channels)} channel(s), "
                  f"{sum(len(r) for r in directory.recipients.values())} reviewers; small tips by route: "
                  + ", ".join(f"{'+'.join(r)} {n}" for r, n in sorted(small_routes.items(), key=lambda i: -i[1])),
                  flush=True)
        for key, server in servers.items():  # warm up: imports, connection pools, the outcomes cache
            run_load(server.url, tips[key, "small"][: args.clients], args.clients, "", chunk)
        conditions = {(key, size): Condition(f"{key}, {size}") for key in servers for size in ("small", "large")}
        print(f"{args.rounds} rounds, each: small tips on both servers, then tips with attachments on both; "
              f"the first server alternates round by round", flush=True)
        for n in range(args.rounds):
            for size in ("small", "large"):
                for key in ("single", "channels") if n % 2 == 0 else ("channels", "single"):
                    if tips[key, size]:
                        conditions[key, size].runs.append(
                            run_load(servers[key].url, tips[key, size], args.clients, "", chunk))
    finally:
        for server in servers.values():
            server.stop()

    print()
    print(f"gunicorn {args.workers} workers x {servers['single'].env.get('TIPBOX_THREADS', '4')} threads, "
          f"{args.clients} clients, {os.cpu_count()} cores, PostgreSQL + Redis on loopback; "
          f"{args.rounds} rounds of a run on each server, alternately single or channels first")
    print(f"single: 1 channel x {args.channel_reviewers} reviewers; channels: {args.channels} channels x "
          f"{args.channel_reviewers} reviewers")
    print(f"{'':40}{'tips/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'p99 tip ms':>12}  (per request; per tip)")
    for condition in conditions.values():
        if condition.runs:
            print(condition.row())
    for condition in conditions.values():
        if condition.runs:
            print(f"  {condition.label} tips/s run by run: " + ", ".join(f"{r.rate:.1f}" for r in condition.runs))
    for size in ("small", "large"):
        single, many = conditions["single", size], conditions["channels", size]
        if single.runs and many.runs:
            pairs = sorted(b.rate / a.rate for a, b in zip(single.runs, many.runs, strict=True) if a.rate)
            print(f"{size} tips, channels / single: throughput {many.rate / single.rate:.2f}x "
                  f"(round by round: median {percentile(pairs, 50):.2f}x, {pairs[0]:.2f}x to {pairs[-1]:.2f}x), "
                  f"p99 request {many.p99_request() / single.p99_request():.2f}x, "
                  f"p99 submission {many.p99_submission() / single.p99_submission():.2f}x")

    status = 0
    print()
    for key in servers:
        runs = [r for size in ("small", "large") for r in conditions[key, size].runs]
        outcomes = [o for r in runs for o in r.outcomes]
        check = check_database(urls[key], outcomes)
        errors = sum(r.server_errors for r in runs)
        refused = [o for o in outcomes if not o.acknowledged]
        print(f"{key}: acknowledged {check.acknowledged}/{len(outcomes)}; found in the database: "
              f"{check.acknowledged_found}; stored tips: {check.ready_tips}; 5xx: {errors}")
        print(f"  routes: {check.routes}")
        print(f"  audit log: {check.audit}")
        for outcome in refused[:5]:
            print(f"  not acknowledged: {outcome.error}")
        for problem in check.problems[:20]:
            print(f"  PROBLEM: {problem}")
        if check.problems or errors or refused or check.acknowledged_found != check.acknowledged:
            status = 1
    if status:
        print(f"FAIL (logs kept in {work}, and the databases)")
        return 1
    print("PASS: every acknowledged tip is stored whole, held by exactly the channels it was routed to, no 5xx")
    shutil.rmtree(work, ignore_errors=True)
    for key, name in names.items():
        if not (args.database_url and key == "single"):
            drop_postgres_database(DEFAULT_PG, name)
    return 0


class Blackhole:
    """A notification target that is down the worst way: it accepts connections and never answers."""

    def __init__(self) -> None:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[object] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)  # kept open, never read from or written to

    def close(self) -> None:
        self.sock.close()


def notify_benchmark(args: argparse.Namespace) -> int:
    """--notify: intake while `tipbox notify watch` keeps failing against a dead target, and without it.

    Every tip asks for an urgent alert, so every notify pass tries the dead
    target (a socket that accepts and never answers) for each channel; the
    notifier is its own process (docs/notifications.md), so intake should not
    notice. ``--rounds`` rounds, each a run with the notifier and one without,
    the order alternating; prints tips/s of each and the ratio with / without.
    """
    import dataclasses
    import shutil

    database_url = args.database_url or fresh_postgres_database(DEFAULT_PG, "tipbox_bench")
    work = Path(tempfile.mkdtemp(prefix="tipbox-notify-"))
    server = TipboxServer.create(work / "var", **_server_env(database_url, args))
    dead = Blackhole()
    runs: dict[bool, list[Run]] = {False: [], True: []}
    passes = 0
    try:
        server.start()
        recipients, fingerprint, chunk = server_keys(server.url)
        print(f"sealing {args.small * args.rounds * 2} urgent small tips (before the clock) ...", flush=True)
        tips = [dataclasses.replace(t, urgent=True) for t in seal_tips(recipients, args.small * args.rounds * 2)]
        run_load(server.url, tips[: args.clients], args.clients, fingerprint, chunk)  # warm up
        batches = iter(tips[i:i + args.small] for i in range(0, len(tips), args.small))
        notify_env = {**server.env, "TIPBOX_NOTIFY_URLS": f"json://127.0.0.1:{dead.port}/hook?cto=2&rto=2"}
        for n in range(args.rounds):
            for notifying in (False, True) if n % 2 == 0 else (True, False):
                watcher = None
                if notifying:
                    watcher = subprocess.Popen([str(BIN / "tipbox"), "notify", "watch", "--interval", "10"],
                                               env=notify_env, cwd=ROOT, stdout=subprocess.PIPE,
                                               stderr=subprocess.STDOUT, text=True)
                    time.sleep(1.0)  # its first pass is under way (stuck on the dead target)
                runs[notifying].append(run_load(server.url, next(batches), args.clients, fingerprint, chunk))
                if watcher is not None:
                    watcher.terminate()
                    output, _ = watcher.communicate(timeout=30)
                    passes += output.count("not delivered")
    finally:
        server.stop()
        dead.close()
    rate = {key: sum(len(r.acknowledged) for r in value) / sum(r.seconds for r in value) for key, value in runs.items()}
    print()
    print(f"gunicorn {args.workers} workers, {args.clients} clients, {args.rounds} rounds of {args.small} urgent tips "
          f"with and without `tipbox notify watch` failing against a dead target")
    for notifying in (False, True):
        label = "notifier on, target dead" if notifying else "notifier off"
        print(f"  {label:26} {rate[notifying]:8.1f} tips/s  (run by run: "
              + ", ".join(f"{r.rate:.1f}" for r in runs[notifying]) + ")")
    print(f"  with / without: {rate[True] / rate[False]:.2f}x; the dead target took {len(dead.accepted)} connections; "
          f"{passes} failed deliveries reported")
    outcomes = [o for value in runs.values() for r in value for o in r.outcomes]
    check = check_database(database_url, outcomes)
    errors = sum(r.server_errors for value in runs.values() for r in value)
    ok = check.acknowledged_found == check.acknowledged == len(outcomes) and not errors and not check.problems
    print(f"acknowledged {check.acknowledged}/{len(outcomes)}, found {check.acknowledged_found}, 5xx {errors}: "
          + ("PASS" if ok else "FAIL"))
    if ok:
        shutil.rmtree(work, ignore_errors=True)
        if not args.database_url:
            drop_postgres_database(DEFAULT_PG, "tipbox_bench")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=None,
                        help="tips without attachments (default 300; with --channels 150 per run)")
    parser.add_argument("--attachments", type=int, default=None,
                        help="tips with attachments (default 60; with --channels 30 per run)")
    parser.add_argument("--files", type=int, default=2, help="attachments per such tip (default 2)")
    parser.add_argument("--attachment-kib", type=int, default=192, help="size of each attachment (default 192 KiB)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for both apps (default 2)")
    parser.add_argument("--database-url", default=None,
                        help=f"PostgreSQL for both apps (default: a fresh tipbox_bench on {DEFAULT_PG})")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help=f"rate limit storage (default {DEFAULT_REDIS})")
    parser.add_argument("--slow-clients", type=int, default=0, metavar="N",
                        help="instead: normal clients through the documented nginx + gunicorn, with and without N "
                             "slow clients (POST / trickled one byte every 2 s); --small tips per run")
    parser.add_argument("--rounds", type=int, default=None,
                        help="with --slow-clients: rounds of 6 runs (default 2); with --channels: rounds of a run "
                             "on each server (default 6)")
    parser.add_argument("--channels", type=int, default=0, metavar="N",
                        help="instead: the same load against a one-channel server and an N-channel one (a catch-all,"
                             " a coordinating national desk, N-2 provincial channels), tips routed as the page does")
    parser.add_argument("--channel-reviewers", type=int, default=3, metavar="R",
                        help="with --channels: reviewers per channel, on both servers (default 3)")
    parser.add_argument("--seed", type=int, default=14, help="with --channels: seed of the tips' random answers")
    parser.add_argument("--notify", action="store_true",
                        help="instead: urgent tips with and without `tipbox notify watch` failing against a dead "
                             "target (--small tips per run, --rounds rounds)")
    args = parser.parse_args(argv)
    channels_mode = args.channels > 0
    if args.small is None:
        args.small = 150 if channels_mode else 300
    if args.attachments is None:
        args.attachments = 30 if channels_mode else 60
    if args.rounds is None:
        args.rounds = 6 if channels_mode and not args.slow_clients else 2
    if args.slow_clients:
        return slow_client_benchmark(args)
    if args.notify:
        return notify_benchmark(args)
    if channels_mode:
        if args.channels < 2 or args.channel_reviewers < 1:
            parser.error("--channels needs at least 2 channels and --channel-reviewers at least 1")
        return channel_benchmark(args)

    database_url = args.database_url or fresh_postgres_database(DEFAULT_PG, "tipbox_bench")
    work = Path(tempfile.mkdtemp(prefix="tipbox-load-"))
    server = TipboxServer.create(work / "var", **_server_env(database_url, args))
    sys.path.insert(0, str(ROOT / "bench"))
    from baseline_app import create_schema

    create_schema(database_url)
    baseline_port = free_port()
    baseline = Gunicorn(["--config", "tipbox/gunicorn_conf.py", "--chdir", str(ROOT / "bench"), "baseline_app:app"],
                        {**server.env, "TIPBOX_BIND": f"127.0.0.1:{baseline_port}",
                         "BASELINE_DATABASE_URL": database_url}, work / "baseline.log", baseline_port)
    status = 0
    try:
        server.start()
        baseline.start()
        recipients, fingerprint, chunk = server_keys(server.url)
        print(f"sealing {args.small} small tips and {args.attachments} tips with {args.files} x "
              f"{args.attachment_kib} KiB attachments (before the clock starts) ...", flush=True)
        small = seal_tips(recipients, args.small)
        large = seal_tips(recipients, args.attachments, args.files, args.attachment_kib * KIB)
        bodies = [t.payload for t in small]

        # Warm both up (imports, connection pools), then interleave: baseline, tipbox, baseline.
        run_load(server.url, small[: args.clients], args.clients, fingerprint, chunk)
        run_baseline(baseline.url, bodies[: args.clients], args.clients)
        base_before = run_baseline(baseline.url, bodies, args.clients)
        small_run = run_load(server.url, small, args.clients, fingerprint, chunk)
        large_run = run_load(server.url, large, args.clients, fingerprint, chunk)
        base_after = run_baseline(baseline.url, bodies, args.clients)
    finally:
        server.stop()
        baseline.stop()
    base_rate = (base_before.rate + base_after.rate) / 2
    print()
    print(f"gunicorn {args.workers} workers x {server.env.get('TIPBOX_THREADS', '4')} threads, {args.clients} clients,"
          f" PostgreSQL + Redis on loopback")
    print(f"{'':34}{'per s':>9}{'ratio':>8}{'p50 ms':>9}{'p99 ms':>9}  (latency of a whole submission)")
    print(f"{'baseline insert (bare Flask+SQLA)':34}{base_rate:9.1f}{1.0:8.2f}"
          f"{_fmt_ms(percentile(base_before.request_latencies + base_after.request_latencies, 50)):>9}"
          f"{_fmt_ms(percentile(base_before.request_latencies + base_after.request_latencies, 99)):>9}")
    for label, run in (("tipbox small tips", small_run), (f"tipbox tips + {args.files} x {args.attachment_kib} KiB",
                                                          large_run)):
        seconds = [o.seconds for o in run.acknowledged]
        print(f"{label:34}{run.rate:9.1f}{run.rate / base_rate if base_rate else 0:8.2f}"
              f"{_fmt_ms(percentile(seconds, 50)):>9}{_fmt_ms(percentile(seconds, 99)):>9}")
    requests = small_run.request_latencies + large_run.request_latencies
    print(f"{'tipbox single requests':34}{len(requests) / (small_run.seconds + large_run.seconds):9.1f}{'':8}"
          f"{_fmt_ms(percentile(requests, 50)):>9}{_fmt_ms(percentile(requests, 99)):>9}")
    print(f"baseline drift: {base_before.rate:.1f}/s before, {base_after.rate:.1f}/s after")

    outcomes = small_run.outcomes + large_run.outcomes
    check = check_database(database_url, outcomes)
    errors = small_run.server_errors + large_run.server_errors
    refused = [o for o in outcomes if not o.acknowledged]
    print()
    print(f"acknowledged: {check.acknowledged}/{len(outcomes)}; found in the database: {check.acknowledged_found}; "
          f"stored tips: {check.ready_tips}; 5xx: {errors}; not acknowledged: {len(refused)}")
    for outcome in refused[:5]:
        print(f"  not acknowledged: {outcome.error}")
    print(f"audit log: {check.audit}")
    for problem in check.problems[:20]:
        print(f"  PROBLEM: {problem}")
    if check.problems or errors or refused or check.acknowledged_found != check.acknowledged:
        print("FAIL")
        status = 1
    else:
        print("PASS: every acknowledged tip is stored whole, no 5xx")
    if status == 0:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        if args.database_url is None:
            drop_postgres_database(DEFAULT_PG, "tipbox_bench")
    else:
        print(f"logs kept in {work} (and the database)")
    return status


if __name__ == "__main__":
    sys.exit(main())
