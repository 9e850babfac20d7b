"""The screenshots in docs/screenshots/, made the way a source would see the pages.

Run as a test, they go to a temporary directory and the test checks that the
phone shots are whole pages 360 px wide (the full form, not only its top).
To refresh the committed ones:

    TIPBOX_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest -p no:cacheprovider tests/browser/test_screenshots.py
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from tests.browser.conftest import LiveServer
from tests.browser.support import report_with_reply

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
DESKTOP = {"viewport": {"width": 1024, "height": 800}, "device_scale_factor": 1}


def _png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def _whole_page(page, path: Path) -> int:
    """A full-page shot from the top (the quick-exit bar sticks to the top); returns the page height."""
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    return page.evaluate("document.documentElement.scrollHeight")


def _fill_example(page) -> None:
    page.check("#danger-danger_now")
    page.select_option("#category", "ANAK-EKO")
    page.fill("#description", "Tiga anak dipaksa bekerja di kapal ikan setiap malam.")
    page.select_option("#province", "18")
    page.select_option("#regency", "18.09")
    page.check("input[name=ongoing][value=yes]")
    page.check("input[name=victims_age_band][value='13-17']")
    page.check("input[name=how_known][value=saw]")


def test_screenshots(chromium, live_server: LiveServer, tmp_path: Path) -> None:
    out = Path(os.environ.get("TIPBOX_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    heights: dict[str, int] = {}

    # The whole form on a phone, filled in, with the emergency numbers showing.
    context = chromium.new_context(locale="id-ID", **PHONE)
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(live_server.url + "/")
    _fill_example(page)
    heights["form-phone-id.png"] = _whole_page(page, out / "form-phone-id.png")
    box = page.locator("fieldset.danger").bounding_box()  # from the legend, which sits above the box
    page.screenshot(path=str(out / "emergency-phone-id.png"), full_page=True,
                    clip={"x": 0, "y": box["y"] - 16, "width": 360, "height": box["height"] + 24})
    # Sent with JavaScript: the receipt made on the phone, then the question before leaving it.
    page.click("#submit")
    page.wait_for_selector("#js-receipt:not([hidden])")
    receipt = page.inner_text("#js-receipt-code").strip()
    heights["receipt-phone-id.png"] = _whole_page(page, out / "receipt-phone-id.png")
    page.click("a[lang=en]")
    page.screenshot(path=str(out / "receipt-leave-phone-id.png"))
    page.click("#leave-stay")
    page.check("#receipt-written")
    context.close()

    # Without JavaScript: the server's receipt, in both languages, and its quick exit asking first.
    context = chromium.new_context(locale="id-ID", java_script_enabled=False, **PHONE)
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.fill("#description", "Pekerja migran ditahan paspornya di penampungan.")
    with page.expect_navigation():
        page.click("#submit")
    heights["receipt-nojs-phone-id.png"] = _whole_page(page, out / "receipt-nojs-phone-id.png")
    page.click("#quick-exit")
    page.screenshot(path=str(out / "receipt-nojs-exit-phone-id.png"))
    context.close()

    # The status page: empty on a phone; a report with an answer (JavaScript on); the same without (desktop).
    report_with_reply(live_server, tmp_path, receipt)
    context = chromium.new_context(locale="id-ID", **PHONE)
    page = context.new_page()
    page.goto(live_server.url + "/status")
    heights["status-lookup-phone-id.png"] = _whole_page(page, out / "status-lookup-phone-id.png")
    page.fill("#receipt", receipt)
    page.click("#lookup-submit")
    page.wait_for_selector("#status-thread:not([hidden])", timeout=60_000)
    heights["status-thread-phone-id.png"] = _whole_page(page, out / "status-thread-phone-id.png")
    context.close()
    context = chromium.new_context(locale="en-GB", java_script_enabled=False, **DESKTOP)
    page = context.new_page()
    page.goto(live_server.url + "/status?lang=en")
    page.fill("#receipt", receipt)
    with page.expect_navigation():
        page.click("#lookup-submit")
    _whole_page(page, out / "status-thread-nojs-desktop-en.png")
    page.goto(live_server.url + "/")
    _whole_page(page, out / "form-desktop-en.png")
    context.close()

    for name, height in heights.items():
        width, shot = _png_size(out / name)
        assert width == 360 and shot == height and height > 640, (name, width, shot, height)
    assert _png_size(out / "form-phone-id.png")[1] > 3000  # the full form, not only its top
