"""`tipbox-review audit verify`: the auditor's side of the retention issue, no key needed."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask

from crypto.signing import public_key_b64
from tests.tipbox.browser_like import BrowserLike
from tipbox.keys import load_server_key


def _export(app: Flask, tmp_path: Path) -> tuple[Path, str]:
    browser = BrowserLike(app.test_client())
    browser.submit({"description": "satu"})
    browser.submit({"description": "dua"})
    out = tmp_path / "audit.jsonl"
    result = app.test_cli_runner().invoke(args=["audit", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, public_key_b64(load_server_key(app.extensions["tipbox.config"].server_key_file))


def test_honest_log_is_compliant(app: Flask, run, tmp_path: Path) -> None:
    log, key = _export(app, tmp_path)
    result = run("audit", "verify", str(log), "--server-key", key, input=None)
    assert result.exit_code == 0, result.output
    assert "COMPLIANT" in result.stdout and "NOT COMPLIANT" not in result.stdout
    report = json.loads(run("audit", "verify", str(log), "--server-key", key, "--json", input=None).stdout)
    assert report["ok"] is True and report["tips"] == {"kept": 2} and report["checkpoints"] >= 1
    html = tmp_path / "report.html"
    assert run("audit", "verify", str(log), "--server-key", key, "--html", str(html), input=None).exit_code == 0
    assert "COMPLIANT" in html.read_text() and "<script" not in html.read_text()


def test_edited_log_fails_with_exit_2_and_names_the_problem(app: Flask, run, tmp_path: Path) -> None:
    log, key = _export(app, tmp_path)
    lines = log.read_text().splitlines()
    record = json.loads(lines[2])
    record["entry"]["time"] = "2020-01-01T00:00:00Z"
    lines[2] = json.dumps(record)
    log.write_text("\n".join(lines) + "\n")
    result = run("audit", "verify", str(log), "--server-key", key, input=None)
    assert result.exit_code == 2
    assert "NOT COMPLIANT" in result.stdout and "broken_chain" in result.stdout


def test_overdue_tip_and_published_policy(app: Flask, run, tmp_path: Path) -> None:
    log, key = _export(app, tmp_path)
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"type": "tipbox-retention-policy", "v": 1, "unexported_days": 30,
                                  "exported_days": 180, "closed_days": 30, "max_hold_days": 365, "grace_hours": 48}))
    result = run("audit", "verify", str(log), "--server-key", key, "--policy", str(policy), "--at", "2099-01-01",
                 "--json", input=None)
    assert result.exit_code == 2
    kinds = {v["kind"] for v in json.loads(result.stdout)["violations"]}
    assert kinds == {"overdue"}


def test_other_key_and_unpinned_key(app: Flask, run, tmp_path: Path) -> None:
    log, _key = _export(app, tmp_path)
    other = "A" * 43 + "="
    result = run("audit", "verify", str(log), "--server-key", other, input=None)
    assert result.exit_code == 2 and "untrusted_key" in result.stdout
    unpinned = run("audit", "verify", str(log), input=None)
    assert unpinned.exit_code == 0
    assert "no server key pinned" in unpinned.stderr


def test_bad_inputs_are_one_line_errors(run, tmp_path: Path) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_text("not json at all\n")
    assert run("audit", "verify", str(junk), input=None).exit_code == 2
    policy = tmp_path / "p.json"
    policy.write_text("{")
    result = run("audit", "verify", str(junk), "--policy", str(policy), input=None)
    assert result.exit_code == 1 and "retention policy" in result.stderr
    assert run("audit", "verify", str(junk), "--at", "yesterday", input=None).exit_code == 1
