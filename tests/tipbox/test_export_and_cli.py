"""Operator commands end to end: reviewers, the signed key manifest, export bundles."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner
from flask import Flask

from crypto import bundle, key_manifest, payload
from crypto.attachments import ContentDigest, open_attachment
from crypto.identity import ReviewerIdentity, load_identity
from crypto.signing import public_key_b64
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.support import post_report_form
from tipbox.keys import load_server_key

ROOT = Path(__file__).resolve().parents[2]


def _server_pub(app: Flask) -> str:
    return public_key_b64(load_server_key(app.extensions["tipbox.config"].server_key_file))


def test_export_bundle_round_trip_both_paths(app: Flask, reviewers, tmp_path: Path) -> None:
    client = app.test_client()
    evidence = b"%PDF-1.4 evidence" * 5000
    BrowserLike(client).submit({"description": "lewat browser"}, {"1" * 32: ("a.pdf", "application/pdf", evidence)})
    assert (
        post_report_form(
            client, description="tanpa javascript", attachments=[(io.BytesIO(evidence), "b.pdf", "application/pdf")]
        ).status_code
        == 200
    )
    out = tmp_path / "export.tar"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "exported 2 tips (2 attachments)" in result.output
    verified = bundle.verify_bundle(out, [_server_pub(app)])
    seen = {}
    for tip in verified.body["tips"]:
        document = payload.open_tip(verified.open_member(tip["payload"]["path"]), [reviewers[0].secret])
        assert document["sealed_by"] == tip["sealed_by"]
        seen[tip["sealed_by"]] = document["answers"]["description"]
        [entry] = document["attachments"]
        [sealed_entry] = tip["attachments"]
        assert sealed_entry["id"] == entry["id"]
        content = io.BytesIO()
        open_attachment(
            io.BytesIO(verified.open_member(sealed_entry["path"])),
            content,
            [reviewers[1].secret],
            ContentDigest(entry["size"], entry["sha256"]),
        )
        assert content.getvalue() == evidence
        assert tip["received"].endswith(":00:00Z")
    assert seen == {"browser": "lewat browser", "server": "tanpa javascript"}
    # Refuses to overwrite; --new-only exports nothing the second time.
    assert runner.invoke(args=["export", "--out", str(out)]).exit_code != 0
    again = tmp_path / "again.tar"
    result = runner.invoke(args=["export", "--out", str(again), "--new-only"])
    assert "exported 0 tips" in result.output
    assert bundle.verify_bundle(again, [_server_pub(app)]).body["tips"] == []


def _published_manifest(client, server_key: str) -> tuple[dict, str]:
    """The single channel's manifest body and fingerprint, from the signed channel directory."""
    directory = key_manifest.verify_directory(client.get("/api/v1/keys").get_json()["directory"], [server_key])
    (body,) = key_manifest.directory_manifests(directory).values()
    return body, key_manifest.recipients_fingerprint(key_manifest.recipients(body))


def test_reviewers_commands_and_key_manifest(app: Flask, reviewers) -> None:
    runner = app.test_cli_runner()
    client = app.test_client()
    _before_body, before = _published_manifest(client, _server_pub(app))
    new = ReviewerIdentity.generate()
    result = runner.invoke(args=["reviewers", "add", "ketiga", new.recipient, "--signing-key", new.signing_public_key])
    assert result.exit_code == 0, result.output
    body, after = _published_manifest(client, _server_pub(app))
    assert after != before
    assert sorted(key_manifest.recipients(body)) == sorted([r.recipient for r in reviewers] + [new.recipient])
    # Shown in groups (spans joined by <wbr>, so a line breaks only between them): compare the text.
    assert after in re.sub(r"<[^>]*>", "", client.get("/").get_data(as_text=True))
    listing = runner.invoke(args=["reviewers", "list"]).output
    assert "ketiga" in listing and after in listing
    assert runner.invoke(args=["reviewers", "add", "again", new.recipient]).exit_code != 0
    assert runner.invoke(args=["reviewers", "add", "bad", "age1notakey"]).exit_code != 0
    assert runner.invoke(args=["reviewers", "remove", "ketiga"]).exit_code == 0
    assert _published_manifest(client, _server_pub(app))[1] == before
    assert runner.invoke(args=["reviewers", "remove", "nobody"]).exit_code != 0


def test_init_and_demo_setup_on_a_fresh_directory(tmp_path: Path, monkeypatch) -> None:
    from tipbox.admin import demo
    from tipbox.admin.cli import cli

    var = tmp_path / "var"
    monkeypatch.setenv("TIPBOX_VAR_DIR", str(var))
    monkeypatch.delenv("TIPBOX_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    assert (var / "secret.key").stat().st_mode & 0o777 == 0o600
    assert (var / "server-signing.key").stat().st_mode & 0o777 == 0o600
    result = runner.invoke(cli, ["demo-setup", "--url", "http://127.0.0.1:8123/"])
    assert result.exit_code == 0, result.output
    assert "DEMO REVIEWER" in result.output and "Open http://127.0.0.1:8123/" in result.output
    # The reviewer CLI's own format: passphrase-protected (the printed demo passphrase), mode 0600,
    # in a ready tipbox-review workspace; no unprotected key is written anywhere.
    path = var / "demo-review" / "identity.age"
    assert path.stat().st_mode & 0o777 == 0o600
    assert f"passphrase: {demo.PASSPHRASE}" in result.output and str(path) in result.output
    identity = load_identity(path, demo.PASSPHRASE)
    assert not any(b"AGE-SECRET-KEY-1" in p.read_bytes() for p in var.rglob("*") if p.is_file())
    assert (var / "tipbox.sqlite3").exists()
    # Idempotent: a second run keeps the same reviewer and prints the same instructions.
    again = runner.invoke(cli, ["demo-setup", "--url", "http://127.0.0.1:8123/"])
    assert "already configured" in again.output and f"passphrase: {demo.PASSPHRASE}" in again.output
    listing = runner.invoke(cli, ["reviewers", "list"]).output
    assert identity.recipient in listing


def test_demo_setup_carries_the_old_unprotected_demo_key_over(tmp_path: Path, monkeypatch) -> None:
    """A var/ from before: the demo reviewer exists and its key is the unencrypted demo-reviewer.key."""
    from tipbox.admin import demo
    from tipbox.admin.cli import cli

    var = tmp_path / "var"
    monkeypatch.setenv("TIPBOX_VAR_DIR", str(var))
    monkeypatch.delenv("TIPBOX_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    old = ReviewerIdentity.generate()
    (var / "demo-reviewer.key").write_text(old.to_text())
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    added = runner.invoke(cli, ["reviewers", "add", "demo", old.recipient, "--signing-key", old.signing_public_key])
    assert added.exit_code == 0, added.output
    result = runner.invoke(cli, ["demo-setup"])
    assert result.exit_code == 0, result.output
    assert "demo-reviewer.key" in result.output and "no longer used" in result.output
    assert load_identity(var / "demo-review" / "identity.age", demo.PASSPHRASE) == old


def test_demo_setup_without_a_demo_reviewer_prints_only_the_address(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo-setup", "--url", "http://127.0.0.1:8123/"])
    assert result.exit_code == 0, result.output
    assert "already configured" in result.output and "Open http://127.0.0.1:8123/" in result.output
    assert "DEMO" not in result.output and "tipbox-review" not in result.output


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in group.commands.items():
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += _command_paths(command, (*prefix, name))
    return paths


def test_help_works_before_init_for_the_group_and_every_command(tmp_path: Path, monkeypatch) -> None:
    """Issue #12: `tipbox --help` stopped with "cannot read the secret key file" before `tipbox init`."""
    from tipbox.admin.cli import cli

    var = tmp_path / "not-yet"
    monkeypatch.setenv("TIPBOX_VAR_DIR", str(var))
    monkeypatch.delenv("TIPBOX_DATABASE_URL", raising=False)
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0, top.output
    # Flask's options for choosing another app or loading a .env file are not offered.
    assert "--env-file" not in top.output and "--app" not in top.output and "--debug" not in top.output
    paths = _command_paths(cli)
    for path in paths:
        if len(path) == 1:
            assert f"  {path[0]} " in top.output, path
        result = runner.invoke(cli, [*path, "--help"], prog_name="tipbox")
        assert result.exit_code == 0, (path, result.output)
        assert result.output.startswith(f"Usage: tipbox {' '.join(path)} "), (path, result.output)
        assert "configuration error" not in result.output
    assert {("db", "upgrade"), ("reviewers", "add"), ("dispositions", "import"), ("audit", "export")} <= set(paths)
    assert not var.exists()  # help creates nothing
    # Every command the app registers is on the console script, and nothing more.
    from tipbox.admin.cli import ADMIN_COMMANDS

    assert set(cli.commands) == {"init", *(c.name for c in ADMIN_COMMANDS)}
    # An unknown command is a usage error, not a configuration error.
    unknown = runner.invoke(cli, ["nosuch"])
    assert unknown.exit_code == 2 and "No such command" in unknown.output


def test_help_works_before_init_as_a_process(tmp_path: Path) -> None:
    env = {**os.environ, "TIPBOX_VAR_DIR": str(tmp_path / "not-yet")}
    env.pop("TIPBOX_DATABASE_URL", None)
    for args in (["--help"], ["export", "--help"], ["reviewers", "add", "--help"]):
        result = subprocess.run(
            [sys.executable, "-c", "from tipbox.admin.cli import main; main()", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("Usage: tipbox") and result.stderr == ""


def test_missing_secret_is_a_clear_config_error(tmp_path: Path, monkeypatch) -> None:
    from tipbox.admin.cli import cli

    monkeypatch.setenv("TIPBOX_VAR_DIR", str(tmp_path / "empty"))
    result = CliRunner().invoke(cli, ["reviewers", "list"])
    assert result.exit_code != 0
    assert "tipbox init" in result.output


def test_export_carries_the_configured_retention_policy(tmp_path: Path, db_url: str, reviewers) -> None:
    """The CLI checks holds against the operator's limits (review_cli/server_facts.py): they travel signed."""
    from crypto.audit import Policy
    from tests.tipbox.conftest import make_app

    app = make_app(tmp_path / "var", db_url, reviewers, TIPBOX_RETENTION_MAX_HOLD_DAYS="180",
                   TIPBOX_RETENTION_EXPORTED_DAYS="90")
    out = tmp_path / "export.tar"
    assert app.test_cli_runner().invoke(args=["export", "--out", str(out)]).exit_code == 0
    body = bundle.verify_bundle(out, [_server_pub(app)]).body
    assert Policy.from_document(body["policy"]) == Policy(exported_days=90, max_hold_days=180)
    app.extensions["tipbox.engine"].dispose()
