"""Plaintext canary: what a source or a reviewer writes must never appear anywhere at rest.

Tips and attachments carrying unique canary strings go through both paths
(the no-JS attachments above Werkzeug's 500 KiB spool threshold), then the
conversation: a reviewer's reply (opened by the JS-off status page in
memory), follow-ups with attachments by both paths, a refused no-JS post, and
an export bundle. The receipts, their lookup keys and the source identities
they derive are secrets too.

Afterwards every secret is searched in every encoding (tests/tipbox/leak_scan.py)
in: every database row; every file the test made (SQLite file, WAL and shm,
the state directory, a private temp directory, the export bundle, a log file
fed by every logger at DEBUG); every file the process opened for writing
during the run, wherever it is, with temp files that cannot be scanned
(``O_TMPFILE``, deleted) failing by themselves; the process's stdout and
stderr at the file-descriptor level; and, for PostgreSQL, a private cluster's
whole data directory, WAL and server log after a CHECKPOINT (the plaintext
must never reach PostgreSQL, so dead tuples and old WAL must be clean too).
The scans' ability to fail is shown in test_canary_controls.py and, for the
PostgreSQL files, by :func:`test_postgres_file_scan_finds_a_deleted_row` here.
"""

from __future__ import annotations

import io
import logging
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select
from sqlalchemy import text as sql_text

from crypto import payload, receipt_keys
from crypto.identity import ReviewerIdentity
from tests.load.services import PrivatePostgres
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.conftest import csrf_token, make_app, receipt_of
from tests.tipbox.conversation import dispositions_file, import_file, sealed_reply, source_recipient
from tests.tipbox.leak_scan import (
    FileWatch,
    Leak,
    Needles,
    checkpoint,
    every_log_to,
    prepare_postgres,
    scan_rows,
    scan_tree,
)
from tests.tipbox.support import post_in_memory, run_cli
from tipbox import db
from tipbox.models import Tip

FIELDS = ("description", "place", "responsible", "contact", "when", "online", "filename", "content")
LOG_SENTINEL = "canary test: logs captured"
SPOOL_THRESHOLD = 500 * 1024  # werkzeug.formparser.default_stream_factory's in-memory limit


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """One throwaway cluster per module: its data directory and WAL are ours alone to scan."""
    server = PrivatePostgres()
    try:
        server.init()
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Store:
    url: str
    postgres: PrivatePostgres | None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        return Store(f"sqlite:///{tmp_path / 'tipbox.sqlite3'}", None)
    server: PrivatePostgres = request.getfixturevalue("private_postgres")
    return Store(server.url, server)


def _canaries(needles: Needles, prefix: str) -> dict[str, str]:
    return {name: needles.canary(f"{prefix}-{name}") for name in FIELDS}


def _big(text: str) -> bytes:
    """An attachment above the spool threshold, so a spooling request class would write it to disk."""
    line = (text + "\n").encode()
    return line * (2 * SPOOL_THRESHOLD // len(line))


def _nojs_tip(client: FlaskClient, canaries: dict[str, str]) -> str:
    response = post_in_memory(client, "/", {
        "csrf_token": csrf_token(client),
        "description": canaries["description"],
        "place": canaries["place"],
        "responsible": canaries["responsible"],
        "contact": canaries["contact"],
        "when": canaries["when"],
        "online_places": canaries["online"],
        "attachments": [(io.BytesIO(_big(canaries["content"])), canaries["filename"], "text/plain")],
    })
    assert response.status_code == 200
    return receipt_of(response.get_data(as_text=True))


def _js_tip(client: FlaskClient, canaries: dict[str, str]) -> str:
    answers = {name: canaries[name] for name in ("description", "place", "responsible", "contact", "when")}
    return BrowserLike(client).submit(
        {**answers, "online_places": [canaries["online"]]},
        {"9" * 32: (canaries["filename"], "text/plain", canaries["content"].encode() * 3000)},
    )


def _conversation(app: Flask, client: FlaskClient, reviewers: list[ReviewerIdentity],
                  receipts: tuple[str, str], canaries: dict[str, str]) -> None:
    """Replies to both tips, follow-ups by both paths (the no-JS one with a big attachment).

    ``reviewers``: every reviewer of every channel holding the tips (a reply is sealed to them all);
    the first is the lead channel's, who signs.
    """
    for tip_id, name in zip(_tip_ids_in_order(app), ("description", "place"), strict=True):
        reply = sealed_reply(canaries[name], source_recipient(app, tip_id), reviewers)
        import_file(app, dispositions_file(reviewers[0], replies=[(tip_id, reply)]))
    browser = BrowserLike(client)
    status = browser.status(receipts[0])
    assert status.status_code == 200
    sent = browser.follow_up(
        status.get_json()["access"],
        canaries["responsible"],
        {"8" * 32: (canaries["filename"], "text/plain", canaries["content"].encode() * 2000)},
    )
    assert sent.status_code == 200
    token = csrf_token(client, "/status")
    page = client.post("/status", data={"csrf_token": token, "receipt": receipts[1]}).get_data(as_text=True)
    assert escape(canaries["place"]) in page  # the JS-off page opens the reply in memory, for this response only
    access = re.search(r'name="access" value="([^"]+)"', page).group(1)
    posted = post_in_memory(client, "/status/message", {
        "csrf_token": token, "access": access, "message": canaries["contact"],
        "attachments": (io.BytesIO(_big(canaries["when"])), canaries["online"], "text/plain"),
    })
    assert posted.status_code == 200


def _scenario(app: Flask, needles: Needles, reviewers: list[ReviewerIdentity], bundle: Path) -> str:
    """Everything the server is asked to do with secrets in it; returns the no-JS tip's id."""
    client = app.test_client()
    receipts = (_js_tip(client, _canaries(needles, "js")), _nojs_tip(client, _canaries(needles, "nojs")))
    for n, receipt in enumerate(receipts):
        keys = receipt_keys.derive(receipt)
        for label, value in (("receipt", receipt), ("receipt-plain", receipt.replace("-", "")),
                             ("identity", keys.identity), ("lookup", keys.lookup)):
            needles.add(f"{label}-{n}", value)
    nojs_id = _tip_ids_in_order(app)[1]
    _conversation(app, client, reviewers, receipts, _canaries(needles, "talk"))
    refused = needles.canary("refused-description")  # a bad region: refused, and kept nowhere
    assert post_in_memory(client, "/", {"csrf_token": csrf_token(client), "description": refused,
                                        "province": "99"}).status_code == 400
    assert app.test_cli_runner().invoke(args=["export", "--channel", "default", "--out", str(bundle)]).exit_code == 0
    return nojs_id


def _went_through_the_server(app: Flask, tip_id: str, needles: Needles, reviewers: list[ReviewerIdentity]) -> None:
    """The scans are not vacuous: the no-JS tip holds the canaries, its attachment is above the threshold."""
    with app.app_context():
        sealed = db.session().get(Tip, tip_id).payload
    document = payload.open_tip(sealed, [reviewers[0].secret])
    assert document["sealed_by"] == "server"
    assert document["answers"]["description"] == needles.canaries["nojs-description"]
    [attachment] = document["attachments"]
    assert attachment["name"] == needles.canaries["nojs-filename"] and attachment["size"] > SPOOL_THRESHOLD


def _report(found: list[Leak]) -> str:
    return "\n".join(map(str, found))


def test_no_canary_at_rest(store: Store, tmp_path: Path, reviewers: list[ReviewerIdentity],
                           monkeypatch: pytest.MonkeyPatch, capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    app = make_app(tmp_path / "var", store.url, reviewers)
    # Two channels hold every tip (the catch-all leads, a coordinating desk reads along): routing,
    # holders, the directory and per-channel export run through the scan too.
    desk = ReviewerIdentity.generate()
    run_cli(app, "channels", "add", "nasional", "--name-id", "Koordinator nasional", "--name-en", "National desk",
            "--coordinating")
    run_cli(app, "reviewers", "add", "desk", desk.recipient, "--signing-key", desk.signing_public_key,
            "--channel", "nasional")
    readers = [*reviewers, desk]
    if store.postgres:
        prepare_postgres(store.url)
    temp = tmp_path / "tmp"  # anything the process spools through tempfile lands here, and is scanned
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("TMPDIR", str(temp))
    needles = Needles()
    with every_log_to(tmp_path / "all.log"), FileWatch() as watch:
        nojs_id = _scenario(app, needles, readers, tmp_path / "bundle.tar")
        logging.getLogger("tipbox.intake.service").debug(LOG_SENTINEL)  # the capture reaches the app's loggers
    _went_through_the_server(app, nojs_id, needles, [desk])
    app.extensions["tipbox.engine"].dispose()
    out, err = capfdbinary.readouterr()

    found = needles.find(out, "stdout") + needles.find(err, "stderr") + watch.scan(needles)
    found += scan_rows(store.url, needles)
    found += scan_tree(tmp_path, needles)  # SQLite files, var dir, temp dir, log, bundle
    if store.postgres:
        checkpoint(store.url)
        found += scan_tree(store.postgres.directory, needles)  # data files, WAL, server log
    assert found == [], _report(found)
    assert LOG_SENTINEL in (tmp_path / "all.log").read_text() and (tmp_path / "bundle.tar").stat().st_size > 0


@pytest.mark.postgres
def test_postgres_file_scan_finds_a_deleted_row(private_postgres: PrivatePostgres) -> None:
    """Control for the data-directory scan: a deleted row stays as a dead tuple and in the WAL."""
    url = private_postgres.url.rsplit("/", 1)[0] + "/control"
    admin = create_engine(private_postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sql_text("CREATE DATABASE control"))
    admin.dispose()
    needles = Needles()
    secret = needles.canary("deleted")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(sql_text("CREATE TABLE scratch (v text)"))
    prepare_postgres(url)
    with engine.begin() as conn:
        conn.execute(sql_text("INSERT INTO scratch VALUES (:v)"), {"v": secret * 200})  # big: would be compressed
    with engine.begin() as conn:
        conn.execute(sql_text("DELETE FROM scratch"))
    engine.dispose()
    checkpoint(url)
    assert scan_rows(url, needles) == []
    places = {Path(leak.where).relative_to(private_postgres.data).parts[0]
              for leak in scan_tree(private_postgres.data, needles)}
    assert {"base", "pg_wal"} <= places


def _tip_ids_in_order(app: Flask) -> list[str]:
    """The JS tip first, then the no-JS one (the only two tips at that point)."""
    with app.app_context():
        rows = db.session().execute(select(Tip.id, Tip.sealed_by).where(Tip.state == "ready")).all()
    by = {row.sealed_by: row.id for row in rows}
    return [by["browser"], by["server"]]
