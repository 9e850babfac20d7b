"""The newcomer's path (issue #12): `make run`'s demo-setup, a tip with a file, then the commands it
printed, run as printed from the repository root: tipbox export -> tipbox-review import, list,
show, attachments with the demo identity and its printed passphrase -> the stock age CLI.

Everything runs as real processes through bash, with no TIPBOX_* variable of the test's own, so
the printed lines alone must carry what they need. Identities load the real way (scrypt).
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support import missing_service

ROOT = Path(__file__).resolve().parents[2]
URL = "http://127.0.0.1:8123/"
EVIDENCE = b"%PDF-1.4 bukti perekrutan " * 4000
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Demo:
    printed: str  # what `tipbox demo-setup` printed
    commands: list[str]  # its indented command lines
    env: dict[str, str]  # for the processes: no TIPBOX_* at all
    tmp: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    from tests.tipbox.support import post_report_form
    from tipbox import create_app
    from tipbox.admin.cli import cli
    from tipbox.config import load_config

    tmp = tmp_path_factory.mktemp("newcomer")
    var = tmp / "var"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)  # `make run` runs from the repository root
        for name in [n for n in os.environ if n.startswith("TIPBOX_")]:
            patch.delenv(name)
        patch.setenv("TIPBOX_VAR_DIR", str(var))
        runner = CliRunner()
        assert runner.invoke(cli, ["init"]).exit_code == 0
        setup = runner.invoke(cli, ["demo-setup", "--url", URL])
        assert setup.exit_code == 0, setup.output
    # A source sends a tip with a file (the no-JavaScript form).
    app = create_app(load_config({"TIPBOX_VAR_DIR": str(var), "TIPBOX_TESTING": "1"}))
    sent = post_report_form(
        app.test_client(),
        description="Anak-anak direkrut lewat lowongan palsu",
        category="TPPO-KERJA",
        attachments=[(io.BytesIO(EVIDENCE), "lowongan.pdf", "application/pdf")],
    )
    assert sent.status_code == 200, sent.get_data(as_text=True)[:500]
    app.extensions["tipbox.engine"].dispose()
    (tmp / "tmpdir").mkdir()
    env = {n: v for n, v in os.environ.items() if not n.startswith("TIPBOX_")}
    env.update(HOME=str(tmp / "home"), TMPDIR=str(tmp / "tmpdir"), COLUMNS="200", PYTHONPATH=str(ROOT))
    commands = [line[2:] for line in setup.output.splitlines() if re.match(r"  \S", line)]
    yield Demo(setup.output, commands, env, tmp)


def _bash(demo: Demo, script: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=demo.env,
        timeout=120,
        start_new_session=True,
    )


def _fresh_directory(demo: Demo) -> str:
    """The printed `demo=$(mktemp -d)`: a new directory inside the temporary directory, not the directory itself."""
    made = _bash(demo, demo.commands[0] + '\nprintf %s "$demo"')
    assert made.returncode == 0, made.stderr
    assert Path(made.stdout).parent == demo.tmp / "tmpdir" and Path(made.stdout).is_dir()
    return made.stdout


def _step(demo: Demo, directory: str, command: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    result = _bash(demo, f"demo={shlex.quote(directory)}\n{command}", stdin)
    assert result.returncode == 0, (command, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def test_the_printed_commands_read_the_tip_with_tipbox_review(demo: Demo) -> None:
    from tipbox.admin.demo import PASSPHRASE

    assert f"passphrase: {PASSPHRASE}" in demo.printed
    mktemp, export, imported, listing, show, attachments = demo.commands[:6]
    assert mktemp == "demo=$(mktemp -d)"
    assert export.startswith("TIPBOX_VAR_DIR=") and "tipbox export --out" in export  # var/ is not the default
    directory = _fresh_directory(demo)
    assert "exported 1 tip (1 attachment)" in _step(demo, directory, export).stdout
    typed = PASSPHRASE + "\n"
    result = _step(demo, directory, imported, typed)
    assert "imported 1 new tip (1 attachment)" in result.stdout
    # Item 9: with a pipe for stdin the prompt still ends its line before anything else is printed.
    assert result.stderr.startswith(f"Passphrase for {Path(identity_of(demo))}: \n"), result.stderr
    listed = _step(demo, directory, listing, typed).stdout
    assert listed.rstrip().endswith("\n1 tip")
    tip_id = listed.splitlines()[2].split()[0]  # "ID is the first column of `list`"
    assert re.fullmatch(r"[0-9a-f]{8}", tip_id)
    shown = _step(demo, directory, show.replace(" ID", f" {tip_id}"), typed).stdout
    assert "Anak-anak direkrut lewat lowongan palsu" in shown and "lowongan.pdf" in shown
    # The printed command now writes the preview sheet (no original by default); with --all-originals the file.
    extracted = _step(demo, directory, attachments.replace(" ID ", f" {tip_id} "), typed).stdout
    assert "1 attachment verified" in extracted and "1 attachments" not in extracted
    [sheet] = (Path(directory) / "files").iterdir()
    assert sheet.name == f"previews-{tip_id}.pdf" and sheet.read_bytes().startswith(b"%PDF-")
    originals = attachments.replace(" ID ", f" {tip_id} ") + " --all-originals"
    assert "1 attachment verified" in _step(demo, directory, originals, typed).stdout
    [written] = (p for p in (Path(directory) / "files").iterdir() if p != sheet)
    assert written.read_bytes() == EVIDENCE  # unpadded and verified


def test_the_printed_commands_read_the_tip_with_stock_age(demo: Demo) -> None:
    age = shutil.which("age", path=demo.env.get("PATH"))
    if age is None:
        missing_service("the stock age CLI is not on PATH (install the Debian package `age`)")
    import pexpect

    from tipbox.admin.demo import PASSPHRASE

    export, unpack, decrypt = demo.commands[1], demo.commands[6], demo.commands[7]
    assert unpack.startswith("tar -xf") and decrypt.startswith("age -d -i ")
    directory = _fresh_directory(demo)
    _step(demo, directory, export)
    [full_id] = _step(demo, directory, unpack).stdout.split()
    assert not (demo.tmp / "tmpdir" / "tips").exists()  # unpacked in the fresh directory only
    child = pexpect.spawn(
        "bash",
        ["-c", f"demo={shlex.quote(directory)}\n{decrypt.replace('FULL-ID', full_id)}"],
        cwd=str(ROOT),
        env=demo.env,
        timeout=60,
    )
    child.expect("passphrase")
    child.sendline(PASSPHRASE)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert b'"Anak-anak direkrut lewat lowongan palsu"' in child.before
    # An attachment as stock age gives it is still padded (Padmé: 0x80, then zeros);
    # `tipbox-review attachments` unpads it and checks its SHA-256.
    [sealed] = (Path(directory) / "tips" / full_id / "attachments").iterdir()
    padded = demo.tmp / "padded"
    child = pexpect.spawn(
        age, ["-d", "-i", identity_of(demo), "-o", str(padded), str(sealed)], cwd=str(ROOT), env=demo.env
    )
    child.expect("passphrase")
    child.sendline(PASSPHRASE)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    data = padded.read_bytes()
    assert data.startswith(EVIDENCE + b"\x80") and len(data) > len(EVIDENCE) + 1
    assert not data[len(EVIDENCE) + 1 :].strip(b"\0")


def identity_of(demo: Demo) -> str:
    """The identity path exactly as printed."""
    return re.search(r"Identity: (\S+)", demo.printed)[1]
