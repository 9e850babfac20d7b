"""tipbox-review as a real process: typed at a terminal (pexpect), and scripted (subprocess).

These load identities the real way (scrypt, about a second each).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from crypto.identity import load_identity
from tests.review_cli.conftest import SavedIdentity
from tests.review_cli.support import PASSPHRASE, FakeServer, cli_env, run_cli_process

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _spawn(args: list[str], tmp_path: Path) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "review_cli", *args],
        cwd=str(ROOT),
        env=cli_env(tmp_path),
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 200),
    )


def test_passphrase_typed_at_a_terminal(tmp_path: Path, server: FakeServer) -> None:
    ws = tmp_path / "ws"
    child = _spawn(["--workspace", str(ws), "keygen", "--label", "terminal"], tmp_path)
    child.expect("New passphrase: ")
    child.sendline("pendek")
    child.expect("at least 10 characters")  # asked again, not a crash
    child.expect("New passphrase: ")
    child.sendline(PASSPHRASE)
    child.expect("Repeat for confirmation: ")
    child.sendline(PASSPHRASE)
    child.expect("tipbox reviewers add terminal age1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert PASSPHRASE not in child.before
    identity = load_identity(ws / "identity.age", PASSPHRASE)

    server.recipients.append(identity.recipient)
    tip = server.tip()
    bundle = server.bundle(tmp_path / "b.tar", [tip])
    child = _spawn(["--workspace", str(ws), "import", str(bundle)], tmp_path)
    child.expect("Passphrase for .*identity.age: ")
    child.sendline(PASSPHRASE)
    child.expect("imported 1 new tip ")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    child = _spawn(["--workspace", str(ws), "list"], tmp_path)
    child.expect("Passphrase for .*identity.age: ")
    child.sendline(PASSPHRASE)
    child.expect(tip.id[:8])
    child.expect("1 tip\r\n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert PASSPHRASE not in child.before

    child = _spawn(["--workspace", str(ws), "show", tip.id[:8]], tmp_path)
    child.expect("Passphrase for .*identity.age: ")
    child.sendline("bukan ini kata sandinya")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "tipbox-review: error: wrong passphrase" in child.before and "kapal" not in child.before


@pytest.fixture
def ws(tmp_path: Path, reviewer: SavedIdentity) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "identity.age").write_bytes(reviewer.path.read_bytes())
    return root


def test_scripted_as_a_subprocess(tmp_path: Path, ws: Path, server: FakeServer) -> None:
    tips = [server.tip(), server.tip(sealed_by="server")]
    bundle = server.bundle(tmp_path / "b.tar", tips)
    assert run_cli_process(["--help"], tmp_path).returncode == 0
    imported = run_cli_process(["--workspace", str(ws), "import", str(bundle)], tmp_path, PASSPHRASE + "\n")
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 new tips" in imported.stdout
    listed = run_cli_process(["--workspace", str(ws), "list", "--json", "--sort", "received"], tmp_path, PASSPHRASE + "\n")
    assert listed.returncode == 0
    assert sorted(r["id"] for r in json.loads(listed.stdout)) == sorted(t.id for t in tips)
    # The same through the environment variable instead of --workspace.
    env_listed = subprocess.run(
        [sys.executable, "-m", "review_cli", "list", "--json"],
        input=PASSPHRASE + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        start_new_session=True,
        env={**cli_env(tmp_path), "TIPBOX_REVIEW_WORKSPACE": str(ws)},
    )
    assert json.loads(env_listed.stdout) == json.loads(listed.stdout)


def test_failures_as_a_subprocess_are_one_line_with_an_exit_code(tmp_path: Path, ws: Path, server: FakeServer) -> None:
    bundle = server.bundle(tmp_path / "b.tar", [server.tip()])
    cases = [
        (["import", str(bundle)], "salah kata sandi\n", 2, "wrong passphrase"),
        (["show", "abcdef"], "", 1, "no imported tip"),
        (["triage", "abcdef", "--priority", "P7"], "", 1, "--priority"),
        (["import", str(tmp_path / "missing.tar")], "", 1, "does not exist"),
    ]
    for args, stdin, code, words in cases:
        result = run_cli_process(["--workspace", str(ws), *args], tmp_path, stdin)
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("tipbox-review: error:")]
        assert result.returncode == code, (args, result.stderr)
        assert len(errors) == 1 and words in errors[0], (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not (ws / "tips").exists() or not any((ws / "tips").iterdir())
    # A workspace pinned to this server refuses another server's bundle before asking for anything.
    assert run_cli_process(["--workspace", str(ws), "import", str(bundle)], tmp_path, PASSPHRASE + "\n").returncode == 0
    impostor = FakeServer(server.recipients)
    other = impostor.bundle(tmp_path / "other.tar", [impostor.tip()])
    result = run_cli_process(["--workspace", str(ws), "import", str(other)], tmp_path)
    assert result.returncode == 2 and "REFUSED" in result.stderr and "Passphrase" not in result.stderr
