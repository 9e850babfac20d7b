"""A real server (gunicorn, 2 workers) and Debian's Chromium driven by Playwright.

Never downloads a browser: Chromium comes from Debian (/usr/bin/chromium);
without it the browser tests skip locally and fail in CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load import TipboxServer
from tests.browser.neutral import NeutralSite
from tests.support import missing_service

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TIPBOX_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


# The same operator-style set-up the load tests use: tipbox init, db upgrade,
# one reviewer, then gunicorn with tipbox's own config (2 workers).
LiveServer = TipboxServer


@pytest.fixture(scope="session")
def neutral_site() -> Iterator[NeutralSite]:
    """Where the quick exit goes in tests: a local second origin (the default is a public site)."""
    site = NeutralSite().start()
    yield site
    site.stop()


def quick_exit_to(site: NeutralSite) -> str:
    return site.url + "/cuaca"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, neutral_site: NeutralSite) -> Iterator[LiveServer]:
    server = TipboxServer.create(tmp_path_factory.mktemp("browser") / "var",
                                 TIPBOX_QUICK_EXIT_URL=quick_exit_to(neutral_site))
    server.start()
    yield server
    server.stop()


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
