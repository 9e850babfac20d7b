from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crypto.identity import ReviewerIdentity
from tipbox import create_app, db
from tipbox.admin.migrate import upgrade_database
from tipbox.config import load_config
from tipbox.keys import NewReviewer, add_reviewer, ensure_server_key, load_server_key, write_secret_file


@pytest.fixture
def reviewers() -> list[ReviewerIdentity]:
    return [ReviewerIdentity.generate(), ReviewerIdentity.generate()]


def make_app(var_dir: Path, db_url: str, reviewers: list[ReviewerIdentity], **env: str) -> Flask:
    write_secret_file(var_dir / "secret.key", b"x" * 64)
    ensure_server_key(var_dir / "server-signing.key")
    config = load_config({"TIPBOX_VAR_DIR": str(var_dir), "TIPBOX_DATABASE_URL": db_url, "TIPBOX_TESTING": "1", **env})
    upgrade_database(config.database_url)
    app = create_app(config)
    with app.app_context():
        with db.transaction() as session:
            for n, reviewer in enumerate(reviewers):
                add_reviewer(
                    session,
                    load_server_key(config.server_key_file),
                    NewReviewer(f"r{n}", reviewer.recipient, reviewer.signing_public_key),
                )
    return app


@pytest.fixture
def app(tmp_path: Path, db_url: str, reviewers: list[ReviewerIdentity]) -> Iterator[Flask]:
    application = make_app(tmp_path / "var", db_url, reviewers)
    yield application
    application.extensions["tipbox.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def receipt_of(page: str) -> str:
    """The code on a no-JS receipt page (its groups are spans joined by <wbr>, so lines break only between them)."""
    match = re.search(r'id="receipt-code">(.*?)</p>', page, re.S)
    assert match, "the page shows no receipt"
    return re.sub(r"<[^>]*>|\s", "", match.group(1))


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "form has no CSRF token"
    return match.group(1)
