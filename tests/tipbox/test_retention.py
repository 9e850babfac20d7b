"""Retention end to end: a simulated clock drives tips through years of life; the
auditor's verifier accepts the honest log; purge really deletes; concurrent and
killed purges leave nothing half-done."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from crypto import audit
from crypto.signing import CONTEXT_DISPOSITIONS, public_key_b64, sign_document
from tests.support import ROOT
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.conftest import make_app
from tests.tipbox.support import post_report_form, ready_tip_ids, run_cli
from tipbox import clock, db
from tipbox.audit.log import record
from tipbox.audit.models import AuditEvent
from tipbox.dispositions import import_dispositions
from tipbox.keys import load_server_key
from tipbox.models import AttachmentChunk, Tip
from tipbox.retention import purge as purge_module
from tipbox.retention.purge import BATCH, purge

DAY = timedelta(days=1)
START = datetime(2026, 1, 5, 9, 30)


class FakeClock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = START
        monkeypatch.setattr(clock, "utcnow", lambda: self.now)

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def _dispositions(app: Flask, reviewer, now: datetime, entries: list[dict]) -> None:
    body = {
        "type": "tipbox-dispositions",
        "v": 1,
        "id": secrets.token_hex(16),
        "created": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "entries": entries,
    }
    data = json.dumps(sign_document(body, CONTEXT_DISPOSITIONS, reviewer.signing_key)).encode()
    with app.app_context(), db.transaction() as session:
        import_dispositions(session, data, now=now, record_event=lambda s, e, t, d: record(s, e, t, d, when=now))


def _verify(app: Flask, tmp_path: Path, at: datetime | None = None) -> audit.Report:
    out = tmp_path / f"audit-{secrets.token_hex(3)}.jsonl"
    run_cli(app, "audit", "export", "--out", str(out))
    key = public_key_b64(load_server_key(app.extensions["tipbox.config"].server_key_file))
    with out.open() as handle:
        return audit.verify(handle, [key], at=at.replace(tzinfo=audit.UTC) if at else None)


def test_years_of_life_under_a_simulated_clock(app: Flask, reviewers, tmp_path: Path, monkeypatch) -> None:
    fake = FakeClock(monkeypatch)
    client = app.test_client()
    browser = BrowserLike(client)
    names = {}

    def submit(name: str) -> None:
        before = ready_tip_ids(app)
        if name == "nojs":
            assert post_report_form(client, description=name).status_code == 200
        else:
            browser.submit({"description": name}, {"a" * 32: ("f.txt", "text/plain", name.encode() * 100)})
        [names[name]] = ready_tip_ids(app) - before

    for name in ("exported", "closed", "held", "released", "nojs"):
        submit(name)
    fake.advance(DAY)
    run_cli(app, "export", "--out", str(tmp_path / "bundle.tar"))
    submit("forgotten")  # arrives after the export and is never collected
    fake.advance(9 * DAY)  # day 10
    _dispositions(
        app,
        reviewers[0],
        fake.now,
        [
            {"tip_id": names["closed"], "status": "closed"},
            {
                "tip_id": names["held"],
                "status": "hold",
                "hold_until": (fake.now + 300 * DAY).strftime("%Y-%m-%d"),
                "hold_reason": "prosecution",
            },
            {
                "tip_id": names["released"],
                "status": "hold",
                "hold_until": (fake.now + 300 * DAY).strftime("%Y-%m-%d"),
                "hold_reason": "investigation",
            },
        ],
    )
    key = load_server_key(app.extensions["tipbox.config"].server_key_file)
    policy = app.extensions["tipbox.config"].retention  # 30 / 180 / 30 / 365 / 48h
    # This test is about deadlines. Scrubbing is proven in test_purge_proof.py; on PostgreSQL it is a
    # VACUUM FULL of four tables, which 320 daily runs would turn into most of this test's time.
    monkeypatch.setattr(purge_module, "scrub", lambda engine: None)
    purged_on: dict[str, int] = {}

    def days(until: int) -> None:
        """Run the purge timer once a day, like cron would."""
        while (fake.now - START).days < until:
            fake.advance(DAY)
            with app.app_context():
                for tip_id in purge(db.engine(), key, policy, now=fake.now).purged:
                    purged_on[tip_id] = (fake.now - START).days

    days(200)
    assert purged_on == {names["forgotten"]: 31, names["closed"]: 40, names["exported"]: 180, names["nojs"]: 180}
    assert ready_tip_ids(app) == {names["held"], names["released"]}
    report = _verify(app, tmp_path)
    assert report.violations == [], report.violations
    assert report.counts() == {"purged": 4, "held": 2}

    _dispositions(app, reviewers[0], fake.now, [{"tip_id": names["released"], "status": "in_review"}])
    days(320)  # the released tip goes the next day; the held one when its hold ends (day 310)
    assert purged_on[names["released"]] == 201 and purged_on[names["held"]] == 310
    fake.advance(3 * 365 * DAY)
    report = _verify(app, tmp_path)
    assert report.violations == [], report.violations
    assert report.counts() == {"purged": 6}


def test_a_tip_kept_past_its_time_is_reported(app: Flask, tmp_path: Path, monkeypatch) -> None:
    fake = FakeClock(monkeypatch)
    BrowserLike(app.test_client()).submit({"description": "kept too long"})
    fake.advance(40 * DAY)  # nobody ran purge
    report = _verify(app, tmp_path, at=fake.now)
    assert [v.kind for v in report.violations] == ["overdue"]


def _backdate(app: Flask, days: int) -> None:
    with app.app_context(), db.transaction() as session:
        session.execute(text("UPDATE tips SET received_at = :t"), {"t": clock.utcnow() - timedelta(days=days)})


def test_purge_dry_run_deletes_nothing(app: Flask) -> None:
    BrowserLike(app.test_client()).submit({"description": "x"})
    _backdate(app, 40)
    assert "1 tip is due" in run_cli(app, "purge", "--dry-run")
    assert len(ready_tip_ids(app)) == 1


def test_concurrent_purges_delete_and_log_each_tip_once(app: Flask) -> None:
    browser = BrowserLike(app.test_client())
    for n in range(8):  # under the per-client rate limit for opening uploads
        browser.submit({"description": f"tip {n}"}, {"c" * 32: ("f", "text/plain", b"x" * 5000)})
    _backdate(app, 40)
    config = app.extensions["tipbox.config"]
    key = load_server_key(config.server_key_file)
    errors: list[BaseException] = []
    start = threading.Barrier(3, timeout=30)  # all three find the same tips due, then race to delete them

    def worker() -> None:
        try:
            with app.app_context():
                start.wait()
                purge(db.engine(), key, config.retention)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        session = db.session()
        assert session.scalar(select(func.count()).select_from(Tip)) == 0
        assert session.scalar(select(func.count()).select_from(AttachmentChunk)) == 0
        purged = session.scalar(select(func.count()).where(AuditEvent.event == "tip.purged"))
    assert purged == 8


# Run in a subprocess: ``tipbox purge`` whose ``_purge_one`` kills its own process (SIGKILL, as
# ``kill -9`` would) right after the KILL_AT-th tip's deletions reached the database, uncommitted.
# The kill comes from inside the purge loop, so where it lands does not depend on timing.
# KILL_AT 0: an ordinary ``tipbox purge``. The interpreter runs from the tree under test.
PURGE_KILLED_AT = """
import os, signal, sys
from tipbox.admin.cli import main
from tipbox.retention import purge

KILL_AT = int(sys.argv[1])
purge_one, seen = purge._purge_one, 0

def purge_one_then_die(db, tip_id, policy, now):
    global seen
    done = purge_one(db, tip_id, policy, now)
    seen += 1
    if seen == KILL_AT:
        db.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return done

purge._purge_one = purge_one_then_die
sys.argv = ["tipbox", "purge"]
main()
"""


def _run_purge(db_url: str, var_dir: Path, kill_at: int = 0) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "TIPBOX_VAR_DIR": str(var_dir), "TIPBOX_DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-c", PURGE_KILLED_AT, str(kill_at)], env=env, cwd=ROOT,
                          capture_output=True, timeout=120)


def _clone_tip(app: Flask, copies: int) -> None:
    """Copy the only tip ``copies`` times in SQL (each with an attachment of two chunks and its
    ``tip.received`` event): many tips to purge, quickly."""
    with app.app_context(), db.transaction() as session:
        template = session.scalars(select(Tip)).one()
        for _ in range(copies):
            tip_id = secrets.token_hex(16)
            session.execute(
                text(
                    "INSERT INTO tips (id, channel_id, state, sealed_by, received_at, key_fingerprint, payload,"
                    " payload_size, payload_sha256, review_status) SELECT :new, channel_id, state, sealed_by,"
                    " received_at, key_fingerprint, payload, payload_size, payload_sha256, review_status FROM tips"
                    " WHERE id = :old"
                ),
                {"new": tip_id, "old": template.id},
            )
            session.execute(
                text(
                    "INSERT INTO audit_events (time, event, tip_id, data) SELECT time, event, :new, data"
                    " FROM audit_events WHERE tip_id = :old AND event = 'tip.received'"
                ),
                {"new": tip_id, "old": template.id},
            )
            session.execute(
                text(
                    "INSERT INTO attachments (id, tip_id, position, complete, size, sha256)"
                    " VALUES (:a, :t, 0, true, 3, 'x')"
                ),
                {"a": "e" * 32, "t": tip_id},
            )
            for seq in range(2):
                session.execute(
                    text("INSERT INTO attachment_chunks (tip_id, attachment_id, seq, data) VALUES (:t, :a, :s, :d)"),
                    {"t": tip_id, "a": "e" * 32, "s": seq, "d": b"z" * 512},
                )


def _counts(engine: Engine) -> dict[str, int]:
    """Tips left, chunks without their tip, tips without their chunks, and purges logged."""
    queries = {
        "tips": "SELECT count(*) FROM tips",
        "orphaned chunks": "SELECT count(*) FROM attachment_chunks c"
        " WHERE NOT EXISTS (SELECT 1 FROM tips t WHERE t.id = c.tip_id)",
        "tips missing chunks": "SELECT count(*) FROM tips t"
        " WHERE (SELECT count(*) FROM attachment_chunks c WHERE c.tip_id = t.id) <> 2",
        "purges logged": "SELECT count(*) FROM audit_events WHERE event = 'tip.purged'",
    }
    with engine.connect() as conn:
        return {name: conn.execute(text(query)).scalar_one() for name, query in queries.items()}


def test_a_purge_killed_midway_leaves_no_tip_half_deleted(tmp_path: Path, db_url: str, reviewers) -> None:
    app = make_app(tmp_path / "v", db_url, reviewers)
    engine = app.extensions["tipbox.engine"]
    try:
        # Every tip has two chunk rows (the template's 3 kB attachment goes in 2 kB pieces).
        BrowserLike(app.test_client()).submit({"description": "template"}, {"d" * 32: ("f", "text/plain", b"y" * 3000)},
                                              chunk=2048)
        total = 1 + BATCH + BATCH // 2  # two batches; the kill lands in the second
        _clone_tip(app, total - 1)
        _backdate(app, 40)
        engine.dispose()

        killed = _run_purge(db_url, tmp_path / "v", kill_at=BATCH + BATCH // 4)
        assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
        # The first batch committed with its audit events; the second, its first tips deleted but
        # not committed, left no trace: every tip is whole, or gone and logged.
        left = {"tips": total - BATCH, "orphaned chunks": 0, "tips missing chunks": 0, "purges logged": BATCH}
        assert _counts(engine) == left

        finished = _run_purge(db_url, tmp_path / "v")
        assert finished.returncode == 0, finished.stderr.decode()
        assert f"purged {total - BATCH} of {total - BATCH}" in finished.stdout.decode()
        assert _counts(engine) == {"tips": 0, "orphaned chunks": 0, "tips missing chunks": 0, "purges logged": total}
        report = _verify(app, tmp_path)
        assert report.violations == [], report.violations
        assert report.counts() == {"purged": total}
    finally:
        engine.dispose()
