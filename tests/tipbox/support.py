"""Helpers the server tests share: import these, never another test module's private functions."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from tests.tipbox.conftest import csrf_token
from tipbox import db
from tipbox.models import TIP_READY, Tip


def post_in_memory(client: FlaskClient, path: str, fields: dict[str, Any]) -> TestResponse:
    """A multipart POST encoded in memory: Werkzeug's test client would spool a big body to a temp file.

    The client runs in the same process as the app, so a spool of its own
    would look like the server's to tests/tipbox/leak_scan.py's FileWatch. A
    value may be a list; a tuple is (stream, filename, content type).
    """
    values: MultiDict[str, Any] = MultiDict()
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            values.add(name, FileStorage(item[0], filename=item[1], content_type=item[2])
                       if isinstance(item, tuple) else item)
    boundary, body = encode_multipart(values)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def post_report_form(client: FlaskClient, **fields: Any) -> TestResponse:
    """The JS-off report form, posted with the page's CSRF token (the no-JS path seals it in memory)."""
    return post_in_memory(client, "/", {"csrf_token": csrf_token(client), **fields})


def run_cli(app: Flask, *args: str) -> str:
    """An operator command (``tipbox …``) that must succeed; its output."""
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def ready_tip_ids(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session().scalars(select(Tip.id).where(Tip.state == TIP_READY)))
