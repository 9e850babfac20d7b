"""The audit verifier in detail: exact reports, rule boundaries, and the formats it relies on.

test_audit.py shows that tampering is *detected*; mutation testing (`make mutate`)
showed that almost nothing pinned *what* the auditor is told, nor the edges of the
retention rules (FORMAT.md §9.2). An auditor acts on the report: its kinds, entry
numbers, tips and messages are the product, so one test pins a report covering
every kind of violation, and the others walk each rule up to its boundary.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import nacl.signing
import pytest

from crypto import audit
from crypto.errors import MalformedDocument
from crypto.signing import CONTEXT_AUDIT_CHECKPOINT, public_key_b64, verify_document

KEY = nacl.signing.SigningKey(bytes(range(32)))
PUB = public_key_b64(KEY)
OTHER = nacl.signing.SigningKey(bytes(range(1, 33)))
START = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
# Deliberately unlike the defaults (30/180/30/365/48), so using the wrong policy shows.
POLICY = audit.Policy(unexported_days=10, exported_days=100, closed_days=5, max_hold_days=50, grace_hours=24)
A, B, C, D = "a" * 32, "b" * 32, "c" * 32, "d" * 32


class Log:
    """Builds an export line by line; ``raw`` appends entries the server would never write."""

    def __init__(self, key: nacl.signing.SigningKey = KEY) -> None:
        self.key = key
        self.lines: list[str] = [json.dumps({"type": "tipbox-audit-log", "v": 1, "server_key": public_key_b64(key)})]
        self.head = audit.GENESIS
        self.seq = 0

    def raw(self, entry: dict[str, Any]) -> None:
        self.lines.append(json.dumps({"entry": entry}))
        self.head = audit.entry_hash(entry)
        self.seq = entry["seq"] + 1 if isinstance(entry.get("seq"), int) else self.seq + 1

    def event(self, when: datetime, event: str, tip: str | None = None, **data: Any) -> None:
        self.raw(audit.make_entry(self.seq, self.head, audit.hour(when), event, tip, data))

    def checkpoint(self, when: datetime, key: nacl.signing.SigningKey | None = None) -> None:
        document = audit.make_checkpoint(self.seq - 1, self.head, audit.hour(when), key or self.key)
        self.lines.append(json.dumps({"checkpoint": document}))

    def verify(self, **kwargs: Any) -> audit.Report:
        return audit.verify(self.lines, **kwargs)


def _kinds(report: audit.Report) -> list[tuple[str, int | None, str | None]]:
    return [(v.kind, v.seq, v.tip) for v in report.violations]


# --- the report an auditor reads --------------------------------------------------------------


def test_report_of_a_log_with_every_kind_of_violation() -> None:
    """Every violation kind with its entry number, tip and message, and the totals.

    Walk-through (policy from the log: 10/100/5/50 days, 24 h grace):
    seq 2 receives A again; seq 3 exports C, never received; seq 5 closes A after
    its purge; seq 6 is a policy.changed whose policy is no policy (the old one
    stays); seq 8 holds B 51 days (> 50); seq 9 is an unknown event; seq 10 has a
    malformed time. Then a line that is no record, a line that is not JSON, a
    blank line (skipped), a checkpoint by another key, a checkpoint over a wrong
    head; seq 12 comes where 11 was expected (the log resynchronises: seq 13 is
    fine), seq 14 does not link to 13, and nothing signs the end of the log. At
    the last good checkpoint (day 3): D, received on day -20 and never exported,
    passed its deadline (day -10) 13 days ago; B is held (deadline = hold end).
    Line numbers count the header as line 1 and blank lines too.
    """
    log = Log()
    log.event(START, "policy.changed", policy=POLICY.as_document())  # 0
    log.event(START, "tip.received", A)  # 1
    log.event(START, "tip.received", A)  # 2 duplicate
    log.event(START, "tip.exported", C)  # 3 unknown tip
    log.event(START + HOUR, "tip.purged", A)  # 4
    log.event(START + 2 * HOUR, "tip.closed", A)  # 5 after purge
    log.event(START + 2 * HOUR, "policy.changed", policy={"type": "something else"})  # 6 malformed policy
    log.event(START + 3 * HOUR, "tip.received", B)  # 7
    log.event(START + 3 * HOUR, "tip.held", B, until=audit.hour(START + 3 * HOUR + 51 * DAY))  # 8 bad hold
    log.raw({"seq": 9, "prev": log.head, "time": audit.hour(START), "event": "tip.bogus", "tip": B, "data": {}})
    log.raw({"seq": 10, "prev": log.head, "time": "yesterday", "event": "tip.exported", "tip": B, "data": {}})
    log.checkpoint(START + 3 * DAY)  # over seq 10: good
    log.lines.append(json.dumps({"note": "hello"}))
    log.lines.append("{]")
    log.lines.append("   ")
    log.checkpoint(START + 4 * DAY, key=OTHER)
    log.lines.append(json.dumps({"checkpoint": audit.make_checkpoint(10, "0" * 64, audit.hour(START), KEY)}))
    log.raw({"seq": 12, "prev": log.head, "time": audit.hour(START - 20 * DAY), "event": "tip.received", "tip": D,
             "data": {}})
    log.event(START, "tip.reply", D)  # 13: seq follows on from 12; a reply changes no deadline
    log.raw({"seq": 14, "prev": "f" * 64, "time": audit.hour(START), "event": "uploads.abandoned", "tip": None,
             "data": {"count": 1}})
    report = log.verify(trusted_keys=[PUB])
    assert report.as_json() == {
        "ok": False,
        "server_key": PUB,
        "entries": 14,
        "checkpoints": 1,
        "at": "2026-01-04T00:00:00Z",
        "tips": {"purged": 1, "held": 1, "overdue": 1},
        # Entries from before channels name none: their tips are the single channel's, "default".
        "channels": {"default": {"tips": {"purged": 1, "held": 1, "overdue": 1}, "violations": 4}},
        "violations": [
            {"kind": "duplicate_tip", "seq": 2, "message": "tip received twice", "tip": A},
            {"kind": "unknown_tip", "seq": 3, "message": "tip.exported for a tip never received", "tip": C},
            {"kind": "after_purge", "seq": 5, "message": "tip.closed after the tip was purged", "tip": A},
            {"kind": "malformed", "seq": 6, "message": "not a tipbox retention policy v1", "tip": None},
            {"kind": "bad_hold", "seq": 8, "message": "hold longer than the policy allows", "tip": B},
            {"kind": "malformed", "seq": 9, "message": "line 11: unknown event tip.bogus", "tip": None},
            {"kind": "malformed", "seq": 10, "message": "line 12: time must be YYYY-MM-DDTHH:MM:SSZ", "tip": None},
            {"kind": "malformed", "seq": None, "message": "line 14: not an entry or checkpoint", "tip": None},
            {"kind": "malformed", "seq": None, "message": "line 15: not an entry or checkpoint", "tip": None},
            {"kind": "bad_checkpoint", "seq": None, "message": "line 17: checkpoint rejected (BadSignature)",
             "tip": None},
            {"kind": "bad_checkpoint", "seq": 10,
             "message": "line 18: checkpoint does not match the chain (entries edited, deleted or reordered)",
             "tip": None},
            {"kind": "broken_chain", "seq": 12,
             "message": "line 19: expected entry 11, found 12 (deleted or reordered entries)", "tip": None},
            {"kind": "broken_chain", "seq": 14,
             "message": "line 21: entry does not follow the one before it (edited, deleted or reordered)",
             "tip": None},
            {"kind": "missing_checkpoint", "seq": 14,
             "message": "the end of the log is not covered by a signed checkpoint "
                        "(truncated, or entries appended after signing)", "tip": None},
            {"kind": "overdue", "seq": None, "message": "still kept 13 days, 0:00:00 after its deadline", "tip": D},
        ],
    }
    assert report.tips[B].deadline == START + 3 * HOUR + 51 * DAY


def test_a_late_purge_is_reported_with_how_late() -> None:
    log = Log()
    log.event(START, "tip.received", A)
    log.event(START + 12 * DAY, "tip.purged", A)
    log.checkpoint(START + 12 * DAY)
    [violation] = log.verify(trusted_keys=[PUB], policy=POLICY).violations
    assert violation.__dict__ == {"kind": "overdue", "seq": 1, "message": "purged 2 days, 0:00:00 after its deadline",
                                  "tip": A}


@pytest.mark.parametrize("lines", [[], ["not json"], ['{"type": "tipbox-audit-log-v2"}'], ["[1, 2]"]])
def test_not_a_log(lines: list[str]) -> None:
    report = audit.verify(lines, [PUB])
    assert report.as_json()["violations"] == [
        {"kind": "malformed", "seq": None, "message": "not a tipbox audit log", "tip": None}
    ]
    assert report.entries == 0


def test_an_unpinned_key_is_named() -> None:
    log = Log(key=OTHER)
    log.event(START, "tip.received", A)
    log.checkpoint(START)
    report = log.verify(trusted_keys=[PUB], at=START)
    assert report.violations[0].__dict__ == {
        "kind": "untrusted_key", "seq": None, "message": "the log names a server key you did not pin", "tip": None,
    }
    assert [v.kind for v in report.violations] == ["untrusted_key", "bad_checkpoint", "missing_checkpoint"]


def test_without_a_pin_the_logs_own_key_checks_the_checkpoints() -> None:
    """``trusted_keys=None`` trusts the key the log names (weaker, but must still work)."""
    log = Log(key=OTHER)
    log.event(START, "tip.received", A)
    log.checkpoint(START)
    report = log.verify()
    assert report.ok and report.checkpoints == 1


def test_a_log_naming_no_key_has_no_valid_checkpoint() -> None:
    log = Log()
    log.lines[0] = json.dumps({"type": "tipbox-audit-log", "v": 1})
    log.event(START, "tip.received", A)
    log.checkpoint(START)
    assert [v.kind for v in log.verify(at=START).violations] == ["bad_checkpoint", "missing_checkpoint"]


def test_blank_lines_are_skipped_not_the_end() -> None:
    log = Log()
    log.event(START, "tip.received", A)
    log.lines.append("")
    log.event(START, "tip.exported", A)
    log.checkpoint(START)
    report = log.verify(trusted_keys=[PUB])
    assert report.ok and report.entries == 2 and report.checkpoints == 1


def test_records_after_a_bad_checkpoint_are_still_checked() -> None:
    log = Log()
    log.event(START, "tip.received", A)
    log.checkpoint(START, key=OTHER)
    log.event(START, "tip.exported", A)
    log.lines.append(json.dumps({"checkpoint": audit.make_checkpoint(0, "0" * 64, audit.hour(START), KEY)}))
    log.event(START, "tip.closed", A)
    log.checkpoint(START + DAY)
    report = log.verify(trusted_keys=[PUB], policy=POLICY)
    assert [v.kind for v in report.violations] == ["bad_checkpoint", "bad_checkpoint"]
    assert report.entries == 3 and report.checkpoints == 1
    assert report.tips[A].closed == START


# --- the chain and its checkpoints -------------------------------------------------------------


def test_entries_without_any_checkpoint() -> None:
    log = Log()
    log.event(START, "tip.received", A)
    log.event(START, "tip.received", B)
    [violation] = log.verify(trusted_keys=[PUB], at=START).violations
    assert (violation.kind, violation.seq) == ("missing_checkpoint", 1)


def test_one_entry_after_the_last_checkpoint_is_a_truncation_sign() -> None:
    log = Log()
    for tip in (A, B, C):
        log.event(START, "tip.received", tip)
    log.checkpoint(START)
    log.event(START, "tip.received", D)
    assert _kinds(log.verify(trusted_keys=[PUB])) == [("missing_checkpoint", 3, None)]
    log.checkpoint(START)
    assert log.verify(trusted_keys=[PUB]).ok


def test_a_checkpoint_over_an_earlier_entry_counts_but_does_not_cover_the_end() -> None:
    log = Log()
    log.event(START, "tip.received", A)
    log.checkpoint(START)
    log.event(START, "tip.received", B)
    log.event(START, "tip.received", C)
    report = log.verify(trusted_keys=[PUB])
    assert report.checkpoints == 1
    assert _kinds(report) == [("missing_checkpoint", 2, None)]


def test_an_entry_whose_seq_is_not_a_number_breaks_the_chain_only_there() -> None:
    log = Log()
    log.raw({"seq": "0", "prev": audit.GENESIS, "time": audit.hour(START), "event": "tip.received", "tip": A,
             "data": {}})
    report = log.verify(trusted_keys=[PUB], at=START)
    assert [(v.kind, v.seq, v.message) for v in report.violations] == [
        ("broken_chain", None, "line 2: expected entry 0, found 0 (deleted or reordered entries)"),
    ]


def test_a_wrong_seq_with_a_correct_link_is_still_named() -> None:
    """The seq check stands on its own: an entry may link correctly yet claim another number."""
    log = Log()
    log.event(START, "tip.received", A)
    log.raw({"seq": 5, "prev": log.head, "time": audit.hour(START), "event": "tip.received", "tip": B, "data": {}})
    log.raw({"seq": 6, "prev": log.head, "time": audit.hour(START), "event": "tip.received", "tip": C, "data": {}})
    log.lines.append(json.dumps({"checkpoint": audit.make_checkpoint(6, log.head, audit.hour(START), KEY)}))
    assert _kinds(log.verify(trusted_keys=[PUB])) == [("broken_chain", 5, None)]


def test_the_default_moment_is_the_last_valid_checkpoint() -> None:
    log = Log()
    log.event(START, "tip.received", A)
    log.checkpoint(START + 5 * DAY)
    log.checkpoint(START + 9 * DAY)
    log.checkpoint(START + 200 * DAY, key=OTHER)
    report = log.verify(trusted_keys=[PUB])
    assert report.at == START + 9 * DAY
    assert report.last_checkpoint_time == "2026-01-10T00:00:00Z"
    assert report.tips[A].state == "kept"  # unexported: 30 days by default


# --- retention rules at their boundaries (FORMAT.md §9.2) --------------------------------------


def _received(tip: str = A) -> Log:
    log = Log()
    log.event(START, "tip.received", tip)
    return log


def test_a_purge_exactly_at_deadline_plus_grace_complies() -> None:
    on_time = _received()
    on_time.event(START + 10 * DAY + 24 * HOUR, "tip.purged", A)
    on_time.checkpoint(START + 11 * DAY)
    assert on_time.verify(trusted_keys=[PUB], policy=POLICY).ok
    late = _received()
    late.event(START + 10 * DAY + 25 * HOUR, "tip.purged", A)
    late.checkpoint(START + 12 * DAY)
    assert _kinds(late.verify(trusted_keys=[PUB], policy=POLICY)) == [("overdue", 1, A)]


def test_a_kept_tip_is_overdue_only_after_deadline_plus_grace() -> None:
    log = _received()
    log.checkpoint(START)
    for at, state in [(START + 10 * DAY, "kept"), (START + 11 * DAY, "kept"), (START + 11 * DAY + HOUR, "overdue")]:
        report = log.verify(trusted_keys=[PUB], policy=POLICY, at=at)
        assert report.tips[A].state == state, at
        assert report.ok == (state == "kept")
        assert report.counts() == {state: 1}


def test_exporting_and_closing_move_the_deadline() -> None:
    log = _received()
    log.event(START + DAY, "tip.exported", A)
    log.event(START + 2 * DAY, "tip.exported", A)  # the first export counts; it does not matter for the rule
    log.checkpoint(START + 2 * DAY)
    assert log.verify(trusted_keys=[PUB], policy=POLICY).tips[A].deadline == START + 100 * DAY
    log.event(START + 20 * DAY, "tip.closed", A)
    log.checkpoint(START + 20 * DAY)
    assert log.verify(trusted_keys=[PUB], policy=POLICY).tips[A].deadline == START + 25 * DAY
    report = log.verify(trusted_keys=[PUB], policy=POLICY, at=START + 27 * DAY)
    assert _kinds(report) == [("overdue", None, A)]


def test_reopening_a_closed_tip_restores_the_exported_deadline() -> None:
    log = _received()
    log.event(START + DAY, "tip.exported", A)
    log.event(START + 20 * DAY, "tip.closed", A)
    log.event(START + 21 * DAY, "tip.status", A, status="open")
    log.checkpoint(START + 21 * DAY)
    report = log.verify(trusted_keys=[PUB], policy=POLICY, at=START + 60 * DAY)
    assert report.ok
    assert report.tips[A].closed is None and report.tips[A].deadline == START + 100 * DAY


def test_a_hold_of_exactly_the_maximum_is_allowed() -> None:
    log = _received()
    log.event(START, "tip.held", A, until=audit.hour(START + 50 * DAY), reason="court")
    log.checkpoint(START)
    assert log.verify(trusted_keys=[PUB], policy=POLICY).ok
    log = _received()
    log.event(START, "tip.held", A, until=audit.hour(START + 50 * DAY + HOUR), reason="court")
    log.checkpoint(START)
    assert _kinds(log.verify(trusted_keys=[PUB], policy=POLICY)) == [("bad_hold", 1, A)]


def test_a_tip_is_held_up_to_and_including_the_hold_end() -> None:
    log = _received()
    log.event(START, "tip.held", A, until=audit.hour(START + 40 * DAY), reason="court")
    log.checkpoint(START)
    states = {
        START + 39 * DAY: "held",
        START + 40 * DAY: "held",
        START + 40 * DAY + HOUR: "kept",  # hold over, within the grace to purge
        START + 41 * DAY: "kept",
        START + 41 * DAY + HOUR: "overdue",
    }
    for at, state in states.items():
        assert log.verify(trusted_keys=[PUB], policy=POLICY, at=at).tips[A].state == state, at


def test_a_hold_that_ends_before_the_deadline_does_not_make_a_tip_held() -> None:
    log = _received()
    log.event(START + DAY, "tip.exported", A)
    log.event(START + DAY, "tip.held", A, until=audit.hour(START + 30 * DAY), reason="court")
    log.checkpoint(START + DAY)
    report = log.verify(trusted_keys=[PUB], policy=POLICY, at=START + 20 * DAY)
    assert report.tips[A].deadline == START + 100 * DAY
    assert report.tips[A].state == "kept"


def test_releasing_a_hold_early_ends_it_at_the_release() -> None:
    log = _received()
    log.event(START + DAY, "tip.exported", A)
    log.event(START + 90 * DAY, "tip.held", A, until=audit.hour(START + 130 * DAY), reason="court")
    log.event(START + 110 * DAY, "tip.released", A)
    log.checkpoint(START + 110 * DAY)
    report = log.verify(trusted_keys=[PUB], policy=POLICY, at=START + 112 * DAY)
    assert report.tips[A].deadline == START + 110 * DAY
    assert _kinds(report) == [("overdue", None, A)]


def test_conversation_events_do_not_end_a_hold() -> None:
    log = _received()
    log.event(START, "tip.held", A, until=audit.hour(START + 40 * DAY), reason="court")
    log.event(START + DAY, "tip.followup", A)
    log.event(START + 2 * DAY, "tip.reply", A)
    log.checkpoint(START + 2 * DAY)
    report = log.verify(trusted_keys=[PUB], policy=POLICY, at=START + 30 * DAY)
    assert report.ok and report.tips[A].state == "held"


def test_a_followup_gives_the_tip_the_time_of_a_new_report() -> None:
    """GlobaLeaks #3591: new information the day before the deadline must not be deleted unread.

    Exported (deadline day 100); the source adds something on day 99 at 13:00, so the
    tip may be kept until day 109 13:00 (99 + unexported_days), plus the grace.
    """
    log = _received()
    log.event(START + DAY, "tip.exported", A)
    followup = START + 99 * DAY + 13 * HOUR
    log.event(followup, "tip.followup", A, id="e" * 32, size=1024, attachments=0, sealed_by="browser")
    log.checkpoint(followup)
    new_deadline = followup + 10 * DAY
    report = log.verify(trusted_keys=[PUB], policy=POLICY, at=START + 101 * DAY + HOUR)  # past the old one + grace
    assert report.ok and report.tips[A].deadline == new_deadline and report.tips[A].state == "kept"
    assert report.tips[A].followup == followup
    assert log.verify(trusted_keys=[PUB], policy=POLICY, at=new_deadline + 24 * HOUR).ok
    assert _kinds(log.verify(trusted_keys=[PUB], policy=POLICY, at=new_deadline + 25 * HOUR)) == [("overdue", None, A)]
    on_time = _received()
    on_time.event(START + DAY, "tip.exported", A)
    on_time.event(followup, "tip.followup", A)
    on_time.event(new_deadline + 24 * HOUR, "tip.purged", A)
    on_time.checkpoint(new_deadline + 24 * HOUR)
    assert on_time.verify(trusted_keys=[PUB], policy=POLICY).ok
    late = _received()
    late.event(START + DAY, "tip.exported", A)
    late.event(followup, "tip.followup", A)
    late.event(new_deadline + 25 * HOUR, "tip.purged", A)
    late.checkpoint(new_deadline + 25 * HOUR)
    assert _kinds(late.verify(trusted_keys=[PUB], policy=POLICY)) == [("overdue", 3, A)]


def test_a_followup_never_shortens_a_deadline() -> None:
    """Early in an exported tip's life a follow-up's 10 days end long before day 100: day 100 stays."""
    log = _received()
    log.event(START + DAY, "tip.exported", A)
    log.event(START + 5 * DAY, "tip.followup", A)
    log.checkpoint(START + 5 * DAY)
    assert log.verify(trusted_keys=[PUB], policy=POLICY).tips[A].deadline == START + 100 * DAY


def test_a_followup_to_a_closed_tip_extends_it_too() -> None:
    """Closed on day 20 (deadline day 25); new information on day 24 deserves a look: day 34."""
    log = _received()
    log.event(START + DAY, "tip.exported", A)
    log.event(START + 20 * DAY, "tip.closed", A)
    log.event(START + 24 * DAY, "tip.followup", A)
    log.event(START + 30 * DAY, "tip.purged", A)  # after the closed deadline + grace, within the new one
    log.checkpoint(START + 30 * DAY)
    report = log.verify(trusted_keys=[PUB], policy=POLICY)
    assert report.ok and report.tips[A].state == "purged"
    kept = _received()
    kept.event(START + 20 * DAY, "tip.closed", A)
    kept.event(START + 24 * DAY, "tip.followup", A)
    kept.checkpoint(START + 24 * DAY)
    assert kept.verify(trusted_keys=[PUB], policy=POLICY).tips[A].deadline == START + 34 * DAY
    assert not kept.verify(trusted_keys=[PUB], policy=POLICY, at=START + 35 * DAY + HOUR).ok


def test_the_latest_followup_counts() -> None:
    """Events are in chain order, not always in time order: the newest follow-up decides."""
    log = _received()
    log.event(START + 8 * DAY, "tip.followup", A)
    log.event(START + 6 * DAY, "tip.followup", A)
    log.checkpoint(START + 8 * DAY)
    assert log.verify(trusted_keys=[PUB], policy=POLICY).tips[A].deadline == START + 18 * DAY


@pytest.mark.parametrize("event", ["tip.reply", "tip.note", "tip.status", "tip.forwarded", "tip.resealed"])
def test_reviewers_messages_and_other_events_do_not_extend(event: str) -> None:
    """Only the source's follow-up is new information that must be seen: a reply or a note is the team's own."""
    log = _received()
    log.event(START + 9 * DAY, event, A)
    log.checkpoint(START + 9 * DAY)
    report = log.verify(trusted_keys=[PUB], policy=POLICY, at=START + 11 * DAY + HOUR)
    assert report.tips[A].deadline == START + 10 * DAY
    assert _kinds(report) == [("overdue", None, A)]


def test_a_followup_beyond_a_hold_outlasts_it_and_a_longer_hold_wins() -> None:
    log = _received()
    log.event(START, "tip.held", A, until=audit.hour(START + 40 * DAY), reason="court")
    log.event(START + 35 * DAY, "tip.followup", A)
    log.checkpoint(START + 35 * DAY)
    report = log.verify(trusted_keys=[PUB], policy=POLICY, at=START + 41 * DAY)
    assert report.ok and report.tips[A].deadline == START + 45 * DAY and report.tips[A].state == "kept"
    log.event(START + 36 * DAY, "tip.held", A, until=audit.hour(START + 60 * DAY), reason="court")
    log.checkpoint(START + 36 * DAY)
    report = log.verify(trusted_keys=[PUB], policy=POLICY, at=START + 50 * DAY)
    assert report.ok and report.tips[A].deadline == START + 60 * DAY and report.tips[A].state == "held"


def test_a_followup_after_the_purge_is_named() -> None:
    log = _received()
    log.event(START + 10 * DAY, "tip.purged", A)
    log.event(START + 10 * DAY, "tip.followup", A)
    log.checkpoint(START + 10 * DAY)
    assert _kinds(log.verify(trusted_keys=[PUB], policy=POLICY)) == [("after_purge", 2, A)]


def test_notification_events_are_accepted_and_touch_no_tip() -> None:
    """notify.digest / notify.urgent (FORMAT.md §9): counts for a channel, no tip; the replay skips them."""
    log = _received()
    slot = audit.hour(START + 9 * HOUR)
    log.event(START + 9 * HOUR, "notify.digest", None, channel="default", slot=slot, new=1, waiting=0, urgent=0,
              purge_soon=0)
    log.event(START + 9 * HOUR, "notify.urgent", None, channel="default", slot=slot, count=1)
    log.checkpoint(START + 9 * HOUR)
    report = log.verify(trusted_keys=[PUB], policy=POLICY)
    assert report.ok and report.entries == 3 and report.counts() == {"kept": 1}
    assert report.tips[A].deadline == START + 10 * DAY
    assert {"notify.digest", "notify.urgent"} <= audit.EVENTS and not {"notify.digest", "notify.urgent"} & audit.TIP_EVENTS


def test_the_policy_in_the_log_applies_from_where_it_changes() -> None:
    log = Log()
    log.event(START, "policy.changed", policy=POLICY.as_document())
    log.event(START, "tip.received", A)
    log.event(START + 15 * DAY, "tip.purged", A)  # 10 days + 24 h under POLICY: late
    log.checkpoint(START + 15 * DAY)
    assert _kinds(log.verify(trusted_keys=[PUB])) == [("overdue", 2, A)]


def test_a_policy_change_without_a_policy_is_malformed_and_changes_nothing() -> None:
    log = Log()
    log.event(START, "policy.changed", policy=POLICY.as_document())
    log.event(START, "policy.changed")
    log.event(START, "tip.received", A)
    log.checkpoint(START)
    report = log.verify(trusted_keys=[PUB], at=START + 12 * DAY)
    assert [(v.kind, v.seq, v.message) for v in report.violations] == [
        ("malformed", 1, "not a tipbox retention policy v1"),
        ("overdue", None, "still kept 2 days, 0:00:00 after its deadline"),  # at - deadline, grace aside
    ]


def test_a_published_policy_overrides_the_log() -> None:
    """The auditor's policy wins over ``policy.changed`` entries (which the server writes)."""
    log = Log()
    log.event(START, "policy.changed", policy=audit.Policy(unexported_days=1000).as_document())
    log.event(START, "tip.received", A)
    log.checkpoint(START)
    at = START + 12 * DAY
    assert log.verify(trusted_keys=[PUB], at=at).ok
    assert _kinds(log.verify(trusted_keys=[PUB], at=at, policy=POLICY)) == [("overdue", None, A)]


def test_without_any_policy_the_defaults_apply() -> None:
    log = _received()
    log.checkpoint(START)
    assert log.verify(trusted_keys=[PUB], at=START + 32 * DAY).ok
    assert not log.verify(trusted_keys=[PUB], at=START + 32 * DAY + HOUR).ok


# --- the policy document ----------------------------------------------------------------------


def test_policy_document_round_trip() -> None:
    document = POLICY.as_document()
    assert document == {
        "type": "tipbox-retention-policy", "v": 1, "unexported_days": 10, "exported_days": 100, "closed_days": 5,
        "max_hold_days": 50, "grace_hours": 24,
    }
    assert audit.Policy.from_document(document) == POLICY
    zero = dict(document, grace_hours=0, closed_days=0)
    assert audit.Policy.from_document(zero).grace_hours == 0


@pytest.mark.parametrize(
    "change",
    [
        {"type": "tipbox-retention-policy-v2"},
        {"v": 2},
        {"v": "1"},
        {"grace_hours": -1},
        {"grace_hours": True},
        {"exported_days": "180"},
        {"closed_days": None},
        {"max_hold_days": 1.5},
    ],
    ids=lambda c: json.dumps(c),
)
def test_policy_documents_that_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(MalformedDocument):
        audit.Policy.from_document(dict(POLICY.as_document(), **change))


def test_a_policy_document_missing_a_member_is_refused() -> None:
    document = POLICY.as_document()
    del document["max_hold_days"]
    with pytest.raises(MalformedDocument):
        audit.Policy.from_document(document)


# --- formats (FORMAT.md §9) -------------------------------------------------------------------


def test_entry_hash_is_the_specified_sha256() -> None:
    """SHA-256("tipbox/audit-entry/v1\\n" || canonical JSON), with the canonical bytes
    written out by hand: sorted keys, no spaces, non-ASCII as UTF-8, not escaped."""
    entry = {"seq": 3, "prev": "0" * 64, "time": "2026-01-01T00:00:00Z", "event": "tip.held", "tip": A,
             "data": {"reason": "pengadilan-é", "until": "2026-02-01T00:00:00Z"}}
    canonical = (
        '{"data":{"reason":"pengadilan-é","until":"2026-02-01T00:00:00Z"},"event":"tip.held","prev":"'
        + "0" * 64
        + '","seq":3,"time":"2026-01-01T00:00:00Z","tip":"'
        + A
        + '"}'
    ).encode()
    assert audit.entry_hash(entry) == hashlib.sha256(b"tipbox/audit-entry/v1\n" + canonical).hexdigest()


@pytest.mark.parametrize(
    ("size", "bucket"), [(0, 1), (1, 1), (2, 2), (3, 4), (4, 4), (5, 8), (1023, 1024), (1024, 1024), (1025, 2048)]
)
def test_sizes_are_rounded_up_to_a_power_of_two(size: int, bucket: int) -> None:
    assert audit.size_bucket(size) == bucket


def test_times_are_rounded_down_to_the_hour() -> None:
    assert audit.hour(datetime(2026, 3, 4, 13, 59, 59, 999_999, tzinfo=UTC)) == "2026-03-04T13:00:00Z"
    assert audit.parse_time("2026-03-04T13:00:00Z") == datetime(2026, 3, 4, 13, tzinfo=UTC)
    with pytest.raises(MalformedDocument):
        audit.parse_time("2026-03-04 13:00:00")


def test_unknown_events_are_never_written() -> None:
    with pytest.raises(MalformedDocument):
        audit.make_entry(0, audit.GENESIS, "2026-01-01T00:00:00Z", "tip.bogus", A, {})


def test_checkpoint_body_is_the_specified_document() -> None:
    document = audit.make_checkpoint(7, "ab" * 32, "2026-01-01T00:00:00Z", KEY)
    body = verify_document(document, CONTEXT_AUDIT_CHECKPOINT, [PUB])
    assert body == {"type": "tipbox-audit-checkpoint", "v": 1, "seq": 7, "head": "ab" * 32,
                    "time": "2026-01-01T00:00:00Z"}


def test_export_header_and_records() -> None:
    out = io.StringIO()
    entry = audit.make_entry(0, audit.GENESIS, "2026-01-01T00:00:00Z", "tip.received", A, {"size": 4})
    audit.write_log(out, PUB, [{"entry": entry}])
    header, record = out.getvalue().splitlines()
    assert json.loads(header) == {"type": "tipbox-audit-log", "v": 1, "server_key": PUB}
    assert json.loads(record) == {"entry": entry}
    assert out.getvalue().endswith("\n")


@pytest.mark.parametrize("version", [2, 0, None, "1", True])
def test_a_log_of_a_version_this_verifier_does_not_know_is_refused(version: object) -> None:
    """The header's "v" was never checked: a future log would have been judged by today's rules."""
    header = {"type": audit.LOG_TYPE, "server_key": "A" * 43 + "="}
    if version is not None:
        header["v"] = version
    report = audit.verify([json.dumps(header)], None)
    assert [(v.kind, v.message) for v in report.violations] == [
        ("malformed", f"audit log version {version!r} is not supported (this verifier knows {audit.VERSION})")
    ]


def test_the_report_counts_each_channel_holding_a_tip() -> None:
    """tip.received names the channels holding a tip (lead first): each is reported with its tips' states.

    Blitar's tip is held by Blitar, East Java and the national desk; the tip
    without a region by the catch-all and the national desk. Only the second
    is overdue (never exported, 10 days + 24 h grace passed), so the national
    desk and the catch-all each have one violation and Blitar none.
    """
    log = Log()
    log.event(START, "policy.changed", policy=POLICY.as_document())
    log.event(START, "tip.received", A, channels=["blitar-kota", "jatim-uptd-ppa", "nasional"])
    log.event(START, "tip.exported", A, channel="blitar-kota")
    log.event(START, "tip.received", B, channels=["umum", "nasional"])
    log.checkpoint(START + 12 * DAY)
    report = log.verify(trusted_keys=[PUB])
    assert report.as_json()["channels"] == {
        "blitar-kota": {"tips": {"kept": 1}, "violations": 0},
        "jatim-uptd-ppa": {"tips": {"kept": 1}, "violations": 0},
        "nasional": {"tips": {"kept": 1, "overdue": 1}, "violations": 1},
        "umum": {"tips": {"overdue": 1}, "violations": 1},
    }


@pytest.mark.parametrize("channels", [[], "umum", [1], None])
def test_a_received_entry_with_malformed_channels_is_a_violation(channels: object) -> None:
    log = Log()
    log.event(START, "tip.received", A, channels=channels)
    log.checkpoint(START + DAY)
    assert [(v.kind, v.message) for v in log.verify(trusted_keys=[PUB]).violations] == [
        ("malformed", "tip.received names no channels")
    ]


def test_a_forward_adds_its_channel_to_the_report_and_a_lead_forward_puts_it_first() -> None:
    log = Log()
    log.event(START, "policy.changed", policy=POLICY.as_document())
    log.event(START, "tip.received", A, channels=["blitar-kota", "nasional"])
    log.event(START, "tip.forwarded", A, to="bengkulu-tengah", lead=False)
    log.event(START, "tip.received", B, channels=["blitar-kota", "nasional"])
    log.event(START, "tip.forwarded", B, to="bengkulu-tengah", lead=True)
    log.event(START, "tip.forwarded", B, to="bengkulu-tengah", lead=True)  # already holds it: no change
    log.checkpoint(START + DAY)
    report = log.verify(trusted_keys=[PUB])
    assert report.tips[A].channels == ("blitar-kota", "nasional", "bengkulu-tengah")
    assert report.tips[B].channels == ("bengkulu-tengah", "blitar-kota", "nasional")
    assert report.as_json()["channels"]["bengkulu-tengah"] == {"tips": {"kept": 2}, "violations": 0}
