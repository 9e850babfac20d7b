"""Accessibility, measured: axe-core on every page a source sees, in both languages, JavaScript on and off.

axe-core (npm, pinned in package.json, a dev dependency: never served) is
evaluated into each page through the DevTools protocol, which the page's CSP
does not govern, and run with the WCAG 2.0/2.1/2.2 A and AA rules plus axe's
best practices. Any violation fails the test with the rule, the elements and
axe's own summary. Checks axe cannot decide alone ("incomplete", e.g. the
contrast of text over a translucent backdrop) are printed, not failed.

JavaScript "off": axe is JavaScript and needs the event loop, which a context
with JavaScript disabled does not run (``axe.run`` never settles there). So the
no-JS pages are audited in a context with JavaScript on but every page script
blocked (requests for /static/js/ aborted): the browser then shows exactly the
server's HTML, as with JavaScript off, and the forms post natively, so the
receipt, thread and "message sent" pages are the real no-JS answers. That is
sound because no template uses <noscript> or ``@media (scripting)`` (checked
below), the only things that would render differently.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load import TipboxServer
from tests.browser.conftest import LiveServer, quick_exit_to
from tests.browser.neutral import NeutralSite
from tests.browser.support import REPLY_TEXT, report_with_reply
from tests.support import missing_service

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices (landmarks, headings...) on top.
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]
NOJS_MAX = 200_000  # a smaller TIPBOX_MAX_NOJS_BYTES, so a 413 is cheap to provoke
PAGES = ["form", "form-error", "receipt", "receipt-exit", "status", "thread", "sent", "retention", "404", "413", "429"]
PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        missing_service("node_modules/axe-core is missing: run `make setup` (npm ci)")
    return AXE.read_text()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, neutral_site: NeutralSite) -> Iterator[LiveServer]:
    server = TipboxServer.create(
        tmp_path_factory.mktemp("a11y") / "var", TIPBOX_QUICK_EXIT_URL=quick_exit_to(neutral_site),
        TIPBOX_MAX_NOJS_BYTES=str(NOJS_MAX), TIPBOX_RATELIMIT_PAGES="5000/minute",
        TIPBOX_RATELIMIT_STATUS="500/minute", TIPBOX_RATELIMIT_NOJS="500/minute",
        TIPBOX_RATELIMIT_OPEN="500/minute", TIPBOX_RATELIMIT_FINALIZE="500/minute")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory, neutral_site: NeutralSite) -> Iterator[LiveServer]:
    """Two pages a minute: the third answer is the 429 page."""
    server = TipboxServer.create(tmp_path_factory.mktemp("a11y-limited") / "var",
                                 TIPBOX_QUICK_EXIT_URL=quick_exit_to(neutral_site), TIPBOX_RATELIMIT_PAGES="2/minute")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def receipt_with_reply(chromium, live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A report made in the browser, with a reviewer's reply published the real way (tests/browser/test_status.py)."""
    context = chromium.new_context()
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.fill("#description", "Anak-anak dipaksa mengemis di terminal.")
    page.click("#submit")
    page.wait_for_selector("#js-receipt:not([hidden])", timeout=60_000)
    receipt = page.inner_text("#js-receipt-code").strip()
    page.check("#receipt-written")
    context.close()
    report_with_reply(live_server, tmp_path_factory.mktemp("a11y-reply"), receipt)
    return receipt


def test_pages_render_the_same_whether_scripts_are_off_or_blocked() -> None:
    """What makes the no-JS emulation above faithful: nothing renders differently when scripting is off."""
    templates = [path.read_text() for path in (ROOT / "tipbox" / "templates").rglob("*.html")]
    assert templates and not any("<noscript" in t for t in templates)
    assert "scripting" not in (ROOT / "tipbox" / "static" / "css" / "tipbox.css").read_text()


def audit(page, axe_source: str, name: str, found: dict[str, list[str]], passed: dict[str, int]) -> None:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    # From the top: text scrolled under the sticky quick-exit bar has no background axe can judge.
    page.evaluate("window.scrollTo(0, 0)")
    result = page.evaluate("""tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                           resultTypes: ['violations', 'incomplete']})
        .then(r => ({violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)})),
                     passes: r.passes.length, incomplete: r.incomplete.map(v => v.id)}))""", RULES)
    found[name] = [f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"][:5])
                   for v in result["violations"]]
    passed[name] = result["passes"]
    if result["incomplete"]:
        print(f"  {name}: axe could not decide {result['incomplete']}")


def _post_too_large(page, server: LiveServer, js: bool) -> int:
    if js:  # a plain form post bigger than the no-JS limit, as a browser without WebCrypto would send
        with page.expect_navigation() as navigation:
            page.evaluate("""size => { const f = document.createElement('form'); f.method = 'post'; f.action = '/';
                const t = document.createElement('textarea'); t.name = 'description'; t.value = 'x'.repeat(size);
                f.appendChild(t); document.body.appendChild(f); f.submit(); }""", NOJS_MAX + 1000)
    else:
        page.goto(server.url + "/")
        page.fill("#description", "Terlalu besar")
        page.set_input_files("#attachments", files=[{"name": "video.mp4", "mimeType": "video/mp4",
                                                     "buffer": secrets.token_bytes(NOJS_MAX + 1000)}])
        with page.expect_navigation() as navigation:
            page.click("#submit")
    return navigation.value.status


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_every_page_has_no_wcag_aa_violation(chromium, live_server: LiveServer, limited_server: LiveServer,
                                             receipt_with_reply: str, axe_source: str, js: bool, lang: str) -> None:
    context = chromium.new_context(locale=f"{lang}-{lang.upper()}", **PHONE)
    context.set_default_timeout(60_000)
    if not js:
        context.route("**/static/js/**", lambda route: route.abort())
    page = context.new_page()
    print()
    found: dict[str, list[str]] = {}
    passed: dict[str, int] = {}
    mode = "js" if js else "nojs"

    def check(name: str) -> None:
        assert page.locator("html").get_attribute("lang") == lang, name
        audit(page, axe_source, name, found, passed)

    page.goto(live_server.url + f"/?lang={lang}")  # remembered for the rest of the visit
    check("form")

    page.fill("#description", "")
    if js:  # the in-page message; without JavaScript, the server's 400 page with the field marked
        page.click("#submit")
        page.wait_for_selector("#progress:not([hidden])")
    else:
        with page.expect_navigation():
            page.click("#submit")
        assert page.locator("#error-description").is_visible()
    check("form-error")

    page.goto(live_server.url + "/")
    page.fill("#description", "Pekerja migran ditahan paspornya.")
    if js:
        page.click("#submit")
        page.wait_for_selector("#js-receipt:not([hidden])")
    else:
        with page.expect_navigation():
            page.click("#submit")
        assert page.locator("#receipt-code").is_visible()
    check("receipt")
    if js:  # the question asked before leaving the receipt
        page.click("#quick-exit")
        assert page.evaluate("document.getElementById('leave-dialog').open")
    else:  # the quick exit's confirmation, opened
        page.click("#quick-exit")
        assert page.locator("#quick-exit-now").is_visible()
    check("receipt-exit")
    if js:
        page.click("#leave-stay")
        page.check("#receipt-written")

    page.goto(live_server.url + "/status")
    check("status")
    page.fill("#receipt", receipt_with_reply)
    if js:
        page.click("#lookup-submit")
        page.wait_for_selector("#status-thread:not([hidden])")
    else:
        with page.expect_navigation():
            page.click("#lookup-submit")
    assert page.inner_text("#replies .message-text") == REPLY_TEXT
    check("thread")
    page.fill("#message", f"Tambahan dari {mode}-{lang}.")
    if js:
        page.click("#followup-submit")
        page.wait_for_selector("#followup-sent:not([hidden])")
    else:
        with page.expect_navigation():
            page.click("#followup-submit")
    check("sent")

    page.goto(live_server.url + "/retention")
    check("retention")
    assert page.goto(live_server.url + "/no-such-page").status == 404
    check("404")
    page.goto(live_server.url + "/")
    assert _post_too_large(page, live_server, js) == 413
    check("413")

    for _ in range(10):  # each gunicorn worker counts on its own (memory:// storage)
        response = page.goto(limited_server.url + f"/retention?lang={lang}")
        if response.status == 429:
            break
    assert response.status == 429
    check("429")
    context.close()

    # For the record (pytest -s): how many axe rules each page passed.
    print(f"axe-core WCAG 2.2 AA + best practices [{mode}, {lang}]:",
          ", ".join(f"{name} {len(found[name])} violations/{passed[name]} rules passed" for name in found))
    problems = {name: v for name, v in found.items() if v}
    assert not problems, "axe-core found WCAG 2.2 AA violations:\n" + "\n".join(
        f"{name} [{mode}, {lang}]:\n  " + "\n  ".join(v) for name, v in problems.items())
    assert len(found) == len(PAGES), sorted(found)



def test_the_audit_would_catch_a_violation(chromium, live_server: LiveServer, axe_source: str) -> None:
    """The audit is not vacuous: an unlabelled field and pale text are reported."""
    context = chromium.new_context()
    page = context.new_page()
    page.goto(live_server.url + "/retention")
    # CSSOM, not a style attribute: allowed by the page's CSP.
    page.evaluate("""() => { const main = document.querySelector('main');
        main.appendChild(document.createElement('input'));
        const pale = document.createElement('p'); pale.textContent = 'abu-abu pucat'; pale.style.color = '#ccc';
        main.appendChild(pale); }""")
    found: dict[str, list[str]] = {}
    audit(page, axe_source, "tampered", found, {})
    rules = {line.split(" ")[0] for line in found["tampered"]}
    assert {"label", "color-contrast"} <= rules, found
    context.close()
