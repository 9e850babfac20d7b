"""What `make run` prints before serving (tipbox/admin/demo.py ``instructions``; issue #12, items 7-9).

tests/review_cli/test_demo_round_trip.py runs the printed commands; these check the text for
each layout: the repository's own `.venv/bin` and `var/`, a state directory elsewhere, other
settings that must be repeated, no demo reviewer, commands not in a virtualenv.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tipbox.admin import demo

ROOT = Path(__file__).resolve().parents[2]
URL = "http://127.0.0.1:8123/"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A stand-in repository root with a virtualenv's bin/ (an activate script, as `python -m venv` makes)."""
    root = tmp_path / "repo"
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "activate").write_text("# venv\n")
    return root


def _commands(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if re.match(r"  \S", line)]


def test_default_layout_prints_the_address_and_commands_that_work_from_the_repository_root(repo: Path) -> None:
    text = demo.instructions(URL, repo / "var", demo=True, env={}, cwd=repo, scripts=repo / ".venv" / "bin")
    assert f"1. Open {URL} in a browser" in text
    assert text.rstrip().splitlines()[-1].startswith(f"tipbox is starting on {URL} (its log below shows [address]")
    assert "DEMO REVIEWER" in text and "never for real tips" in text
    assert f"Identity: var/demo-review/identity.age   passphrase: {demo.PASSPHRASE}" in text
    assert "`. .venv/bin/activate` first and leave out `.venv/bin/`" in text  # item 7: says which
    assert _commands(text) == [
        "demo=$(mktemp -d)",  # item 9: a fresh temporary directory, not the system one
        '.venv/bin/tipbox export --out "$demo/tips.tar"',
        '.venv/bin/tipbox-review --workspace var/demo-review import "$demo/tips.tar"',
        ".venv/bin/tipbox-review --workspace var/demo-review list",
        ".venv/bin/tipbox-review --workspace var/demo-review show ID",
        '.venv/bin/tipbox-review --workspace var/demo-review attachments ID --out "$demo/files"',
        'tar -xf "$demo/tips.tar" -C "$demo" && ls "$demo/tips"',
        'age -d -i var/demo-review/identity.age "$demo/tips/FULL-ID/payload.age"     # the JSON, then padding',
    ]
    assert "/tmp/tips" not in text and "demo-reviewer.key" not in text


def test_a_state_directory_elsewhere_is_repeated_on_the_tipbox_command(repo: Path, tmp_path: Path) -> None:
    var = tmp_path / "state with space"
    text = demo.instructions(URL, var, demo=True, env={}, cwd=repo, scripts=repo / ".venv" / "bin")
    commands = _commands(text)
    assert commands[1] == f"TIPBOX_VAR_DIR='{var}' .venv/bin/tipbox export --out \"$demo/tips.tar\""
    assert commands[2] == f".venv/bin/tipbox-review --workspace '{var}/demo-review' import \"$demo/tips.tar\""
    assert f"age -d -i '{var}/demo-review/identity.age'" in commands[-1]


def test_other_state_settings_are_named_never_shown(repo: Path) -> None:
    env = {"TIPBOX_DATABASE_URL": "postgresql://tipbox:rahasia@db/tipbox", "TIPBOX_SERVER_KEY_FILE": "/k"}
    text = demo.instructions(URL, repo / "var", demo=True, env=env, cwd=repo, scripts=repo / ".venv" / "bin")
    assert "Keep TIPBOX_DATABASE_URL, TIPBOX_SERVER_KEY_FILE set" in text
    assert "rahasia" not in text and "/k" not in text


def test_without_a_demo_reviewer_only_the_address(repo: Path) -> None:
    text = demo.instructions(URL, repo / "var", demo=False, env={}, cwd=repo, scripts=repo / ".venv" / "bin")
    assert text == f"Open {URL} in a browser.\ntipbox is starting on {URL} " + (
        "(its log below shows [address] in place of addresses; Ctrl-C stops it).\n"
    )


def test_commands_outside_a_virtualenv_are_printed_bare(repo: Path, tmp_path: Path) -> None:
    text = demo.instructions(URL, repo / "var", demo=True, env={}, cwd=repo, scripts=None)
    assert _commands(text)[1] == 'tipbox export --out "$demo/tips.tar"'
    assert "activate" not in text
    elsewhere = tmp_path / "bin"
    elsewhere.mkdir()
    text = demo.instructions(URL, repo / "var", demo=True, env={}, cwd=repo, scripts=elsewhere)
    assert _commands(text)[1] == f'{elsewhere}/tipbox export --out "$demo/tips.tar"'


def test_make_run_passes_its_address_to_demo_setup() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/tipbox demo-setup --url http://$(HOST):$(PORT)/" in run
    assert "--bind $(HOST):$(PORT)" in run


def test_readme_shows_the_commands_make_run_prints() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme.split("### The demo round trip", 1)[1], re.S)[:2]
    shown = [line.split("  #", 1)[0].rstrip() for block in blocks for line in block.splitlines()]
    shown = [line.replace("376ec3c6", "ID").replace("<full id>", "FULL-ID") for line in shown]
    printed = demo.instructions(URL, ROOT / "var", demo=True, env={}, cwd=ROOT, scripts=ROOT / ".venv" / "bin")
    assert shown == [line.split("  #", 1)[0].rstrip() for line in _commands(printed)]
    assert f"passphrase **`{demo.PASSPHRASE}`**" in readme
