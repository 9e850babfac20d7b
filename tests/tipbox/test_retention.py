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
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from crypto import audit
from crypto.signing import CONTEXT_DISPOSITIONS, public_key_b64, sign_document
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.conftest import make_app
from tests.tipbox.test_intake_nojs import _post
from tipbox import clock, db
from tipbox.audit.log import record
from tipbox.audit.models import AuditEvent
from tipbox.dispositions import import_dispositions
from tipbox.keys import load_server_key
from tipbox.models import AttachmentChunk, Tip
from tipbox.retention.purge import purge

DAY = timedelta(days=1)
START = datetime(2026, 1, 5, 9, 30)


class FakeClock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = START
        monkeypatch.setattr(clock, "utcnow", lambda: self.now)

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def _run_cli(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


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


def _tip_ids(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session().scalars(select(Tip.id).where(Tip.state == "ready")))


def _verify(app: Flask, tmp_path: Path, at: datetime | None = None) -> audit.Report:
    out = tmp_path / f"audit-{secrets.token_hex(3)}.jsonl"
    _run_cli(app, "audit", "export", "--out", str(out))
    key = public_key_b64(load_server_key(app.extensions["tipbox.config"].server_key_file))
    with out.open() as handle:
        return audit.verify(handle, [key], at=at.replace(tzinfo=audit.UTC) if at else None)


def test_years_of_life_under_a_simulated_clock(app: Flask, reviewers, tmp_path: Path, monkeypatch) -> None:
    fake = FakeClock(monkeypatch)
    client = app.test_client()
    browser = BrowserLike(client)
    names = {}

    def submit(name: str) -> None:
        before = _tip_ids(app)
        if name == "nojs":
            assert _post(client, description=name).status_code == 200
        else:
            browser.submit({"description": name}, {"a" * 32: ("f.txt", "text/plain", name.encode() * 100)})
        [names[name]] = _tip_ids(app) - before

    for name in ("exported", "closed", "held", "released", "nojs"):
        submit(name)
    fake.advance(DAY)
    _run_cli(app, "export", "--out", str(tmp_path / "bundle.tar"))
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
    assert _tip_ids(app) == {names["held"], names["released"]}
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


def _fragment(app: Flask) -> bytes:
    with app.app_context():
        payload = db.session().scalars(select(Tip.payload)).first()
        chunk = db.session().scalars(select(AttachmentChunk.data)).first()
    return payload[200:232], chunk[len(chunk) // 2 : len(chunk) // 2 + 32]


def _backdate(app: Flask, days: int) -> None:
    with app.app_context(), db.transaction() as session:
        session.execute(text("UPDATE tips SET received_at = :t"), {"t": clock.utcnow() - timedelta(days=days)})


def test_purge_really_removes_ciphertext_from_the_sqlite_file(tmp_path: Path, reviewers) -> None:
    app = make_app(tmp_path / "v", f"sqlite:///{tmp_path / 'tipbox.sqlite3'}", reviewers)
    BrowserLike(app.test_client()).submit({"description": "x"}, {"b" * 32: ("f", "text/plain", os.urandom(300_000))})
    fragments = _fragment(app)
    files = [tmp_path / "tipbox.sqlite3", tmp_path / "tipbox.sqlite3-wal"]
    assert any(f in p.read_bytes() for p in files if p.exists() for f in fragments)  # the scan can see it
    _backdate(app, 40)
    assert "purged 1 of 1" in _run_cli(app, "purge")
    app.extensions["tipbox.engine"].dispose()
    for path in tmp_path.glob("tipbox.sqlite3*"):
        data = path.read_bytes()
        assert not any(f in data for f in fragments), f"ciphertext left in {path.name}"


def test_purge_dry_run_deletes_nothing(app: Flask) -> None:
    BrowserLike(app.test_client()).submit({"description": "x"})
    _backdate(app, 40)
    assert "1 tip is due" in _run_cli(app, "purge", "--dry-run")
    assert len(_tip_ids(app)) == 1


def test_concurrent_purges_delete_and_log_each_tip_once(app: Flask) -> None:
    browser = BrowserLike(app.test_client())
    for n in range(8):  # under the per-client rate limit for opening uploads
        browser.submit({"description": f"tip {n}"}, {"c" * 32: ("f", "text/plain", b"x" * 5000)})
    _backdate(app, 40)
    config = app.extensions["tipbox.config"]
    key = load_server_key(config.server_key_file)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
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


def test_a_purge_killed_midway_leaves_no_tip_half_deleted(tmp_path: Path, db_url: str, reviewers) -> None:
    app = make_app(tmp_path / "v", db_url, reviewers)
    browser = BrowserLike(app.test_client())
    browser.submit({"description": "template"}, {"d" * 32: ("f", "text/plain", b"y" * 3000)})
    # Clone the tip many times in SQL so the purge has enough work to be killed in the middle.
    with app.app_context(), db.transaction() as session:
        template = session.scalars(select(Tip)).one()
        for _ in range(1500):
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
    _backdate(app, 40)
    app.extensions["tipbox.engine"].dispose()
    env = {**os.environ, "TIPBOX_VAR_DIR": str(tmp_path / "v"), "TIPBOX_DATABASE_URL": db_url}
    tipbox = str(Path(sys.executable).parent / "tipbox")
    process = subprocess.Popen([tipbox, "purge"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = app.extensions["tipbox.engine"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM tips")).scalar() < 1400:
                break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with engine.connect() as conn:
        remaining = conn.execute(text("SELECT count(*) FROM tips")).scalar()
        assert 0 < remaining < 1501, "the purge was not interrupted midway"
        # Whole or gone: every remaining tip still has both chunks; no orphaned chunks or attachments.
        orphans = conn.execute(
            text(
                "SELECT count(*) FROM attachment_chunks c WHERE NOT EXISTS (SELECT 1 FROM tips t WHERE t.id = c.tip_id)"
            )
        ).scalar()
        partial = conn.execute(
            text(
                "SELECT count(*) FROM tips t WHERE NOT EXISTS (SELECT 1 FROM attachment_chunks c WHERE c.tip_id = t.id)"
            )
        ).scalar()
        logged = conn.execute(text("SELECT count(*) FROM audit_events WHERE event = 'tip.purged'")).scalar()
        assert orphans == 0 and partial == 0
        assert logged == 1501 - remaining  # every deletion that committed was logged, none more
    subprocess.run([tipbox, "purge"], env=env, check=True, capture_output=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tips")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM audit_events WHERE event = 'tip.purged'")).scalar() == 1501
    engine.dispose()
