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
Bounded: about a minute.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from bench.load import HIGH_LIMITS, Client, TipboxServer, check_database, run_load, seal_tips, server_keys, submit
from tests.load.services import PrivatePostgres, PrivateRedis

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

CLIENTS = 6
IMPATIENT = 2


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
        result = {}
        # Patient clients retry a broken step like form.js; impatient ones give up at the first error,
        # which leaves tips the server may or may not have stored: those must be whole or absent.
        runners = [
            threading.Thread(target=lambda: result.setdefault("patient", run_load(
                server.url, tips[:2000], CLIENTS, fingerprint, chunk, retries=60, until=stop.is_set))),
            threading.Thread(target=lambda: result.setdefault("impatient", run_load(
                server.url, tips[2000:], IMPATIENT, fingerprint, chunk, retries=0, until=stop.is_set))),
        ]
        for runner in runners:
            runner.start()
        faults = []

        time.sleep(4)
        killed = server.gunicorn.kill_worker()
        faults.append(f"kill -9 worker {killed}")
        time.sleep(5)
        postgres.restart()
        faults.append("PostgreSQL restarted (fast: every connection cut)")
        time.sleep(5)
        redis.stop()
        faults.append("Redis stopped")
        time.sleep(5)
        redis.start()
        faults.append("Redis started again (empty)")
        time.sleep(6)
        stop.set()
        for runner in runners:
            runner.join(timeout=90)
            assert not runner.is_alive(), "clients did not finish"
        patient, impatient = result["patient"], result["impatient"]

        # Recovered without anyone touching it: a fresh submission goes through first time.
        fresh_client = Client(server.url)
        fresh_client.start()
        fresh = submit(fresh_client, small[0], fingerprint, chunk)
        assert fresh.acknowledged, fresh.error
        deadline = time.monotonic() + 40
        while not redis.keys() and time.monotonic() < deadline:
            fresh_client.request("GET", "/retention")
            time.sleep(0.5)
        fresh_client.close()
        assert redis.keys(), "the rate limiter did not go back to Redis"
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
        assert len(acked) >= 30, summary  # the load really ran through the faults
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
