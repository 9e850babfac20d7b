"""The status page: receipts find reports, replies come back sealed, follow-ups go out sealed.

Covers both paths (the JSON API status.js uses, and the JS-off pages), the
generic answer for wrong receipts, the ``access`` capability, replies from
signed dispositions (and their refusals), follow-ups in export bundles, purge
and rate limits. The browser itself is driven in tests/browser/test_status.py.
"""

from __future__ import annotations

import io
import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from crypto import bundle, messages, payload, receipt_keys
from crypto.attachments import open_attachment
from crypto.errors import NoMatchingIdentity
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.conftest import csrf_token, make_app, receipt_of
from tests.tipbox.conversation import dispositions_file, import_file, only_tip_id, sealed_reply, source_recipient
from tests.tipbox.support import post_report_form
from tipbox import clock, db
from tipbox.audit.models import AuditEvent
from tipbox.dispositions import DispositionError
from tipbox.models import Attachment, AttachmentChunk, Message, Tip
from tipbox.receipts import new_receipt

GENERIC = "No report matches this code"


def _export(app: Flask, path: Path, *args: str) -> bundle.VerifiedBundle:
    result = app.test_cli_runner().invoke(args=["export", "--out", str(path), *args])
    assert result.exit_code == 0, result.output
    return bundle.verify_bundle(path, None)


def _events(app: Flask, name: str) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event == name))


def _status_page(client: FlaskClient, receipt: str):
    # In English, so the generic answer can be matched whatever the catalog says.
    return client.post(
        "/status?lang=en",
        data={"csrf_token": csrf_token(client, "/status"), "receipt": receipt},
    )


def _access_of(page: str) -> str:
    match = re.search(r'name="access" value="([^"]+)"', page)
    assert match, "the thread page has no follow-up form"
    return match.group(1)


def test_browser_made_receipt_reply_and_followup(app: Flask, client: FlaskClient, reviewers, tmp_path: Path) -> None:
    browser = BrowserLike(client)
    receipt = browser.submit({"description": "Anak di pelabuhan"})
    tip_id = only_tip_id(app)
    keys = receipt_keys.derive(receipt)
    with app.app_context():
        tip = db.session().get(Tip, tip_id)
        # The server keeps the public recipient and a keyed hash: never the receipt or the lookup key.
        assert tip.source_recipient == keys.recipient
        assert tip.receipt_lookup not in (keys.lookup, receipt) and len(tip.receipt_lookup) == 64

    first = browser.status(receipt)
    assert first.status_code == 200 and first.headers["Cache-Control"].startswith("no-store")
    body = first.get_json()
    assert body["status"] == "received" and body["replies"] == [] and body["followups"] == []
    assert body["agency_kind"] is None and body["access"]

    reply_text = "Terima kasih. Di desa mana kejadiannya?"
    data = dispositions_file(
        reviewers[0],
        entries=[{"tip_id": tip_id, "status": "referred", "disclose": "police"}],
        replies=[(tip_id, sealed_reply(reply_text, source_recipient(app, tip_id), reviewers))],
    )
    result = import_file(app, data)
    assert (result.applied, result.replies) == (1, 1)

    second = browser.status(receipt).get_json()
    assert second["status"] == "referred" and second["agency_kind"] == "police"
    assert second["agency_text"] == "polisi"  # the deployment's language (id), not the code
    [reply] = second["replies"]
    sealed = __import__("base64").b64decode(reply["message"])
    assert messages.open_message(sealed, [keys.identity], kind="reply")["text"] == reply_text
    assert messages.open_message(sealed, [reviewers[1].secret], kind="reply")["text"] == reply_text
    with pytest.raises(NoMatchingIdentity):
        messages.open_message(sealed, [receipt_keys.derive(new_receipt()).identity])

    evidence = secrets.token_bytes(70_000)
    sent = browser.follow_up(second["access"], "Desa Sukamaju.", {"ab" * 16: ("foto.jpg", "image/jpeg", evidence)})
    assert sent.status_code == 200 and sent.get_json() == {"ok": True}
    third = browser.status(receipt).get_json()
    assert [f["attachments"] for f in third["followups"]] == [1]
    assert _events(app, "tip.reply") == 1 and _events(app, "tip.followup") == 1

    exported = _export(app, tmp_path / "bundle.tar")
    [entry] = exported.body["tips"]
    assert entry["source_recipient"] == keys.recipient
    assert sorted(exported.body["reviewers"]) == sorted(r.recipient for r in reviewers)
    assert [m["kind"] for m in entry["messages"]] == ["reply", "followup"]
    assert entry["attachments"] == []  # the follow-up's file is listed under its message
    followup = entry["messages"][1]
    document = messages.open_message(exported.open_member(followup["path"]), [reviewers[0].secret], kind="followup")
    assert document["text"] == "Desa Sukamaju." and document["sealed_by"] == "browser"
    [manifest] = document["attachments"]
    [file_entry] = followup["attachments"]
    out = io.BytesIO()
    open_attachment(io.BytesIO(exported.open_member(file_entry["path"])), out, [reviewers[1].secret])
    assert out.getvalue() == evidence and manifest["sha256"] == __import__("hashlib").sha256(evidence).hexdigest()
    # The source cannot open their own follow-up: it is sealed to the reviewers only.
    with pytest.raises(NoMatchingIdentity):
        messages.open_message(exported.open_member(followup["path"]), [keys.identity])

    # --new-only: the tip was exported; a new follow-up brings it (and its whole thread) back once.
    assert _export(app, tmp_path / "again.tar", "--new-only").body["tips"] == []
    assert browser.follow_up(third["access"], "Satu lagi.").status_code == 200
    [again] = _export(app, tmp_path / "third.tar", "--new-only").body["tips"]
    assert [m["kind"] for m in again["messages"]] == ["reply", "followup", "followup"]


def test_nojs_status_opens_replies_in_memory_and_takes_followups(
    app: Flask, client: FlaskClient, reviewers, tmp_path: Path
) -> None:
    page = post_report_form(client, description="Pekerja migran ditahan").get_data(as_text=True)
    receipt = receipt_of(page)
    tip_id = only_tip_id(app)
    assert source_recipient(app, tip_id) == receipt_keys.derive(receipt).recipient

    typed = receipt.lower().replace("-", " ")  # how a source may copy it
    shown = _status_page(client, typed)
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert receipt not in text and typed not in text  # nothing on the page carries the receipt
    assert shown.headers["Cache-Control"].startswith("no-store")

    import_file(app, dispositions_file(reviewers[1], replies=[(tip_id, sealed_reply("Apakah anak itu masih di sana?",
                                                                                     source_recipient(app, tip_id),
                                                                                     reviewers))]))
    thread = _status_page(client, receipt).get_data(as_text=True)
    assert "Apakah anak itu masih di sana?" in thread

    posted = client.post(
        "/status/message",
        data={
            "csrf_token": csrf_token(client, "/status"),
            "access": _access_of(thread),
            "message": "Ya, masih.",
            "attachments": (io.BytesIO(b"bukti tambahan"), "bukti.txt", "text/plain"),
        },
        content_type="multipart/form-data",
    )
    assert posted.status_code == 200, posted.get_data(as_text=True)
    [entry] = _export(app, tmp_path / "bundle.tar").body["tips"]
    followup = next(m for m in entry["messages"] if m["kind"] == "followup")
    assert followup["sealed_by"] == "server" and len(followup["attachments"]) == 1


@pytest.mark.parametrize("typed", ["", "ABCD", "0000-1111-2222-3333-444*", "not a receipt at all", "x" * 5000])
def test_malformed_receipts_get_the_generic_answer(client: FlaskClient, typed: str) -> None:
    response = _status_page(client, typed)
    assert response.status_code == 404 and GENERIC in response.get_data(as_text=True)


def test_wrong_and_unknown_receipts_get_the_same_answer(app: Flask, client: FlaskClient) -> None:
    browser = BrowserLike(client)
    receipt = browser.submit({"description": "x"})
    wrong = receipt[:-1] + ("0" if receipt[-1] != "0" else "1")  # one mistyped character
    pages = [_status_page(client, r) for r in (wrong, new_receipt(), "????")]
    assert {p.status_code for p in pages} == {404}
    bodies = {re.sub(r'value="[^"]*"', "", p.get_data(as_text=True)) for p in pages}
    assert len(bodies) == 1 and GENERIC in bodies.pop()
    answers = [browser.status(r) for r in (wrong, new_receipt())]
    answers.append(client.post("/api/v1/status", json={"lookup": "zz"}, headers=browser.headers()))
    assert {a.status_code for a in answers} == {404}
    assert len({a.get_data() for a in answers}) == 1 and answers[0].get_json()["error"] == "status_not_found"


def test_access_is_a_capability_that_expires(app: Flask, client: FlaskClient, monkeypatch) -> None:
    browser = BrowserLike(client)
    receipt = browser.submit({"description": "x"})
    access = browser.status(receipt).get_json()["access"]
    forged = access[:-2] + ("AA" if access[-2:] != "AA" else "BB")
    headers = browser.headers()
    assert client.post("/api/v1/followups", json={"access": forged}, headers=headers).status_code == 403
    assert client.post("/api/v1/followups", json={"access": 5}, headers=headers).status_code == 403
    later = clock.utcnow() + timedelta(minutes=31)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    expired = client.post("/api/v1/followups", json={"access": access}, headers=headers)
    assert expired.status_code == 403 and expired.get_json()["error"] == "access_expired"
    page = client.post(
        "/status/message",
        data={"csrf_token": csrf_token(client, "/status"), "access": access, "message": "Teks yang tidak hilang"},
    )
    assert page.status_code == 403 and "Teks yang tidak hilang" in page.get_data(as_text=True)


def test_empty_followup_keeps_the_form(app: Flask, client: FlaskClient) -> None:
    receipt = BrowserLike(client).submit({"description": "x"})
    access = _access_of(_status_page(client, receipt).get_data(as_text=True))
    page = client.post(
        "/status/message", data={"csrf_token": csrf_token(client, "/status"), "access": access, "message": "  "}
    )
    assert page.status_code == 400 and access in page.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Message)) == 0


def test_followup_cannot_write_to_the_tips_own_attachments(app: Flask, client: FlaskClient) -> None:
    browser = BrowserLike(client)
    receipt = browser.submit({"description": "x"}, {"cd" * 16: ("a.txt", "text/plain", b"asli")})
    access = browser.status(receipt).get_json()["access"]
    opened = client.post("/api/v1/followups", json={"access": access}, headers=browser.headers()).get_json()
    response = client.put(
        f"/api/v1/followups/{opened['upload_id']}/attachments/{'cd' * 16}/chunks/5",
        data=b"x" * 10,
        headers=browser.headers(opened["token"]),
        content_type="application/octet-stream",
    )
    assert response.status_code == 404
    # A follow-up's upload cannot be finalized as a new tip, nor a new tip's upload as a follow-up.
    sealed = payload.seal_tip(payload.build({"description": "x"}, lang="id", sealed_by="browser"), browser.recipients)
    crossed = browser.finalize(opened["upload_id"], opened["token"], sealed, [])
    assert crossed.status_code == 404 and crossed.get_json()["error"] == "not_found"
    tip = browser.open().get_json()
    reverse = browser.finalize(tip["tip_id"], tip["token"], sealed, [], base="/api/v1/followups")
    assert reverse.status_code == 404 and reverse.get_json()["error"] == "not_found"
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(AttachmentChunk).where(AttachmentChunk.seq == 5)) == 0


def test_reply_refusals_apply_nothing(app: Flask, client: FlaskClient, reviewers) -> None:
    BrowserLike(client).submit({"description": "x"})
    tip_id = only_tip_id(app)
    recipient = source_recipient(app, tip_id)
    good = sealed_reply("Halo", recipient, reviewers)
    reply_id = secrets.token_hex(16)
    import_file(app, dispositions_file(reviewers[0], replies=[(tip_id, good)], reply_ids=[reply_id]))

    # The same reply sent again in a new file (the CLI stopped before recording its export): skipped.
    again = import_file(app, dispositions_file(reviewers[0], replies=[(tip_id, good)], reply_ids=[reply_id]))
    assert (again.replies, again.replies_unchanged) == (0, 1)
    refused = {
        "reply id reused for other bytes": dispositions_file(
            reviewers[0], replies=[(tip_id, sealed_reply("Halo", recipient, reviewers))], reply_ids=[reply_id]
        ),
        "sealed to the source only": dispositions_file(
            reviewers[0], replies=[(tip_id, sealed_reply("Halo", recipient, []))]
        ),
        "not age": dispositions_file(reviewers[0], replies=[(tip_id, b"age-encryption.org/v1\n-> X25519 zz\n")]),
        "unknown tip": dispositions_file(reviewers[0], replies=[(secrets.token_hex(16), good)]),
    }
    for why, data in refused.items():
        with pytest.raises(DispositionError):
            import_file(app, data)
        with app.app_context():
            assert db.session().scalar(select(func.count()).select_from(Message)) == 1, why

    with app.app_context(), db.transaction() as session:
        session.get(Tip, tip_id).source_recipient = None  # a report from before the status page existed
    with pytest.raises(DispositionError, match="no source key"):
        import_file(app, dispositions_file(reviewers[0], replies=[(tip_id, good)]))


def test_status_lookups_are_rate_limited(tmp_path: Path, db_url: str, reviewers) -> None:
    # Per hour, not per minute: the sliding window weighs the previous window down as the next one starts,
    # so four requests that straddle a minute boundary can all pass (seen once in CI).
    app = make_app(
        tmp_path / "var", db_url, reviewers, TIPBOX_RATELIMIT_ENABLED="1", TIPBOX_RATELIMIT_STATUS="3/hour"
    )
    try:
        client = app.test_client()
        codes = [_status_page(client, new_receipt()).status_code for _ in range(3)]
        browser = BrowserLike(client)
        codes.append(browser.status(new_receipt()).status_code)  # the API draws from the same bucket
        assert codes == [404, 404, 404, 429]
    finally:
        app.extensions["tipbox.engine"].dispose()


def test_forget_clears_the_page(client: FlaskClient) -> None:
    response = client.post("/status/forget", data={"csrf_token": csrf_token(client, "/status")})
    assert response.status_code == 200 and response.headers["Clear-Site-Data"] == '"cache"'
    assert 'name="receipt"' in response.get_data(as_text=True)


def test_purge_takes_the_thread_and_the_receipt_stops_working(
    app: Flask, client: FlaskClient, reviewers, monkeypatch
) -> None:
    browser = BrowserLike(client)
    receipt = browser.submit({"description": "x"})
    tip_id = only_tip_id(app)
    import_file(app, dispositions_file(reviewers[0], replies=[(tip_id, sealed_reply("Halo", source_recipient(app, tip_id),
                                                                                      reviewers))]))
    access = browser.status(receipt).get_json()["access"]
    assert browser.follow_up(access, "Lagi", {"ef" * 16: ("b.txt", "text/plain", b"isi")}).status_code == 200
    later = clock.utcnow() + timedelta(days=400)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        session = db.session()
        for model in (Tip, Message, Attachment, AttachmentChunk):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model
    assert browser.status(receipt).status_code == 404


def test_abandoned_followup_uploads_are_cleaned_up(app: Flask, client: FlaskClient, monkeypatch) -> None:
    browser = BrowserLike(client)
    receipt = browser.submit({"description": "x"})
    access = browser.status(receipt).get_json()["access"]
    opened = client.post("/api/v1/followups", json={"access": access}, headers=browser.headers()).get_json()
    client.put(
        f"/api/v1/followups/{opened['upload_id']}/attachments/{'12' * 16}/chunks/0",
        data=b"x" * 100,
        headers=browser.headers(opened["token"]),
        content_type="application/octet-stream",
    )
    later = clock.utcnow() + timedelta(days=3)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    assert app.test_cli_runner().invoke(args=["cleanup-uploads"]).exit_code == 0
    with app.app_context():
        session = db.session()
        assert session.scalar(select(func.count()).select_from(Message)) == 0
        assert session.scalar(select(func.count()).select_from(AttachmentChunk)) == 0
        assert session.scalar(select(func.count()).select_from(Tip)) == 1  # the report itself stays


def test_server_sealed_tip_payload_still_opens(app: Flask, client: FlaskClient, reviewers) -> None:
    """The no-JS receipt is made and used by the server; the tip itself is unchanged."""
    post_report_form(client, description="x")
    with app.app_context():
        tip = db.session().get(Tip, only_tip_id(app))
        assert payload.open_tip(tip.payload, [reviewers[0].secret])["sealed_by"] == "server"


def test_thread_events_are_audited_and_verify_clean(app: Flask, client: FlaskClient, reviewers, tmp_path: Path) -> None:
    from crypto import audit
    from crypto.signing import public_key_b64
    from tipbox.keys import load_server_key

    browser = BrowserLike(client)
    receipt = browser.submit({"description": "x"})
    tip_id = only_tip_id(app)
    import_file(app, dispositions_file(reviewers[0], replies=[(tip_id, sealed_reply("Halo", source_recipient(app, tip_id),
                                                                                      reviewers))]))
    assert browser.follow_up(browser.status(receipt).get_json()["access"], "Lagi").status_code == 200
    out = tmp_path / "audit.jsonl"
    assert app.test_cli_runner().invoke(args=["audit", "export", "--out", str(out)]).exit_code == 0
    lines = out.read_text().splitlines()
    events = [__import__("json").loads(line)["entry"] for line in lines if '"entry"' in line]
    thread = [e for e in events if e["event"] in ("tip.reply", "tip.followup")]
    assert [e["event"] for e in thread] == ["tip.reply", "tip.followup"]
    assert all(e["tip"] == tip_id and e["time"].endswith(":00:00Z") for e in thread)
    assert "Halo" not in out.read_text() and "Lagi" not in out.read_text()
    key = public_key_b64(load_server_key(app.extensions["tipbox.config"].server_key_file))
    report = audit.verify(lines, [key])
    assert report.violations == []


def test_followup_finalize_retried_after_a_lost_answer_succeeds_once(app: Flask, client: FlaskClient) -> None:
    browser = BrowserLike(client)
    receipt = browser.submit({"description": "x"})
    access = browser.status(receipt).get_json()["access"]
    opened = client.post("/api/v1/followups", json={"access": access}, headers=browser.headers()).get_json()
    document = messages.build("followup", "Sekali saja", lang="id", sealed_by="browser")
    sealed = messages.seal_message(document, browser.recipients)
    first = browser.finalize(opened["upload_id"], opened["token"], sealed, [], base="/api/v1/followups")
    again = browser.finalize(opened["upload_id"], opened["token"], sealed, [], base="/api/v1/followups")
    assert (first.status_code, again.status_code) == (200, 200)
    other = messages.seal_message(document, browser.recipients)  # same text, new ciphertext: not a retry
    assert browser.finalize(opened["upload_id"], opened["token"], other, [], base="/api/v1/followups").status_code == 409
    assert len(browser.status(receipt).get_json()["followups"]) == 1 and _events(app, "tip.followup") == 1
