"""Dispositions: `tipbox-review dispositions export` and the server's `tipbox dispositions import`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from crypto.dispositions import parse_body
from crypto.signing import CONTEXT_DISPOSITIONS, verify_document
from crypto.vocabulary import HoldReason, Status
from review_cli import triage as triage_mod
from review_cli.triage_record import Triage, TriageRecord
from review_cli.workspace import Keys, Workspace
from tests.review_cli.conftest import Run, SavedIdentity, one_line_error
from tests.review_cli.support import FakeServer

IN_90_DAYS = (date.today() + timedelta(days=90)).isoformat()


def _export(run: Run, path: Path, *args: str):
    return run("dispositions", "export", "--out", str(path), *args)


def test_export_lists_changes_since_the_last_export_signed_without_content(
    run: Run, server: FakeServer, tmp_path: Path, reviewer: SavedIdentity
) -> None:
    tips = [server.tip() for _ in range(4)]
    assert run("import", str(server.bundle(tmp_path / "b.tar", tips))).exit_code == 0
    a, b, c, d = (t.id for t in tips)
    run("triage", a[:8], "--status", "closed", "--notes", "rahasia sekali")
    run("triage", b[:8], "--status", "hold", "--hold-until", IN_90_DAYS, "--hold-reason", "prosecution")
    run("triage", c[:8], "--priority", "P3", "--reason", "catatan lama", "--category", "LAIN")  # still "new"
    run("triage", d[:8], "--status", "in_review")
    first = tmp_path / "d1.json"
    result = _export(run, first)
    assert result.exit_code == 0, result.stderr
    assert "3 dispositions (1 closed, 1 hold, 1 in_review)" in result.stdout
    document = json.loads(first.read_bytes())
    body = verify_document(document, CONTEXT_DISPOSITIONS, [reviewer.identity.signing_public_key])
    assert set(body) == {"type", "v", "id", "created", "entries", "replies"}
    assert body["type"] == "tipbox-dispositions" and body["v"] == 2 and len(body["id"]) == 32
    assert body["replies"] == []
    parse_body(body, datetime.now(UTC).replace(tzinfo=None), 365)  # what the server checks
    assert sorted(body["entries"], key=lambda e: e["tip_id"]) == sorted(
        [
            {"tip_id": a, "status": "closed"},
            {"tip_id": b, "status": "hold", "hold_until": IN_90_DAYS, "hold_reason": "prosecution"},
            {"tip_id": d, "status": "in_review"},
        ],
        key=lambda e: e["tip_id"],
    )
    # Only the signed body can carry content (the signature is random base64, which may
    # contain any short string by chance).
    signed_text = json.dumps(json.loads(first.read_text())["body"], ensure_ascii=False)
    for secret in ("rahasia", "catatan", "LAIN", "P3", "kapal"):
        assert secret not in signed_text
    # Nothing changed: no file.
    second = tmp_path / "d2.json"
    unchanged = _export(run, second)
    assert unchanged.exit_code == 0 and "nothing changed" in unchanged.stdout and not second.exists()
    # One change: one entry, a new id.
    run("triage", d[:8], "--status", "referred", "--target", "SAPA129")
    assert _export(run, second).exit_code == 0
    body2 = json.loads(second.read_bytes())["body"]
    assert body2["entries"] == [{"tip_id": d, "status": "referred"}] and body2["id"] != body["id"]
    # --all repeats every triaged tip, including the one still "new".
    everything = tmp_path / "d3.json"
    assert _export(run, everything, "--all").exit_code == 0
    assert len(json.loads(everything.read_bytes())["body"]["entries"]) == 4
    assert _export(run, everything, "--all").exit_code == 3  # never overwrites


def test_an_expired_hold_is_not_exported(
    run: Run, server: FakeServer, tmp_path: Path, workspace: Path, reviewer: SavedIdentity
) -> None:
    tip = server.tip()
    run("import", str(server.bundle(tmp_path / "b.tar", [tip])))
    keys = Keys.of(reviewer.identity)
    record = TriageRecord(tip.id, Triage(status=Status.HOLD, hold_until="2020-01-01", hold_reason=HoldReason.INVESTIGATION))
    triage_mod.save(Workspace(workspace), keys, record)
    result = _export(run, tmp_path / "d.json")
    assert result.exit_code == 3 and "hold ended" in one_line_error(result)
    assert not (tmp_path / "d.json").exists()
