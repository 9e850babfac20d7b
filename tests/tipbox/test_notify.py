"""Notifications (issue #18, docs/notifications.md): content-free digests on a fixed schedule, urgent
alerts only when the source asks, reminders before deadlines; delivered by apprise to a real SMTP
server and a real webhook receiver; idempotent per slot; failures retried without leaking secrets."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text

from crypto.identity import ReviewerIdentity
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.conftest import make_app
from tests.tipbox.notify_targets import Mailbox, Webhook, free_port
from tests.tipbox.support import post_report_form, run_cli
from tipbox import clock, db
from tipbox.audit.models import AuditEvent
from tipbox.config import ConfigError, load_config
from tipbox.models import NotificationSlot, Tip

# Monday 30 November 2026, 07:30 WIB (UTC+7): the first digest of the day (08:00 WIB) is 01:00 UTC.
START = datetime(2026, 11, 30, 0, 30)
CANARY = "CANARY-NOTIFY-7Q2"


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = START
        monkeypatch.setattr(clock, "utcnow", lambda: self.now)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook().start()
    yield hook
    hook.stop()


_MADE: list[Flask] = []


@pytest.fixture(autouse=True)
def _dispose_apps() -> Iterator[None]:
    """Every app a test makes gives its database connections back (PostgreSQL counts them)."""
    yield
    while _MADE:
        _MADE.pop().extensions["tipbox.engine"].dispose()


def _make(var_dir: Path, db_url: str, reviewers: list[ReviewerIdentity], **env: str) -> Flask:
    app = make_app(var_dir, db_url, reviewers, **env)
    _MADE.append(app)
    return app


def _app(tmp_path: Path, db_url: str, reviewers: list[ReviewerIdentity], urls: str, **env: str) -> Flask:
    return _make(tmp_path / "var", db_url, reviewers, TIPBOX_NOTIFY_URLS=urls, **env)


def _notify(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["notify", "run"])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _report(app: Flask, text_: str = f"Anak dijual di pelabuhan {CANARY}", **fields: str) -> None:
    response = post_report_form(app.test_client(), description=text_, province="35", regency="35.72",
                                category="ANAK-EKO", **fields)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]


def _events(app: Flask, kind: str) -> list[dict]:
    with app.app_context():
        rows = db.session().scalars(select(AuditEvent).where(AuditEvent.event == kind).order_by(AuditEvent.id))
        return [json.loads(row.data) for row in rows]


def _tip_ids(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(select(Tip.id)))


def _assert_content_free(app: Flask, texts: list[str]) -> None:
    """Counts and the channel's name only: no canary, no id, no region or category code, no time."""
    forbidden = [CANARY, "35.72", "ANAK-EKO", "pelabuhan", *_tip_ids(app)]
    for body in texts:
        for word in forbidden:
            assert word not in body, (word, body)
        assert not re.search(r"\d{1,2}:\d{2}|20\d\d-\d\d", body), body


def test_a_week_of_digests_at_fixed_times_once_per_slot(
    tmp_path: Path, db_url: str, reviewers, monkeypatch, mailbox: Mailbox, webhook: Webhook
) -> None:
    fake = Clock(monkeypatch)
    app = _app(tmp_path, db_url, reviewers, f"{mailbox.url} {webhook.url()}")
    _report(app)
    _report(app)
    sent_at: list[datetime] = []
    while fake.now < START + timedelta(days=7):
        before = len(webhook.posts)
        code, output = _notify(app)
        assert code == 0, output
        code, output = _notify(app)  # the timer fires again in the same slot: nothing more is sent
        assert code == 0 and len(webhook.posts) - before <= 1, output
        if len(webhook.posts) > before:
            sent_at.append(fake.now)
        if fake.now == START + timedelta(days=2):
            browser = BrowserLike(app.test_client())
            receipt = browser.submit({"description": "Laporan ketiga"})
            run_cli(app, "export", "--out", str(tmp_path / "tips.tar"))  # the team exports everything so far
        if fake.now == START + timedelta(days=3):  # the source comes back with more
            access = browser.status(receipt).get_json()["access"]
            assert browser.follow_up(access, f"Tambahan {CANARY}").status_code == 200
        fake.now += timedelta(minutes=30)

    # 08:00 and 16:00 WIB every day: 01:00 and 09:00 UTC, the first run at or after each. The very first
    # run sends the digest of the slot it falls in (Sunday 16:00 WIB), however late: it has not gone out.
    expected = [START] + [START.replace(hour=h, minute=0) + timedelta(days=d) for d in range(7) for h in (1, 9)]
    assert sent_at == expected
    assert len(mailbox.messages) == len(webhook.posts) == 15
    _assert_content_free(app, mailbox.texts() + webhook.texts())

    first, second = webhook.posts[1]["message"], webhook.posts[2]["message"]
    assert "Laporan baru sejak pemberitahuan terakhir: 2" in first
    assert "Menunggu diekspor lebih dari 24 jam: 0" in first
    assert "Laporan baru sejak pemberitahuan terakhir: 0" in second  # empty digests go out too
    # Day 2 09:00 UTC: both first reports wait for more than 24 hours, nobody exported them.
    assert "Menunggu diekspor lebih dari 24 jam: 2" in webhook.posts[4]["message"]
    # After the export on day 3, nothing waits.
    assert "Menunggu diekspor lebih dari 24 jam: 0" in webhook.posts[6]["message"]
    assert webhook.posts[0]["title"] == mailbox.messages[0]["Subject"] == "tipbox: " + _channel_name(app)
    digests = _events(app, "notify.digest")
    assert len(digests) == 15 and digests[1] == {"channel": "default", "slot": "2026-11-30T01:00:00Z", "new": 2,
                                                 "followups": 0, "waiting": 0, "urgent": 0, "purge_soon": 0}
    # Day 3's follow-up (received 00:00 UTC) shows in the day's first digest, and only there.
    assert [d["followups"] for d in digests] == [0] * 7 + [1] + [0] * 7


def _channel_name(app: Flask) -> str:
    from tipbox import readers

    with app.app_context():
        return readers.names(db.session(), ["default"], "id")[0]


def test_an_urgent_report_alerts_once_and_only_when_the_source_asked(
    tmp_path: Path, db_url: str, reviewers, monkeypatch, webhook: Webhook
) -> None:
    fake = Clock(monkeypatch)
    fake.now = START.replace(hour=3)  # between two digest slots; the 01:00 digest goes out first
    app = _app(tmp_path, db_url, reviewers, webhook.url())
    assert _notify(app)[0] == 0
    digests = len(webhook.posts)
    _report(app)  # not ticked
    assert _notify(app)[0] == 0 and len(webhook.posts) == digests
    _report(app, "Anak dikurung sekarang", urgent="1", danger="danger_now")
    fake.now += timedelta(minutes=1)
    assert _notify(app)[0] == 0
    assert len(webhook.posts) == digests + 1
    alert = webhook.posts[-1]
    assert alert["title"] == "tipbox: laporan mendesak untuk " + _channel_name(app)
    assert alert["message"] == "Laporan mendesak menunggu: 1. Ekspor sekarang."
    assert _notify(app)[0] == 0 and len(webhook.posts) == digests + 1  # once
    # The JavaScript path says the same with a flag in its sealed open; two at once are one alert.
    browser = BrowserLike(app.test_client())
    for _ in range(2):
        opened = browser.client.post("/api/v1/submissions", json={"urgent": True}, headers=browser.headers())
        from crypto import payload

        document = payload.build({"description": CANARY}, lang="id", sealed_by="browser")
        assert browser.finalize(opened.get_json()["tip_id"], opened.get_json()["token"],
                                payload.seal_tip(document, browser.recipients), []).status_code == 200
    assert _notify(app)[0] == 0
    assert webhook.posts[-1]["message"] == "Laporan mendesak menunggu: 2. Ekspor sekarang."
    assert [e["count"] for e in _events(app, "notify.urgent")] == [1, 2]
    _assert_content_free(app, webhook.texts())
    with app.app_context():
        flags = db.session().execute(select(Tip.urgent, Tip.urgent_alerted)).all()
    assert sorted(flags) == [(False, False), (True, True), (True, True), (True, True)]


def test_a_dead_target_is_retried_without_its_secret_in_any_log(
    tmp_path: Path, db_url: str, reviewers, monkeypatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake = Clock(monkeypatch)
    fake.now = START.replace(hour=1, minute=5)
    later = Webhook(port=free_port())
    secret = "S3CRET-token-9f"
    app = _app(tmp_path, db_url, reviewers, later.url(secret))
    caplog.set_level(logging.DEBUG)
    code, output = _notify(app)
    assert code == 1 and "tries again" in output
    with app.app_context():
        [row] = db.session().scalars(select(NotificationSlot))
        assert (row.sent, row.attempts) == (False, 1)
    later.start()  # the target comes back within the slot: the next run delivers
    try:
        fake.now += timedelta(minutes=1)
        assert _notify(app)[0] == 0 and len(later.posts) == 1
        fake.now += timedelta(minutes=1)
        assert _notify(app)[0] == 0 and len(later.posts) == 1
    finally:
        later.stop()
    logged = caplog.text + output
    assert "target #1 (json) of channel default" in caplog.text
    assert secret not in logged and str(later.port) not in logged


def test_no_empty_digest_when_the_operator_says_so(
    tmp_path: Path, db_url: str, reviewers, monkeypatch, webhook: Webhook
) -> None:
    fake = Clock(monkeypatch)
    fake.now = START.replace(hour=1, minute=10)
    app = _app(tmp_path, db_url, reviewers, webhook.url(), TIPBOX_NOTIFY_EMPTY="0")
    assert _notify(app)[0] == 0 and webhook.posts == []
    _report(app)
    fake.now = START.replace(hour=9, minute=10)
    assert _notify(app)[0] == 0 and len(webhook.posts) == 1
    assert "Laporan baru sejak pemberitahuan terakhir: 1" in webhook.posts[0]["message"]


def test_reports_close_to_their_purge_without_a_decision_are_counted(
    tmp_path: Path, db_url: str, reviewers, monkeypatch, webhook: Webhook
) -> None:
    fake = Clock(monkeypatch)
    app = _app(tmp_path, db_url, reviewers, webhook.url(), TIPBOX_RETENTION_UNEXPORTED_DAYS="30",
               TIPBOX_NOTIFY_PURGE_DAYS="7")
    _report(app)
    _report(app)
    with app.app_context(), db.transaction() as session:
        [old, _] = sorted(session.scalars(select(Tip.id)))
        session.execute(text("UPDATE tips SET received_at = :t WHERE id = :i"),
                        {"t": START - timedelta(days=25), "i": old})
    fake.now = START.replace(hour=1, minute=2)
    assert _notify(app)[0] == 0
    body = webhook.posts[-1]["message"]
    assert "Akan dihapus dalam 7 hari tanpa keputusan: 1" in body
    assert "Menunggu diekspor lebih dari 24 jam: 1" in body


def test_targets_file_is_checked_and_never_echoed(tmp_path: Path, db_url: str, reviewers) -> None:
    secret = "pw-8ZQ"
    targets = tmp_path / "targets.toml"
    app = _make(tmp_path / "var", db_url, reviewers, TIPBOX_NOTIFY_TARGETS_FILE=str(targets))
    cases = {
        f'[channels.default]\nurls = ["json://u:{secret}@127.0.0.1:9/x"]\n': None,
        f'[channels.nowhere]\nurls = ["json://u:{secret}@127.0.0.1:9/x"]\n': "no channel 'nowhere'",
        f'[channels.default]\nurls = ["nonsense://u:{secret}@x"]\n': "is not an apprise URL",
        '[channels.default]\nurls = "json://x"\n': "needs urls",
        "urls = ['json://x']\n": "only [channels.<id>] tables",
        "[channels.default\n": "not a valid TOML file",
    }
    for content, error in cases.items():
        targets.write_text(content)
        targets.chmod(0o600)
        result = app.test_cli_runner().invoke(args=["notify", "check"])
        if error is None:
            assert result.exit_code == 0 and "default: json" in result.output, result.output
        else:
            assert result.exit_code != 0 and error in result.output, (content, result.output)
        assert secret not in result.output
    targets.chmod(0o644)
    result = app.test_cli_runner().invoke(args=["notify", "check"])
    assert result.exit_code != 0 and "chmod 600" in result.output
    off_app = _make(tmp_path / "off", f"sqlite:///{tmp_path}/off.sqlite3", reviewers)
    off = off_app.test_cli_runner().invoke(args=["notify", "run"])
    assert off.exit_code != 0 and "notifications are off" in off.output


@pytest.mark.parametrize(("name", "value", "error"), [
    ("TIPBOX_NOTIFY_TIMES", "08:30", "whole hours"),
    ("TIPBOX_NOTIFY_TIMES", "8,16", "whole hours"),
    ("TIPBOX_NOTIFY_TIMES", "08:00,08:00", "repeat"),
    ("TIPBOX_NOTIFY_TIMEZONE", "Mars/Olympus", "time zone"),
    ("TIPBOX_NOTIFY_WAITING_HOURS", "0", "at least 1"),
    ("TIPBOX_NOTIFY_LANGUAGE", "fr", "one of"),
])
def test_bad_schedule_settings_name_the_variable(name: str, value: str, error: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({name: value})
    assert name in str(info.value) and error in str(info.value)


def test_the_urls_never_show_in_the_configuration() -> None:
    config = load_config({"TIPBOX_NOTIFY_URLS": "json://u:pw-123@h/x"})
    assert config.notify.urls == ("json://u:pw-123@h/x",) and "pw-123" not in repr(config)


def test_each_team_hears_of_its_own_reports_and_only_the_lead_is_alerted(
    tmp_path: Path, db_url: str, reviewers, monkeypatch
) -> None:
    """A Kota Blitar report (FORMAT.md §14): Blitar leads, East Java and the national desk read along.
    All three count it in their digests; only Blitar, the responsible team, gets the urgent alert.
    Bengkulu, which does not hold it, counts nothing."""
    from tests.tipbox.network import BENGKULU, BLITAR, JATIM, NASIONAL, seed_network

    fake = Clock(monkeypatch)
    fake.now = START.replace(hour=3)
    hooks = {c: Webhook().start() for c in (BLITAR, JATIM, NASIONAL, BENGKULU)}
    try:
        targets = tmp_path / "targets.toml"
        targets.write_text("".join(f'[channels.{c}]\nurls = ["{h.url()}"]\n' for c, h in hooks.items()))
        targets.chmod(0o600)
        app = _make(tmp_path / "var", db_url, reviewers, TIPBOX_NOTIFY_TARGETS_FILE=str(targets))
        seed_network(app, reviewers[0])
        _report(app, urgent="1")  # province 35, regency 35.72: Blitar's
        assert _notify(app)[0] == 0
        alerts = {c: [p for p in h.posts if "mendesak untuk" in p["title"]] for c, h in hooks.items()}
        assert {c: len(a) for c, a in alerts.items()} == {BLITAR: 1, JATIM: 0, NASIONAL: 0, BENGKULU: 0}
        fake.now = START.replace(hour=9, minute=1)
        assert _notify(app)[0] == 0
        latest = {c: h.posts[-1]["message"] for c, h in hooks.items()}
        for channel in (BLITAR, JATIM, NASIONAL):
            assert "Laporan baru sejak pemberitahuan terakhir: 1" in latest[channel]
            assert "Mendesak, belum diekspor: 1" in latest[channel]
        assert "Laporan baru sejak pemberitahuan terakhir: 0" in latest[BENGKULU]
        _assert_content_free(app, [t for h in hooks.values() for t in h.texts()])
    finally:
        for hook in hooks.values():
            hook.stop()
