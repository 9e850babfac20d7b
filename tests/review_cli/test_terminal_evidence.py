"""The evidence flow as a reviewer sees it: `tipbox-review` typed into a real terminal (tmux).

The passphrase is typed at a hidden prompt; the preview sheet's table, the warnings and the
written files are read back from the screen and the disk. Loads the identity the real way.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.review_cli import media
from tests.review_cli.conftest import SavedIdentity
from tests.review_cli.support import PASSPHRASE, ROOT, FakeServer, cli_env, run_cli_process
from tests.support import missing_service

pytestmark = pytest.mark.slow


class Terminal:
    """One tmux server of our own (its own socket), one 200×60 window."""

    def __init__(self, tmp_path: Path) -> None:
        if shutil.which("tmux") is None:
            missing_service("tmux is not installed (Debian package `tmux`)")
        self.socket = f"tipbox-test-{os.getpid()}-{time.monotonic_ns()}"
        self.env = cli_env(tmp_path)
        self.env.pop("COLUMNS", None)  # a real terminal says how wide it is
        self._tmux("new-session", "-d", "-s", "review", "-x", "200", "-y", "60", "bash --noprofile --norc")
        self.type("export PS1='$ '; clear", enter=True)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True, env=self.env, timeout=30
        ).stdout

    def type(self, text: str, enter: bool = True) -> None:
        self._tmux("send-keys", "-t", "review", "-l", text)
        if enter:
            self._tmux("send-keys", "-t", "review", "Enter")

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-J", "-t", "review", "-S", "-500")

    def wait_for(self, pattern: str, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{pattern!r} never appeared on the screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, env=self.env, timeout=30)


@pytest.fixture
def terminal(tmp_path: Path):
    term = Terminal(tmp_path)
    yield term
    term.close()


def test_a_reviewer_previews_classifies_and_takes_one_original(
    tmp_path: Path, reviewer: SavedIdentity, server: FakeServer, terminal: Terminal
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "identity.age").write_bytes(reviewer.path.read_bytes())
    jpeg = media.jpeg_with_gps()
    files = [
        ("IMG_rumah.jpg", "image/jpeg", jpeg),
        ("bom.png", "image/png", media.bomb_png(8000)),
        ("foto_liburan.jpg", "image/jpeg", media.pdf_pages(3)),
    ]
    tip = server.tip(files=files)
    bundle = server.bundle(tmp_path / "b.tar", [tip])
    assert run_cli_process(["--workspace", str(ws), "import", str(bundle)], tmp_path, PASSPHRASE + "\n").returncode == 0
    out = tmp_path / "kasus"
    review = f"cd {shlex.quote(str(ROOT))} && {shlex.quote(sys.executable)} -m review_cli --workspace {shlex.quote(str(ws))}"

    terminal.type(f"{review} attachments {tip.id[:8]} --out {shlex.quote(str(out))}; echo EXIT=$((0+$?))")
    terminal.wait_for("Passphrase for .*: ")
    terminal.type(PASSPHRASE)
    screen = terminal.wait_for(r"EXIT=\d")
    assert "EXIT=0" in screen, screen
    assert PASSPHRASE not in screen  # the prompt hides it
    for expected in (
        "no preview: decompression bomb",
        "blurred",
        "! name ends .jpg and declared",
        "3 attachments verified against the tip's SHA-256; preview sheet written to",
        "no originals written: use",
        "GPS position",
        hashlib.sha256(jpeg).hexdigest(),
    ):
        assert expected in screen, (expected, screen)
    assert [p.name for p in out.iterdir()] == [f"previews-{tip.id[:8]}.pdf"]

    terminal.type("clear")
    terminal.type(f"{review} triage {tip.id[:8]} --attachment 1 --class intl-illegal; echo EXIT=$((0+$?))")
    terminal.wait_for("Passphrase for .*: ")
    terminal.type(PASSPHRASE)
    screen = terminal.wait_for(r"EXIT=\d")
    assert "EXIT=0" in screen and "intl-illegal" in screen, screen

    terminal.type("clear")
    terminal.type(f"{review} attachments {tip.id[:8]} --out {shlex.quote(str(out))} --original 1 --strip; echo EXIT=$((0+$?))")
    terminal.wait_for("Passphrase for .*: ")
    terminal.type(PASSPHRASE)
    screen = terminal.wait_for(r"EXIT=\d")
    assert "EXIT=0" in screen and "1 attachment verified against the tip's SHA-256 and written" in screen, screen
    assert "metadata removed by" in screen
    [photo] = (p for p in out.iterdir() if p.name.startswith("IMG_rumah-"))
    assert photo.stat().st_mode & 0o777 == 0o600 and media.CANARY not in photo.read_bytes()

    terminal.type("clear")
    terminal.type(f"{review} attachments {tip.id[:8]} --out {shlex.quote(str(out))} --original 1; echo EXIT=$((0+$?))")
    terminal.wait_for("Passphrase for .*: ")
    terminal.type(PASSPHRASE)
    screen = terminal.wait_for(r"EXIT=\d")
    assert "EXIT=3" in screen and "refusing to overwrite" in screen and "Traceback" not in screen, screen
