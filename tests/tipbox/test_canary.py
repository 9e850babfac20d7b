"""Plaintext canary: what a source or a reviewer writes must never appear anywhere at rest.

Tips and attachments carrying unique canary strings go through both paths,
then the conversation: a reviewer's reply (opened by the JS-off status page in
memory), follow-ups with attachments by both paths. The receipts, their lookup
keys and the source identities they derive are canaries too. Then the database
(every row, and for SQLite the file, WAL and shm), the state directory, the
temp directory and everything logged are scanned.
"""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
import tempfile
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, inspect
from sqlalchemy import text as sql_text

from crypto import receipt_keys
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.conftest import csrf_token, receipt_of
from tests.tipbox.conversation import dispositions_file, import_file, sealed_reply, source_recipient
from tests.tipbox.test_intake_nojs import _post


def _canaries(prefix: str) -> dict[str, str]:
    return {
        name: f"CANARY-{prefix}-{name}-{secrets.token_hex(6)}"
        for name in ("description", "place", "responsible", "contact", "when", "online", "filename", "content")
    }


def _scan_bytes(data: bytes, needles: list[bytes], where: str) -> list[str]:
    return [f"{needle.decode()} in {where}" for needle in needles if needle in data]


def _scan_files(root: Path, needles: list[bytes], since: float | None = None) -> list[str]:
    found = []
    # os.walk ignores directories that vanish mid-scan (other processes' temp dirs).
    paths = (Path(top) / name for top, _dirs, files in os.walk(root) for name in files)
    for path in paths:
        try:
            if not path.is_file() or (since and path.stat().st_mtime < since) or path.stat().st_size > 256 << 20:
                continue
            found += _scan_bytes(path.read_bytes(), needles, str(path))
        except OSError:
            continue
    return found


def _scan_database(url: str, needles: list[bytes]) -> list[str]:
    engine = create_engine(url)
    found = []
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(sql_text(f'SELECT * FROM "{table}"')):
                    for value in row:
                        data = value if isinstance(value, bytes) else str(value).encode()
                        found += _scan_bytes(bytes(data), needles, f"table {table}")
    finally:
        engine.dispose()
    return found


def _conversation(app: Flask, client, reviewers, js_receipt: str, nojs_receipt: str, tip_ids: list[str]) -> list[str]:
    """Replies to both tips, follow-ups by both paths; returns every canary it wrote."""
    canaries = _canaries("talk")
    for tip_id, name in zip(tip_ids, ("description", "place"), strict=True):
        reply = sealed_reply(canaries[name], source_recipient(app, tip_id), reviewers)
        import_file(app, dispositions_file(reviewers[0], replies=[(tip_id, reply)]))
    browser = BrowserLike(client)
    status = browser.status(js_receipt)
    assert status.status_code == 200
    sent = browser.follow_up(
        status.get_json()["access"],
        canaries["responsible"],
        {"8" * 32: (canaries["filename"], "text/plain", canaries["content"].encode() * 2000)},
    )
    assert sent.status_code == 200
    token = csrf_token(client, "/status")
    page = client.post("/status", data={"csrf_token": token, "receipt": nojs_receipt}).get_data(as_text=True)
    assert canaries["place"] in page  # the JS-off page opens the reply in memory, for this response only
    access = re.search(r'name="access" value="([^"]+)"', page).group(1)
    posted = client.post(
        "/status/message",
        data={"csrf_token": token, "access": access, "message": canaries["contact"],
              "attachments": (io.BytesIO(canaries["when"].encode() * 2000), canaries["online"], "text/plain")},
        content_type="multipart/form-data",
    )
    assert posted.status_code == 200
    return list(canaries.values())


def test_no_canary_at_rest(app: Flask, db_url: str, tmp_path: Path, reviewers, monkeypatch) -> None:
    started = time.time() - 1
    log_file = tmp_path / "all.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        client = app.test_client()
        js, nojs = _canaries("js"), _canaries("nojs")
        js_receipt = BrowserLike(client).submit(
            {
                "description": js["description"],
                "place": js["place"],
                "responsible": js["responsible"],
                "contact": js["contact"],
                "when": js["when"],
                "online_places": [js["online"]],
            },
            {"9" * 32: (js["filename"], "text/plain", js["content"].encode() * 3000)},
        )
        response = _post(
            client,
            description=nojs["description"],
            place=nojs["place"],
            responsible=nojs["responsible"],
            contact=nojs["contact"],
            when=nojs["when"],
            online_places=nojs["online"],
            attachments=[(io.BytesIO(nojs["content"].encode() * 3000), nojs["filename"], "text/plain")],
        )
        assert response.status_code == 200
        nojs_receipt = receipt_of(response.get_data(as_text=True))
        tip_ids = _tip_ids_in_order(app)
        talk = _conversation(app, client, reviewers, js_receipt, nojs_receipt, tip_ids)
        # A refused no-JS post (bad region) must not leave its text anywhere either.
        bad = _canaries("refused")
        assert _post(client, description=bad["description"], province="99").status_code == 400
        runner = app.test_cli_runner()
        assert runner.invoke(args=["export", "--out", str(tmp_path / "bundle.tar")]).exit_code == 0
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()

    secrets_of_receipts = [
        value for r in (js_receipt, nojs_receipt) for value in (r, r.replace("-", ""), *_derived(r))
    ]
    needles = [v.encode() for c in (js, nojs, bad) for v in c.values()]
    needles += [v.encode() for v in talk + secrets_of_receipts]
    config = app.extensions["tipbox.config"]
    app.extensions["tipbox.engine"].dispose()
    found = _scan_database(db_url, needles)
    found += _scan_files(config.var_dir, needles)
    if db_url.startswith("sqlite:///"):
        found += _scan_files(Path(db_url[len("sqlite:///") :]).parent, needles)
    found += _scan_files(Path(tempfile.gettempdir()), needles, since=started)
    found += _scan_files(tmp_path, needles)  # includes the export bundle and the log file
    assert found == [], found
    # The scan itself must be able to fail: a canary written in plain text is found.
    (tmp_path / "control-reply.txt").write_text(talk[0])
    assert _scan_files(tmp_path, needles)
    (tmp_path / "control.txt").write_text(js["description"])
    assert _scan_files(tmp_path, needles)
    assert log_file.exists()


def _derived(receipt: str) -> tuple[str, str]:
    keys = receipt_keys.derive(receipt)
    return keys.identity, keys.lookup


def _tip_ids_in_order(app: Flask) -> list[str]:
    """The JS tip first, then the no-JS one (the only two tips at that point)."""
    from sqlalchemy import select

    from tipbox import db
    from tipbox.models import Tip

    with app.app_context():
        rows = db.session().execute(select(Tip.id, Tip.sealed_by).where(Tip.state == "ready")).all()
    by = {row.sealed_by: row.id for row in rows}
    return [by["browser"], by["server"]]
