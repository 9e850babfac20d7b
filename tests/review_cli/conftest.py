"""Fixtures for the review CLI: reviewer identities (scrypt once per session), a workspace,
a stand-in server, and a runner that drives `tipbox-review` through click's CliRunner.

scrypt costs about a second per load and pyrage offers no lower work factor, so
the CliRunner tests reuse each identity's first real decryption (a cache keyed
on the file bytes and passphrase: a wrong passphrase still really fails once).
The terminal and subprocess tests load identities the slow, real way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from crypto.errors import TipboxCryptoError
from crypto.identity import ReviewerIdentity, decrypt_identity, save_identity
from review_cli import main as review_main
from tests.review_cli.support import PASSPHRASE, FakeServer

_CACHE: dict[tuple[bytes, str], ReviewerIdentity | TipboxCryptoError] = {}


@dataclass(frozen=True)
class SavedIdentity:
    identity: ReviewerIdentity
    path: Path  # passphrase-protected with PASSPHRASE


def _save(directory: Path) -> SavedIdentity:
    identity = ReviewerIdentity.generate()
    path = directory / "identity.age"
    save_identity(identity, path, PASSPHRASE)
    return SavedIdentity(identity, path)


@pytest.fixture(scope="session")
def reviewer(tmp_path_factory: pytest.TempPathFactory) -> SavedIdentity:
    return _save(tmp_path_factory.mktemp("reviewer"))


@pytest.fixture(scope="session")
def other_reviewer(tmp_path_factory: pytest.TempPathFactory) -> SavedIdentity:
    return _save(tmp_path_factory.mktemp("other-reviewer"))


@pytest.fixture(autouse=True)
def cached_identity_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(path: Path, passphrase: str) -> ReviewerIdentity:
        key = (Path(path).read_bytes(), passphrase)
        if key not in _CACHE:
            try:
                _CACHE[key] = decrypt_identity(key[0], passphrase)
            except TipboxCryptoError as exc:
                _CACHE[key] = exc
        result = _CACHE[key]
        if isinstance(result, TipboxCryptoError):
            raise type(result)(str(result))
        return result

    monkeypatch.setattr(review_main, "_load_identity", load)


@pytest.fixture
def workspace(tmp_path: Path, reviewer: SavedIdentity) -> Path:
    root = tmp_path / "ws"
    root.mkdir(mode=0o700)
    (root / "identity.age").write_bytes(reviewer.path.read_bytes())
    return root


@pytest.fixture
def app(tmp_path: Path, db_url: str, reviewer: SavedIdentity, other_reviewer: SavedIdentity) -> Iterator[Flask]:
    """The intake server (tests/tipbox's make_app) with both reviewers and `tipbox dispositions`."""
    from tests.tipbox.conftest import make_app

    application = make_app(tmp_path / "var", db_url, [reviewer.identity, other_reviewer.identity])
    yield application
    application.extensions["tipbox.engine"].dispose()


@pytest.fixture
def server(reviewer: SavedIdentity, other_reviewer: SavedIdentity) -> FakeServer:
    return FakeServer([reviewer.identity.recipient, other_reviewer.identity.recipient])


Run = Callable[..., Result]


@pytest.fixture
def run(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """``run("list", "--json")``: the CLI on ``workspace``, the passphrase typed once."""
    monkeypatch.setenv("COLUMNS", "200")

    def invoke(*args: str, input: str | None = PASSPHRASE + "\n", workspace_dir: Path | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(
            review_main.cli,
            ["--workspace", str(workspace_dir or workspace), *args],
            input=input,
            catch_exceptions=False,
        )

    yield invoke


PROMPTS = ("Passphrase for ", "New passphrase", "Repeat for confirmation")


def one_line_error(result: Result) -> str:
    """Assert stderr holds exactly one error line and nothing but prompts besides; return it."""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("tipbox-review: error: ")]
    assert len(errors) == 1, result.stderr
    assert all(ln in errors or ln.startswith(PROMPTS) for ln in lines), result.stderr
    return errors[0]
