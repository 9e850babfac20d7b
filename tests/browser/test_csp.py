"""Chromium enforces the Content-Security-Policy and reports no violation while a tip is sealed and sent.

The listener is installed before any page script runs (an init script), so
violations during the first load count too; a deliberate inline script shows
that the listener would catch one. Every response the browser receives (page,
stylesheet, sealer, API answers) carries the policy.
"""

from __future__ import annotations

import secrets

import pytest

from tests.browser.conftest import LiveServer
from tests.browser.support import fill_form

pytestmark = pytest.mark.browser

LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


def _watch(page) -> tuple[list[str], list[dict]]:
    console: list[str] = []
    responses: list[dict] = []
    page.on("console", lambda msg: console.append(msg.text)
            if "Content Security Policy" in msg.text or "Refused to" in msg.text else None)
    page.on("response", lambda r: responses.append({"url": r.url, "status": r.status, "headers": r.headers}))
    page.add_init_script(LISTENER)
    return console, responses


def test_no_csp_violation_while_a_tip_is_sealed_and_sent(chromium, live_server: LiveServer) -> None:
    context = chromium.new_context(locale="id-ID")
    page = context.new_page()
    console, responses = _watch(page)
    page.goto(live_server.url + "/")
    fill_form(page, "CANARY-CSP-" + secrets.token_hex(6))
    page.click("#submit")
    page.wait_for_selector("#js-receipt:not([hidden])", timeout=60_000)
    assert page.inner_text("#js-receipt-code").strip()
    # The error and policy pages too, in both languages.
    for path in ("/retention?lang=en", "/no-such-page", "/api/v1/nothing", "/?lang=id"):
        page.goto(live_server.url + path)
    violations = page.evaluate("window.__cspViolations")
    assert violations == [] and console == [], (violations, console)

    kinds = set()
    for response in responses:
        csp = response["headers"].get("content-security-policy", "")
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, response["url"]
        assert response["headers"].get("x-content-type-options") == "nosniff", response["url"]
        assert response["headers"].get("referrer-policy") == "no-referrer", response["url"]
        url = response["url"]
        kinds.add("static" if "/static/" in url else "api" if "/api/" in url else "page")
    assert {"static", "api", "page"} <= kinds
    assert any("/chunks/" in r["url"] for r in responses)
    assert any(r["url"].endswith("/api/v1/submissions/sealed") for r in responses)

    # The listener works: an inline script is refused and reported.
    page.evaluate("const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
                  "document.body.appendChild(s)")
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__ran") is None
    assert any(v.startswith("script-src") for v in page.evaluate("window.__cspViolations"))
    context.close()
