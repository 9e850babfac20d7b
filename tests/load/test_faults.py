"""Faults under load: kill -9 a gunicorn worker, restart PostgreSQL, stop and start Redis.

Browser-like clients (bench/load.py's) keep submitting sealed tips, small and
with attachments, while the faults happen one after another: six retry a
broken step the way form.js does, two give up at the first error (so some tips
end unacknowledged, possibly stored). Afterwards:

- every tip acknowledged to a client (a receipt came back) is in the database,
  whole, with the ciphertext that was sent, and has its audit event;
- every tip the database shows as received is whole (payload and every
  attachment complete and matching its hash): unacknowledged ones are stored
  completely or not at all;
- the service recovered by itself: a fresh submission is accepted without
  retries, both workers are up, and the rate limiter is back on Redis.

PostgreSQL and Redis are private instances (tests/load/services.py) so the
machine's shared ones, which other tests use at the same time, are untouched.

No sleeps: each fault comes once the clients have had ACKS_PER_PHASE more tips
acknowledged since the previous one (so every fault hits a service that is
working under load, and each recovery is proven by traffic, not by waiting),
and what can only be polled (gunicorn's workers, the limiter's Redis keys) is
waited for with a deadline. Assertions are invariants, never counts that
depend on the machine's speed. Bounded: under a minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.load import (
    HIGH_LIMITS,
    Client,
    Outcome,
    TipboxServer,
    check_database,
    run_load,
    seal_tips,
    server_keys,
    submit,
)
from tests.load.services import PrivatePostgres, PrivateRedis

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

CLIENTS = 6
IMPATIENT = 2
ACKS_PER_PHASE = 30
PATIENCE = 60.0  # seconds for any one wait; a healthy run needs a few


class Acknowledged:
    """Counts tips acknowledged to any client (run_load's ``on_outcome``); faults wait on it."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def __call__(self, outcome: Outcome) -> None:
        if outcome.acknowledged:
            with self._changed:
                self.count += 1
                self._changed.notify_all()

    def wait_for_more(self, more: int, since: str) -> None:
        """Block until ``more`` tips beyond those counted now are acknowledged; fail clearly if they are not."""
        with self._changed:
            start = self.count
            if not self._changed.wait_for(lambda: self.count >= start + more, timeout=PATIENCE):
                pytest.fail(f"{self.count - start} of {more} tips acknowledged within {PATIENCE:.0f}s {since}")


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll something that gives no event (process table, Redis keys) until it holds, or fail after PATIENCE."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {PATIENCE:.0f}s: {what}")
        time.sleep(0.1)  # a polling interval, not a guess at how long something takes


def test_acknowledged_tips_survive_worker_kill_postgres_restart_and_redis_outage(tmp_path: Path) -> None:
    postgres = PrivatePostgres()
    redis = PrivateRedis(tmp_path / "redis")
    server = None
    try:
        postgres.init()
        redis.start()
        server = TipboxServer.create(tmp_path / "var", TIPBOX_DATABASE_URL=postgres.url,
                                     TIPBOX_RATELIMIT_STORAGE=redis.url, TIPBOX_UPLOAD_CHUNK_BYTES=str(64 * 1024),
                                     TIPBOX_WORKERS="2", TIPBOX_THREADS="4", **HIGH_LIMITS)
        server.start()
        recipients, fingerprint, chunk = server_keys(server.url)
        small = seal_tips(recipients, 3000)
        large = seal_tips(recipients, 1000, attachments=1, attachment_bytes=150 * 1024, variety=4)
        tips = [large[i // 3] if i % 3 == 2 else small[i] for i in range(3000)]

        stop = threading.Event()
        progress = Acknowledged()
        result = {}
        # Patient clients retry a broken step like form.js; impatient ones give up at the first error,
        # which leaves tips the server may or may not have stored: those must be whole or absent.
        runners = [
            threading.Thread(target=lambda: result.setdefault("patient", run_load(
                server.url, tips[:2000], CLIENTS, fingerprint, chunk, retries=60, until=stop.is_set,
                on_outcome=progress))),
            threading.Thread(target=lambda: result.setdefault("impatient", run_load(
                server.url, tips[2000:], IMPATIENT, fingerprint, chunk, retries=0, until=stop.is_set,
                on_outcome=progress))),
        ]
        for runner in runners:
            runner.start()
        faults = []

        progress.wait_for_more(ACKS_PER_PHASE, "of the start")
        killed = server.gunicorn.kill_worker()
        faults.append(f"kill -9 worker {killed}")
        progress.wait_for_more(ACKS_PER_PHASE, "after a worker was killed")
        wait_until(lambda: len(server.gunicorn.worker_pids()) == 2 and killed not in server.gunicorn.worker_pids(),
                   "gunicorn replaced the killed worker")
        postgres.restart()
        faults.append("PostgreSQL restarted (fast: every connection cut)")
        progress.wait_for_more(ACKS_PER_PHASE, "after PostgreSQL restarted")
        redis.stop()
        faults.append("Redis stopped")
        progress.wait_for_more(ACKS_PER_PHASE, "with Redis stopped")
        redis.start()
        faults.append("Redis started again (empty)")
        progress.wait_for_more(ACKS_PER_PHASE, "after Redis started again")
        wait_until(lambda: bool(redis.keys()), "the rate limiter went back to Redis under the clients' load")
        stop.set()
        for runner in runners:
            runner.join(timeout=90)
            assert not runner.is_alive(), "clients did not finish"
        patient, impatient = result["patient"], result["impatient"]

        # Recovered without anyone touching it: a fresh submission goes through first time.
        fresh_client = Client(server.url)
        fresh_client.start()
        fresh = submit(fresh_client, small[0], fingerprint, chunk)
        fresh_client.close()
        assert fresh.acknowledged, fresh.error
        assert len(server.gunicorn.worker_pids()) == 2 and killed not in server.gunicorn.worker_pids()

        outcomes = [*patient.outcomes, *impatient.outcomes, fresh]
        check = check_database(postgres.url, outcomes)
        acked = [o for o in outcomes if o.acknowledged]
        unacked = [o for o in outcomes if not o.acknowledged]
        log = server.log()
        summary = (f"faults: {'; '.join(faults)}\n"
                   f"tips: {len(outcomes)} submitted, {len(acked)} acknowledged "
                   f"({sum(1 for o in acked if o.tip.attachments)} with attachments), {len(unacked)} not "
                   f"acknowledged ({check.unacknowledged_stored} of them stored whole, "
                   f"{check.unacknowledged_absent} not stored); step retries: {sum(o.retries for o in outcomes)}; "
                   f"5xx answers seen: {patient.server_errors + impatient.server_errors}; "
                   f"stored tips: {check.ready_tips}\n"
                   f"audit: {check.audit}\n"
                   f"log: {log.count('falling back to in-memory')} fallback warnings, "
                   f"{log.count('database unavailable')} 'database unavailable'")
        print("\n" + summary)
        assert check.problems == [], summary + "\n" + "\n".join(check.problems)
        assert check.acknowledged_found == check.acknowledged == len(acked)
        assert len(acked) >= 5 * ACKS_PER_PHASE, summary  # the waits above counted these
        assert all(o.acknowledged for o in patient.outcomes), summary  # retrying always got through
        assert "checked" in check.audit
        # The limiter said once per worker (not per request) that Redis went away.
        assert 1 <= log.count("falling back to in-memory") <= 3, summary
        for outcome in unacked:
            assert outcome.error, outcome
    finally:
        if server is not None:
            server.stop()
        redis.stop()
        postgres.stop()
