"""End to end in Chromium: a source comes back with the receipt (docs/status.md).

The whole story, with JavaScript on (normal and --jitless, no WebAssembly) and
off: submit a report and get a receipt; a reviewer exports it and publishes a
reply sealed to the source's receipt-derived recipient and the team through a
signed v2 dispositions file; the source opens /status with the receipt, reads
the reply, sends a follow-up with a file; the next export carries the
follow-up, which the reviewer opens. Throughout, the receipt never appears in
a URL (and, with JavaScript, never in anything sent to the server), and
"Forget this page" leaves neither the receipt nor the reply in the page.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load import TipboxServer
from crypto import receipt_keys
from tests.browser.conftest import LiveServer
from tests.browser.support import (
    PHOTO_EVIDENCE,
    REPLY_TEXT,
    followup_in_next_export,
    report_with_reply,
)

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """As conftest's, with room for the lookups these tests make (10 a minute per network by default)."""
    server = TipboxServer.create(tmp_path_factory.mktemp("status") / "var", TIPBOX_RATELIMIT_STATUS="200/minute")
    server.start()
    yield server
    server.stop()


class Recorder:
    """Every request a page makes: URLs and bodies, to show where the receipt went (nowhere)."""

    def __init__(self, page) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        self.csp: list[str] = []
        self.failures: list[str] = []
        page.on("request", self._request)
        page.on("response", lambda r: self.failures.append(f"{r.status} {r.request.method} {r.url}: {r.text()[:300]}")
                if r.status >= 400 else None)
        page.on("console", lambda msg: self.csp.append(msg.text) if "Content Security Policy" in msg.text else None)

    def _request(self, request) -> None:
        try:
            body = request.post_data_buffer or b""
        except Exception:  # a multipart upload Playwright cannot give back
            body = b""
        self.requests.append((request.method, request.url, body))

    def urls(self) -> list[str]:
        return [url for _, url, _ in self.requests]

    def json_posts(self, path: str) -> list[dict]:
        return [json.loads(body) for method, url, body in self.requests
                if method == "POST" and url.split("?")[0].endswith(path) and body]

    def assert_never_carried(self, receipt: str, *, bodies: bool) -> None:
        canonical = receipt.replace("-", "")
        for method, url, body in self.requests:
            for form in (receipt, canonical):
                assert form.lower() not in url.lower(), f"receipt in {method} {url}"
                if bodies:
                    assert form.encode() not in body.upper(), f"receipt in the body of {method} {url}"


def _watch_csp(page) -> None:
    page.evaluate("document.addEventListener('securitypolicyviolation', e => console.log("
                  "'Content Security Policy violation: ' + e.violatedDirective))")


def _submit(page, server: LiveServer, description: str, *, js: bool) -> str:
    page.goto(server.url + "/")
    if js:
        _watch_csp(page)
    page.fill("#description", description)
    if js:
        page.click("#submit")
        page.wait_for_selector("#js-receipt:not([hidden])", timeout=60_000)
        # The receipt section points to the status page, in words and as a link.
        assert page.locator("#js-receipt-status").get_attribute("href") == "/status"
        return page.inner_text("#js-receipt-code").strip()
    with page.expect_navigation():
        page.click("#submit")
    return page.inner_text("#receipt-code").strip()










def _wait(page, selector: str, explain: str, recorder: Recorder) -> None:
    """Wait for ``selector``; if it never shows, fail with what the page said instead (``explain``)."""
    try:
        page.wait_for_selector(selector, timeout=60_000)
    except Exception:
        pytest.fail(f"{selector} never appeared; the page says: {page.inner_text(explain)!r}; "
                    f"failed requests: {recorder.failures}")


def _page_text(page) -> str:
    return page.content() + page.evaluate(
        "Array.from(document.querySelectorAll('input, textarea')).map(e => e.value).join('\\n')")


@pytest.mark.parametrize("browser_name", ["chromium", "chromium_jitless"])
def test_js_status_story(request, browser_name: str, live_server: LiveServer, tmp_path: Path) -> None:
    browser = request.getfixturevalue(browser_name)
    canary = "CANARY-STATUS-" + secrets.token_hex(6)
    context = browser.new_context(locale="id-ID")
    page = context.new_page()
    recorder = Recorder(page)
    receipt = _submit(page, live_server, f"Anak-anak dipaksa mengemis. {canary}", js=True)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}", receipt)
    keys = receipt_keys.derive(receipt)
    # The browser made the receipt: the one request that sent the sealed tip carried only the
    # public recipient and the lookup key (FORMAT.md §4.1: no separate finalize).
    [opened] = recorder.json_posts("/api/v1/submissions/sealed")
    assert opened["source_recipient"] == keys.recipient and opened["lookup"] == keys.lookup
    assert recorder.json_posts("/finalize") == []
    tip = report_with_reply(live_server, tmp_path, receipt)

    # The source comes back in a fresh window.
    page.goto(live_server.url + "/status")
    _watch_csp(page)
    if browser_name == "chromium_jitless":
        assert page.evaluate("typeof WebAssembly") == "undefined"
    page.fill("#receipt", receipt.lower().replace("-", " "))  # typed by hand: case and separators do not matter
    page.click("#lookup-submit")
    _wait(page, "#status-thread:not([hidden])", "#status-lookup", recorder)
    assert page.url == live_server.url + "/status"  # no navigation: opened in the page
    assert page.input_value("#receipt") == ""
    [lookup] = recorder.json_posts("/api/v1/status")
    assert lookup == {"lookup": keys.lookup}
    assert page.inner_text("#replies .message-text") == REPLY_TEXT  # as text: the markup stays visible
    assert page.locator("#replies .message-text b").count() == 0
    assert page.inner_text("#status-text").strip()
    assert page.locator("#agency").is_visible()

    # A follow-up with a file, sealed in the browser.
    followup_text = f"Desa Sukamaju, dekat pasar ikan.\nAnaknya masih di sana. {canary}"
    page.fill("#message", followup_text)
    page.set_input_files("#followup-attachments", files=[{"name": "foto pasar.png", "mimeType": "image/png",
                                                          "buffer": PHOTO_EVIDENCE}])
    page.click("#followup-submit")
    _wait(page, "#followup-sent:not([hidden])", "#followup-progress", recorder)
    assert page.input_value("#message") == ""
    assert page.locator("#followups li").count() == 1
    assert page.inner_text("#followups [data-slot=attachments]") == "1"
    page.screenshot(path=str(tmp_path / "thread.png"), full_page=True)
    entry, document, files = followup_in_next_export(live_server, tmp_path, tip["id"], receipt)
    assert entry["sealed_by"] == "browser" and document["sealed_by"] == "browser"
    assert document["text"] == followup_text and document["lang"] == "id"
    assert files == {"foto pasar.png": PHOTO_EVIDENCE}
    assert document["attachments"][0]["type"] == "image/png"

    # Forget: nothing of the receipt or the thread is left in the page.
    page.click("#forget")
    page.wait_for_selector("#status-lookup-form", state="visible")
    assert page.locator("#status-thread").is_hidden()
    assert page.locator("#status-notice").is_visible()
    text = _page_text(page)
    for secret in (receipt, receipt.replace("-", ""), receipt.lower(), REPLY_TEXT.split("\n")[0], "Sukamaju"):
        assert secret not in text, secret
    assert page.input_value("#receipt") == ""

    recorder.assert_never_carried(receipt, bodies=True)
    assert recorder.csp == []
    context.close()


def test_js_off_status_story(chromium, live_server: LiveServer, tmp_path: Path) -> None:
    canary = "CANARY-STATUS-NOJS-" + secrets.token_hex(6)
    context = chromium.new_context(java_script_enabled=False, locale="id-ID")
    page = context.new_page()
    recorder = Recorder(page)
    receipt = _submit(page, live_server, f"Pekerja migran ditahan paspornya. {canary}", js=False)
    tip = report_with_reply(live_server, tmp_path, receipt)

    page.goto(live_server.url + "/status")
    assert page.get_attribute("#receipt", "autocomplete") == "off"
    assert page.get_attribute("#receipt", "autocapitalize") == "characters"
    assert page.get_attribute("#receipt", "spellcheck") == "false"
    page.fill("#receipt", receipt)
    with page.expect_navigation():
        page.click("#lookup-submit")
    assert page.url == live_server.url + "/status"
    assert page.inner_text("#replies .message-text") == REPLY_TEXT
    assert page.locator("#server-decrypted").is_visible()  # the page says the server opened the replies
    assert page.locator("#agency").is_visible()

    followup_text = f"Paspornya disimpan di kantor agen. {canary}"
    page.fill("#message", followup_text)
    page.set_input_files("#followup-attachments", files=[{"name": "kontrak.png", "mimeType": "image/png",
                                                          "buffer": PHOTO_EVIDENCE}])
    with page.expect_navigation():
        page.click("#followup-submit")
    assert page.locator("#followup-sent").is_visible()
    assert page.inner_text("#sent-attachments") == "1"
    entry, document, files = followup_in_next_export(live_server, tmp_path, tip["id"], receipt)
    assert entry["sealed_by"] == "server" and document["sealed_by"] == "server"
    assert document["text"] == followup_text
    assert files == {"kontrak.png": PHOTO_EVIDENCE}

    with page.expect_navigation():
        page.click("#forget")
    assert page.locator("#status-notice").is_visible()
    text = _page_text(page)
    assert receipt not in text and REPLY_TEXT.split("\n")[0] not in text
    recorder.assert_never_carried(receipt, bodies=False)  # the JS-off lookup posts it: never in a URL
    context.close()


@pytest.mark.parametrize("js", [True, False])
def test_wrong_receipt_gets_the_generic_answer(chromium, live_server: LiveServer, js: bool) -> None:
    context = chromium.new_context(java_script_enabled=js, locale="en-GB")
    page = context.new_page()
    recorder = Recorder(page)
    answers = []
    for typed in ["7K3M-Q9XD-2HPA-W4RT-ZB6N", "not a receipt at all", "7K3M-Q9XD-2HPA-W4RT-ZB6"]:
        page.goto(live_server.url + "/status?lang=en")
        page.fill("#receipt", typed)
        if js:
            page.click("#lookup-submit")
            page.wait_for_selector("#status-error:not([hidden])", timeout=30_000)
        else:
            with page.expect_navigation():
                page.click("#lookup-submit")
        assert page.locator("#status-thread").is_hidden()
        answers.append(page.inner_text("#status-error-text"))
    assert answers[0].startswith("No report matches this code")
    assert len(set(answers)) == 1  # malformed, short and unknown codes: the same words
    if js:  # the same request each time: a malformed code costs the same lookup
        assert len(recorder.json_posts("/api/v1/status")) == 3
    for typed in ["7K3M", "Q9XD"]:
        assert not any(typed.lower() in url.lower() for url in recorder.urls())
    context.close()


def test_status_page_from_the_form_on_a_small_phone(chromium, live_server: LiveServer, tmp_path: Path) -> None:
    context = chromium.new_context(viewport={"width": 360, "height": 640}, device_scale_factor=2, is_mobile=True,
                                   locale="id-ID")
    page = context.new_page()
    page.goto(live_server.url + "/")
    assert page.locator("footer a[href='/status']").count() == 1
    page.click("footer a[href='/status']")
    assert page.locator("#status-lookup-form").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(tmp_path / "status-phone.png"), full_page=True)
    context.close()


def test_rate_limited_lookup_gets_the_generic_answer(chromium, tmp_path_factory: pytest.TempPathFactory) -> None:
    server = TipboxServer.create(tmp_path_factory.mktemp("limited") / "var", TIPBOX_RATELIMIT_STATUS="1/hour")
    server.start()
    try:
        context = chromium.new_context(locale="en-GB")
        page = context.new_page()
        page.goto(server.url + "/status?lang=en")
        seen = []
        for _ in range(6):  # each gunicorn worker counts on its own (memory:// storage)
            page.fill("#receipt", "7K3M-Q9XD-2HPA-W4RT-ZB6N")
            page.click("#lookup-submit")
            page.wait_for_selector("#lookup-submit:not([disabled])", timeout=30_000)
            seen.append(page.inner_text("#status-error-text"))
            if seen[-1].startswith("Too many requests"):
                break
        assert seen[0].startswith("No report matches this code")
        assert seen[-1].startswith("Too many requests"), seen
        context.close()
    finally:
        server.stop()
