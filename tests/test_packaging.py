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


def test_wheel_ships_the_region_codes_inside_crypto(tmp_path: Path) -> None:
    """The CLI checks --region against the same files the server uses; they must travel with crypto/.

    (They used to live under tipbox/ and review_cli read them by path: an
    install without the server package accepted any code.)
    """
    import shutil
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "source"  # built from a copy: setuptools leaves build/ and *.egg-info in the tree it builds
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("crypto", "tipbox", "review_cli"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("tipbox-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in ("provinces.csv", "regencies.csv", "README.md", "LICENSE-data.md", "LICENSE-code"):
        assert f"crypto/data/regions/{data}" in names, data
