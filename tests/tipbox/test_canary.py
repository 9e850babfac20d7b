"""Plaintext canary: what a source writes must never appear anywhere at rest.

Tips and attachments carrying unique canary strings go through both paths;
then the database (every row, and for SQLite the file, WAL and shm), the
state directory, the temp directory and everything logged are scanned.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import tempfile
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, inspect
from sqlalchemy import text as sql_text

from tests.tipbox.browser_like import BrowserLike
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


def test_no_canary_at_rest(app: Flask, db_url: str, tmp_path: Path, monkeypatch) -> None:
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
        BrowserLike(client).submit(
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
        # A refused no-JS post (bad region) must not leave its text anywhere either.
        bad = _canaries("refused")
        assert _post(client, description=bad["description"], province="99").status_code == 400
        runner = app.test_cli_runner()
        assert runner.invoke(args=["export", "--out", str(tmp_path / "bundle.tar")]).exit_code == 0
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()

    needles = [v.encode() for c in (js, nojs, bad) for v in c.values()]
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
    (tmp_path / "control.txt").write_text(js["description"])
    assert _scan_files(tmp_path, needles)
    assert log_file.exists()
