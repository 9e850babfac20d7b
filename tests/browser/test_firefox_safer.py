"""Tor Browser's security levels in real Firefox ESR: Debian's firefox-esr, driven by Marionette.

Tor Browser is Firefox ESR. At "Safer" SpiderMonkey runs without its JITs
(interpreter only), without asm.js and without WebAssembly; at "Safest" without
JavaScript (tests/browser/firefox.py has the preferences and where they come
from). The Chromium tests tell the same stories in another engine
(test_submit, test_status, test_safety, test_screenshots); these run them where
Tor Browser's users are, at a 360 px phone's width:

1. "Safer": the preferences took effect (no WebAssembly in the page), the form
   with a ~300 KiB file is sealed in the browser, the reviewer opens it with the
   answers and the file; the status page opens the reviewer's reply and seals a
   follow-up with a file, in the same browser.
2. Safety on the page (tipbox/static/js/safety.js): the receipt asks before
   every way off it until "I have written down my code"; the quick exit
   replaces the history entry; typed text gets Firefox's "Leave page?" prompt.
3. "Safest": the whole form, file included, without JavaScript, sealed by the server.
4. Screenshots of the form, the receipt and the status page at 360 px in
   "Safer", with nothing wider than the screen. To refresh the committed ones:

       TIPBOX_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest -p no:cacheprovider \\
           tests/browser/test_firefox_safer.py -k screenshots

Marionette (WebDriver classic) accepts every beforeunload prompt itself, so
"Stay on this page" cannot be clicked here: the tests ask Firefox whether it
would prompt (Firefox.would_ask_before_leaving, which leaves the page where it
is, as "Stay" does) and count the prompts it really opened on a reload or a
link (Firefox.leave_prompts), after which the page is left, as with "Leave".
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import LiveServer, quick_exit_to
from tests.browser.firefox import SAFER, SAFEST, Firefox, Keys, launch, wait_until
from tests.browser.neutral import NeutralSite
from tests.browser.support import (
    PHOTO_EVIDENCE,
    REPLY_TEXT,
    assert_answers,
    export_and_open,
    followup_in_next_export,
    publish_reply,
    report_with_reply,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
CODE = re.compile(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){4}")
SAFETY_TEXT = "Anak-anak dipaksa mengemis di pasar."


@pytest.fixture
def safer(tmp_path: Path) -> Iterator[Firefox]:
    """A new Firefox at "Safer" for each test: no history, cookie (language) or user activation carried over."""
    yield from launch(SAFER, log_path=tmp_path / "firefox.log", **PHONE)


@pytest.fixture
def safest(tmp_path: Path) -> Iterator[Firefox]:
    yield from launch(SAFEST, log_path=tmp_path / "firefox.log", **PHONE)


# ---------------------------------------------------------------- helpers


def _evidence(tmp_path: Path, name: str) -> Path:
    """The ~300 KiB file of test_status, on disk: Marionette gives a file input a path."""
    path = tmp_path / "files" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(PHOTO_EVIDENCE)
    return path


def _choose(fx: Firefox, select: str, value: str) -> None:
    fx.find(f"{select} option[value='{value}']").click()


def fill_form(fx: Firefox, canary: str, attachment: Path) -> None:
    """What test_submit._fill types in Chromium (so _assert_answers applies), the file being ``attachment``."""
    fx.find("label[for='danger-danger_now']").click()
    _choose(fx, "#category", "ANAK-EKO")
    fx.find("#description").send_keys(f"Anak-anak dipaksa bekerja di kapal ikan. {canary}")
    _choose(fx, "#province", "18")
    _choose(fx, "#regency", "18.09")
    fx.find("#place").send_keys("Pelabuhan dekat pasar")
    fx.find("#when").send_keys("Minggu lalu, malam hari")
    fx.find("input[name=ongoing][value=yes]").click()
    fx.find("#victims_count").send_keys("3")
    fx.find("input[name=victims_age_band][value='13-17']").click()
    fx.find("#victims_nationality").send_keys("Indonesia")
    fx.find("#responsible").send_keys("Seorang mandor bernama Pak X")
    fx.find("#online_places").send_keys("https://contoh.invalid/loker\n@perekrut_kapal")
    fx.find("input[name=how_known][value=saw]").click()
    fx.find("#contact").send_keys("Signal: +62 000")
    fx.find("input[name=contact_consent]").click()
    fx.find("#attachments").send_keys(str(attachment))


def _send_with_js(fx: Firefox) -> tuple[str, float]:
    """Click "Kirim laporan dengan aman"; return the receipt and the seconds until it showed."""
    start = time.monotonic()
    fx.find("#submit").click()
    wait_until(lambda: fx.visible("#js-receipt"), 120,
               lambda: f"no receipt; the page says {fx.text('#progress-text')!r}; errors: {fx.page_errors()}")
    elapsed = time.monotonic() - start
    return fx.text("#js-receipt-code").strip(), elapsed


def _submit_short(fx: Firefox, server: LiveServer, text: str = SAFETY_TEXT) -> str:
    fx.navigate(server.url + "/")
    fx.find("#description").send_keys(text)
    return _send_with_js(fx)[0]


def _leave_dialog_open(fx: Firefox) -> bool:
    return fx.js("return document.getElementById('leave-dialog').open")


def _visible_links(fx: Firefox) -> list:
    return fx.js("""return Array.from(document.querySelectorAll('a[href]'))
        .filter(a => a.getClientRects().length > 0 && getComputedStyle(a).visibility !== 'hidden');""")


def _png_width(path: Path) -> int:
    return struct.unpack(">I", path.read_bytes()[16:20])[0]


def _no_horizontal_scroll(fx: Firefox, width: int = PHONE["width"]) -> None:
    assert fx.js("return document.documentElement.scrollWidth") <= width


# ---------------------------------------------------------------- 1. "Safer": report, receipt, status


def test_safer_submission_and_status_round_trip(safer: Firefox, live_server: LiveServer, tmp_path: Path) -> None:
    fx = safer
    fx.navigate(live_server.url + "/")
    # The profile's preferences are the ones Firefox runs with, and the page sees no WebAssembly at all
    # (javascript.options.wasm false removes the global; it does not merely fail to compile).
    assert fx.pref_values(list(SAFER)) == SAFER
    assert fx.js("return typeof WebAssembly") == "undefined"
    assert fx.js("return [window.isSecureContext, typeof crypto.subtle]") == [True, "object"]
    assert fx.js("return document.documentElement.lang") == "id"  # resistFingerprinting's en-US changes nothing
    canary = "CANARY-FIREFOX-" + secrets.token_hex(8)
    fill_form(fx, canary, _evidence(tmp_path, "bukti kapal.png"))
    assert fx.visible("#emergency")
    receipt, seconds = _send_with_js(fx)
    print(f"\nFirefox Safer: 'Kirim' to receipt with a {len(PHOTO_EVIDENCE)} byte file: {seconds:.2f} s")
    assert CODE.fullmatch(receipt) and not fx.visible("#tip-form")
    assert receipt not in fx.url

    # The reviewer's side: sealed in the browser, opens with the reviewer's key, answers and file intact.
    [result] = [r for r in export_and_open(live_server, tmp_path, None)
                if canary in (r["document"]["answers"]["description"] or "")]
    assert result["tip"]["sealed_by"] == "browser" and result["document"]["sealed_by"] == "browser"
    assert_answers(result["document"]["answers"], canary)
    assert result["files"] == {"bukti kapal.png": PHOTO_EVIDENCE}
    entry = result["document"]["attachments"][0]
    assert entry["type"] == "image/png" and entry["sha256"] == hashlib.sha256(PHOTO_EVIDENCE).hexdigest()
    [bundle_path] = tmp_path.glob("export-*.tar")
    publish_reply(live_server, tmp_path, bundle_path, result["tip"], REPLY_TEXT)

    # Back with the receipt, in the same browser: the reply is opened in the page (receipt-derived key).
    fx.find("#receipt-written").click()
    assert not fx.would_ask_before_leaving()
    fx.find("#js-receipt-status").click()
    wait_until(lambda: fx.url == live_server.url + "/status", 30, lambda: fx.url)
    fx.find("#receipt").send_keys(receipt)
    fx.find("#lookup-submit").click()
    wait_until(lambda: fx.visible("#status-thread"), 120,
               lambda: f"no thread; the page says {fx.text('#status-lookup')!r}; errors: {fx.page_errors()}")
    assert fx.url == live_server.url + "/status"
    assert fx.find("#receipt").get_property("value") == ""
    assert fx.js("return document.querySelector('#replies .message-text').innerText") == REPLY_TEXT
    assert fx.find_all("#replies .message-text b") == []
    assert fx.text("#status-text").strip() and fx.visible("#agency")

    # A follow-up with a file, sealed in the browser, for the reviewers only.
    followup_text = f"Desa Sukamaju, dekat pasar ikan. {canary}"
    fx.find("#message").send_keys(followup_text)
    fx.find("#followup-attachments").send_keys(str(_evidence(tmp_path, "foto pasar.png")))
    fx.find("#followup-submit").click()
    wait_until(lambda: fx.visible("#followup-sent"), 120,
               lambda: f"not sent; the page says {fx.text('#followup-progress')!r}; errors: {fx.page_errors()}")
    assert fx.find("#message").get_property("value") == ""
    entry, document, files = followup_in_next_export(live_server, tmp_path, result["tip"]["id"], receipt)
    assert entry["sealed_by"] == "browser" and document["sealed_by"] == "browser"
    assert document["text"] == followup_text and files == {"foto pasar.png": PHOTO_EVIDENCE}

    # "Forget this page": neither the receipt nor the reply stays in the page.
    fx.find("#forget").click()
    wait_until(lambda: fx.visible("#status-lookup-form"), 30)
    page = fx.js("return document.documentElement.outerHTML + "
                 "Array.from(document.querySelectorAll('input, textarea')).map(e => e.value).join('\\n')")
    for secret in (receipt, receipt.replace("-", ""), REPLY_TEXT.split("\n")[0], "Sukamaju"):
        assert secret not in page, secret
    assert fx.page_errors() == []


@pytest.fixture(scope="module")
def small_chunks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server cutting uploads in 64 KiB chunks, so a few hundred KiB exercise the whole pipeline."""
    server = LiveServer.create(tmp_path_factory.mktemp("chunks") / "var", TIPBOX_UPLOAD_CHUNK_BYTES=str(64 * 1024))
    server.start()
    yield server
    server.stop()


def test_safer_seals_ahead_of_the_upload_and_the_last_chunk_delivers(safer: Firefox, small_chunks: LiveServer,
                                                                        tmp_path: Path) -> None:
    """Issue #16 in Tor Browser "Safer": two files of 11 and 3 chunks, sealed while earlier chunks are on
    the wire, each chunk with its WebCrypto SHA-256, the last one closing the tip (FORMAT.md §4.1); the
    reviewer opens exactly the bytes chosen, and the manifest's whole-file SHA-256 is the file's."""
    files = {"rekaman.mp4": os.urandom(700_000), "foto.jpg": os.urandom(150_000)}
    paths = []
    for name, data in files.items():
        path = tmp_path / "files" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        paths.append(str(path))
    fx = safer
    fx.navigate(small_chunks.url + "/")
    assert fx.js("return typeof WebAssembly") == "undefined"
    canary = "CANARY-PIPELINE-" + secrets.token_hex(6)
    fx.find("#description").send_keys(f"Video perekrutan anak. {canary}")
    fx.find("#attachments").send_keys("\n".join(paths))
    assert fx.js("return document.getElementById('attachments').files.length") == 2
    receipt, seconds = _send_with_js(fx)
    print(f"\nFirefox Safer, 64 KiB chunks: 'Kirim' to receipt with 850 kB in two files: {seconds:.2f} s")
    assert CODE.fullmatch(receipt)
    [result] = export_and_open(small_chunks, tmp_path, 1)
    assert canary in result["document"]["answers"]["description"]
    assert result["files"] == files
    for entry in result["document"]["attachments"]:
        assert entry["sha256"] == hashlib.sha256(files[entry["name"]]).hexdigest()
        assert entry["size"] == len(files[entry["name"]])
    assert fx.page_errors() == []


# ---------------------------------------------------------------- 2. safety on the page, "Safer"


def test_safer_receipt_asks_before_any_way_off_the_page(safer: Firefox, live_server: LiveServer,
                                                       neutral_site: NeutralSite) -> None:
    fx = safer
    fx.navigate(neutral_site.url + "/start")  # whatever was open before tipbox
    receipt = _submit_short(fx, live_server)
    assert CODE.fullmatch(receipt)
    assert fx.js("return document.activeElement.id") == "receipt-title"
    assert "This page cannot be shown again." in fx.text("#js-receipt .other-language")
    assert fx.visible("#receipt-written") and not fx.find("#receipt-written").is_selected()

    # Every link asks first; "Stay on this page" (or Escape) keeps the receipt.
    hrefs = [link.get_attribute("href") for link in _visible_links(fx)]
    assert {"/", "/status", "?lang=en", "/retention", quick_exit_to(neutral_site)} <= set(hrefs), hrefs
    for i, href in enumerate(hrefs):
        fx.click(_visible_links(fx)[i])
        assert _leave_dialog_open(fx), f"{href} left the receipt without asking"
        if i % 2:
            fx.press(Keys.ESCAPE)
        else:
            fx.find("#leave-stay").click()
        assert not _leave_dialog_open(fx), href
        assert fx.url == live_server.url + "/" and fx.text("#js-receipt-code").strip() == receipt, href

    # Back, reload, closing the tab: Firefox asks (asked here and answered "stay").
    assert fx.would_ask_before_leaving()
    assert fx.text("#js-receipt-code").strip() == receipt

    # The quick exit's question says "Leave now"; leaving replaces the entry: Back shows what was open before.
    fx.find("#quick-exit").click()
    assert fx.text("#leave-go") == "Keluar sekarang / Leave now"
    fx.find("#leave-go").click()
    wait_until(lambda: fx.url == quick_exit_to(neutral_site), 30, lambda: fx.url)
    fx.client.go_back()
    wait_until(lambda: fx.url == neutral_site.url + "/start", 30, lambda: fx.url)
    assert fx.leave_prompts() == 0  # the answer in the page was enough: no second question from Firefox
    assert fx.page_errors() == []


def test_safer_receipt_reload_prompts_until_written_down(safer: Firefox, live_server: LiveServer) -> None:
    fx = safer
    receipt = _submit_short(fx, live_server)
    # Reload: Firefox's own prompt opens (Marionette then accepts it: the source chose to leave; the code is gone).
    fx.client.refresh()
    wait_until(lambda: fx.leave_prompts() == 1, 10, lambda: f"{fx.leave_prompts()} prompts")
    assert receipt not in fx.js("return document.documentElement.outerHTML")

    receipt = _submit_short(fx, live_server)
    written = fx.find("#receipt-written")
    written.click()
    written.click()  # changed their mind: asked again
    assert fx.would_ask_before_leaving()
    fx.find("a[lang=en]").click()
    assert _leave_dialog_open(fx)
    assert fx.text("#leave-go") == "Sudah saya catat: keluar / I have written it down: leave"
    fx.find("#leave-stay").click()
    written.click()
    assert written.is_selected() and not fx.would_ask_before_leaving()
    fx.find("a[lang=en]").click()  # once written down, links leave at once
    wait_until(lambda: fx.url == live_server.url + "/?lang=en", 30, lambda: fx.url)
    assert fx.js("return document.documentElement.lang") == "en"
    assert receipt not in fx.js("return document.documentElement.outerHTML")
    assert fx.leave_prompts() == 1
    assert fx.page_errors() == []


def test_safer_quick_exit_leaves_no_tipbox_page_in_history(safer: Firefox, live_server: LiveServer,
                                                          neutral_site: NeutralSite) -> None:
    fx = safer
    fx.navigate(neutral_site.url + "/start")
    before_tipbox = fx.js("return history.length")
    fx.navigate(live_server.url + "/")
    assert fx.js("return history.length") == before_tipbox + 1
    # Links inside tipbox replace the entry: one tipbox page in the tab's history at most.
    fx.find("footer a[href='/retention']").click()
    wait_until(lambda: fx.url == live_server.url + "/retention", 30, lambda: fx.url)
    fx.find("a[lang=en]").click()
    wait_until(lambda: fx.url == live_server.url + "/retention?lang=en", 30, lambda: fx.url)
    assert fx.js("return history.length") == before_tipbox + 1
    # The quick exit is the first thing the keyboard reaches, and leaves with location.replace().
    fx.press(Keys.TAB)
    assert fx.js("return document.activeElement.id") == "quick-exit"
    requests = len(neutral_site.requests)
    fx.press(Keys.ENTER)
    wait_until(lambda: fx.url == quick_exit_to(neutral_site), 30, lambda: fx.url)
    assert fx.js("return history.length") == before_tipbox + 1  # replaced, not added
    path, headers = neutral_site.requests[requests]
    assert path == "/cuaca" and "referer" not in headers
    fx.client.go_back()
    wait_until(lambda: fx.url == neutral_site.url + "/start", 30, lambda: fx.url)  # not the tipbox page
    assert fx.page_errors() == []


def test_safer_typed_report_guard_but_quick_exit_never_asks(safer: Firefox, live_server: LiveServer,
                                                           neutral_site: NeutralSite) -> None:
    fx = safer
    fx.navigate(neutral_site.url + "/start")
    fx.navigate(live_server.url + "/")
    fx.find("h1").click()  # the page has had a user's interaction, which Firefox needs before it ever asks
    assert not fx.would_ask_before_leaving()  # nothing typed: no question
    fx.find("header a[href='/status']").click()
    wait_until(lambda: fx.url == live_server.url + "/status", 30, lambda: fx.url)
    assert fx.leave_prompts() == 0

    # Typed and not sent: Firefox asks; "stay" keeps the text.
    fx.navigate(live_server.url + "/")
    fx.find("#description").send_keys("Teks yang belum dikirim")
    assert fx.would_ask_before_leaving()
    assert fx.find("#description").get_property("value") == "Teks yang belum dikirim"
    # A link inside tipbox gets Firefox's prompt (accepted by Marionette: the link is followed).
    fx.find("header a[href='/status']").click()
    wait_until(lambda: fx.url == live_server.url + "/status", 30, lambda: fx.url)
    wait_until(lambda: fx.leave_prompts() == 1, 10, lambda: f"{fx.leave_prompts()} prompts")

    # The quick exit never asks, text typed or not.
    fx.navigate(live_server.url + "/")
    fx.find("#description").send_keys("Teks yang belum dikirim")
    assert fx.would_ask_before_leaving()
    fx.find("#quick-exit").click()
    wait_until(lambda: fx.url == quick_exit_to(neutral_site), 30, lambda: fx.url)
    assert fx.leave_prompts() == 1
    assert fx.page_errors() == []


# ---------------------------------------------------------------- 3. "Safest": no JavaScript


def test_safest_whole_form_without_javascript(safest: Firefox, live_server: LiveServer, neutral_site: NeutralSite,
                                              tmp_path: Path) -> None:
    fx = safest
    fx.navigate(live_server.url + "/")
    assert fx.pref_values(["javascript.enabled"]) == {"javascript.enabled": False}
    canary = "CANARY-FIREFOX-NOJS-" + secrets.token_hex(8)
    fill_form(fx, canary, _evidence(tmp_path, "bukti kapal.png"))
    assert fx.visible("#emergency")  # pure CSS
    fx.find("#submit").click()
    wait_until(lambda: fx.visible("#receipt-code"), 120, lambda: fx.find("body").text[:500])
    receipt = fx.text("#receipt-code").strip()
    assert CODE.fullmatch(receipt)
    assert "receipt" not in fx.url.lower() and receipt not in fx.url
    assert not fx.visible("#receipt-written")  # the JavaScript-only guard is not offered
    [result] = [r for r in export_and_open(live_server, tmp_path, None)
                if canary in (r["document"]["answers"]["description"] or "")]
    assert result["tip"]["sealed_by"] == "server" and result["document"]["sealed_by"] == "server"
    assert_answers(result["document"]["answers"], canary)
    assert result["files"] == {"bukti kapal.png": PHOTO_EVIDENCE}

    # The receipt's only link is the quick exit's "Leave now", behind a <details> that needs no script.
    assert [link.get_attribute("id") for link in fx.find_all("a[href]")] == ["quick-exit-now"]
    assert not fx.visible("#quick-exit-now")
    fx.find("#quick-exit").click()
    assert fx.visible("#quick-exit-now")
    requests = len(neutral_site.requests)
    fx.find("#quick-exit-now").click()
    wait_until(lambda: fx.url == quick_exit_to(neutral_site), 30, lambda: fx.url)
    assert "referer" not in neutral_site.requests[requests][1]


# ---------------------------------------------------------------- 4. screenshots, 360 px, "Safer"


def test_safer_phone_screenshots(safer: Firefox, live_server: LiveServer, tmp_path: Path) -> None:
    out = Path(os.environ.get("TIPBOX_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    fx = safer
    assert fx.js("return window.innerWidth") == PHONE["width"]
    fx.navigate(live_server.url + "/")
    # As test_screenshots fills it: the emergency numbers showing.
    fx.find("label[for='danger-danger_now']").click()
    _choose(fx, "#category", "ANAK-EKO")
    fx.find("#description").send_keys("Tiga anak dipaksa bekerja di kapal ikan setiap malam.")
    _choose(fx, "#province", "18")
    _choose(fx, "#regency", "18.09")
    fx.find("input[name=ongoing][value=yes]").click()
    fx.find("input[name=victims_age_band][value='13-17']").click()
    fx.find("input[name=how_known][value=saw]").click()
    _no_horizontal_scroll(fx)
    shots = [fx.screenshot(out / "firefox-safer-form-phone-id.png")]

    receipt, _ = _send_with_js(fx)
    _no_horizontal_scroll(fx)
    shots.append(fx.screenshot(out / "firefox-safer-receipt-phone-id.png"))

    # The status page with a reviewer's reply, opened in the page.
    report_with_reply(live_server, tmp_path, receipt)
    fx.find("#receipt-written").click()
    fx.find("#js-receipt-status").click()
    wait_until(lambda: fx.url == live_server.url + "/status", 30, lambda: fx.url)
    fx.find("#receipt").send_keys(receipt)
    fx.find("#lookup-submit").click()
    wait_until(lambda: fx.visible("#status-thread"), 120, lambda: fx.text("#status-lookup"))
    assert fx.js("return document.querySelector('#replies .message-text').innerText") == REPLY_TEXT
    _no_horizontal_scroll(fx)
    shots.append(fx.screenshot(out / "firefox-safer-status-phone-id.png"))

    for shot in shots:
        assert _png_width(shot) == PHONE["width"], shot  # the whole page, laid out at the phone's width
    assert fx.page_errors() == []
