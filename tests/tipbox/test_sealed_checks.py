"""Every sealed part a browser uploads is checked the tipbox way before it counts.

The guard is ``check_sealed`` (tipbox/intake/service.py), called when an
attachment is completed and when a payload is finalized, for tips and for
follow-ups alike: an age file with exactly one X25519 stanza per active
reviewer and a Padmé-padded length. A source's browser that sealed to one
reviewer instead of all (a stale or tampered key list), to an extra outsider,
or without padding must be told at once, not accepted and found out by a
reviewer weeks later. Plain junk is refused elsewhere too (the API tests);
these cases are well-formed age files that only the tipbox checks catch:
removing the ``check_sealed`` call in ``complete_attachment`` or in
``_check_parts`` makes them fail.

What the server cannot check: age stanzas do not name their recipient, so a
file sealed twice to the same reviewer (or to an outsider in place of one)
has the right stanza count and is accepted; only a reviewer who cannot open
it would notice. The page seals to the signed manifest's keys; the count
check catches bugs and stale key lists, not a hostile page.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from crypto import envelope, messages, padding
from crypto.attachments import seal_attachment
from crypto.identity import ReviewerIdentity
from tests.tipbox.browser_like import BrowserLike
from tipbox import db
from tipbox.models import Attachment, Message

ATT = "5e" * 16
Sealer = Callable[[bytes, list[str]], bytes]


def _sealed_properly(content: bytes, recipients: list[str]) -> bytes:
    out = io.BytesIO()
    seal_attachment(io.BytesIO(content), out, recipients)
    return out.getvalue()


BAD_SEALS: dict[str, Sealer] = {
    "one-reviewer-of-two": lambda content, r: envelope.seal_bytes(padding.pad(content), r[:1]),
    "reviewers-and-an-outsider": lambda content, r: envelope.seal_bytes(
        padding.pad(content), [*r, ReviewerIdentity.generate().recipient]
    ),
    "unpadded": lambda content, r: envelope.seal_bytes(content + b"!", r),
}
CONTENT = b"bukti " * 200  # 1200 bytes: + "!" is 1201, not a Padme bucket


def _upload(browser: BrowserLike, base: str, upload: str, token: str, sealed: bytes):
    url = f"{base}/{upload}/attachments/{ATT}"
    put = browser.client.put(
        f"{url}/chunks/0", data=sealed, headers=browser.headers(token), content_type="application/octet-stream"
    )
    assert put.status_code == 200, put.get_json()
    return browser.client.post(
        f"{url}/complete",
        json={"size": len(sealed), "sha256": hashlib.sha256(sealed).hexdigest()},
        headers=browser.headers(token),
    )


def _followup_upload(browser: BrowserLike) -> tuple[str, str]:
    access = browser.status(browser.submit({"description": "laporan awal"})).get_json()["access"]
    opened = browser.client.post("/api/v1/followups", json={"access": access}, headers=browser.headers())
    assert opened.status_code == 201, opened.get_json()
    return opened.get_json()["upload_id"], opened.get_json()["token"]


def _open(browser: BrowserLike, kind: str) -> tuple[str, str, str]:
    if kind == "tip":
        opened = browser.open().get_json()
        return "/api/v1/submissions", opened["tip_id"], opened["token"]
    return ("/api/v1/followups", *_followup_upload(browser))


def _complete_attachments(app: Flask) -> list[Attachment]:
    with app.app_context():
        return list(db.session().scalars(select(Attachment).where(Attachment.complete.is_(True))))


@pytest.mark.parametrize("kind", ["tip", "followup"])
@pytest.mark.parametrize("seal", list(BAD_SEALS), ids=list(BAD_SEALS))
def test_badly_sealed_attachment_is_refused_at_completion(app: Flask, client: FlaskClient, kind: str, seal: str) -> None:
    browser = BrowserLike(client)
    assert len(browser.recipients) == 2  # the cases above assume two reviewers
    base, upload, token = _open(browser, kind)
    before = len(_complete_attachments(app))
    response = _upload(browser, base, upload, token, BAD_SEALS[seal](CONTENT, browser.recipients))
    assert response.status_code == 400
    assert response.get_json()["error"] == "malformed_ciphertext"
    assert response.get_json()["message"]
    assert len(_complete_attachments(app)) == before
    # The same upload sealed properly is then accepted: the refusal was about the sealing, nothing else.
    again = browser.client.put(
        f"{base}/{upload}/attachments/{'6f' * 16}/chunks/0",
        data=(good := _sealed_properly(CONTENT, browser.recipients)),
        headers=browser.headers(token),
        content_type="application/octet-stream",
    )
    assert again.status_code == 200
    done = browser.client.post(
        f"{base}/{upload}/attachments/{'6f' * 16}/complete",
        json={"size": len(good), "sha256": hashlib.sha256(good).hexdigest()},
        headers=browser.headers(token),
    )
    assert done.status_code == 200, done.get_json()


@pytest.mark.parametrize("seal", list(BAD_SEALS), ids=list(BAD_SEALS))
def test_badly_sealed_followup_is_refused_at_finalize(app: Flask, client: FlaskClient, seal: str) -> None:
    browser = BrowserLike(client)
    upload, token = _followup_upload(browser)
    sealed = BAD_SEALS[seal](CONTENT, browser.recipients)
    response = browser.finalize(upload, token, sealed, [], base="/api/v1/followups")
    assert response.status_code == 400
    assert response.get_json()["error"] == "malformed_ciphertext"
    with app.app_context():
        received = db.session().scalars(select(Message).where(Message.kind == messages.FOLLOWUP)).all()
    assert [m.state for m in received] == ["uploading"]  # still waiting for a good seal, not received


# --- the rest of the completion checks (each named by the mutant that survived without it) ---------------


def _app(tmp_path: Path, db_url: str, reviewers, **env: str) -> Flask:
    from tests.tipbox.conftest import make_app

    return make_app(tmp_path / "limits", db_url, reviewers, **env)


def _complete(browser: BrowserLike, tip: str, token: str, att: str, sealed: bytes, pieces: list[int] | None = None):
    """Upload ``sealed`` in 64 KiB pieces (only the sequence numbers in ``pieces``, if given) and complete it."""
    chunk = 64 * 1024
    for seq, start in enumerate(range(0, len(sealed), chunk)):
        if pieces is None or seq in pieces:
            assert browser.put(tip, token, att, seq, sealed[start : start + chunk]).status_code == 200
    return browser.complete(tip, token, att, len(sealed), hashlib.sha256(sealed).hexdigest())


def test_completing_twice_is_idempotent_only_for_the_same_file(app: Flask, client: FlaskClient) -> None:
    """complete_attachment: a retried completion (same size and hash) is a no-op; other bytes are a 409."""
    browser = BrowserLike(client)
    opened = browser.open().get_json()
    sealed = _sealed_properly(CONTENT, browser.recipients)
    assert _complete(browser, opened["tip_id"], opened["token"], ATT, sealed).status_code == 200
    again = browser.complete(opened["tip_id"], opened["token"], ATT, len(sealed), hashlib.sha256(sealed).hexdigest())
    assert again.status_code == 200
    other = browser.complete(opened["tip_id"], opened["token"], ATT, len(sealed), "0" * 64)
    assert other.status_code == 409 and other.get_json()["error"] == "already_finalized"
    with app.app_context():
        [stored] = _complete_attachments(app)
        assert (stored.size, stored.sha256) == (len(sealed), hashlib.sha256(sealed).hexdigest())


def test_a_gap_in_the_pieces_is_incomplete_even_when_the_total_matches(app: Flask, client: FlaskClient) -> None:
    """complete_attachment: pieces 0 and 2 of a three-piece file, with a declared size equal to what arrived."""
    browser = BrowserLike(client)
    opened = browser.open().get_json()
    sealed = _sealed_properly(b"k" * 150_000, browser.recipients)
    chunk = 64 * 1024
    arrived = sealed[:chunk] + sealed[2 * chunk :]
    for seq in (0, 2):
        assert browser.put(opened["tip_id"], opened["token"], ATT, seq, sealed[seq * chunk : (seq + 1) * chunk]).status_code == 200
    response = browser.complete(opened["tip_id"], opened["token"], ATT, len(arrived), hashlib.sha256(arrived).hexdigest())
    assert response.status_code == 409 and response.get_json()["error"] == "incomplete_upload"
    assert _complete_attachments(app) == []


def test_an_attachment_of_exactly_the_maximum_size_is_accepted(tmp_path: Path, db_url: str, reviewers) -> None:
    """complete_attachment: the limit is inclusive (``>``, not ``>=``).

    The server sees only the padded size, so the limit holds per Padmé bucket:
    everything that pads to the limit's bucket is accepted, the next byte is not.
    """
    from crypto.padding import padded_length

    app = _app(tmp_path, db_url, reviewers, TIPBOX_MAX_ATTACHMENT_BYTES="100000")
    browser = BrowserLike(app.test_client())
    top = padded_length(100_000) - 1  # the largest content in the limit's bucket
    for size, expected in ((top, 200), (top + 1, 413)):
        opened = browser.open().get_json()
        response = _complete(browser, opened["tip_id"], opened["token"], ATT, _sealed_properly(b"m" * size, browser.recipients))
        assert response.status_code == expected, size
    app.extensions["tipbox.engine"].dispose()


def test_a_payload_one_byte_over_the_ceiling_is_refused_for_its_size(app: Flask, client: FlaskClient) -> None:
    """_check_parts: exactly the ceiling is judged as an age file (400), one byte more as too large (413)."""
    from crypto import payload
    from tipbox.intake.service import sealed_ceiling

    browser = BrowserLike(client)
    ceiling = sealed_ceiling(payload.MAX_PAYLOAD_BYTES)
    for size, expected in ((ceiling, (400, "malformed_ciphertext")), (ceiling + 1, (413, "payload_too_large"))):
        opened = browser.open().get_json()
        response = browser.finalize(opened["tip_id"], opened["token"], b"x" * size, [])
        assert (response.status_code, response.get_json()["error"]) == expected, size


def test_the_attachments_count_towards_the_whole_submission(tmp_path: Path, db_url: str, reviewers) -> None:
    """_check_parts: payload + every attachment must fit the sealed ceiling of TIPBOX_MAX_SUBMISSION_BYTES.

    With a 64 KiB limit that ceiling is about 133 kB (it allows for the largest header); three 50 kB files do not fit.
    """
    from crypto import payload

    app = _app(tmp_path, db_url, reviewers, TIPBOX_MAX_ATTACHMENT_BYTES="65536", TIPBOX_MAX_SUBMISSION_BYTES="65536")
    browser = BrowserLike(app.test_client())
    opened = browser.open().get_json()
    ids = ["a1" * 16, "b2" * 16, "c3" * 16]
    for att in ids:
        sealed = _sealed_properly(b"n" * 50_000, browser.recipients)
        assert _complete(browser, opened["tip_id"], opened["token"], att, sealed).status_code == 200
    document = payload.build({"description": "x"}, lang="id", sealed_by="browser")
    response = browser.finalize(opened["tip_id"], opened["token"], payload.seal_tip(document, browser.recipients), ids)
    assert response.status_code == 413 and response.get_json()["error"] == "submission_too_large"
    # One of them fits.
    fresh = browser.open().get_json()
    assert _complete(browser, fresh["tip_id"], fresh["token"], ids[0], _sealed_properly(b"n" * 50_000, browser.recipients)).status_code == 200
    fits = browser.finalize(fresh["tip_id"], fresh["token"], payload.seal_tip(document, browser.recipients), ids[:1])
    assert fits.status_code == 200, fits.get_json()
    app.extensions["tipbox.engine"].dispose()


def test_an_attachment_declared_twice_is_incomplete(app: Flask, client: FlaskClient) -> None:
    """_check_parts: the declared list must be the stored set exactly, without repeats."""
    from crypto import payload

    browser = BrowserLike(client)
    opened = browser.open().get_json()
    assert _complete(browser, opened["tip_id"], opened["token"], ATT, _sealed_properly(CONTENT, browser.recipients)).status_code == 200
    document = payload.build({"description": "x"}, lang="id", sealed_by="browser")
    response = browser.finalize(opened["tip_id"], opened["token"], payload.seal_tip(document, browser.recipients), [ATT, ATT])
    assert response.status_code == 409 and response.get_json()["error"] == "incomplete_upload"


def test_pieces_that_do_not_hash_to_the_declared_sha256_are_incomplete(app: Flask, client: FlaskClient) -> None:
    """complete_attachment: count, order and total all match, but the bytes are not the declared ones."""
    browser = BrowserLike(client)
    opened = browser.open().get_json()
    sealed = _sealed_properly(CONTENT, browser.recipients)
    assert browser.put(opened["tip_id"], opened["token"], ATT, 0, sealed).status_code == 200
    response = browser.complete(opened["tip_id"], opened["token"], ATT, len(sealed), "0" * 64)
    assert (response.status_code, response.get_json()["error"]) == (409, "incomplete_upload")
    assert _complete_attachments(app) == []


def test_completing_an_attachment_never_uploaded_is_not_found(app: Flask, client: FlaskClient) -> None:
    """complete_attachment looks the attachment up without creating it (create=False)."""
    browser = BrowserLike(client)
    opened = browser.open().get_json()
    response = browser.complete(opened["tip_id"], opened["token"], ATT, 10, "0" * 64)
    assert (response.status_code, response.get_json()["error"]) == (404, "not_found")


def test_finalize_with_a_declared_attachment_still_uploading_is_incomplete(app: Flask, client: FlaskClient) -> None:
    """_check_parts: every declared attachment must have been completed."""
    from crypto import payload

    browser = BrowserLike(client)
    opened = browser.open().get_json()
    assert browser.put(opened["tip_id"], opened["token"], ATT, 0, _sealed_properly(CONTENT, browser.recipients)).status_code == 200
    document = payload.build({"description": "x"}, lang="id", sealed_by="browser")
    response = browser.finalize(opened["tip_id"], opened["token"], payload.seal_tip(document, browser.recipients), [ATT])
    assert (response.status_code, response.get_json()["error"]) == (409, "incomplete_upload")


def test_a_followups_audit_event_counts_its_attachments(app: Flask, client: FlaskClient) -> None:
    """finalize_followup -> receive_message(attachments=...): the auditor sees how many files came, never what."""
    import json

    from tipbox.audit.models import AuditEvent

    browser = BrowserLike(client)
    access = browser.status(browser.submit({"description": "awal"})).get_json()["access"]
    sent = browser.follow_up(access, "tambahan", {"7e" * 16: ("a.txt", "text/plain", b"isi" * 100),
                                                 "8f" * 16: ("b.txt", "text/plain", b"lain" * 100)})
    assert sent.status_code == 200
    with app.app_context():
        [event] = db.session().scalars(select(AuditEvent).where(AuditEvent.event == "tip.followup")).all()
        assert json.loads(event.data)["attachments"] == 2


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
@pytest.mark.parametrize("kind", ["tip", "followup"])
def test_a_finalize_racing_another_waits_for_it_and_then_refuses(
    app: Flask, client: FlaskClient, db_url: str, kind: str
) -> None:
    """finalize and finalize_followup lock the upload's row (SELECT ... FOR UPDATE) before they check it.

    Session A stands for a finalize in flight: it has marked the upload ready
    but not committed. A second finalize (B, same token, other bytes) must
    wait for A and then see it finalized (409), not read the old state, pass
    every check and overwrite A's upload when A commits (what happens without
    the lock). Only PostgreSQL runs writers concurrently (SQLite has one
    writer), so this runs there; mutmut, which runs SQLite only, cannot see it
    (docs/testing.md).
    """
    import threading

    from sqlalchemy import text, update
    from sqlalchemy.orm import sessionmaker

    from crypto import payload, receipt_keys
    from tipbox.intake import context
    from tipbox.intake.service import IntakeError, SourceKeys, finalize, finalize_followup
    from tipbox.models import Message, Tip
    from tipbox.receipts import new_receipt

    browser = BrowserLike(client)
    base, upload_id, token = _open(browser, kind)
    engine = app.extensions["tipbox.engine"]
    make_session = sessionmaker(engine)
    with app.app_context():
        limits, secret = context.limits(), context.secret()
    outcome: list[object] = []

    def second_finalize() -> None:
        with make_session() as db:
            try:
                if kind == "tip":
                    sealed = payload.seal_tip(payload.build({"description": "kedua"}, lang="id", sealed_by="browser"),
                                              browser.recipients)
                    outcome.append(finalize(db, limits, secret, upload_id, token, sealed, [], browser.fingerprint,
                                            SourceKeys.derived(receipt_keys.derive(new_receipt()))))
                else:
                    document = messages.build("followup", "kedua", lang="id", sealed_by="browser", attachments=[])
                    outcome.append(finalize_followup(db, limits, upload_id, token,
                                                     messages.seal_message(document, browser.recipients), [],
                                                     browser.fingerprint))
                db.commit()
            except IntakeError as exc:
                outcome.append(exc.code)

    row = Tip if kind == "tip" else Message
    with make_session() as first:
        first.execute(update(row).where(row.id == upload_id).values(state="ready"))  # A's finalize, not committed
        racer = threading.Thread(target=second_finalize)
        racer.start()
        # Wait (an event, not a sleep) until B is blocked on A's row lock. Autocommit: inside one
        # transaction PostgreSQL would keep answering from its first snapshot of pg_stat_activity.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watch:
            waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
            for _ in range(2000):
                if watch.execute(waiting).scalar():
                    break
                racer.join(0.005)
            else:
                raise AssertionError("the second finalize never waited for the first")
        first.commit()
    racer.join(30)
    assert outcome == ["already_finalized"]
