"""Tips routed to channels, end to end on the server (issue #14), on SQLite and PostgreSQL.

The seed network of the issue: Kota Blitar's task force (35.72), East Java's
UPTD PPA coordinating its province (35), Bengkulu Tengah (17.09), a national
coordinating desk, and the catch-all (the deployment's ``default`` channel,
renamed). Each has its own reviewer; every check that a tip is (or is not)
readable is a real decrypt with that reviewer's identity.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import tarfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from crypto import bundle, header, key_manifest, messages, payload
from crypto.errors import BadSignature, NoMatchingIdentity
from crypto.identity import ReviewerIdentity
from crypto.signing import public_key_b64
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.conftest import receipt_of
from tests.tipbox.conversation import dispositions_file
from tests.tipbox.network import BENGKULU, BLITAR, JATIM, NASIONAL, NETWORK, UMUM, seed_network
from tests.tipbox.support import post_report_form, run_cli
from tipbox import db
from tipbox.audit.models import AuditEvent
from tipbox.keys import load_server_key
from tipbox.models import ChannelDirectory, Tip, TipChannel


@pytest.fixture
def reviewers() -> list[ReviewerIdentity]:
    return [ReviewerIdentity.generate()]  # the catch-all's (default channel's) one reviewer


@pytest.fixture
def network(app: Flask, reviewers: list[ReviewerIdentity]) -> dict[str, ReviewerIdentity]:
    """The seed channels, one reviewer each: channel id -> that reviewer's identity."""
    return seed_network(app, reviewers[0])


def _holders(app: Flask, tip_id: str) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(
            select(TipChannel.channel_id).where(TipChannel.tip_id == tip_id).order_by(TipChannel.position)))


def _only_tip(app: Flask) -> Tip:
    with app.app_context():
        (tip,) = db.session().scalars(select(Tip).where(Tip.state == "ready"))
        return tip


def _readable_by(sealed: bytes, network: dict[str, ReviewerIdentity]) -> set[str]:
    """The channels whose reviewer can open ``sealed`` (a real decrypt attempt with each identity)."""
    opened = set()
    for channel_id, identity in network.items():
        try:
            payload.open_tip(sealed, [identity.age_identity])
        except NoMatchingIdentity:
            continue
        opened.add(channel_id)
    return opened


def _stanzas(sealed: bytes) -> int:
    """X25519 stanzas: one per recipient (age adds a grease stanza of another type too)."""
    return sum(s.type == "X25519" for s in header.parse_header(io.BytesIO(sealed)).stanzas)


# --- routing and sealing -------------------------------------------------------------------------


def test_no_js_tip_from_kota_blitar_is_sealed_to_blitar_east_java_and_the_national_desk(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity]
) -> None:
    page = post_report_form(client, description="canary-blitar", province="35", regency="35.72")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert receipt_of(text)
    listed = re.search(r'id="readable-by">(.*?)</div>', text, re.S)
    assert listed is not None
    assert re.findall(r"<li>(.*?)</li>", listed.group(1)) == [
        "Satgas PPA Kota Blitar", "UPTD PPA Jawa Timur", "Koordinator nasional"]
    tip = _only_tip(app)
    assert _holders(app, tip.id) == [BLITAR, JATIM, NASIONAL]
    assert tip.channel_id == BLITAR
    assert tip.payload is not None
    assert _readable_by(tip.payload, network) == {BLITAR, JATIM, NASIONAL}
    assert _stanzas(tip.payload) == 3


@pytest.mark.parametrize(
    ("answers", "readers"),
    [
        ({"province": "35", "regency": "35.78"}, [JATIM, NASIONAL]),  # Surabaya: East Java leads
        ({"regency": "17.09"}, [BENGKULU, NASIONAL]),  # a regency alone says its province too
        ({}, [UMUM, NASIONAL]),  # no region: the catch-all and the national desk only
        ({"province": "18", "category": "ANAK-DARING"}, [UMUM, NASIONAL]),  # Lampung: nobody scoped there
    ],
)
def test_no_js_tips_go_where_routing_says(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity], answers: dict, readers: list[str]
) -> None:
    assert post_report_form(client, description="canary", **answers).status_code == 200
    tip = _only_tip(app)
    assert _holders(app, tip.id) == readers
    assert tip.payload is not None and _readable_by(tip.payload, network) == set(readers)


def test_a_channel_without_reviewers_never_receives_tips(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity]
) -> None:
    run_cli(app, "channels", "add", "pesawaran", "--name-id", "Jaringan desa Pesawaran",
            "--name-en", "Pesawaran village network", "--region", "18.09")
    assert "Jaringan desa Pesawaran" not in client.get("/").get_data(as_text=True)
    assert post_report_form(client, description="canary", regency="18.09").status_code == 200
    assert _holders(app, _only_tip(app).id) == [UMUM, NASIONAL]


def test_the_browser_route_is_accepted_only_when_routing_can_give_it(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity]
) -> None:
    browser = BrowserLike(client)
    opened = browser.open([BLITAR, JATIM, NASIONAL])
    assert opened.status_code == 201
    body = opened.get_json()
    assert body["channels"] == [BLITAR, JATIM, NASIONAL]
    assert body["recipients"] == sorted(network[c].recipient for c in (BLITAR, JATIM, NASIONAL))
    assert body["key_fingerprint"] == key_manifest.recipients_fingerprint(body["recipients"])
    # A tampered page cannot leave out a coordinating channel, reorder the lead, or invent one.
    for bad in ([BLITAR], [BLITAR, JATIM], [NASIONAL, BLITAR, JATIM], [NASIONAL], [BLITAR, JATIM, NASIONAL, UMUM],
                ["nowhere"], [BENGKULU, JATIM, NASIONAL]):
        refused = browser.open(bad)
        assert refused.status_code == 409, bad
        assert refused.get_json()["error"] == "channels_changed"
    for malformed in ("blitar-kota", [1], {"a": 1}, [None]):
        refused = client.post("/api/v1/submissions", headers=browser.headers(), json={"channels": malformed})
        assert refused.status_code == 400, malformed
        assert refused.get_json()["error"] == "bad_request"


def test_a_browser_tip_sealed_to_the_lead_alone_is_refused_at_finalize(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity]
) -> None:
    browser = BrowserLike(client)
    opened = browser.open([BLITAR, JATIM, NASIONAL]).get_json()
    document = payload.build({"description": "canary"}, lang="id", sealed_by="browser")
    short = payload.seal_tip(document, [network[BLITAR].recipient])
    refused = browser.finalize(opened["tip_id"], opened["token"], short, [], opened["key_fingerprint"])
    assert refused.status_code == 400 and refused.get_json()["error"] == "malformed_ciphertext"
    whole = payload.seal_tip(document, opened["recipients"])
    assert browser.finalize(opened["tip_id"], opened["token"], whole, [], opened["key_fingerprint"]).status_code == 200
    assert _readable_by(whole, network) == {BLITAR, JATIM, NASIONAL}


def test_a_reviewer_in_two_channels_is_one_recipient(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity]
) -> None:
    both = network[JATIM]
    run_cli(app, "reviewers", "add", "r-jatim-national", both.recipient, "--signing-key", both.signing_public_key,
            "--channel", NASIONAL)
    opened = BrowserLike(client).open([BLITAR, JATIM, NASIONAL]).get_json()
    assert opened["recipients"] == sorted({network[BLITAR].recipient, both.recipient, network[NASIONAL].recipient})
    assert len(opened["recipients"]) == 3


def test_keys_changed_between_open_and_finalize_is_a_409(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity]
) -> None:
    browser = BrowserLike(client)
    opened = browser.open([BENGKULU, NASIONAL]).get_json()
    newcomer = ReviewerIdentity.generate()
    run_cli(app, "reviewers", "add", "r-new", newcomer.recipient, "--channel", NASIONAL)
    document = payload.build({"description": "canary"}, lang="id", sealed_by="browser")
    sealed = payload.seal_tip(document, opened["recipients"])
    refused = browser.finalize(opened["tip_id"], opened["token"], sealed, [], opened["key_fingerprint"])
    assert refused.status_code == 409 and refused.get_json()["error"] == "keys_changed"


def test_follow_ups_are_sealed_to_every_channel_holding_the_tip(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity]
) -> None:
    browser = BrowserLike(client)
    receipt = browser.submit({"description": "canary"}, channels=[BLITAR, JATIM, NASIONAL])
    access = browser.status(receipt).get_json()["access"]
    opened = client.post("/api/v1/followups", json={"access": access}, headers=browser.headers()).get_json()
    assert opened["channels"] == [BLITAR, JATIM, NASIONAL]
    assert opened["recipients"] == sorted(network[c].recipient for c in (BLITAR, JATIM, NASIONAL))
    assert browser.follow_up(access, "more").status_code == 200
    with app.app_context():
        (message,) = [m for m in db.session().scalars(select(Tip)).one().messages if m.state == "ready"]
        assert message.payload is not None
        for channel_id in (BLITAR, JATIM, NASIONAL):
            messages.open_message(message.payload, [network[channel_id].age_identity], "followup")
        with pytest.raises(NoMatchingIdentity):
            messages.open_message(message.payload, [network[BENGKULU].age_identity], "followup")


# --- the published channel set -----------------------------------------------------------------


def _server_key(app: Flask) -> str:
    return public_key_b64(load_server_key(app.extensions["tipbox.config"].server_key_file))


def test_the_channel_directory_is_signed_and_lists_every_staffed_channel(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity]
) -> None:
    run_cli(app, "channels", "add", "kosong", "--name-id", "Kosong", "--name-en", "Empty", "--region", "11")
    body = key_manifest.verify_directory(client.get("/api/v1/keys").get_json()["directory"], [_server_key(app)])
    manifests = key_manifest.directory_manifests(body)
    assert sorted(manifests) == sorted([BLITAR, BENGKULU, UMUM, JATIM, NASIONAL])
    assert manifests[JATIM]["scope"] == {"regions": ["35"], "categories": [], "coordinating": True}
    assert key_manifest.recipients(manifests[BLITAR]) == [network[BLITAR].recipient]
    # The page routes over the same published set (and names the teams for a source without JavaScript).
    page = client.get("/").get_data(as_text=True)
    assert "Satgas PPA Kota Blitar" in page and "Kosong" not in page
    assert "Server kami mengetahui tim mana yang menerima laporan Anda" in page  # the threat model, in one sentence
    with pytest.raises(BadSignature, match="not trusted"):
        key_manifest.verify_directory(client.get("/api/v1/keys").get_json()["directory"],
                                      [public_key_b64(ReviewerIdentity.generate().signing_key)])


def test_db_upgrade_signs_a_directory_for_a_deployment_that_has_none(app: Flask, client: FlaskClient) -> None:
    with app.app_context(), db.transaction() as session:
        for row in session.scalars(select(ChannelDirectory)):
            session.delete(row)
    assert client.get("/api/v1/keys").status_code == 503
    assert "signed the channel directory" in run_cli(app, "db", "upgrade")
    assert client.get("/api/v1/keys").status_code == 200
    assert "signed the channel directory" not in run_cli(app, "db", "upgrade")  # already current


# --- export per channel -----------------------------------------------------------------------


def _export(app: Flask, tmp_path: Path, channel: str, *extra: str) -> bundle.BundleManifest:
    out = tmp_path / f"{channel}-{os.urandom(4).hex()}.tar"
    run_cli(app, "export", "--channel", channel, "--out", str(out), *extra)
    return bundle.verify_bundle(out, [_server_key(app)]).manifest


def test_each_channel_exports_only_the_tips_it_holds(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity], tmp_path: Path
) -> None:
    browser = BrowserLike(client)
    browser.submit({"description": "blitar"}, channels=[BLITAR, JATIM, NASIONAL])
    blitar_tip = _only_tip(app).id
    post_report_form(client, description="no region")
    exported = {c: [t.id for t in _export(app, tmp_path, c).tips] for c in network}
    assert exported[BLITAR] == [blitar_tip]
    assert exported[JATIM] == [blitar_tip]
    assert exported[BENGKULU] == []
    assert blitar_tip not in exported[UMUM] and len(exported[UMUM]) == 1
    assert len(exported[NASIONAL]) == 2
    manifest = _export(app, tmp_path, JATIM)
    assert manifest.channel == JATIM
    assert manifest.reviewers == (network[JATIM].recipient,)
    (tip,) = manifest.tips
    assert tip.channels == (BLITAR, JATIM, NASIONAL) and tip.lead == BLITAR
    assert tip.reviewers == tuple(sorted(network[c].recipient for c in (BLITAR, JATIM, NASIONAL)))
    assert manifest.directory is not None
    directory = key_manifest.verify_directory(json.loads(json.dumps(manifest["directory"])), [_server_key(app)])
    assert JATIM in key_manifest.directory_manifests(directory)


def test_new_only_is_kept_per_channel(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity], tmp_path: Path
) -> None:
    browser = BrowserLike(client)
    receipt = browser.submit({"description": "blitar"}, channels=[BLITAR, JATIM, NASIONAL])
    assert len(_export(app, tmp_path, BLITAR, "--new-only").tips) == 1
    assert len(_export(app, tmp_path, BLITAR, "--new-only").tips) == 0
    assert len(_export(app, tmp_path, JATIM, "--new-only").tips) == 1  # Blitar's export hides nothing from Jatim
    browser.follow_up(browser.status(receipt).get_json()["access"], "more")
    assert len(_export(app, tmp_path, BLITAR, "--new-only").tips) == 1  # the follow-up is news to both
    assert len(_export(app, tmp_path, JATIM, "--new-only").tips) == 1
    assert len(_export(app, tmp_path, JATIM, "--new-only").tips) == 0
    assert len(_export(app, tmp_path, NASIONAL, "--new-only").tips) == 1


def test_export_without_channel_refuses_to_guess_on_a_network(
    app: Flask, network: dict[str, ReviewerIdentity], tmp_path: Path
) -> None:
    result = app.test_cli_runner().invoke(args=["export", "--out", str(tmp_path / "x.tar")])
    assert result.exit_code != 0 and "choose one with --channel" in result.output
    result = app.test_cli_runner().invoke(args=["export", "--channel", "nowhere", "--out", str(tmp_path / "y.tar")])
    assert result.exit_code != 0 and "no channel 'nowhere'" in result.output
    assert not (tmp_path / "x.tar").exists() and not (tmp_path / "y.tar").exists()


# --- dispositions: the lead decides -----------------------------------------------------------


def _import(app: Flask, tmp_path: Path, data: bytes):
    path = tmp_path / f"disp-{os.urandom(4).hex()}.json"
    path.write_bytes(data)
    return app.test_cli_runner().invoke(args=["dispositions", "import", str(path)])


def test_only_the_lead_channel_sets_status_or_replies(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity], tmp_path: Path
) -> None:
    browser = BrowserLike(client)
    browser.submit({"description": "blitar"}, channels=[BLITAR, JATIM, NASIONAL])
    tip = _only_tip(app)
    assert tip.source_recipient is not None
    entry = {"tip_id": tip.id, "status": "referred"}
    refused = _import(app, tmp_path, dispositions_file(network[JATIM], entries=[entry]))
    assert refused.exit_code != 0 and f"led by channel {BLITAR}" in refused.output
    stranger = _import(app, tmp_path, dispositions_file(network[BENGKULU], entries=[entry]))
    assert stranger.exit_code != 0 and "does not hold" in stranger.output
    assert _only_tip(app).review_status == "new"
    # The lead's reply must reach every reader channel too (and the source): sealed to Blitar alone it is refused.
    text = messages.build(messages.REPLY, "terima kasih", lang="id", sealed_by="reviewer")
    short = messages.seal_message(text, [tip.source_recipient, network[BLITAR].recipient])
    reply_id = os.urandom(16).hex()
    refused = _import(app, tmp_path, dispositions_file(network[BLITAR], entries=[entry], replies=[(tip.id, short)],
                                                       reply_ids=[reply_id]))
    assert refused.exit_code != 0 and "not sealed to the source and the current 3 reviewers" in refused.output
    readers = [network[c].recipient for c in (BLITAR, JATIM, NASIONAL)]
    whole = messages.seal_message(text, [tip.source_recipient, *readers])
    applied = _import(app, tmp_path, dispositions_file(network[BLITAR], entries=[entry], replies=[(tip.id, whole)],
                                                       reply_ids=[reply_id]))
    assert applied.exit_code == 0, applied.output
    assert _only_tip(app).review_status == "referred"
    with app.app_context():
        (reply,) = db.session().scalars(select(Tip)).one().messages
        assert reply.key_fingerprint == key_manifest.recipients_fingerprint(readers)


# --- audit -------------------------------------------------------------------------------------


def test_audit_events_name_channels_never_content(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity], tmp_path: Path
) -> None:
    post_report_form(client, description="canary-audit", province="35", regency="35.72")
    _export(app, tmp_path, JATIM)
    with app.app_context():
        events = [(e.event, json.loads(e.data)) for e in db.session().scalars(select(AuditEvent).order_by(AuditEvent.id))]
    added = [d for event, d in events if event == "channel.added"]
    assert [d["channel"] for d in added] == [c for c, *_ in NETWORK]
    assert added[1] == {"channel": JATIM, "regions": ["35"], "categories": [], "coordinating": True}
    assert [d for event, d in events if event == "channel.updated"] == [
        {"channel": UMUM, "regions": [], "categories": [], "coordinating": False}]
    (received,) = [d for event, d in events if event == "tip.received"]
    assert received["channels"] == [BLITAR, JATIM, NASIONAL]
    assert [d for event, d in events if event == "tip.exported"] == [{"channel": JATIM}]
    assert "canary-audit" not in json.dumps(events)


def _bundle_names(path: Path) -> list[str]:
    with tarfile.open(path) as tar:
        return tar.getnames()


def test_an_exported_payload_opens_only_for_its_channels(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity], tmp_path: Path
) -> None:
    post_report_form(client, description="canary", province="35", regency="35.72")
    out = tmp_path / "jatim.tar"
    run_cli(app, "export", "--channel", JATIM, "--out", str(out))
    verified = bundle.verify_bundle(out, [_server_key(app)])
    (tip,) = verified.manifest.tips
    sealed = verified.open_member(tip.payload.path)
    assert _readable_by(sealed, network) == {BLITAR, JATIM, NASIONAL}
    assert base64.b64encode(sealed)  # the bundle holds ciphertext only
    assert all(name.endswith((".age", ".json")) for name in _bundle_names(out))


def test_a_forward_only_channel_is_published_but_never_routed_to_nor_shown(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity]
) -> None:
    """An agency desk without reviewers of its own: a plain recipient list that only receives forwards."""
    run_cli(app, "channels", "add", "bp2mi", "--name-id", "Meja BP2MI", "--name-en", "BP2MI desk", "--forward-only")
    desk = ReviewerIdentity.generate()
    run_cli(app, "reviewers", "add", "desk-bp2mi", desk.recipient, "--channel", "bp2mi")  # no signing key: no files
    assert "Meja BP2MI" not in client.get("/").get_data(as_text=True)
    body = key_manifest.verify_directory(client.get("/api/v1/keys").get_json()["directory"], [_server_key(app)])
    assert key_manifest.directory_manifests(body)["bp2mi"]["scope"] == {
        "regions": [], "categories": [], "coordinating": False, "forward_only": True}
    assert post_report_form(client, description="canary").status_code == 200  # not a second catch-all
    assert _holders(app, _only_tip(app).id) == [UMUM, NASIONAL]
    refused = BrowserLike(client).open(["bp2mi"])
    assert refused.status_code == 409
    result = app.test_cli_runner().invoke(args=["channels", "add", "imigrasi", "--name-id", "I", "--name-en", "I",
                                                "--forward-only", "--region", "17"])
    assert result.exit_code != 0 and "a forward-only channel has no scope" in result.output
