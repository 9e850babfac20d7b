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
