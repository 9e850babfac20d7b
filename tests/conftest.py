"""Fixtures for the server tests: an app per database backend, a demo reviewer.

``db_url`` is parametrised over SQLite (always) and PostgreSQL (when reachable;
in CI it must be). Each PostgreSQL test gets its own schema-free database
state: tables are dropped and re-created through Alembic.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import missing_service

SERVER_URL = os.environ.get("TIPBOX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Each pytest run gets its own database next to `test`, so parallel runs never share state.
RUN_DATABASE = f"tipbox_test_{os.getpid()}_{secrets.token_hex(3)}"
POSTGRES_URL = SERVER_URL.rsplit("/", 1)[0] + "/" + RUN_DATABASE
REDIS_URL = os.environ.get("TIPBOX_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


_created: list[str] = []


def postgres_available() -> bool:
    """True once this run's database exists (created on first use)."""
    if _created:
        return True
    try:
        import psycopg

        with psycopg.connect(SERVER_URL.replace("+psycopg", ""), connect_timeout=2, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{RUN_DATABASE}"')
    except Exception:
        return False
    _created.append(RUN_DATABASE)
    return True


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _created:
        return
    import psycopg

    with psycopg.connect(SERVER_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{RUN_DATABASE}" WITH (FORCE)')


def reset_postgres() -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tipbox.sqlite3'}"
        return
    if not postgres_available():
        missing_service("PostgreSQL is not reachable at " + POSTGRES_URL.split("@")[-1])
    reset_postgres()
    yield POSTGRES_URL
