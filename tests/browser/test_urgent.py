"""Issue #18 from the source's side: "Beri tahu tim sekarang" (alert the team now) in Chromium, with
JavaScript and without. Ticked, the team gets exactly one alert; not ticked, none; the alert and the
digest carry no word of the report; the reviewer sees the flag in the export."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load import BIN, ROOT
from tests.browser.conftest import LiveServer
from tests.browser.support import export_new, fill_form
from tests.tipbox.notify_targets import Webhook

URGENT_TITLE = "tipbox: laporan mendesak untuk"


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    hook = Webhook().start()
    yield hook
    hook.stop()


def _notify(server: LiveServer, hook: Webhook) -> None:
    """`tipbox notify run` as its timer runs it: its own process, the only one that knows the targets."""
    env = {**server.env, "TIPBOX_NOTIFY_URLS": hook.url()}
    subprocess.run([str(BIN / "tipbox"), "notify", "run"], env=env, cwd=ROOT, check=True, capture_output=True)


def _alerts(hook: Webhook) -> list[dict]:
    return [p for p in hook.posts if p["title"].startswith(URGENT_TITLE)]


def _send(browser, server: LiveServer, canary: str, *, js: bool, urgent: bool) -> None:
    context = browser.new_context(java_script_enabled=js, locale="id-ID")
    page = context.new_page()
    page.goto(server.url + "/")
    fill_form(page, canary)
    # The box sits with the danger answers and says, in one sentence, what ticking it tells the server.
    assert page.locator("fieldset.danger #urgent").is_visible()
    assert "server mengetahui bahwa laporan ini mendesak" in page.inner_text("#urgent-hint")
    assert not page.locator("#urgent").is_checked()  # off unless the source chooses it
    if urgent:
        page.check("#urgent")
    assert page.locator("#emergency").is_visible()  # the numbers stay, ticked or not
    if js:
        page.click("#submit")
        page.wait_for_selector("#js-receipt:not([hidden])", timeout=60_000)
    else:
        with page.expect_navigation():
            page.click("#submit")
        assert page.inner_text("#receipt-code").strip()
    context.close()


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_the_source_chooses_an_alert_and_the_team_gets_exactly_one(
    chromium, live_server: LiveServer, webhook: Webhook, tmp_path: Path, js: bool
) -> None:
    canary = "CANARY-URGENT-" + secrets.token_hex(6)
    before = len(_alerts(webhook))
    _send(chromium, live_server, canary, js=js, urgent=False)
    _notify(live_server, webhook)
    assert len(_alerts(webhook)) == before  # not ticked: no alert, however much danger the answers state

    _send(chromium, live_server, canary, js=js, urgent=True)
    _notify(live_server, webhook)
    _notify(live_server, webhook)  # the timer again: still one alert
    alerts = _alerts(webhook)[before:]
    assert len(alerts) == 1 and alerts[0]["message"] == "Laporan mendesak menunggu: 1. Ekspor sekarang."
    for post in webhook.posts:
        assert canary not in post["message"] and canary not in post["title"]

    tips = export_new(live_server, tmp_path).body["tips"]
    assert sorted(t.get("urgent", False) for t in tips) == [False, True]  # the ticked one, and only it
