"""The browser upload API: happy path, and every kind of bad input leaves nothing half-stored."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from crypto import envelope, padding, payload
from crypto.identity import ReviewerIdentity
from tests.tipbox.browser_like import BrowserLike
from tipbox import clock, db
from tipbox.audit.models import AuditEvent
from tipbox.models import TIP_READY, TIP_UPLOADING, AttachmentChunk, Tip
from tipbox.receipts import new_receipt

ATT = "ab" * 16


def _tips(app: Flask, state: str | None = None) -> list[Tip]:
    with app.app_context():
        query = select(Tip)
        if state:
            query = query.where(Tip.state == state)
        return list(db.session().scalars(query))


def test_full_upload_is_stored_as_ciphertext_and_opens(app: Flask, client: FlaskClient, reviewers) -> None:
    browser = BrowserLike(client)
    content = b"\x89PNG" + bytes(range(256)) * 700
    receipt = browser.submit(
        {"description": "ada anak dipekerjakan"}, {ATT: ("foto.png", "image/png", content)}, chunk=70_000
    )
    assert len(receipt) == 24
    [tip] = _tips(app, TIP_READY)
    assert tip.sealed_by == "browser"
    assert tip.received_at.minute == 0 and tip.received_at.second == 0
    assert tip.receipt_lookup and receipt not in tip.receipt_lookup
    document = payload.open_tip(tip.payload, [reviewers[1].secret])
    assert document["answers"]["description"] == "ada anak dipekerjakan"
    assert document["attachments"][0]["sha256"] == hashlib.sha256(content).hexdigest()


def _opened(browser: BrowserLike) -> tuple[str, str]:
    opened = browser.open().get_json()
    return opened["tip_id"], opened["token"]


def test_finalize_retried_after_a_lost_answer_succeeds_once(app: Flask, client: FlaskClient, monkeypatch) -> None:
    """Over Tor the answer to a committed finalize can vanish; the same retry must not hear 'failed'."""
    browser = BrowserLike(client)
    tip, token = _opened(browser)
    sealed = payload.seal_tip(payload.build({"description": "x"}, lang="id", sealed_by="browser"), browser.recipients)
    receipt = new_receipt()
    assert browser.finalize(tip, token, sealed, [], receipt=receipt).status_code == 200
    again = browser.finalize(tip, token, sealed, [], receipt=receipt)
    assert again.status_code == 200 and again.get_json() == {"ok": True}
    # Anything else is still a replay: another payload, another receipt, another token.
    other = payload.seal_tip(payload.build({"description": "y"}, lang="id", sealed_by="browser"), browser.recipients)
    assert browser.finalize(tip, token, other, [], receipt=receipt).status_code == 409
    assert browser.finalize(tip, token, sealed, []).status_code == 409
    assert browser.finalize(tip, "not-the-token", sealed, [], receipt=receipt).status_code == 404
    [stored] = _tips(app, TIP_READY)
    with app.app_context():
        events = db.session().scalars(select(AuditEvent).where(AuditEvent.event == "tip.received")).all()
    assert len(events) == 1 and stored.payload == sealed
    # A day on, the token hash is forgotten: the retry window is over.
    later = clock.utcnow() + timedelta(days=2)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    assert app.test_cli_runner().invoke(args=["cleanup-uploads"]).exit_code == 0
    [stored] = _tips(app, TIP_READY)
    assert stored.upload_token_hash is None


def test_finalize_replay_is_refused(app: Flask, client: FlaskClient) -> None:
    browser = BrowserLike(client)
    tip, token = _opened(browser)
    sealed = payload.seal_tip(payload.build({"description": "x"}, lang="id", sealed_by="browser"), browser.recipients)
    assert browser.finalize(tip, token, sealed, []).status_code == 200
    again = browser.finalize(tip, token, sealed, [])
    assert again.status_code == 409
    assert again.get_json()["error"] == "already_finalized" and again.get_json()["message"]
    assert len(_tips(app, TIP_READY)) == 1


@pytest.mark.parametrize(
    "make_payload",
    [
        lambda r: b"not an age file at all",
        lambda r: envelope.seal_bytes(padding.pad(b"{}"), r[:1]),  # sealed to one reviewer only
        lambda r: envelope.seal_bytes(b"unpadded" * 10 + b"!", r),  # 81 bytes: not a Padme bucket
        lambda r: envelope.seal_bytes(padding.pad(b"{}"), [ReviewerIdentity.generate().recipient, *r]),
        lambda r: b"age-encryption.org/v1\n-> X25519 abc\n--- AAAA\n",
    ],
    ids=["garbage", "too-few-recipients", "unpadded", "extra-recipient", "bad-header"],
)
def test_malformed_payload_is_refused_and_tip_stays_invisible(app: Flask, client: FlaskClient, make_payload) -> None:
    browser = BrowserLike(client)
    tip, token = _opened(browser)
    response = browser.finalize(tip, token, make_payload(browser.recipients), [])
    assert response.status_code == 400
    assert response.get_json()["error"] == "malformed_ciphertext"
    assert response.get_json()["message"]
    assert _tips(app, TIP_READY) == []


def test_wrong_token_and_unknown_tip(client: FlaskClient) -> None:
    browser = BrowserLike(client)
    tip, _token = _opened(browser)
    assert browser.put(tip, "wrong-token", ATT, 0, b"x").status_code == 404
    assert browser.put("0" * 32, "t", ATT, 0, b"x").status_code == 404
    assert browser.put("../../etc", "t", ATT, 0, b"x").status_code == 404


def test_chunk_retry_is_idempotent_and_conflict_is_refused(app: Flask, client: FlaskClient) -> None:
    browser = BrowserLike(client)
    tip, token = _opened(browser)
    assert browser.put(tip, token, ATT, 0, b"abc").status_code == 200
    assert browser.put(tip, token, ATT, 0, b"abc").status_code == 200
    conflict = browser.put(tip, token, ATT, 0, b"abd")
    assert conflict.status_code == 409 and conflict.get_json()["error"] == "chunk_conflict"


def test_incomplete_attachment_blocks_finalize(app: Flask, client: FlaskClient) -> None:
    browser = BrowserLike(client)
    tip, token = _opened(browser)
    sealed, _ = browser.seal_file(b"evidence" * 20_000)
    browser.put(tip, token, ATT, 0, sealed[:65536])
    # Completing with the full size fails: a chunk is missing.
    response = browser.complete(tip, token, ATT, len(sealed), hashlib.sha256(sealed).hexdigest())
    assert response.status_code == 409 and response.get_json()["error"] == "incomplete_upload"
    doc = payload.build({"description": "x"}, lang="id", sealed_by="browser")
    final = browser.finalize(tip, token, payload.seal_tip(doc, browser.recipients), [ATT])
    assert final.status_code == 409
    # Declaring fewer attachments than were uploaded is refused too.
    final = browser.finalize(tip, token, payload.seal_tip(doc, browser.recipients), [])
    assert final.status_code == 409
    assert _tips(app, TIP_READY) == []


def test_attachment_that_is_not_age_is_refused(client: FlaskClient) -> None:
    browser = BrowserLike(client)
    tip, token = _opened(browser)
    junk = b"plain text evidence that was never sealed"
    browser.put(tip, token, ATT, 0, junk)
    response = browser.complete(tip, token, ATT, len(junk), hashlib.sha256(junk).hexdigest())
    assert response.status_code == 400 and response.get_json()["error"] == "malformed_ciphertext"


def test_oversized_chunk_and_attachment(tmp_path, db_url, reviewers) -> None:
    from tests.tipbox.conftest import make_app

    app = make_app(
        tmp_path / "v2", db_url, reviewers, TIPBOX_MAX_ATTACHMENT_BYTES="100000", TIPBOX_UPLOAD_CHUNK_BYTES="65536"
    )
    client = app.test_client()
    browser = BrowserLike(client)
    tip, token = _opened(browser)
    big = browser.put(tip, token, ATT, 0, b"x" * 70_000)
    assert big.status_code == 413 and big.get_json()["error"] == "too_large"
    # A little too large: every chunk fits the running bound, completion is refused.
    sealed, _ = browser.seal_file(b"y" * 150_000)
    for seq, i in enumerate(range(0, len(sealed), 65536)):
        assert browser.put(tip, token, ATT, seq, sealed[i : i + 65536]).status_code == 200
    done = browser.complete(tip, token, ATT, len(sealed), hashlib.sha256(sealed).hexdigest())
    assert done.status_code == 413 and done.get_json()["error"] == "attachment_too_large"
    # Far too large: refused while uploading, before it is all on disk.
    other = "cd" * 16
    sealed, _ = browser.seal_file(b"z" * 400_000)
    statuses = [
        browser.put(tip, token, other, seq, sealed[i : i + 65536]).status_code
        for seq, i in enumerate(range(0, len(sealed), 65536))
    ]
    assert 413 in statuses
    app.extensions["tipbox.engine"].dispose()


def test_too_many_attachments(tmp_path, db_url, reviewers) -> None:
    from tests.tipbox.conftest import make_app

    app = make_app(tmp_path / "v3", db_url, reviewers, TIPBOX_MAX_ATTACHMENTS="1")
    browser = BrowserLike(app.test_client())
    tip, token = _opened(browser)
    assert browser.put(tip, token, "1" * 32, 0, b"a").status_code == 200
    response = browser.put(tip, token, "2" * 32, 0, b"a")
    assert response.status_code == 413 and response.get_json()["error"] == "too_many_attachments"
    app.extensions["tipbox.engine"].dispose()


def test_keys_changed_during_upload(app: Flask, client: FlaskClient) -> None:
    browser = BrowserLike(client)
    tip, token = _opened(browser)
    doc = payload.build({"description": "x"}, lang="id", sealed_by="browser")
    response = browser.finalize(tip, token, payload.seal_tip(doc, browser.recipients), [], fingerprint="AAAA")
    assert response.status_code == 409 and response.get_json()["error"] == "keys_changed"


def test_api_requires_csrf(client: FlaskClient) -> None:
    response = client.post("/api/v1/submissions")
    assert response.status_code == 400
    assert response.get_json()["error"] == "csrf"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b"{not json", "application/json", 400, "bad_request"),
        (b"[]", "application/json", 400, "bad_request"),
        (b"{}", "text/plain", 415, "unsupported_media"),
        (b'{"payload": "!!", "attachments": [], "key_fingerprint": "x"}', "application/json", 400, "bad_request"),
    ],
)
def test_bad_json_bodies(client: FlaskClient, body: bytes, content_type: str, status: int, error: str) -> None:
    browser = BrowserLike(client)
    tip, token = _opened(browser)
    response = client.post(
        f"/api/v1/submissions/{tip}/finalize", data=body, content_type=content_type, headers=browser.headers(token)
    )
    assert response.status_code == status
    assert response.get_json()["error"] == error and response.get_json()["message"]


def test_wrong_content_type_for_chunk(client: FlaskClient) -> None:
    browser = BrowserLike(client)
    tip, token = _opened(browser)
    response = client.put(
        f"/api/v1/submissions/{tip}/attachments/{ATT}/chunks/0",
        data=b"x",
        content_type="text/plain",
        headers=browser.headers(token),
    )
    assert response.status_code == 415


def test_abandoned_uploads_are_cleaned_up(app: Flask, client: FlaskClient) -> None:
    from datetime import timedelta

    from tipbox.clock import utcnow
    from tipbox.intake.service import cleanup_abandoned

    browser = BrowserLike(client)
    tip, token = _opened(browser)
    browser.put(tip, token, ATT, 0, b"partial ciphertext")
    with app.app_context():
        with db.transaction() as session:
            assert cleanup_abandoned(session) == 0
        with db.transaction() as session:
            assert cleanup_abandoned(session, utcnow() + timedelta(hours=30)) == 1
        session = db.session()
        assert session.scalar(select(func.count()).select_from(AttachmentChunk)) == 0
    assert _tips(app, TIP_UPLOADING) == []
