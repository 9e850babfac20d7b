"""Engine and session per app; no module-level singletons.

SQLite gets the pragmas tipbox relies on: foreign keys (cascading deletes),
WAL for concurrent readers, and ``secure_delete`` so freed pages are zeroed
(purged ciphertext does not linger in the file).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def init_app(app: Flask, url: str) -> None:
    engine = make_engine(url)
    app.extensions["tipbox.engine"] = engine
    app.extensions["tipbox.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def engine() -> Engine:
    return current_app.extensions["tipbox.engine"]


def session() -> Session:
    """The request's session (created on first use, closed at teardown)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["tipbox.sessionmaker"]()
    return g.db_session


@contextmanager
def transaction() -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    db = session()
    try:
        yield db
        db.commit()
    except BaseException:
        db.rollback()
        raise
