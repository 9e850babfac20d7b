"""The server's side of dispositions: `tipbox dispositions import` applies a reviewer's signed file once, all or nothing.

(The reviewer's side, `tipbox-review dispositions export`, is tested in tests/review_cli/test_dispositions.py.)
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import nacl.signing
from flask import Flask
from sqlalchemy import select

from crypto.identity import ReviewerIdentity
from crypto.signing import CONTEXT_DISPOSITIONS, canonical_json, sign_document
from tipbox import db, readers
from tipbox.audit.models import AuditEvent
from tipbox.models import DispositionImport, Tip

IN_90_DAYS = (date.today() + timedelta(days=90)).isoformat()



def _tips(app: Flask, n: int) -> list[str]:
    ids = [os.urandom(16).hex() for _ in range(n)]
    with app.app_context(), db.transaction() as session:
        for tip_id in ids:
            tip = Tip(
                id=tip_id,
                state="ready",
                sealed_by="browser",
                key_fingerprint="FP",
                received_at=datetime(2026, 11, 23, 11),
                payload=b"age",
                payload_size=3,
            )
            readers.hold(tip, ["default"])
            session.add(tip)
    return ids


def _signed(identity: ReviewerIdentity | nacl.signing.SigningKey, entries: list[dict], **body) -> bytes:
    key = identity.signing_key if isinstance(identity, ReviewerIdentity) else identity
    document = {
        "type": "tipbox-dispositions",
        "v": 1,
        "id": os.urandom(16).hex(),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "entries": entries,
        **body,
    }
    return canonical_json(sign_document(document, CONTEXT_DISPOSITIONS, key))


def _import(app: Flask, tmp_path: Path, data: bytes):
    path = tmp_path / f"disp-{os.urandom(4).hex()}.json"
    path.write_bytes(data)
    return app.test_cli_runner().invoke(args=["dispositions", "import", str(path)])


def _state(app: Flask, tip_ids: list[str]) -> list[tuple]:
    with app.app_context():
        session = db.session()
        return [
            (t.review_status, t.hold_until, t.hold_reason, t.closed_at is not None)
            for t in (session.get(Tip, tip_id) for tip_id in tip_ids)
        ]


def test_server_applies_a_signed_file_once(app: Flask, tmp_path: Path, reviewers: list[ReviewerIdentity]) -> None:
    a, b, c = _tips(app, 3)
    until = (date.today() + timedelta(days=30)).isoformat()
    data = _signed(
        reviewers[0],
        [
            {"tip_id": a, "status": "closed"},
            {"tip_id": b, "status": "hold", "hold_until": until, "hold_reason": "investigation"},
            {"tip_id": c, "status": "referred"},
        ],
    )
    result = _import(app, tmp_path, data)
    assert result.exit_code == 0, result.output
    assert "from reviewer r0: 3 entries, 3 applied (1 closed, 1 hold, 1 referred)" in result.output
    hold_end = datetime.fromisoformat(until)
    assert _state(app, [a, b, c]) == [
        ("closed", None, None, True),
        ("hold", hold_end, "investigation", False),
        ("referred", None, None, False),
    ]
    with app.app_context():
        session = db.session()
        [record] = session.scalars(select(DispositionImport)).all()
        assert (record.entry_count, record.applied_count) == (3, 3)
        assert record.imported_at.minute == 0 and record.imported_at.second == 0
        events = [
            (e.event, e.tip_id, json.loads(e.data))
            for e in session.scalars(select(AuditEvent))
            if e.event.startswith(("tip.", "dispositions."))
        ]
        assert ("tip.closed", a, {}) in events
        assert ("tip.held", b, {"until": f"{until}T00:00:00Z", "reason": "investigation"}) in events
        assert ("tip.status", c, {"status": "referred"}) in events
        assert any(e[0] == "dispositions.imported" and e[2]["applied"] == 3 for e in events)
    replay = _import(app, tmp_path, data)
    assert replay.exit_code != 0 and "already imported" in replay.output
    # Releasing the hold and reopening the closed tip.
    result = _import(
        app,
        tmp_path,
        _signed(reviewers[0], [{"tip_id": b, "status": "closed"}, {"tip_id": a, "status": "in_review"}]),
    )
    assert result.exit_code == 0, result.output
    assert _state(app, [a, b]) == [("in_review", None, None, False), ("closed", None, None, True)]


def test_server_refuses_without_applying_anything(
    app: Flask, tmp_path: Path, reviewers: list[ReviewerIdentity]
) -> None:
    a, b = _tips(app, 2)
    before = _state(app, [a, b])
    stranger = ReviewerIdentity.generate()
    far = (date.today() + timedelta(days=400)).isoformat()
    cases = {
        "not trusted": _signed(stranger, [{"tip_id": a, "status": "closed"}]),
        "does not hold": _signed(
            reviewers[0], [{"tip_id": a, "status": "closed"}, {"tip_id": "f" * 32, "status": "closed"}]
        ),
        "longer than the policy": _signed(
            reviewers[0], [{"tip_id": a, "status": "hold", "hold_until": far, "hold_reason": "investigation"}]
        ),
        "already ended": _signed(
            reviewers[0],
            [{"tip_id": a, "status": "hold", "hold_until": "2020-01-01", "hold_reason": "investigation"}],
        ),
        "unknown hold_reason": _signed(
            reviewers[0], [{"tip_id": a, "status": "hold", "hold_until": IN_90_DAYS, "hold_reason": "forever"}]
        ),
        "unexpected or missing members": _signed(reviewers[0], [{"tip_id": a, "status": "closed", "note": "isi"}]),
        "unknown status": _signed(reviewers[0], [{"tip_id": a, "status": "deleted"}]),
        "repeats a tip_id": _signed(
            reviewers[0], [{"tip_id": a, "status": "closed"}, {"tip_id": a, "status": "new"}]
        ),
        "unexpected or missing members ": _signed(reviewers[0], [], extra=1),
        "unknown dispositions version": _signed(reviewers[0], [], v=4),
        "signature verification failed": json.dumps(
            {
                **json.loads(_signed(reviewers[0], [{"tip_id": a, "status": "closed"}])),
                "body": {
                    "type": "tipbox-dispositions",
                    "v": 1,
                    "id": "0" * 32,
                    "created": "2026-11-23T00:00:00Z",
                    "entries": [{"tip_id": b, "status": "closed"}],
                },
            }
        ).encode(),
        "not JSON": b"\x00\x01",
    }
    for words, data in cases.items():
        result = _import(app, tmp_path, data)
        assert result.exit_code == 1, (words, result.output)
        assert words.strip() in result.output and result.output.count("\n") == 1, (words, result.output)
        assert _state(app, [a, b]) == before, words
    # A removed reviewer's key is no longer trusted.
    assert app.test_cli_runner().invoke(args=["reviewers", "remove", "r1"]).exit_code == 0
    result = _import(app, tmp_path, _signed(reviewers[1], [{"tip_id": a, "status": "closed"}]))
    assert result.exit_code == 1 and "not trusted" in result.output
    with app.app_context():
        assert db.session().scalars(select(DispositionImport)).all() == []


def test_an_older_file_never_undoes_a_newer_one(app: Flask, tmp_path: Path, reviewers: list[ReviewerIdentity]) -> None:
    [a] = _tips(app, 1)
    old = _signed(
        reviewers[0],
        [{"tip_id": a, "status": "in_review"}],
        created=(datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    new = _signed(reviewers[0], [{"tip_id": a, "status": "closed"}])
    assert _import(app, tmp_path, new).exit_code == 0
    result = _import(app, tmp_path, old)
    assert result.exit_code == 0 and "0 applied" in result.output and "1 older than" in result.output
    assert _state(app, [a]) == [("closed", None, None, True)]


def test_entries_for_purged_tips_are_skipped_not_refused(app: Flask, tmp_path: Path, reviewers: list[ReviewerIdentity]) -> None:
    from tipbox.audit.log import record

    a, gone = _tips(app, 2)
    with app.app_context(), db.transaction() as session:
        session.delete(session.get(Tip, gone))
        record(session, "tip.purged", gone, {"size": 4, "attachments": 0})
    result = _import(
        app,
        tmp_path,
        _signed(reviewers[0], [{"tip_id": a, "status": "closed"}, {"tip_id": gone, "status": "closed"}]),
    )
    assert result.exit_code == 0, result.output
    assert "1 applied (1 closed)" in result.output and "1 for tips already purged" in result.output
    assert _state(app, [a]) == [("closed", None, None, True)]
