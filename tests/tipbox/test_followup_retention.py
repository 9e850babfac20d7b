"""A follow-up from the source gives its tip the time of a new report (GlobaLeaks #3591).

Under the simulated clock of test_retention.py and the default policy (30 / 180 / 30 days,
48 h grace): the server's purge keeps a tip until its latest follow-up's hour plus
``unexported_days``, whatever the tip's state, and the auditor's verifier (crypto/audit.py)
agrees at every step: no violation while the server follows the rule, ``overdue`` the hour
the server would keep it too long. Replies from reviewers extend nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import event, select

from crypto import audit
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.conversation import dispositions_file, import_file, sealed_reply, source_recipient
from tests.tipbox.support import ready_tip_ids, run_cli
from tests.tipbox.test_retention import START, FakeClock, _dispositions, _verify
from tipbox import clock, db
from tipbox.keys import load_server_key
from tipbox.models import Message, Tip
from tipbox.retention import purge as purge_module
from tipbox.retention.purge import DEADLINE_COLUMNS, deadline, expired_ids, purge

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


class Scenario:
    """One tip under the simulated clock, with the daily purge timer and the auditor beside it."""

    def __init__(self, app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.app, self.tmp_path = app, tmp_path
        self.clock = FakeClock(monkeypatch)
        self.browser = BrowserLike(app.test_client())
        self.receipt = self.browser.submit({"description": "informasi pertama"})
        [self.tip_id] = ready_tip_ids(app)
        config = app.extensions["tipbox.config"]
        self.key, self.policy = load_server_key(config.server_key_file), config.retention
        assert (self.policy.unexported_days, self.policy.exported_days, self.policy.grace_hours) == (30, 180, 48)
        # Deadlines are the point here; scrubbing is proven in test_purge_proof.py (VACUUM FULL is slow).
        monkeypatch.setattr(purge_module, "scrub", lambda engine: None)

    @property
    def day(self) -> int:
        return (self.clock.now - START).days

    def export(self) -> None:
        run_cli(self.app, "export", "--out", str(self.tmp_path / f"bundle-{self.day}.tar"))

    def follow_up(self, text: str = "Ada informasi baru.") -> datetime:
        access = self.browser.status(self.receipt).get_json()["access"]
        assert self.browser.follow_up(access, text).status_code == 200
        return clock.hour(self.clock.now)

    def run_purge(self) -> list[str]:
        with self.app.app_context():
            return purge(db.engine(), self.key, self.policy, now=self.clock.now).purged

    def audit(self, at: datetime | None = None) -> audit.Report:
        return _verify(self.app, self.tmp_path, at=at)

    def server_deadline(self) -> datetime:
        """deadline() both ways the server computes it: from a loaded Tip and from expired_ids' row."""
        with self.app.app_context():
            session = db.session()
            tip = session.get(Tip, self.tip_id)
            assert tip is not None
            row = session.execute(select(*DEADLINE_COLUMNS).where(Tip.id == self.tip_id)).one()
            assert deadline(tip, self.policy) == deadline(row, self.policy)
            return deadline(tip, self.policy)

    def daily_until_purged(self, last_day: int, check: Callable[[], None]) -> int:
        """Run the purge once a day, like the timer; after each run the auditor checks; the day it went."""
        while self.day < last_day:
            self.clock.advance(DAY)
            purged = self.run_purge()
            check()
            if self.tip_id in purged:
                return self.day
        raise AssertionError(f"not purged by day {last_day}")


def _agrees(scenario: Scenario) -> Callable[[], None]:
    """The auditor at this moment: no violation, and the same deadline as the server for a kept tip."""

    def check() -> None:
        report = scenario.audit(at=scenario.clock.now)
        assert report.violations == [], (scenario.day, report.violations)
        life = report.tips[scenario.tip_id]
        if life.state != "purged":
            assert life.deadline == scenario.server_deadline().replace(tzinfo=audit.UTC), scenario.day

    return check


def test_a_followup_the_day_before_the_purge_gets_a_new_reports_time(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = Scenario(app, tmp_path, monkeypatch)
    scenario.clock.advance(DAY)
    scenario.export()  # deadline: received + 180 days (day 180)
    scenario.clock.advance(178 * DAY)
    assert scenario.run_purge() == []
    followup = scenario.follow_up()  # day 179, 09:00 (hour-rounded): the team has not seen it
    new_deadline = followup + 30 * DAY  # day 209, 09:00
    assert scenario.server_deadline() == new_deadline
    old_deadline = START.replace(minute=0) + 180 * DAY
    # The auditor accepts the tip kept past its old deadline and grace...
    assert scenario.audit(at=old_deadline + 49 * HOUR).ok
    # ...and would name it overdue the hour after the new deadline's grace, had the server kept it.
    assert scenario.audit(at=new_deadline + 48 * HOUR).ok
    assert [(v.kind, v.tip) for v in scenario.audit(at=new_deadline + 49 * HOUR).violations] == [
        ("overdue", scenario.tip_id)
    ]

    purged_on = scenario.daily_until_purged(215, _agrees(scenario))
    assert purged_on == 209  # not on day 180, where it used to go
    report = scenario.audit(at=scenario.clock.now + 3 * 365 * DAY)
    assert report.violations == [] and report.counts() == {"purged": 1}


def test_a_reply_from_the_reviewers_does_not_extend(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reviewers
) -> None:
    scenario = Scenario(app, tmp_path, monkeypatch)
    scenario.clock.advance(DAY)
    scenario.export()
    scenario.clock.advance(178 * DAY)  # day 179
    reply = sealed_reply("Terima kasih.", source_recipient(app, scenario.tip_id), reviewers)
    result = import_file(app, dispositions_file(reviewers[0], replies=[(scenario.tip_id, reply)]))
    assert result.replies == 1
    assert scenario.server_deadline() == START.replace(minute=0) + 180 * DAY
    assert scenario.daily_until_purged(181, _agrees(scenario)) == 180


def test_a_closed_tip_with_a_followup_is_extended(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reviewers
) -> None:
    scenario = Scenario(app, tmp_path, monkeypatch)
    scenario.clock.advance(DAY)
    scenario.export()
    scenario.clock.advance(9 * DAY)  # day 10: closed, so due on day 40
    _dispositions(app, reviewers[0], scenario.clock.now, [{"tip_id": scenario.tip_id, "status": "closed"}])
    scenario.clock.advance(29 * DAY)  # day 39
    followup = scenario.follow_up("Kasusnya belum selesai.")
    assert scenario.server_deadline() == followup + 30 * DAY  # day 69
    assert scenario.daily_until_purged(75, _agrees(scenario)) == 69


def test_an_unfinished_followup_upload_does_not_extend(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = Scenario(app, tmp_path, monkeypatch)
    scenario.clock.advance(DAY)
    scenario.export()
    scenario.clock.advance(178 * DAY)
    access = scenario.browser.status(scenario.receipt).get_json()["access"]
    opened = scenario.browser.client.post("/api/v1/followups", json={"access": access},
                                          headers=scenario.browser.headers())
    assert opened.status_code == 201  # opened, never finalized: nothing arrived
    assert scenario.daily_until_purged(181, _agrees(scenario)) == 180


def test_expired_ids_reads_every_tips_latest_followup_in_one_statement(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The follow-up term costs no query per tip: one SELECT decides every tip's deadline."""
    scenario = Scenario(app, tmp_path, monkeypatch)
    for n in range(3):
        scenario.browser.submit({"description": f"tip {n}"})
    scenario.clock.advance(20 * DAY)
    scenario.follow_up()  # the first tip: due on day 50 now, the others on day 30
    scenario.clock.advance(15 * DAY)  # day 35
    with app.app_context():
        engine, statements = db.engine(), []

        def count(conn, cursor, statement, parameters, context, executemany) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            due = expired_ids(db.session(), scenario.policy, scenario.clock.now)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        kinds = {m.kind for m in db.session().scalars(select(Message))}
    assert len(statements) == 1, statements
    assert set(due) == ready_tip_ids(app) - {scenario.tip_id} and len(due) == 3
    assert kinds == {"followup"}
