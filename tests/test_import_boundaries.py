"""The architecture's one-way imports (tipbox -> crypto <- review_cli), enforced.

A reviewer installs crypto/ and review_cli/ on an offline laptop without
Flask or a database driver; if either package ever pulls those in, this fails.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_OFFLINE = ("flask", "flask_babel", "flask_limiter", "sqlalchemy", "alembic", "psycopg", "redis", "werkzeug")


def test_offline_packages_load_without_server_dependencies() -> None:
    code = (
        "import sys, importlib, pkgutil, crypto, review_cli\n"
        "for pkg in (crypto, review_cli):\n"
        "    for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if '.vectors.generate' not in mod.name: importlib.import_module(mod.name)\n"
        "print(crypto.__file__)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN_OFFLINE!r} or m.split('.')[0] == 'tipbox']\n"
        "print(','.join(sorted(bad)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    crypto_file, loaded = result.stdout.splitlines()
    assert Path(crypto_file).resolve() == ROOT / "crypto" / "__init__.py"
    assert loaded == ""


def _imports(package: str) -> set[str]:
    names: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def test_crypto_imports_neither_side() -> None:
    assert not _imports("crypto") & {"tipbox", "review_cli", *FORBIDDEN_OFFLINE}


def test_tipbox_and_review_cli_never_import_each_other() -> None:
    assert "review_cli" not in _imports("tipbox")
    assert "tipbox" not in _imports("review_cli")
