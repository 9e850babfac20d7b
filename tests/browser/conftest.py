"""A real server (gunicorn, 2 workers) and Debian's Chromium driven by Playwright.

Never downloads a browser: Chromium comes from Debian (/usr/bin/chromium);
without it the browser tests skip locally and fail in CI.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crypto.identity import ReviewerIdentity
from tests.support import missing_service

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TIPBOX_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    reviewer: ReviewerIdentity
    var_dir: Path

    def tipbox(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(Path(sys.executable).parent / "tipbox"), *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, check=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    var_dir = tmp_path_factory.mktemp("browser") / "var"
    port = _free_port()
    env = {**os.environ, "TIPBOX_VAR_DIR": str(var_dir), "TIPBOX_BIND": f"127.0.0.1:{port}",
           "TIPBOX_WORKERS": "2", "TMPDIR": str(var_dir.parent / "tmp")}
    Path(env["TMPDIR"]).mkdir(parents=True)
    reviewer = ReviewerIdentity.generate()
    server = LiveServer(f"http://127.0.0.1:{port}", env, reviewer, var_dir)
    server.tipbox("init")
    server.tipbox("db", "upgrade")
    server.tipbox("reviewers", "add", "browser-test", reviewer.recipient, "--signing-key", reviewer.signing_public_key)
    log = (var_dir / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--config", "tipbox/gunicorn_conf.py", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("gunicorn did not start: " + (var_dir / "gunicorn.log").read_text())
    yield server
    process.terminate()
    process.wait(timeout=15)
    log.close()


@pytest.fixture(scope="session")
def playwright():
    if not Path(CHROMIUM).exists():
        missing_service(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def chromium(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def chromium_jitless(playwright):
    """Chromium with the JIT and therefore WebAssembly off, like Tor Browser's "Safer" level."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=[*CHROMIUM_ARGS, "--js-flags=--jitless"])
    yield browser
    browser.close()
