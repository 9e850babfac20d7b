"""Audit log and purge benchmark (a script, not a test).

    python bench/audit.py [--events 1000000] [--purge 10000,100000] [--threads 4]

1. Builds a log of --events entries (chained, a signed checkpoint every 10,000)
   and verifies it with crypto.audit.verify; prints verify throughput as a ratio
   to plain SHA-256 over the same bytes, measured in the same run.
2. Purges N expired tips from a fresh SQLite database for each N in --purge and
   prints the time per 1,000 tips (it should stay flat: linear growth).
3. Appends audit events from --threads concurrent writers the way intake does
   (unchained INSERT in the tip's transaction) and the naive way (link into the
   chain under the lock on every append), on PostgreSQL if reachable (else
   SQLite), and prints events/s for both.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import secrets
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import nacl.signing

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crypto import audit  # noqa: E402
from crypto.signing import public_key_b64  # noqa: E402

KEY = nacl.signing.SigningKey(secrets.token_bytes(32))


def build_log(count: int) -> list[str]:
    records = []
    head = audit.GENESIS
    start = audit.parse_time("2026-01-01T00:00:00Z")
    tips = [secrets.token_hex(16) for _ in range(count // 3 + 1)]
    for seq in range(count):
        tip = tips[seq // 3]
        event = ("tip.received", "tip.exported", "tip.purged")[seq % 3]
        when = audit.hour(start + timedelta(hours=seq // 3 % 2000, days=(seq % 3) * 10))
        entry = audit.make_entry(seq, head, when, event, tip, {"size": 4096} if seq % 3 == 0 else {})
        head = audit.entry_hash(entry)
        records.append({"entry": entry})
        if seq % 10_000 == 9_999 or seq == count - 1:
            records.append({"checkpoint": audit.make_checkpoint(seq, head, when, KEY)})
    out = io.StringIO()
    audit.write_log(out, public_key_b64(KEY), records)
    return out.getvalue().splitlines()


def bench_verify(count: int) -> None:
    t0 = time.perf_counter()
    lines = build_log(count)
    built = time.perf_counter() - t0
    size = sum(len(line) + 1 for line in lines)
    t0 = time.perf_counter()
    report = audit.verify(lines, [public_key_b64(KEY)], policy=audit.Policy(30, 3650, 30, 365, 48))
    verify = time.perf_counter() - t0
    data = [line.encode() for line in lines]
    t0 = time.perf_counter()
    for item in data:
        hashlib.sha256(item).digest()
    sha = time.perf_counter() - t0
    assert report.entries == count, report.violations[:3]
    mib = size / 2**20
    print(f"audit log: {count:,} entries, {mib:.0f} MiB, built in {built:.1f} s, violations: {len(report.violations)}")
    print(f"  verify {mib / verify:8.1f} MiB/s ({count / verify:,.0f} entries/s)")
    print(f"  sha256 {mib / sha:8.1f} MiB/s (same bytes, one hash per line)")
    print(f"  ratio verify/sha256 = {sha / verify:.3f}")


def bench_purge(sizes: list[int]) -> None:
    from sqlalchemy import text

    from tipbox.admin.migrate import upgrade_database
    from tipbox.db import make_engine
    from tipbox.retention.purge import purge

    results = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.sqlite3"
            upgrade_database(url)
            engine = make_engine(url)
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO channels (id) VALUES ('default')"))
                old = "2020-01-01 00:00:00"
                conn.execute(text(
                    "INSERT INTO tips (id, channel_id, state, sealed_by, received_at, key_fingerprint, payload,"
                    " payload_size, payload_sha256, review_status) VALUES (:id, 'default', 'ready', 'browser', :t,"
                    " 'FP', :p, 1024, 'x', 'new')"),
                    [{"id": secrets.token_hex(16), "t": old, "p": os.urandom(1024)} for _ in range(n)])
            t0 = time.perf_counter()
            result = purge(engine, KEY, audit.Policy())
            elapsed = time.perf_counter() - t0
            assert len(result.purged) == n
            engine.dispose()
            results.append((n, elapsed))
            print(f"purge {n:>7,} expired tips: {elapsed:6.2f} s ({1000 * elapsed / n:.2f} s per 1,000 tips)")
    if len(results) == 2:
        (n1, t1), (n2, t2) = results
        print(f"  growth: {n2 / n1:.0f}x tips took {t2 / t1:.1f}x the time (linear = {n2 / n1:.0f}x)")


def bench_append(threads: int, per_thread: int) -> None:
    from sqlalchemy.orm import sessionmaker

    from tipbox.admin.migrate import upgrade_database
    from tipbox.audit.log import chain_pending, record
    from tipbox.db import make_engine

    url = os.environ.get("TIPBOX_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    tmp = tempfile.TemporaryDirectory()
    try:
        import psycopg

        name = f"tipbox_bench_{secrets.token_hex(3)}"
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True, connect_timeout=2) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = url.rsplit("/", 1)[0] + "/" + name
    except Exception:
        name = None
        url = f"sqlite:///{tmp.name}/append.sqlite3"
    upgrade_database(url)
    engine = make_engine(url)
    make = sessionmaker(engine)

    def run(chained: bool) -> float:
        def work() -> None:
            for _ in range(per_thread):
                with make.begin() as db:
                    record(db, "tip.received", secrets.token_hex(16), {"size": 4096})
                    if chained:
                        chain_pending(db, KEY, checkpoint=False)

        pool = [threading.Thread(target=work) for _ in range(threads)]
        t0 = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return threads * per_thread / (time.perf_counter() - t0)

    unchained = run(False)
    chained = run(True)
    print(f"append, {threads} writers on {engine.dialect.name}: unchained INSERT {unchained:,.0f} events/s, "
          f"chain-on-append {chained:,.0f} events/s (x{unchained / chained:.1f})")
    engine.dispose()
    if name:
        with psycopg.connect(url.rsplit("/", 1)[0].replace("+psycopg", "") + "/test", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--purge", default="10000,100000")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--appends", type=int, default=300, help="appends per thread")
    args = parser.parse_args()
    bench_verify(args.events)
    bench_purge([int(n) for n in args.purge.split(",") if n])
    bench_append(args.threads, args.appends)


if __name__ == "__main__":
    main()
