"""End to end in Chromium: fill the form in Bahasa Indonesia, submit, export, decrypt, compare."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import pytest

from tests.browser.conftest import LiveServer
from tests.browser.support import PDF_EVIDENCE, assert_answers, export_and_open, fill_form
from tests.tipbox.leak_scan import Needles, scan_rows, scan_tree

pytestmark = pytest.mark.browser









def _submit_with_js(browser, server: LiveServer, canary: str, viewport=None) -> tuple[str, list[str]]:
    context = browser.new_context(locale="id-ID", viewport=viewport or {"width": 1024, "height": 900})
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(server.url + "/")
    page.evaluate("document.addEventListener('securitypolicyviolation', e => console.log("
                  "'Content Security Policy violation: ' + e.violatedDirective))")
    assert page.locator("html").get_attribute("lang") == "id"
    assert not page.locator("#emergency").is_visible()
    fill_form(page, canary)
    assert page.locator("#emergency").is_visible()
    page.click("#submit")
    page.wait_for_selector("#js-receipt:not([hidden])", timeout=60_000)
    receipt = page.inner_text("#js-receipt-code").strip()
    assert not page.locator("#tip-form").is_visible()
    context.close()
    return receipt, violations


def test_js_on_submission_round_trip(chromium, live_server: LiveServer, tmp_path: Path) -> None:
    canary = "CANARY-BROWSER-" + secrets.token_hex(8)
    receipt, violations = _submit_with_js(chromium, live_server, canary)
    assert len(receipt) == 24 and receipt.count("-") == 4
    assert violations == []
    [result] = export_and_open(live_server, tmp_path, 1)
    assert result["tip"]["sealed_by"] == "browser"
    assert result["document"]["sealed_by"] == "browser" and result["document"]["lang"] == "id"
    assert_answers(result["document"]["answers"], canary)
    assert result["files"] == {"bukti kapal.pdf": PDF_EVIDENCE}
    entry = result["document"]["attachments"][0]
    assert entry["type"] == "application/pdf" and entry["sha256"] == hashlib.sha256(PDF_EVIDENCE).hexdigest()
    _assert_no_canary(live_server, tmp_path, canary)


def test_js_off_submission_round_trip(chromium, live_server: LiveServer, tmp_path: Path) -> None:
    canary = "CANARY-NOJS-" + secrets.token_hex(8)
    context = chromium.new_context(java_script_enabled=False, locale="id-ID")
    page = context.new_page()
    page.goto(live_server.url + "/")
    fill_form(page, canary)
    # Pure CSS: the emergency numbers appear without any script.
    assert page.locator("#emergency").is_visible()
    assert "110" in page.inner_text("#emergency") and "08111-129-129" in page.inner_text("#emergency")
    with page.expect_navigation():
        page.click("#submit")
    receipt = page.inner_text("#receipt-code").strip()
    assert len(receipt) == 24
    assert "receipt" not in page.url.lower() and receipt not in page.url
    context.close()
    [result] = export_and_open(live_server, tmp_path, 1)
    assert result["tip"]["sealed_by"] == "server" and result["document"]["sealed_by"] == "server"
    assert_answers(result["document"]["answers"], canary)
    assert result["files"] == {"bukti kapal.pdf": PDF_EVIDENCE}
    _assert_no_canary(live_server, tmp_path, canary)


def test_jitless_browser_without_webassembly_still_seals(chromium_jitless, live_server: LiveServer,
                                                         tmp_path: Path) -> None:
    context = chromium_jitless.new_context()
    page = context.new_page()
    page.goto(live_server.url + "/")
    assert page.evaluate("typeof WebAssembly") == "undefined"
    context.close()
    canary = "CANARY-JITLESS-" + secrets.token_hex(8)
    receipt, violations = _submit_with_js(chromium_jitless, live_server, canary)
    assert receipt and violations == []
    [result] = export_and_open(live_server, tmp_path, 1)
    assert result["tip"]["sealed_by"] == "browser"
    assert_answers(result["document"]["answers"], canary)


def test_small_phone_screen(chromium, live_server: LiveServer, tmp_path: Path) -> None:
    context = chromium.new_context(viewport={"width": 360, "height": 640}, device_scale_factor=2, is_mobile=True,
                                   locale="id-ID")
    page = context.new_page()
    page.goto(live_server.url + "/")
    # Nothing wider than the screen: no horizontal scrolling on a small phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    page.goto(live_server.url + "/?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    context.close()


def _assert_no_canary(server: LiveServer, tmp_path: Path, canary: str) -> None:
    """The real gunicorn's database, files, temp dir and log hold the canary in no encoding (tests/tipbox/leak_scan.py)."""
    needles = Needles()
    needles.add("canary", canary)
    found = scan_rows(f"sqlite:///{server.var_dir / 'tipbox.sqlite3'}", needles)
    found += scan_tree(server.var_dir, needles)
    found += scan_tree(Path(server.env["TMPDIR"]), needles)
    found += needles.find(server.log().encode(), "gunicorn log")
    assert found == [], [str(leak) for leak in found]


def test_failed_upload_shows_retry_and_retry_succeeds(chromium, live_server: LiveServer, tmp_path: Path) -> None:
    context = chromium.new_context(locale="id-ID")
    page = context.new_page()
    page.goto(live_server.url + "/")
    canary = "CANARY-RETRY-" + secrets.token_hex(8)
    fill_form(page, canary)
    # The network drops every attachment piece: the page must say so and offer a retry.
    page.route("**/chunks/*", lambda route: route.abort("connectionreset"))
    page.click("#submit")
    page.wait_for_selector("#retry:not([hidden])", timeout=60_000)
    message = page.inner_text("#progress-text")
    assert page.inner_text("#retry").strip() == "Coba lagi"
    assert message.startswith("Pengiriman gagal")  # the translated failure message, not a raw error
    assert page.input_value("#description").endswith(canary)  # nothing the source wrote is lost
    page.unroute("**/chunks/*")
    page.click("#retry")
    page.wait_for_selector("#js-receipt:not([hidden])", timeout=60_000)
    context.close()
    [result] = export_and_open(live_server, tmp_path, 1)
    assert_answers(result["document"]["answers"], canary)
    assert result["files"] == {"bukti kapal.pdf": PDF_EVIDENCE}
