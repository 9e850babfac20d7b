"""The audit log verifier: an honest multi-year log passes; every kind of tampering is named."""

from __future__ import annotations

import copy
import io
import json
from datetime import UTC, datetime, timedelta

import nacl.signing
import pytest

from crypto import audit
from crypto.signing import public_key_b64

KEY = nacl.signing.SigningKey(bytes(range(32)))
PUB = public_key_b64(KEY)
POLICY = audit.Policy(unexported_days=30, exported_days=180, closed_days=30, max_hold_days=365, grace_hours=48)
START = datetime(2026, 1, 1, tzinfo=UTC)


class Log:
    """Builds a log the way the server does, driven by a simulated clock."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.head = audit.GENESIS
        self.seq = 0

    def event(self, when: datetime, event: str, tip: str | None = None, **data) -> None:
        entry = audit.make_entry(self.seq, self.head, audit.hour(when), event, tip, data)
        self.records.append({"entry": entry})
        self.head = audit.entry_hash(entry)
        self.seq += 1

    def checkpoint(self, when: datetime, key: nacl.signing.SigningKey = KEY) -> None:
        self.records.append({"checkpoint": audit.make_checkpoint(self.seq - 1, self.head, audit.hour(when), key)})

    def lines(self, key: str = PUB) -> list[str]:
        out = io.StringIO()
        audit.write_log(out, key, self.records)
        return out.getvalue().splitlines()


def honest_log() -> Log:
    log = Log()
    day = timedelta(days=1)
    log.event(START, "policy.changed", policy=POLICY.as_document())
    tips = {name: name * 32 for name in "abcdef"}
    for n, tip in enumerate(tips.values()):
        log.event(START + n * day, "tip.received", tip, sha256="0" * 64, size=audit.size_bucket(5000))
    log.checkpoint(START + 6 * day)
    # a: exported, closed, purged 30 days after closing
    log.event(START + 10 * day, "tip.exported", tips["a"])
    log.event(START + 20 * day, "tip.closed", tips["a"])
    log.event(START + 50 * day, "tip.purged", tips["a"])
    # b: never exported, purged at 30 days (+1 day of grace)
    log.event(START + 32 * day, "tip.purged", tips["b"])
    # c: exported, held for a court case for a year, released, purged
    log.event(START + 10 * day, "tip.exported", tips["c"])
    log.event(START + 100 * day, "tip.held", tips["c"], until=audit.hour(START + 400 * day), reason="court")
    log.event(START + 400 * day, "tip.released", tips["c"])
    log.event(START + 401 * day, "tip.purged", tips["c"])
    # d: exported, still legitimately held at the end
    log.event(START + 10 * day, "tip.exported", tips["d"])
    log.event(START + 150 * day, "tip.held", tips["d"], until=audit.hour(START + 500 * day), reason="court")
    # e, f: exported and purged at 180 days
    for name in "ef":
        log.event(START + 11 * day, "tip.exported", tips[name])
        log.event(START + 183 * day, "tip.purged", tips[name])
    log.checkpoint(START + 450 * day)
    return log


def test_honest_log_passes() -> None:
    report = audit.verify(honest_log().lines(), [PUB])
    assert report.violations == []
    assert report.ok and report.entries == 21 and report.checkpoints == 2
    assert report.counts() == {"purged": 5, "held": 1}


def test_tip_kept_past_its_time_is_named() -> None:
    log = honest_log()
    report = audit.verify(log.lines(), [PUB], at=START + 700 * timedelta(days=1))
    assert [(v.kind, v.tip) for v in report.violations] == [("overdue", "d" * 32)]


def test_late_purge_is_named() -> None:
    log = Log()
    log.event(START, "tip.received", "a" * 32)
    log.event(START + timedelta(days=40), "tip.purged", "a" * 32)
    log.checkpoint(START + timedelta(days=40))
    [violation] = audit.verify(log.lines(), [PUB], policy=POLICY).violations
    assert violation.kind == "overdue" and violation.tip == "a" * 32


def _tampered(edit) -> list[str]:
    lines = honest_log().lines()
    records = [json.loads(line) for line in lines]
    edit(records)
    return [json.dumps(r) for r in records]


def _edit_entry(records: list[dict]) -> None:
    records[3]["entry"]["time"] = "2030-01-01T00:00:00Z"


def _delete_entry(records: list[dict]) -> None:
    del records[9]


def _reorder(records: list[dict]) -> None:
    records[9], records[10] = records[10], records[9]


def _truncate(records: list[dict]) -> None:
    del records[-4:]


def _resign(records: list[dict]) -> None:
    other = nacl.signing.SigningKey.generate()
    for record in records:
        if "checkpoint" in record:
            record["checkpoint"] = audit.make_checkpoint(
                record["checkpoint"]["body"]["seq"],
                record["checkpoint"]["body"]["head"],
                record["checkpoint"]["body"]["time"],
                other,
            )
    records[0]["server_key"] = public_key_b64(other)


@pytest.mark.parametrize(
    ("edit", "kinds"),
    [
        # Each link commits to the previous entry, so the break shows where it happened;
        # re-linking everything after it breaks the signed checkpoints instead (below).
        (_edit_entry, {"broken_chain"}),
        (_delete_entry, {"broken_chain"}),
        (_reorder, {"broken_chain"}),
        (_truncate, {"missing_checkpoint"}),
        (_resign, {"untrusted_key", "bad_checkpoint"}),
    ],
    ids=["edit", "delete", "reorder", "truncate", "re-sign"],
)
def test_tampering_is_detected_and_named(edit, kinds: set[str]) -> None:
    report = audit.verify(_tampered(edit), [PUB])
    assert not report.ok
    assert kinds <= {v.kind for v in report.violations}, report.violations


def test_recomputed_chain_without_the_key_still_fails() -> None:
    """An attacker who edits an entry and re-chains everything after it cannot re-sign."""
    log = honest_log()
    records = copy.deepcopy(log.records)
    rebuilt = Log()
    for record in records:
        if "entry" in record:
            entry = record["entry"]
            if entry["event"] == "tip.purged" and entry["tip"] == "b" * 32:
                entry["time"] = audit.hour(START + timedelta(days=31))
            rebuilt.event(audit.parse_time(entry["time"]), entry["event"], entry["tip"], **entry["data"])
        else:
            rebuilt.records.append(record)  # the old, validly signed checkpoints
    report = audit.verify(rebuilt.lines(), [PUB])
    assert "bad_checkpoint" in {v.kind for v in report.violations}


def test_garbage_is_reported_not_raised() -> None:
    assert not audit.verify(["not json"], [PUB]).ok
    assert not audit.verify([], [PUB]).ok
    lines = honest_log().lines()
    assert "malformed" in {v.kind for v in audit.verify([*lines[:3], "{]", *lines[3:]], [PUB]).violations}


def test_hold_longer_than_policy() -> None:
    log = Log()
    log.event(START, "tip.received", "a" * 32)
    log.event(START, "tip.held", "a" * 32, until=audit.hour(START + timedelta(days=900)))
    log.checkpoint(START)
    kinds = {v.kind for v in audit.verify(log.lines(), [PUB], policy=POLICY).violations}
    assert "bad_hold" in kinds
