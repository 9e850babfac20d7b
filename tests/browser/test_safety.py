"""Safety on the page, in Chromium with JavaScript on and off (issue #12, items 1, 3 and 4).

- The receipt cannot be lost with one tap: with JavaScript, every link and the
  language switch ask first, and Back and reload get the browser's
  beforeunload prompt, until the source ticks "I have written down my code";
  without it, the receipt page has no link at all but the quick exit (behind a
  confirmation that needs no script), and says everything in both languages.
- Quick exit on every page, to the operator's neutral site (here a local
  second origin: tests/browser/neutral.py), with no Referer; with JavaScript
  the history entry is replaced, so Back does not show the page that was left.
- Choices on a 360 px phone: one option per line, the whole option tappable,
  every control at least 44x44 CSS px; codes never break inside a group.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import LiveServer, quick_exit_to
from tests.browser.neutral import NeutralSite
from tests.browser.support import export_and_open

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True}
MIN_TARGET = 44  # CSS px, both ways (WCAG 2.5.5 AAA; 2.5.8 AA asks 24)
CODE = re.compile(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){4}")


def _phone(browser, js: bool = True, lang: str = "id", **options):
    context = browser.new_context(java_script_enabled=js, locale=f"{lang}-{lang.upper()}", **{**PHONE, **options})
    context.set_default_timeout(60_000)
    return context


def _submit(page, server: LiveServer, *, js: bool, text: str = "Anak-anak dipaksa mengemis di pasar.") -> str:
    page.goto(server.url + "/")
    page.fill("#description", text)
    if js:
        page.click("#submit")
        page.wait_for_selector("#js-receipt:not([hidden])")
        return page.inner_text("#js-receipt-code").strip()
    with page.expect_navigation():
        page.click("#submit")
    return page.inner_text("#receipt-code").strip()


def _leave_dialog_open(page) -> bool:
    return page.evaluate("document.getElementById('leave-dialog').open")


# ---------------------------------------------------------------- item 1: the receipt, with JavaScript


def test_js_receipt_asks_before_any_way_off_the_page(chromium, live_server: LiveServer,
                                                    neutral_site: NeutralSite) -> None:
    context = _phone(chromium)
    page = context.new_page()
    page.goto(neutral_site.url + "/start")  # whatever was open before tipbox
    receipt = _submit(page, live_server, js=True)
    assert CODE.fullmatch(receipt)
    # Screen readers start at the receipt, and it says everything in both languages.
    assert page.evaluate("document.activeElement.id") == "receipt-title"
    assert "This page cannot be shown again." in page.inner_text("#js-receipt .other-language")
    assert page.locator("#receipt-written").is_visible() and not page.locator("#receipt-written").is_checked()

    # Every link on the page, the language switch and the quick exit included, asks first;
    # "Stay on this page" (or Escape) keeps the receipt.
    links = page.locator("a[href]:visible")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert {"/", "/status", "?lang=en", "/retention", quick_exit_to(neutral_site)} <= set(hrefs), hrefs
    for i, href in enumerate(hrefs):
        links.nth(i).click()
        assert _leave_dialog_open(page), f"{href} left the receipt without asking"
        if i % 2:
            page.keyboard.press("Escape")
        else:
            page.click("#leave-stay")
        assert not _leave_dialog_open(page)
        assert page.url == live_server.url + "/" and page.inner_text("#js-receipt-code").strip() == receipt, href

    # Reload and Back: the browser's own prompt (dismissed here: the source stays).
    prompts: list[str] = []
    page.on("dialog", lambda dialog: (prompts.append(dialog.type), dialog.dismiss()))
    with pytest.raises(PlaywrightTimeout):
        page.reload(timeout=3_000)
    with pytest.raises(PlaywrightTimeout):
        page.go_back(timeout=3_000)
    assert prompts == ["beforeunload", "beforeunload"]
    assert page.inner_text("#js-receipt-code").strip() == receipt

    # "I have written it down: leave" on the quick exit's question leaves at once, replacing
    # the history entry: Back goes to what was open before tipbox, not to the receipt.
    page.click("#quick-exit")
    assert page.inner_text("#leave-go") == "Keluar sekarang / Leave now"  # no time to write anything down
    page.click("#leave-go")
    page.wait_for_url(quick_exit_to(neutral_site))
    page.go_back()
    assert page.url == neutral_site.url + "/start"
    assert prompts == ["beforeunload", "beforeunload"]  # no second question after the answer
    context.close()


def test_js_receipt_once_written_down_can_be_left_freely(chromium, live_server: LiveServer) -> None:
    context = _phone(chromium)
    page = context.new_page()
    receipt = _submit(page, live_server, js=True)
    prompts: list[str] = []
    page.on("dialog", lambda dialog: (prompts.append(dialog.type), dialog.dismiss()))
    page.check("#receipt-written")
    page.uncheck("#receipt-written")  # changed their mind: asked again
    page.click("a[lang=en]")
    assert _leave_dialog_open(page)
    assert page.inner_text("#leave-go") == "Sudah saya catat: keluar / I have written it down: leave"
    page.click("#leave-stay")
    page.check("#receipt-written")
    page.click("a[lang=en]")
    page.wait_for_url(live_server.url + "/?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert receipt not in page.content() and prompts == []
    context.close()


def test_js_receipt_reload_prompt_until_written_down(chromium, live_server: LiveServer) -> None:
    """Reload once the box is ticked: no prompt, and the code is gone (nothing keeps it)."""
    context = _phone(chromium)
    page = context.new_page()
    receipt = _submit(page, live_server, js=True)
    prompts: list[str] = []
    page.on("dialog", lambda dialog: (prompts.append(dialog.type), dialog.accept()))
    page.reload()  # accepted: the source chose to leave
    assert prompts == ["beforeunload"] and receipt not in page.content()
    context.close()


# ---------------------------------------------------------------- item 1: the receipt, without JavaScript


@pytest.mark.parametrize("lang", ["id", "en"])
def test_nojs_receipt_offers_no_way_to_lose_the_code(chromium, live_server: LiveServer,
                                                    neutral_site: NeutralSite, lang: str) -> None:
    context = _phone(chromium, js=False, lang=lang)
    page = context.new_page()
    page.goto(live_server.url + f"/?lang={lang}")
    receipt = _submit(page, live_server, js=False)
    assert CODE.fullmatch(receipt)
    assert page.locator("html").get_attribute("lang") == lang
    # No language switch is needed: the receipt's words are on the page in both languages.
    text = page.inner_text("#receipt")
    for phrase in ("Ini kode tanda terima Anda.", "This is your receipt code.",
                   "Halaman ini tidak dapat ditampilkan lagi.", "This page cannot be shown again.",
                   "Cek laporan Anda", "Check your report"):
        assert phrase in text, phrase
    assert live_server.url + "/status" in text  # where to come back, as words to write down
    assert page.locator("nav.lang").count() == 0 and page.locator("footer a").count() == 0
    # The only link is the quick exit's "Leave now", hidden until the source asks to leave.
    links = page.locator("a[href]")
    assert links.count() == 1 and links.first.get_attribute("id") == "quick-exit-now"
    assert not links.first.is_visible()
    assert page.locator("#receipt-written").is_hidden()  # the JavaScript-only guard is not offered
    # Tapping "Quick exit" asks first (a <details>: no script), then leaves without a Referer.
    page.click("#quick-exit")
    assert page.locator("#quick-exit-now").is_visible()
    assert "Your receipt code cannot be shown again." in page.inner_text("#quick-exit-confirm")
    before = len(neutral_site.requests)
    page.click("#quick-exit-now")
    page.wait_for_url(quick_exit_to(neutral_site))
    path, headers = neutral_site.requests[before]
    assert path == "/cuaca" and "referer" not in headers
    # Back does not bring the code back: the receipt was the answer to a post the browser did not keep.
    try:
        page.go_back(timeout=10_000)
    except Exception as error:  # Chromium: net::ERR_CACHE_MISS, it will not re-send the form by itself
        assert "ERR_CACHE_MISS" in str(error)
    assert receipt not in _settled_content(page)
    context.close()


def _settled_content(page) -> str:
    for _ in range(20):
        try:
            page.wait_for_load_state()
            return page.content()
        except Exception:  # still navigating (to an error page)
            page.wait_for_timeout(250)
    return page.content()


# ---------------------------------------------------------------- item 2: Tor Browser's Accept-Language


@pytest.mark.parametrize("js", [True, False])
def test_tor_browser_gets_the_deployments_language(chromium, live_server: LiveServer, js: bool) -> None:
    """Tor Browser says "en-US,en;q=0.5" for everyone: the deployment's default (Indonesian) wins."""
    context = chromium.new_context(java_script_enabled=js, locale="en-US",
                                   extra_http_headers={"Accept-Language": "en-US,en;q=0.5"})
    page = context.new_page()
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.inner_text("#submit") == "Kirim laporan dengan aman"
    page.click("a[lang=en]")  # choosing English still works, and is remembered
    page.wait_for_url(live_server.url + "/?lang=en")
    page.goto(live_server.url + "/status")
    assert page.locator("html").get_attribute("lang") == "en"
    context.close()


def test_server_made_receipt_is_guarded_when_scripts_run(chromium, live_server: LiveServer,
                                                          neutral_site: NeutralSite) -> None:
    """JavaScript on but no sealer (a plain-http address has no WebCrypto): the server seals and makes
    the receipt, and safety.js guards that page too; its quick exit's "Leave now" is the confirmation."""
    context = _phone(chromium)
    context.route("**/static/js/sealer.js*", lambda route: route.abort())
    page = context.new_page()
    receipt = _submit(page, live_server, js=False)
    assert CODE.fullmatch(receipt) and page.locator("#receipt-written").is_visible()
    prompts: list[str] = []
    page.on("dialog", lambda dialog: (prompts.append(dialog.type), dialog.dismiss()))
    page.click("#quick-exit")  # opens the confirmation (and is the user gesture browsers want for a prompt)
    with pytest.raises(PlaywrightTimeout):
        page.reload(timeout=3_000)
    assert prompts == ["beforeunload"] and page.inner_text("#receipt-code").strip() == receipt
    page.click("#quick-exit-now")
    page.wait_for_url(quick_exit_to(neutral_site))
    assert prompts == ["beforeunload"]
    context.close()


# ---------------------------------------------------------------- item 3: quick exit


@pytest.mark.parametrize("path", ["/", "/status", "/retention", "/no-such-page"])
def test_quick_exit_with_js_replaces_the_page_in_history(chromium, live_server: LiveServer,
                                                         neutral_site: NeutralSite, path: str) -> None:
    context = _phone(chromium)
    page = context.new_page()
    page.goto(neutral_site.url + "/start")
    page.goto(live_server.url + path)
    exit_link = page.locator("#quick-exit")
    assert exit_link.is_visible() and "Keluar cepat" in exit_link.inner_text() and "Quick exit" in exit_link.inner_text()
    page.keyboard.press("Tab")  # the first thing the keyboard reaches
    assert page.evaluate("document.activeElement.id") == "quick-exit"
    # Still in view at the bottom of a long page.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    box = exit_link.bounding_box()
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= 640
    before = len(neutral_site.requests)
    page.keyboard.press("Enter")
    page.wait_for_url(quick_exit_to(neutral_site))
    assert "referer" not in neutral_site.requests[before][1]
    page.go_back()
    assert page.url == neutral_site.url + "/start"  # not the tipbox page that was left
    context.close()


def test_quick_exit_leaves_no_tipbox_page_behind_after_moving_around(chromium, live_server: LiveServer,
                                                                     neutral_site: NeutralSite) -> None:
    """With JavaScript, links inside tipbox replace the history entry: the tab holds one tipbox page at most."""
    context = _phone(chromium)
    page = context.new_page()
    page.goto(neutral_site.url + "/start")
    page.goto(live_server.url + "/")
    page.click("footer a[href='/retention']")
    page.wait_for_url(live_server.url + "/retention")
    page.click("a[lang=en]")
    page.wait_for_url(live_server.url + "/retention?lang=en")
    page.click("#quick-exit")
    page.wait_for_url(quick_exit_to(neutral_site))
    assert page.evaluate("history.length") == 3  # about:blank, the page before tipbox, the neutral page
    page.go_back()
    assert page.url == neutral_site.url + "/start"
    context.close()


def test_typed_report_is_not_lost_by_a_link_but_the_quick_exit_never_asks(chromium, live_server: LiveServer,
                                                                          neutral_site: NeutralSite) -> None:
    """A link inside tipbox replaces the history entry; with a report typed, that would lose the text for good."""
    context = _phone(chromium)
    page = context.new_page()
    prompts: list[str] = []
    page.on("dialog", lambda dialog: (prompts.append(dialog.type), dialog.dismiss()))
    page.goto(neutral_site.url + "/start")
    page.goto(live_server.url + "/")
    page.click("header a[href='/status']")  # nothing typed yet: no question
    page.wait_for_url(live_server.url + "/status")
    assert prompts == []
    page.goto(live_server.url + "/")
    page.fill("#description", "Teks yang belum dikirim")
    page.click("header a[href='/status']")  # the browser asks; "stay" keeps the text
    page.wait_for_timeout(500)
    assert prompts == ["beforeunload"] and page.url == live_server.url + "/"
    assert page.input_value("#description") == "Teks yang belum dikirim"
    page.click("#quick-exit")  # never a question on the way out
    page.wait_for_url(quick_exit_to(neutral_site))
    assert prompts == ["beforeunload"]
    context.close()


def test_quick_exit_without_js_is_a_plain_link(chromium, live_server: LiveServer, neutral_site: NeutralSite) -> None:
    context = _phone(chromium, js=False)
    page = context.new_page()
    for path in ("/", "/status", "/retention", "/no-such-page"):
        page.goto(live_server.url + path)
        link = page.locator("#quick-exit")
        assert link.is_visible()
        assert link.get_attribute("href") == quick_exit_to(neutral_site)
        assert link.get_attribute("rel") == "noreferrer"
        # Links that stand alone are big enough to tap on every page, not only the form.
        small = [b for b in _boxes(page, "#quick-exit, header a, footer a, a.standalone")
                 if b["w"] < MIN_TARGET or b["h"] < MIN_TARGET]
        assert small == [], (path, small)
    before = len(neutral_site.requests)
    page.click("#quick-exit")
    page.wait_for_url(quick_exit_to(neutral_site))
    assert "referer" not in neutral_site.requests[before][1]
    context.close()


# ---------------------------------------------------------------- item 4: a 360 px phone


def _boxes(page, selector: str) -> list[dict]:
    return page.evaluate("""sel => Array.from(document.querySelectorAll(sel))
        .filter(e => e.offsetParent !== null || getComputedStyle(e).position === 'fixed')
        .map(e => { const r = e.getBoundingClientRect();
                    return {id: e.id || e.getAttribute('href') || e.textContent.trim().slice(0, 30),
                            x: r.x, y: r.y + window.scrollY, w: r.width, h: r.height}; })""", selector)


@pytest.mark.parametrize("width", [360, 320])
def test_choices_on_a_small_phone(chromium, live_server: LiveServer, width: int) -> None:
    context = _phone(chromium, js=False, viewport={"width": width, "height": 640})
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.check("#danger-danger_now")  # the emergency box is shown too
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Each option on its own line: one option per row, all starting at the same x, none side by side.
    for group in ("danger", "ongoing", "victims_age_band", "how_known"):
        options = page.evaluate("""name => Array.from(document.querySelectorAll(`input[name=${name}]`)).map(i => {
            const label = i.closest('label') || document.querySelector(`label[for="${i.id}"]`);
            const l = label.getBoundingClientRect(), b = i.getBoundingClientRect();
            return {label: [l.x, l.y, l.width, l.height], input: [b.x, b.y, b.width, b.height]}; })""", group)
        assert len(options) >= 3, group
        xs = {round(o["label"][0]) for o in options}
        assert len(xs) == 1, (group, options)
        for above, below in zip(options, options[1:], strict=False):
            assert below["label"][1] >= above["label"][1] + above["label"][3], (group, above, below)
        for option in options:
            lx, ly, lw, lh = option["label"]
            ix, iy, iw, ih = option["input"]
            assert lw >= MIN_TARGET and lh >= MIN_TARGET, (group, option)
            # The control is drawn inside its label: one box to tap.
            assert lx <= ix and ix + iw <= lx + lw and ly <= iy and iy + ih <= ly + lh, (group, option)
    # The whole option is tappable: a tap at the far right end of a label picks that option.
    for selector in ("input[name=victims_age_band][value='13-17']", "#danger-leaving_soon",
                     "input[name=contact_consent]"):
        label = page.locator(f"label:has({selector})") if "name=" in selector else page.locator(
            f"label[for='{selector[1:]}']")
        label.scroll_into_view_if_needed()
        box = label.bounding_box()
        page.mouse.click(box["x"] + box["width"] - 4, box["y"] + box["height"] / 2)
        assert page.is_checked(selector), selector
    # Every control that stands alone is at least 44x44 CSS px.
    small = [b for b in _boxes(page, "#quick-exit, header a, footer a, button:not([hidden]), select, textarea, "
                                     "input[type=text], input[type=number], input[type=file], .emergency a, "
                                     "label.choice")
             if b["w"] < MIN_TARGET or b["h"] < MIN_TARGET]
    assert small == [], small
    # The key fingerprint breaks between groups only.
    _assert_groups_whole(page, "#key-fingerprint")
    context.close()


def _assert_groups_whole(page, selector: str) -> str:
    """Each XXXX group of the code in ``selector`` sits on one line; return the code as it would be copied."""
    groups = page.evaluate("""sel => Array.from(document.querySelectorAll(sel + ' .code-group'))
        .map(g => ({text: g.textContent, lines: g.getClientRects().length, top: g.getBoundingClientRect().top}))""",
                           selector)
    assert len(groups) >= 5, groups
    assert all(g["lines"] == 1 for g in groups), groups
    assert len({round(g["top"]) for g in groups}) >= 2, "expected the code to wrap on a small phone"
    return page.evaluate(f"document.querySelector('{selector}').textContent")


@pytest.mark.parametrize("js", [True, False])
@pytest.mark.parametrize("width", [360, 320])
def test_receipt_code_never_breaks_inside_a_group(chromium, live_server: LiveServer, js: bool, width: int) -> None:
    context = _phone(chromium, js=js, viewport={"width": width, "height": 640})
    page = context.new_page()
    receipt = _submit(page, live_server, js=js)
    copied = _assert_groups_whole(page, "#js-receipt-code" if js else "#receipt-code")
    assert copied == receipt and CODE.fullmatch(copied)  # copying gives the code exactly, dashes and all
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if js:
        page.check("#receipt-written")
    context.close()


# ---------------------------------------------------------------- item 5: the keyboard alone


FIELD_ORDER = ["danger-danger_now", "category", "description", "province", "regency", "place", "when", "ongoing",
               "victims_count", "victims_age_band", "victims_nationality", "responsible", "online_places",
               "how_known", "attachments", "contact", "contact_consent", "submit"]


@pytest.mark.parametrize("js", [True, False])
def test_keyboard_only_submission(chromium, live_server: LiveServer, tmp_path: Path, js: bool) -> None:
    context = chromium.new_context(java_script_enabled=js, locale="id-ID")
    page = context.new_page()
    page.goto(live_server.url + "/")
    canary = "KEYBOARD-" + secrets.token_hex(4)
    visited: list[str] = []
    for _ in range(120):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const e = document.activeElement;
            return {id: e.id || e.name || e.getAttribute('href') || '', name: e.name || '', type: e.type || '',
                    tag: e.tagName,
                    outline: getComputedStyle(e).outlineStyle, width: getComputedStyle(e).outlineWidth}; }""")
        key = focused["name"] if focused["type"] == "radio" else focused["id"]
        assert focused["tag"] != "BODY", f"focus fell out of the page after {visited}"
        # Whatever has the focus shows it.
        assert focused["outline"] != "none" and focused["width"] != "0px", focused
        if key in visited:
            continue
        visited.append(key)
        if key == "danger-danger_now":
            page.keyboard.press("Space")
        elif key == "description":
            page.keyboard.type(f"Anak-anak dipaksa bekerja. {canary}")
        elif key == "province":
            page.keyboard.press("ArrowDown")  # the first province, Aceh
        elif key == "ongoing":
            page.keyboard.press("Space")  # the first answer, "yes"
        elif key == "victims_count":
            page.keyboard.type("2")
        elif key == "contact_consent":
            page.keyboard.press("Space")
        elif key == "submit":
            break
    fields = [k for k in visited if k in FIELD_ORDER]
    assert fields == FIELD_ORDER, visited
    assert visited[0] == "quick-exit"  # the way out comes first
    if js:
        page.keyboard.press("Enter")
        page.wait_for_selector("#js-receipt:not([hidden])", timeout=60_000)
        # The keyboard reaches "I have written down my code" from the receipt.
        for _ in range(10):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "receipt-written":
                break
        page.keyboard.press("Space")
        assert page.is_checked("#receipt-written")
    else:
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert CODE.fullmatch(page.inner_text("#receipt-code").strip())
    context.close()
    # Other tests of this module leave tips of their own: pick this one by its text.
    [result] = [r for r in export_and_open(live_server, tmp_path, None)
                if canary in (r["document"]["answers"]["description"] or "")]
    answers = result["document"]["answers"]
    assert answers["description"] == f"Anak-anak dipaksa bekerja. {canary}"
    assert answers["danger"] == ["danger_now"] and answers["ongoing"] == "yes"
    assert answers["province"] == "11" and answers["victims_count"] == 2 and answers["contact_consent"] is True
    assert result["tip"]["sealed_by"] == ("browser" if js else "server")
