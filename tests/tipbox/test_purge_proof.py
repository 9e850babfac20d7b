"""Purge proof: a purged tip's ciphertext is gone from the database's files, not just from its tables.

Each test stores a tip to purge (payload, a 300 kB attachment, a follow-up with its own attachment)
and then a newer tip to keep, purges with ``tipbox purge``, and scans the database's files for
32-byte fragments of every ciphertext value of the purged tip. The kept tip puts the freed space in
the middle of the files, as on a real server, so a file merely getting shorter cannot pass a test.

Every real run has a control run that switches the deletion measure off and must *find* the
fragments: it proves the scan sees them, and that the measure is what removes them.

- SQLite: this build of SQLite zeroes freed pages by default (compiled with SQLITE_SECURE_DELETE),
  which would hide the loss of tipbox's own ``PRAGMA secure_delete=ON``. So each test adds a
  connect listener that sets ``secure_delete=OFF``: the control appends it (it runs after tipbox's
  listener and wins), the real run inserts it first (tipbox's listener must turn it back on). The
  files (main, -wal, -shm) are scanned while the app's pool keeps its connections open, as a
  long-lived server does: only the WAL checkpoint inside the purge then empties the WAL.
- PostgreSQL: a private cluster whose data directory the test can read; after the purge a
  CHECKPOINT writes every buffer out and the database's whole ``base/<oid>`` directory (tables,
  TOAST tables, their indexes) is scanned. The controls skip the scrub, or run the plain VACUUM
  tipbox used before: both leave the deleted bytes in the TOAST file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from crypto.identity import ReviewerIdentity
from tests.load.services import PrivatePostgres
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.conftest import make_app
from tests.tipbox.support import ready_tip_ids, run_cli
from tipbox import clock, db
from tipbox.models import AttachmentChunk, Message, Tip
from tipbox.retention import purge as purge_module

Fragments = dict[str, bytes]


# --------------------------------------------------------------------------- shared steps


def _submit_tip_to_purge_and_tip_to_keep(app: Flask) -> tuple[str, str]:
    """Store the tip that will expire (with an attachment and a follow-up with one), then a newer one to keep."""
    browser = BrowserLike(app.test_client())
    ids: list[str] = []
    for name in ("purged", "kept"):
        before = ready_tip_ids(app)
        receipt = browser.submit({"description": name}, {"a" * 32: ("f.bin", "application/octet-stream",
                                                                     os.urandom(300_000))})
        if name == "purged":
            access = browser.status(receipt).get_json()["access"]
            sent = browser.follow_up(access, "lagi", {"b" * 32: ("g.bin", "application/octet-stream",
                                                                 os.urandom(100_000))})
            assert sent.status_code == 200, sent.get_json()
        [tip_id] = ready_tip_ids(app) - before
        ids.append(tip_id)
    return ids[0], ids[1]


def _fragments(app: Flask, tip_id: str) -> Fragments:
    """32 bytes from the middle of every ciphertext value the tip owns: payload, follow-ups, chunk rows."""
    with app.app_context():
        session = db.session()
        values = {"payload": session.scalars(select(Tip.payload).where(Tip.id == tip_id)).one()}
        for n, data in enumerate(session.scalars(select(Message.payload).where(Message.tip_id == tip_id))):
            values[f"message {n}"] = data
        chunks = select(AttachmentChunk.data).where(AttachmentChunk.tip_id == tip_id)
        for n, data in enumerate(session.scalars(chunks)):
            values[f"chunk {n}"] = data
    return {name: value[len(value) // 2 : len(value) // 2 + 32] for name, value in values.items()}


def _purged_and_kept_fragments(app: Flask) -> tuple[Fragments, Fragments]:
    purged, kept = _submit_tip_to_purge_and_tip_to_keep(app)
    gone, stays = _fragments(app, purged), _fragments(app, kept)
    chunk_rows = sum(name.startswith("chunk") for name in gone)
    assert "message 0" in gone and chunk_rows >= 2, f"not the tip this test means: {sorted(gone)}"
    _make_due(app, purged)
    return gone, stays


def _found(fragments: Fragments, files: Iterable[Path]) -> dict[str, list[str]]:
    """For each fragment that some file holds, the names of those files."""
    contents = {path.name: path.read_bytes() for path in files if path.is_file()}
    found = {name: [file for file, data in contents.items() if fragment in data] for name, fragment in fragments.items()}
    return {name: files for name, files in found.items() if files}


def _make_due(app: Flask, tip_id: str) -> None:
    """Back-date the tip and its follow-up: a recent follow-up would keep it (docs/retention.md)."""
    with app.app_context(), db.transaction() as session:
        long_ago = {"t": clock.utcnow() - timedelta(days=40), "id": tip_id}
        session.execute(text("UPDATE tips SET received_at = :t WHERE id = :id"), long_ago)
        session.execute(text("UPDATE messages SET received_at = :t WHERE tip_id = :id"), long_ago)


def _purge(app: Flask) -> None:
    assert "purged 1 of 1" in run_cli(app, "purge")


# --------------------------------------------------------------------------- SQLite


def _secure_delete_off(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA secure_delete=OFF")


def _sqlite_app(tmp_path: Path, reviewers: list[ReviewerIdentity], *, off_wins: bool) -> Flask:
    """An app whose SQLite connections start with ``secure_delete=OFF``, whatever this build's default.

    ``off_wins``: the OFF listener runs after tipbox's (the control), else before it, so only
    tipbox's own pragma can turn secure deletion on.
    """
    app = make_app(tmp_path / "var", f"sqlite:///{tmp_path / 'tipbox.sqlite3'}", reviewers)
    engine: Engine = app.extensions["tipbox.engine"]
    event.listen(engine, "connect", _secure_delete_off, insert=not off_wins)
    engine.dispose()  # every connection from here on runs the listeners in that order
    return app


def _sqlite_files(tmp_path: Path) -> list[Path]:
    return [tmp_path / f"tipbox.sqlite3{suffix}" for suffix in ("", "-wal", "-shm")]


@pytest.fixture
def purged_in_sqlite(
    tmp_path: Path, reviewers: list[ReviewerIdentity], request: pytest.FixtureRequest
) -> Callable[[bool], tuple[int, Fragments, Fragments]]:
    """Run the SQLite scenario; returns (secure_delete on the app's connections, fragments of the
    purged tip, of the kept tip). A connection stays open afterwards, as in a long-lived server's
    pool, so SQLite never checkpoints on closing the last one and the WAL is scanned as it is."""

    def run(off_wins: bool) -> tuple[int, Fragments, Fragments]:
        app = _sqlite_app(tmp_path, reviewers, off_wins=off_wins)
        engine: Engine = app.extensions["tipbox.engine"]
        request.addfinalizer(engine.dispose)
        gone, stays = _purged_and_kept_fragments(app)
        assert _found(gone, _sqlite_files(tmp_path)).keys() == gone.keys(), "the scan cannot see the ciphertext"
        held = engine.connect()
        request.addfinalizer(held.close)
        _purge(app)
        assert _sqlite_files(tmp_path)[1].exists(), "the WAL went away: every connection was closed"
        return held.exec_driver_sql("PRAGMA secure_delete").scalar(), gone, stays

    return run


def test_sqlite_control_without_secure_delete_the_purged_ciphertext_stays_in_the_file(
    purged_in_sqlite: Callable[[bool], tuple[int, Fragments, Fragments]], tmp_path: Path
) -> None:
    secure, gone, _ = purged_in_sqlite(True)
    assert secure == 0
    left = _found(gone, _sqlite_files(tmp_path))
    assert {name for name in gone if name.startswith("chunk")} <= left.keys(), left


def test_sqlite_purge_leaves_no_ciphertext_in_the_file_wal_or_shm_while_the_server_runs(
    purged_in_sqlite: Callable[[bool], tuple[int, Fragments, Fragments]], tmp_path: Path
) -> None:
    secure, gone, stays = purged_in_sqlite(False)
    assert _found(gone, _sqlite_files(tmp_path)) == {}
    assert secure == 1, "tipbox's connections must turn secure_delete on themselves"
    assert _found(stays, _sqlite_files(tmp_path)).keys() == stays.keys()  # the kept tip is untouched


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """One throwaway cluster for this module: its data files are readable here, the shared server's are not."""
    postgres = PrivatePostgres()
    try:
        postgres.init()
        yield postgres
    finally:
        postgres.stop()


def _plain_vacuum(engine: Engine) -> None:
    """What scrub did before VACUUM FULL: marks the dead tuples' space reusable."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in purge_module.CIPHERTEXT_TABLES:
            conn.exec_driver_sql(f"VACUUM {table}")


SCRUBS: dict[str, Callable[[Engine], None] | None] = {
    "tipbox": None,  # purge.scrub as it is
    "no scrub": lambda engine: None,
    "plain VACUUM": _plain_vacuum,
}


@pytest.mark.postgres
@pytest.mark.parametrize("scrub", list(SCRUBS))
def test_postgres_purge_leaves_no_ciphertext_in_the_database_files(
    scrub: str,
    private_postgres: PrivatePostgres,
    tmp_path: Path,
    reviewers: list[ReviewerIdentity],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"proof_{secrets.token_hex(4)}"
    app = make_app(tmp_path / "var", private_postgres.create_database(name), reviewers)
    try:
        gone, stays = _purged_and_kept_fragments(app)
        if SCRUBS[scrub] is not None:
            monkeypatch.setattr(purge_module, "scrub", SCRUBS[scrub])
        _purge(app)
    finally:
        app.extensions["tipbox.engine"].dispose()
    private_postgres.checkpoint()
    files = list(private_postgres.database_dir(name).iterdir())
    assert _found(stays, files).keys() == stays.keys(), "the scan cannot see stored ciphertext"
    left = _found(gone, files)
    if scrub == "tipbox":
        assert left == {}
    else:  # the control: deleted rows, even VACUUMed, keep their bytes in the table files
        assert {n for n in gone if n.startswith("chunk")} <= left.keys(), left


@pytest.mark.postgres
def test_postgres_scrub_gives_up_rather_than_queue_intake_behind_a_long_reader(
    private_postgres: PrivatePostgres, tmp_path: Path, reviewers: list[ReviewerIdentity], monkeypatch: pytest.MonkeyPatch
) -> None:
    """VACUUM FULL waiting for its lock would make every new query on the table wait behind it."""
    import psycopg

    url = private_postgres.create_database(f"proof_{secrets.token_hex(4)}")
    app = make_app(tmp_path / "var", url, reviewers)
    engine: Engine = app.extensions["tipbox.engine"]
    monkeypatch.setattr(purge_module, "SCRUB_LOCK_TIMEOUT", "100ms")
    try:
        with psycopg.connect(url.replace("+psycopg", "")) as reader:  # like an export mid-stream: a transaction
            reader.execute("SET idle_in_transaction_session_timeout = '20s'")  # a scrub that waits fails, not hangs
            reader.execute("SELECT count(*) FROM attachment_chunks")  # holding ACCESS SHARE on the table
            with pytest.raises(OperationalError) as failed:
                purge_module.scrub(engine)
            assert isinstance(failed.value.orig, psycopg.errors.LockNotAvailable)
        with engine.connect() as conn:  # the pool's one connection, back for intake, without the timeout
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "0"
        purge_module.scrub(engine)  # the reader is gone: the next run scrubs
    finally:
        engine.dispose()
