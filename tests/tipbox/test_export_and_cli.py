"""Operator commands end to end: reviewers, the signed key manifest, export bundles."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner
from flask import Flask

from crypto import bundle, key_manifest, payload
from crypto.attachments import ContentDigest, open_attachment
from crypto.identity import ReviewerIdentity
from crypto.signing import public_key_b64
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.test_intake_nojs import _post
from tipbox.keys import load_server_key


def _server_pub(app: Flask) -> str:
    return public_key_b64(load_server_key(app.extensions["tipbox.config"].server_key_file))


def test_export_bundle_round_trip_both_paths(app: Flask, reviewers, tmp_path: Path) -> None:
    client = app.test_client()
    evidence = b"%PDF-1.4 evidence" * 5000
    BrowserLike(client).submit({"description": "lewat browser"}, {"1" * 32: ("a.pdf", "application/pdf", evidence)})
    assert (
        _post(
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


def test_reviewers_commands_and_key_manifest(app: Flask, reviewers) -> None:
    runner = app.test_cli_runner()
    client = app.test_client()
    before = client.get("/api/v1/keys").get_json()
    new = ReviewerIdentity.generate()
    result = runner.invoke(args=["reviewers", "add", "ketiga", new.recipient, "--signing-key", new.signing_public_key])
    assert result.exit_code == 0, result.output
    after = client.get("/api/v1/keys").get_json()
    assert after["fingerprint"] != before["fingerprint"]
    body = key_manifest.verify(after["manifest"], [_server_pub(app)])
    assert sorted(key_manifest.recipients(body)) == sorted([r.recipient for r in reviewers] + [new.recipient])
    assert after["fingerprint"] in client.get("/").get_data(as_text=True)
    listing = runner.invoke(args=["reviewers", "list"]).output
    assert "ketiga" in listing and after["fingerprint"] in listing
    assert runner.invoke(args=["reviewers", "add", "again", new.recipient]).exit_code != 0
    assert runner.invoke(args=["reviewers", "add", "bad", "age1notakey"]).exit_code != 0
    assert runner.invoke(args=["reviewers", "remove", "ketiga"]).exit_code == 0
    assert client.get("/api/v1/keys").get_json()["fingerprint"] == before["fingerprint"]
    assert runner.invoke(args=["reviewers", "remove", "nobody"]).exit_code != 0


def test_init_and_demo_setup_on_a_fresh_directory(tmp_path: Path, monkeypatch) -> None:
    from tipbox.admin.cli import cli

    var = tmp_path / "var"
    monkeypatch.setenv("TIPBOX_VAR_DIR", str(var))
    monkeypatch.delenv("TIPBOX_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    assert (var / "secret.key").stat().st_mode & 0o777 == 0o600
    assert (var / "server-signing.key").stat().st_mode & 0o777 == 0o600
    result = runner.invoke(cli, ["demo-setup"])
    assert result.exit_code == 0, result.output
    assert "DEMO" in result.output
    identity = ReviewerIdentity.from_text((var / "demo-reviewer.key").read_text())
    assert (var / "tipbox.sqlite3").exists()
    # Idempotent: a second run keeps the same reviewer.
    assert "already configured" in runner.invoke(cli, ["demo-setup"]).output
    listing = runner.invoke(cli, ["reviewers", "list"]).output
    assert identity.recipient in listing


def test_missing_secret_is_a_clear_config_error(tmp_path: Path, monkeypatch) -> None:
    from tipbox.admin.cli import cli

    monkeypatch.setenv("TIPBOX_VAR_DIR", str(tmp_path / "empty"))
    result = CliRunner().invoke(cli, ["reviewers", "list"])
    assert result.exit_code != 0
    assert "tipbox init" in result.output
