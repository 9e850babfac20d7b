"""The reviewer's offline install must not pull in any server dependency."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER_ONLY = {
    "flask",
    "flask-babel",
    "flask-limiter",
    "flask-wtf",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "psycopg-binary",
    "redis",
    "gunicorn",
    "werkzeug",
}


def _names(lines: list[str]) -> set[str]:
    return {
        re.split(r"[<>=\[ ;]", line.strip(), maxsplit=1)[0].lower()
        for line in lines
        if line.strip() and not line.startswith(("#", "-r"))
    }


def test_base_dependencies_are_offline_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not _names(project["dependencies"]) & SERVER_ONLY
    assert {"flask", "sqlalchemy"} <= _names(project["optional-dependencies"]["server"])


def test_review_lock_file_is_offline_only_and_fully_pinned() -> None:
    lines = (ROOT / "requirements" / "review.txt").read_text().splitlines()
    assert not _names(lines) & SERVER_ONLY
    for name in ("server.txt", "dev.txt", "review.txt"):
        for line in (ROOT / "requirements" / name).read_text().splitlines():
            if line.strip() and not line.startswith(("#", "-r")):
                assert "==" in line, f"{name}: {line} is not pinned"
