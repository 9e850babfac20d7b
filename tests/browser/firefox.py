"""Debian's Firefox ESR, driven by Marionette, set up like Tor Browser's security levels.

Tor Browser is Firefox ESR: the Chromium tests (``--jitless``) show the page
needs no WebAssembly, but not that SpiderMonkey without its JITs runs it, nor
how Firefox handles the beforeunload prompt, ``location.replace`` and a file
input. This module starts ``firefox-esr`` headless with a fresh profile whose
user.js holds the preferences Tor Browser's "Safer" level sets (and, for
"Safest", JavaScript off), and gives the few commands the tests need.

Tor Browser's levels (toolkit/components/securitylevel/SecurityLevel.sys.mjs,
``kSecuritySettings``; "Safer" is index 2): ion, baseline JIT and native
regexp off, asm.js and WebAssembly off, MathML off, Graphite and OpenType-SVG
fonts off (SVG stays on). (Newer releases may leave javascript.options.wasm on
for Firefox's own PDF viewer and have NoScript keep WebAssembly from pages: for
a page the result is the same, no WebAssembly.) NoScript does the rest (scripts off on plain-http
sites at Safer, everywhere at Safest; click-to-play media); NoScript is not
in Debian's Firefox, so "Safest" here is ``javascript.enabled`` false.

Never downloads a browser: Firefox comes from Debian (``apt-get install
firefox-esr``); without it, or without ``marionette_driver``, the tests skip
locally and fail in CI (tests.support.missing_service).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from bench.load import free_port
from tests.support import missing_service

with warnings.catch_warnings():
    # mozinfo, which marionette_driver imports, calls the deprecated distro.linux_distribution() as it is
    # imported, and pytest turns warnings into errors here (pyproject.toml).
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        from marionette_driver.by import By
        from marionette_driver.keys import Keys
        from marionette_driver.marionette import Marionette
    except ImportError:  # firefox_or_skip() says so
        By = Keys = Marionette = None  # type: ignore[assignment,misc]

CHROME = "chrome"  # Marionette.CONTEXT_CHROME: Firefox's own windows, where Services and gBrowser live

FIREFOX = os.environ.get("TIPBOX_TEST_FIREFOX", "/usr/bin/firefox-esr")

Pref = bool | int | str
T = TypeVar("T")

# Tor Browser's "Safer" (SecurityLevel.sys.mjs, index 2), with WebAssembly's own tiers off too in case a
# Firefox ever reads them without javascript.options.wasm.
SAFER: dict[str, Pref] = {
    "javascript.options.ion": False,
    "javascript.options.baselinejit": False,
    "javascript.options.native_regexp": False,
    "javascript.options.asmjs": False,
    "javascript.options.wasm": False,
    "javascript.options.wasm_baselinejit": False,
    "javascript.options.wasm_optimizingjit": False,
    "mathml.disabled": True,
    "gfx.font_rendering.graphite.enabled": False,
    "gfx.font_rendering.opentype_svg.enabled": False,
    "svg.disabled": False,
}
SAFEST: dict[str, Pref] = {**SAFER, "javascript.enabled": False, "svg.disabled": True}

# What every profile here gets, whatever the level.
BASE: dict[str, Pref] = {
    # Tor Browser resists fingerprinting (en-US locale, rounded screen, coarse timers): the page must cope.
    "privacy.resistFingerprinting": True,
    # Marionette turns beforeunload prompts off by default; the receipt's guard is one, so they must show.
    "dom.disable_beforeunload": False,
    # console.* calls from pages to Firefox's stdout (the log file), as evidence when a page fails.
    "devtools.console.stdout.content": True,
    # Marionette's log to the same file: it is where each beforeunload prompt shows (leave_prompts).
    "remote.log.level": "Trace",
    "remote.log.truncate": True,  # no megabytes of screenshot data in the log
    # Scrollbars over the page, as on a phone: the page is laid out at the window's full width (360 px).
    "ui.useOverlayScrollbars": 1,
    # Quiet: no first-run pages, no update or telemetry traffic from the test machine.
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
}


def wait_until(predicate: Callable[[], T], timeout: float = 60, message: str | Callable[[], str] = "",
               interval: float = 0.05) -> T:
    """Poll ``predicate`` until it returns something truthy (which is returned); fail after ``timeout`` s.

    Marionette has no "wait for selector": polling a condition is the only way to
    synchronise without guessing a delay. ``message`` may be a callable, so the
    failure can say what the page showed instead.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout} s: {text}")
        time.sleep(interval)


def _user_js(prefs: Mapping[str, Pref]) -> str:
    return "".join(f"user_pref({json.dumps(name)}, {json.dumps(value)});\n" for name, value in prefs.items())


class Firefox:
    """One headless firefox-esr with its own throw-away profile, and a Marionette session on it.

    System access (``-remote-allow-system-access``) is on so that the tests can
    read the preferences Firefox actually runs with, read the error console and
    let the window be narrower than Firefox's 500 px minimum (a 360 px phone);
    pages themselves are driven in the content context, as a user would.
    """

    def __init__(self, prefs: Mapping[str, Pref], *, width: int = 1024, height: int = 900,
                 log_path: Path | None = None, binary: str = FIREFOX) -> None:
        self.prefs = {**BASE, **prefs}
        self.size = (width, height)
        self.binary = binary
        self.profile = Path(tempfile.mkdtemp(prefix="tipbox-firefox-"))
        # Outside the profile (removed on stop): what Firefox printed is the evidence when a test fails.
        self.log_path = log_path or self.profile.parent / (self.profile.name + ".log")
        self.process: subprocess.Popen[bytes] | None = None
        self.client: Any = None

    # ------------------------------------------------------------------ life cycle

    def start(self) -> Firefox:
        port = free_port()
        (self.profile / "user.js").write_text(_user_js({**self.prefs, "marionette.port": port}))
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [self.binary, "--headless", "--marionette", "-remote-allow-system-access", "--no-remote",
                 "--profile", str(self.profile)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                env={**os.environ, "MOZ_HEADLESS": "1", "MOZ_CRASHREPORTER_DISABLE": "1"})
        try:
            # Waited for here: marionette_driver's own wait leaks a socket per attempt (a ResourceWarning,
            # which pytest makes an error).
            wait_until(lambda: self._listening(port), 120,
                       lambda: f"Firefox's Marionette never listened on {port}: {self.log()[-2000:]}", 0.2)
            self.client = Marionette(host="127.0.0.1", port=port, startup_timeout=120)
            # Strict: a file is given only to a file input a user could reach. (Prompt handling cannot be
            # asked for: a WebDriver classic session always accepts beforeunload prompts; see would_ask_before_leaving.)
            self.client.start_session({"strictFileInteractability": True}, timeout=120)
            self.client.timeout.page_load = 120
            self.client.timeout.script = 60
            self.set_window_size(*self.size)
        except BaseException:
            self.stop()
            raise
        return self

    def _listening(self, port: int) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"firefox-esr exited with {self.process.returncode}: {self.log()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.client is not None and self.client.session_id:
            try:
                self.client.delete_session()
            except Exception:  # the browser is going away anyway
                pass
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the group this object started, and nothing else
                self.process.wait(30)
        shutil.rmtree(self.profile, ignore_errors=True)

    def log(self) -> str:
        """What Firefox printed (page console messages included, see BASE)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # ------------------------------------------------------------------ the window

    def set_window_size(self, width: int, height: int) -> None:
        """A content viewport of ``width`` CSS px: Firefox's window has a 500 px minimum, lifted here."""
        with self.client.using_context(CHROME):
            self.client.execute_script("document.documentElement.style.minWidth = '0px';")
        self.client.set_window_rect(width=width, height=height)

    # ------------------------------------------------------------------ pages

    @property
    def url(self) -> str:
        return self.client.get_url()

    def navigate(self, url: str) -> None:
        self.client.navigate(url)

    def find(self, css: str) -> Any:
        return self.client.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        return self.client.find_elements(By.CSS_SELECTOR, css)

    def js(self, script: str, *args: Any) -> Any:
        """Run ``script`` (a function body: ``return`` gives the value) in the page; ``arguments`` are ``args``."""
        return self.client.execute_script(script, script_args=list(args), sandbox=None)

    def visible(self, css: str) -> bool:
        """Whether an element matching ``css`` exists and is displayed (False while it does not exist yet).

        Marionette's own check, not page script: it works with JavaScript off too.
        """
        return any(element.is_displayed() for element in self.find_all(css))

    def click(self, element: Any) -> None:
        """Click ``element`` scrolled to the middle of the screen.

        Marionette scrolls an element only until it touches the top edge, where
        tipbox's sticky quick-exit bar covers it ("element click intercepted"); a
        user would scroll it clear of the bar first, as this does.
        """
        self.js("arguments[0].scrollIntoView({block: 'center', inline: 'nearest'});", element)
        element.click()

    def text(self, css: str) -> str:
        return self.find(css).text

    def screenshot(self, path: Path, full: bool = True) -> Path:
        """A PNG of the whole page (``full``) or of the viewport, from the top of the page."""
        self.js("window.scrollTo(0, 0);")
        path.write_bytes(self.client.screenshot(format="binary", full=full))
        return path

    # ------------------------------------------------------------------ the browser itself

    def pref_values(self, names: list[str]) -> dict[str, Pref | None]:
        """The values Firefox runs with (not what user.js asked for): proof the profile was read."""
        with self.client.using_context(CHROME):
            return self.client.execute_script("""
                const P = Services.prefs;
                const read = n => ({[P.PREF_BOOL]: () => P.getBoolPref(n), [P.PREF_INT]: () => P.getIntPref(n),
                                    [P.PREF_STRING]: () => P.getStringPref(n)}[P.getPrefType(n)] || (() => null))();
                return Object.fromEntries(arguments[0].map(n => [n, read(n)]));""", script_args=[names])

    def page_errors(self) -> list[str]:
        """Uncaught script errors and CSP violations of web pages, from Firefox's error console.

        Content processes forward them to the parent's console service; warnings
        (other than CSP) and Firefox's own chrome messages are left out.
        """
        with self.client.using_context(CHROME):
            return self.client.execute_script("""
                const E = Ci.nsIScriptError;
                return Services.console.getMessageArray()
                  .filter(m => m instanceof E && !m.isFromChromeContext
                               && (m.category.startsWith("CSP") || !(m.flags & (E.warningFlag | E.infoFlag))))
                  .map(m => `${m.category}: ${m.errorMessage} (${m.sourceName}:${m.lineNumber})`);""")

    def would_ask_before_leaving(self) -> bool:
        """Whether leaving the page now (Back, reload, closing the tab) gets Firefox's "Leave page?" prompt.

        Marionette accepts every beforeunload prompt by itself in a WebDriver
        classic session, so "Stay on this page" cannot be clicked. This asks
        Firefox the question its tab browser asks before closing a tab
        (``asyncPermitUnload("dontUnload")``): the page's beforeunload handlers
        run, and the answer is "no" exactly when Firefox would prompt (it
        honours ``dom.require_user_interaction_for_beforeunload``); the page
        stays, as after "Stay on this page".
        """
        with self.client.using_context(CHROME):
            allowed = self.client.execute_async_script("""
                const [done] = arguments;
                gBrowser.selectedBrowser.asyncPermitUnload("dontUnload")
                  .then(result => done(result.permitUnload), error => done(String(error)));""")
        assert isinstance(allowed, bool), allowed
        return not allowed

    def leave_prompts(self) -> int:
        """How many beforeunload prompts Firefox has opened so far (Marionette logs each, then accepts it)."""
        return self.log().count('Prompt opened (type: "beforeunload"')

    def press(self, *keys: str) -> None:
        """Press and release ``keys`` (marionette_driver.keys.Keys values) on whatever has the focus."""
        sequence = self.client.actions.sequence("key", "keyboard")
        for key in keys:
            sequence.key_down(key).key_up(key)
        sequence.perform()
        self.client.actions.release()


def firefox_or_skip() -> None:
    """Skip (locally) or fail (CI) when Debian's firefox-esr or marionette_driver is missing."""
    if not Path(FIREFOX).exists():
        missing_service(f"Firefox ESR is not installed at {FIREFOX} (apt-get install firefox-esr)")
    if Marionette is None:
        missing_service("marionette_driver is not installed (pip install marionette-driver)")


def launch(prefs: Mapping[str, Pref], **options: Any) -> Iterator[Firefox]:
    """For fixtures (``yield from launch(SAFER)``): a started Firefox, stopped and its profile removed after."""
    firefox_or_skip()
    browser = Firefox(prefs, **options).start()
    try:
        yield browser
    finally:
        browser.stop()
