"""No-JS uploads are never spooled to disk: the request class keeps every part in memory.

Werkzeug's default stream factory puts a file part in a
``SpooledTemporaryFile`` that rolls over to a real temporary file above
500 KiB: plaintext on disk, with no name (``O_TMPFILE``), so no later scan
sees it. tipbox's ``InMemoryRequest`` (``app.request_class``, its
``_get_file_stream`` override) prevents that. These tests watch, through an
audit hook (:class:`~tests.tipbox.leak_scan.FileWatch`), for any file opened
for writing while the server handles a no-JS post or follow-up with a 1 MiB
attachment, and patch nothing in Werkzeug. The control swaps the app's
request class back to Flask's own and shows the watch then sees the spool.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import flask
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from crypto import messages, payload
from crypto.identity import ReviewerIdentity
from tests.tipbox.conftest import csrf_token, make_app, receipt_of
from tests.tipbox.leak_scan import FileWatch
from tests.tipbox.support import post_in_memory
from tipbox import db
from tipbox.models import Message, Tip

EVIDENCE = bytes(range(256)) * 4096  # 1 MiB: twice werkzeug's 500 KiB spool threshold


@pytest.fixture
def app(tmp_path: Path, reviewers: list[ReviewerIdentity], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """SQLite is enough: how a request body is parsed does not depend on the database."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # no first-use probe file of tempfile's own
    application = make_app(tmp_path / "var", f"sqlite:///{tmp_path / 'tipbox.sqlite3'}", reviewers)
    yield application
    application.extensions["tipbox.engine"].dispose()


def _post_tip(client: FlaskClient) -> TestResponse:
    fields = {"csrf_token": csrf_token(client), "description": "kapal",
              "attachments": (io.BytesIO(EVIDENCE), "kapal.jpg", "image/jpeg")}
    with FileWatch() as watch:
        response = post_in_memory(client, "/", fields)
    assert response.status_code == 200
    assert watch.opened == [], watch.opened
    return response


def _only(app: Flask, model: type[Tip] | type[Message]) -> Tip | Message:
    with app.app_context():
        [row] = db.session().scalars(select(model))
        return row


def test_nojs_tip_with_a_big_attachment_opens_no_file(app: Flask, reviewers: list[ReviewerIdentity]) -> None:
    _post_tip(app.test_client())
    document = payload.open_tip(_only(app, Tip).payload, [reviewers[0].secret])
    [attachment] = document["attachments"]
    assert attachment["size"] == len(EVIDENCE)  # the file really went through the parser


def test_nojs_followup_with_a_big_attachment_opens_no_file(app: Flask, reviewers: list[ReviewerIdentity]) -> None:
    client = app.test_client()
    receipt = receipt_of(_post_tip(client).get_data(as_text=True))
    token = csrf_token(client, "/status")
    page = client.post("/status", data={"csrf_token": token, "receipt": receipt}).get_data(as_text=True)
    access = re.search(r'name="access" value="([^"]+)"', page).group(1)
    fields = {"csrf_token": token, "access": access, "message": "lagi",
              "attachments": (io.BytesIO(EVIDENCE), "kapal2.jpg", "image/jpeg")}
    with FileWatch() as watch:
        response = post_in_memory(client, "/status/message", fields)
    assert response.status_code == 200
    assert watch.opened == [], watch.opened
    document = messages.open_message(_only(app, Message).payload, [reviewers[0].secret])
    assert [a["size"] for a in document["attachments"]] == [len(EVIDENCE)]


def test_control_flasks_own_request_class_spools_and_is_seen(app: Flask) -> None:
    """Without InMemoryRequest the same post spools to a nameless temp file, and the watch reports it."""
    app.request_class = flask.Request
    client = app.test_client()
    fields = {"csrf_token": csrf_token(client), "description": "kapal",
              "attachments": (io.BytesIO(EVIDENCE), "kapal.jpg", "image/jpeg")}
    with FileWatch() as watch:
        assert post_in_memory(client, "/", fields).status_code == 200
    assert any(opened.tmpfile for opened in watch.unscannable()), watch.opened
