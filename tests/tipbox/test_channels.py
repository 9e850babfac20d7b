"""``tipbox channels ...`` and ``tipbox reviewers add --channel``: operator side of channels (issue #14).

These tests cover configuration, validation, overlap notes and per-channel key
manifests, on SQLite and PostgreSQL; tips routed to channels are
test_channel_routing.py's.
"""

from __future__ import annotations

import json

import pytest
from flask import Flask
from sqlalchemy import select

from crypto import key_manifest
from crypto.identity import ReviewerIdentity
from crypto.signing import public_key_b64
from tests.tipbox.support import run_cli
from tipbox import db
from tipbox.keys import current_manifest, load_server_key
from tipbox.models import KeyManifest

SEED = [
    ("satgas-ppa-blitar", "Satgas PPA Kabupaten Blitar", "Child protection task force, Blitar", ["--region", "35.72"]),
    ("uptd-ppa-jatim", "UPTD PPA Jawa Timur", "UPTD PPA East Java", ["--region", "35", "--coordinating"]),
    ("imigrasi-bengkulu-tengah", "Imigrasi Bengkulu Tengah", "Immigration, Central Bengkulu", ["--region", "17.09"]),
    ("nasional", "Koordinasi nasional", "National coordination", ["--coordinating"]),
]


def _fails(app: Flask, *args: str) -> str:
    """A command that must fail with one clear line and no traceback; that line."""
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def _seed(app: Flask) -> None:
    for channel_id, name_id, name_en, extra in SEED:
        run_cli(app, "channels", "add", channel_id, "--name-id", name_id, "--name-en", name_en, *extra)


def _add_reviewer(app: Flask, channel: str, label: str) -> ReviewerIdentity:
    identity = ReviewerIdentity.generate()
    run_cli(app, "reviewers", "add", label, identity.recipient, "--signing-key", identity.signing_public_key,
            "--channel", channel)
    return identity


def _manifests(app: Flask) -> dict[str, list[str]]:
    with app.app_context():
        rows = db.session().scalars(select(KeyManifest).order_by(KeyManifest.id))
        result: dict[str, list[str]] = {}
        for row in rows:
            result.setdefault(row.channel_id, []).append(row.document)
        return result


def _body(app: Flask, channel: str) -> dict:
    with app.app_context():
        manifest = current_manifest(db.session(), channel)
        assert manifest is not None
        key = load_server_key(app.extensions["tipbox.config"].server_key_file)
        return key_manifest.verify(json.loads(manifest.document), [public_key_b64(key.verify_key)])


def test_existing_default_channel_is_the_catch_all(app: Flask) -> None:
    listing = run_cli(app, "channels", "list")
    assert "default\tTim peninjau / Review team" in listing
    assert "catch-all" in listing and "active reviewers: 2" in listing
    assert "cannot receive tips" not in listing


def test_add_list_show_update_remove(app: Flask) -> None:
    _seed(app)
    listing = run_cli(app, "channels", "list")
    for channel_id, name_id, name_en, _ in SEED:
        assert f"{channel_id}\t{name_id} / {name_en}" in listing
        assert f"warning: {channel_id} has no reviewer and cannot receive tips" in listing
    assert "35.72; any category" in listing and "coordinating: yes" in listing
    assert "note:" not in listing  # coordinating channels overlap by design

    shown = run_cli(app, "channels", "show", "satgas-ppa-blitar")
    assert "key manifest fingerprint: (none: add a reviewer)" in shown
    _add_reviewer(app, "satgas-ppa-blitar", "blitar1")
    shown = run_cli(app, "channels", "show", "satgas-ppa-blitar")
    with app.app_context():
        manifest = current_manifest(db.session(), "satgas-ppa-blitar")
        assert manifest is not None and f"key manifest fingerprint: {manifest.fingerprint}" in shown
    assert "cannot receive tips" not in shown

    updated = run_cli(app, "channels", "update", "satgas-ppa-blitar", "--name-en", "PPA task force, Blitar",
                      "--region", "35.72", "--region", "35.05", "--category", "ANAK-KS", "--coordinating")
    assert "key manifest re-signed" in updated
    shown = run_cli(app, "channels", "show", "satgas-ppa-blitar")
    assert "PPA task force, Blitar" in shown and "35.05, 35.72; ANAK-KS; coordinating" in shown
    body = _body(app, "satgas-ppa-blitar")
    assert body["names"] == {"id": "Satgas PPA Kabupaten Blitar", "en": "PPA task force, Blitar"}
    assert body["scope"] == {"regions": ["35.05", "35.72"], "categories": ["ANAK-KS"], "coordinating": True}

    run_cli(app, "channels", "update", "satgas-ppa-blitar", "--clear-categories", "--no-coordinating")
    assert _body(app, "satgas-ppa-blitar")["scope"] == {
        "regions": ["35.05", "35.72"], "categories": [], "coordinating": False}

    run_cli(app, "channels", "remove", "imigrasi-bengkulu-tengah")
    assert "imigrasi-bengkulu-tengah" not in run_cli(app, "channels", "list")
    assert "no channel" in _fails(app, "channels", "show", "imigrasi-bengkulu-tengah")


def test_validation_errors(app: Flask) -> None:
    _seed(app)
    names = ["--name-id", "Nama", "--name-en", "Name"]
    assert "unknown region code '99.99'" in _fails(app, "channels", "add", "x", *names, "--region", "99.99")
    assert "unknown category code 'ANAK-XYZ'" in _fails(app, "channels", "add", "x", *names, "--category", "ANAK-XYZ")
    assert "bad channel id" in _fails(app, "channels", "add", "Bad_Id", *names, "--region", "35")
    assert "bad channel id" in _fails(app, "channels", "add", "a" * 65, *names, "--region", "35")
    assert "more than one catch-all channel: default, second" in _fails(app, "channels", "add", "second", *names)
    assert "already exists" in _fails(app, "channels", "add", "nasional", *names)
    # A name is shown on the page, in terminals and PDFs: no escapes, no bidi overrides.
    for bad in ("Tim\x1b[31m merah", "Tim \u202egnalaB", "Tim\u200bumum"):
        assert "control or formatting character" in _fails(
            app, "channels", "add", "x", "--name-id", bad, "--name-en", "x", "--region", "35")
    assert "name must be 1-100" in _fails(app, "channels", "add", "x", "--name-id", " ", "--name-en", "N")
    assert "name must be 1-100" in _fails(app, "channels", "add", "x", "--name-id", "N", "--name-en", "n" * 101)
    assert "unknown region code" in _fails(app, "channels", "update", "satgas-ppa-blitar", "--region", "99.99")
    assert "more than one catch-all channel" in _fails(app, "channels", "update", "satgas-ppa-blitar", "--clear-regions")
    assert "no channel" in _fails(app, "channels", "update", "nope", "--name-en", "X")
    assert "not both" in _fails(app, "channels", "update", "nasional", "--region", "35", "--clear-regions")
    assert "cannot be removed" in _fails(app, "channels", "remove", "default")
    _add_reviewer(app, "uptd-ppa-jatim", "jatim1")
    assert "active reviewers" in _fails(app, "channels", "remove", "uptd-ppa-jatim")
    assert "no channel" in _fails(app, "channels", "remove", "nope")
    assert "tipbox channels add" in _fails(app, "reviewers", "add", "x", ReviewerIdentity.generate().recipient,
                                            "--channel", "nope")
    # Nothing half-done: the refused channels do not exist.
    listing = run_cli(app, "channels", "list")
    assert "\nx\t" not in listing and "second" not in listing


def test_overlapping_scopes_are_allowed_and_noted(app: Flask) -> None:
    _seed(app)
    added = run_cli(app, "channels", "add", "polres-blitar", "--name-id", "Polres Blitar",
                    "--name-en", "Blitar police", "--region", "35.72", "--category", "TPPO-KERJA")
    assert "note: the scopes of polres-blitar" in added and "satgas-ppa-blitar" in added
    assert "note:" in run_cli(app, "channels", "list")
    # Different categories in the same region do not overlap.
    run_cli(app, "channels", "update", "satgas-ppa-blitar", "--category", "ANAK-KS")
    assert "note:" not in run_cli(app, "channels", "list")
    # A kabupaten inside a non-coordinating province channel overlaps it.
    run_cli(app, "channels", "update", "uptd-ppa-jatim", "--no-coordinating")
    assert "note: the scopes of polres-blitar" in run_cli(app, "channels", "show", "polres-blitar")


def test_reviewers_add_channel_resigns_only_that_channel(app: Flask) -> None:
    _seed(app)
    _add_reviewer(app, "nasional", "nas1")
    before = _manifests(app)
    blitar = _add_reviewer(app, "satgas-ppa-blitar", "blitar1")
    after = _manifests(app)
    assert after["default"] == before["default"] and after["nasional"] == before["nasional"]
    assert len(after["satgas-ppa-blitar"]) == 1
    body = _body(app, "satgas-ppa-blitar")
    assert key_manifest.recipients(body) == [blitar.recipient]
    assert body["channel"] == "satgas-ppa-blitar" and body["scope"]["regions"] == ["35.72"]
    assert body["names"]["id"] == "Satgas PPA Kabupaten Blitar"
    listing = run_cli(app, "reviewers", "list", "--channel", "satgas-ppa-blitar")
    assert "channel: satgas-ppa-blitar" in listing and "blitar1" in listing and "nas1" not in listing
    assert "blitar1" not in run_cli(app, "reviewers", "list")
    # Changing one channel's scope re-signs that channel only.
    run_cli(app, "channels", "update", "nasional", "--name-en", "National coordination team")
    again = _manifests(app)
    assert len(again["nasional"]) == 2 and again["satgas-ppa-blitar"] == after["satgas-ppa-blitar"]
    assert again["default"] == before["default"]
    _add_reviewer(app, "satgas-ppa-blitar", "blitar2")
    run_cli(app, "reviewers", "remove", "blitar1", "--channel", "satgas-ppa-blitar")
    assert key_manifest.recipients(_body(app, "satgas-ppa-blitar")) != [blitar.recipient]
    assert _manifests(app)["default"] == before["default"]


def test_default_manifest_keeps_working_and_publishes_names(app: Flask) -> None:
    """A single-channel deployment: its manifest is re-signed with names and the catch-all scope."""
    _add_reviewer(app, "default", "third")
    body = _body(app, "default")
    assert body["names"] == {"id": "Tim peninjau", "en": "Review team"}
    assert body["scope"] == {"regions": [], "categories": [], "coordinating": False}
    assert len(key_manifest.recipients(body)) == 3


@pytest.mark.parametrize("bad", [
    {"names": {"id": "x"}},
    {"names": {"id": "", "en": "x"}},
    {"scope": {"regions": ["35.72", "17.09"], "categories": [], "coordinating": False}},
    {"scope": {"regions": [], "categories": ["anak"], "coordinating": False}},
    {"scope": {"regions": [], "categories": [], "coordinating": "yes"}},
])
def test_manifest_optional_members_are_checked(bad: dict) -> None:
    from crypto.errors import MalformedDocument

    body = key_manifest.build_body("c", "2026-11-29T00:00:00Z",
                                   [{"label": "r", "recipient": ReviewerIdentity.generate().recipient}])
    assert "names" not in body and "scope" not in body  # unchanged format when not given
    with pytest.raises(MalformedDocument):
        key_manifest.validate_body({**body, **bad})
