"""Sealing an attachment in the browser: tipbox's real path against the bare age-encryption Encrypter.

    python bench/browser_seal.py                      # 5 and 50 MiB, 3 runs each, Firefox Safer and Chromium --jitless
    python bench/browser_seal.py --sizes 5 --repeat 1 # smoke run

Issue #16. A tiny http.server on 127.0.0.1 (a secure context, like the .onion
and https sites) serves, from one origin, copies of the built
tipbox/static/js/sealer.js and upload.js, a second bundle of the bare
``age-encryption`` Encrypter (built at bench time with the pinned esbuild from
node_modules into a temp dir: the sealer bundle does not export it), and a page
that makes random bytes (crypto.getRandomValues) into a File and times, on that
same File, alternating run by run:

* ``tipbox``: what the form does for one attachment, through upload.js's own
  client: ``describeFiles`` (the manifest entry: WebCrypto SHA-256 of the whole
  file) and ``uploadFiles`` (``TipboxSealer.sealAttachment``: Padmé padding and
  age; ``uploadStream``: 1 MiB chunks, a WebCrypto SHA-256 of each and the
  chunk-list digest, FORMAT.md §4.1), with ``fetch`` replaced by one that
  answers every PUT at once: nothing leaves the page;
* ``bare``: ``new Encrypter()``, the same recipients, ``encrypt(file.stream())``,
  the ciphertext stream read to its end;
* at the smallest size only, to show where the time goes: ``sealAttachment``
  alone (padding + age, ciphertext read and dropped, no hash), and
  ``createSha256()`` alone over the plaintext (the pure-JS hash the page used
  before issue #16, twice per attachment);
* for reference, ``crypto.subtle.digest('SHA-256')`` over the same bytes
  (repeated until it adds up to half a second, since Firefox with
  resistFingerprinting rounds the clock).

Browsers: Debian's Firefox ESR driven by Marionette with Tor Browser's "Safer"
preferences (tests/browser/firefox.py's SAFER and Firefox, resistFingerprinting
on as in Tor Browser), and Debian's Chromium through Playwright with
``--js-flags=--jitless``. Never downloads a browser; a missing one is skipped.

Prints, per browser and size, the medians of ``--repeat`` runs: tipbox s, bare
s, tipbox ÷ bare (time) and the issue's figure "tipbox at N× the bare cipher's
speed" (bare ÷ tipbox; goal >= 0.9x).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"
STATIC = ROOT / "tipbox" / "static" / "js"
MIB = 1024 * 1024

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tipbox browser_seal</title></head>
<body><p id="state">loading</p>
<script src="/sealer.js"></script>
<script src="/upload.js"></script>
<script src="/age-bare.js"></script>
<script src="/bench.js"></script>
</body></html>
"""

# The page's own script. Every run resolves into window.benchState (polled: Marionette's scripts time out).
BENCH_JS = r"""
(function () {
  "use strict";
  var S = window.TipboxSealer, U = window.TipboxUpload, A = window.AgeBare;
  var MIB = 1024 * 1024;
  // upload.js's PUTs and its "complete" POST: answered at once, nothing sent. Counted, as a check.
  var requests = 0, putBytes = 0;
  window.fetch = function (url, init) {
    requests += 1;
    var body = init && init.body;
    if (body && typeof body !== "string" && body.length !== undefined) putBytes += body.length;
    var answer = JSON.stringify({ ok: true, completed: true, received: true });
    return Promise.resolve(new Response(answer, { status: 200, headers: { "Content-Type": "application/json" } }));
  };
  var bytes = null, file = null, recipients = null;

  function randomBytes(n) {
    var out = new Uint8Array(n);
    for (var i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
    return out;
  }
  async function drain(stream) {
    var reader = stream.getReader(), total = 0;
    for (;;) {
      var r = await reader.read();
      if (r.done) return total;
      total += r.value.length;
    }
  }
  var runs = {
    tipbox: async function () {
      requests = 0; putBytes = 0;
      var client = U.client("bench-csrf", "failed");
      // What form.js does per attachment: the manifest entry (native SHA-256 of the file), then
      // sealing and chunked upload (a native SHA-256 per chunk, the chunk-list digest at the end).
      var manifest = await client.describeFiles([file]);
      if (manifest.length !== 1 || manifest[0].size !== bytes.length) throw new Error("bad manifest");
      var last = await client.uploadFiles("/bench/upload", "bench", MIB, [file], manifest, recipients, function () {});
      if (!last.received) throw new Error("the last chunk was not answered");
      return { requests: requests, cipherBytes: putBytes };
    },
    bare: async function () {
      var e = new A.Encrypter();
      recipients.forEach(function (r) { e.addRecipient(r); });
      return { cipherBytes: await drain(await e.encrypt(file.stream())) };
    },
    seal_only: async function () {
      var sealed = S.sealAttachment(file, recipients, { hashContent: false });
      var n = await drain(sealed.ciphertext);
      await sealed.digest;
      return { cipherBytes: n };
    },
    js_sha256: async function () {
      var h = S.createSha256(), reader = file.stream().getReader();
      for (;;) {
        var r = await reader.read();
        if (r.done) break;
        h.update(r.value);
      }
      return { hex: h.hex() };
    },
    subtle: async function () {
      // Repeated until half a second has gone by: one digest is a few ms, the clock may be rounded.
      var n = 0, start = performance.now();
      do { await crypto.subtle.digest("SHA-256", bytes); n += 1; } while (performance.now() - start < 500);
      return { perDigest: (performance.now() - start) / 1000 / n, count: n };
    },
  };
  window.benchState = { ready: true };
  window.benchSetup = function (mib) {
    window.benchState = { done: false };
    (async function () {
      bytes = null; file = null;
      bytes = randomBytes(mib * MIB);
      file = new File([bytes], "video.mp4", { type: "video/mp4" });
      recipients = [];
      for (var i = 0; i < 2; i++) recipients.push(await A.identityToRecipient(await A.generateIdentity()));
      return {};
    })().then(function (r) { window.benchState = { done: true, result: r }; },
              function (e) { window.benchState = { done: true, error: String(e && e.stack || e) }; });
  };
  window.benchRun = function (kind) {
    window.benchState = { done: false };
    var start = performance.now();
    runs[kind]().then(function (r) {
      r.seconds = r.perDigest !== undefined ? r.perDigest : (performance.now() - start) / 1000;
      window.benchState = { done: true, result: r };
    }, function (e) { window.benchState = { done: true, error: String(e && e.stack || e) }; });
  };
  document.getElementById("state").textContent = "ready";
})();
"""


def build_site(directory: Path) -> None:
    """The page, copies of the built tipbox scripts, and a bundle of the bare Encrypter, in ``directory``."""
    for name in ("sealer.js", "upload.js"):
        shutil.copyfile(STATIC / name, directory / name)
    (directory / "index.html").write_text(PAGE)
    (directory / "bench.js").write_text(BENCH_JS)
    # The same pinned esbuild and age-encryption as crypto/js/build.mjs, resolved from the repository root.
    subprocess.run(
        [str(ESBUILD), "--bundle", "--format=iife", "--global-name=AgeBare", "--platform=browser",
         "--target=es2020", "--minify", "--log-level=warning", f"--outfile={directory / 'age-bare.js'}"],
        input='export { Encrypter, generateIdentity, identityToRecipient } from "age-encryption";\n',
        text=True, cwd=ROOT, check=True)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


def serve(directory: Path) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --------------------------------------------------------------------------- the two browsers


def drive(evaluate: Callable[[str], Any], call: str, timeout: float = 1800) -> dict[str, Any]:
    """Start ``call`` in the page and poll window.benchState until it is done."""
    evaluate(call)
    deadline = time.monotonic() + timeout
    while True:
        state = evaluate("return window.benchState")
        if state and state.get("done"):
            if state.get("error"):
                raise RuntimeError(state["error"])
            return state["result"]
        if time.monotonic() > deadline:
            raise TimeoutError(call)
        time.sleep(0.2)


def measure(evaluate: Callable[[str], Any], sizes: list[int], repeat: int, label: str) -> dict[int, dict[str, Any]]:
    results: dict[int, dict[str, Any]] = {}
    for size in sizes:
        drive(evaluate, f"benchSetup({size})")
        kinds = ["tipbox", "bare"] + (["seal_only", "js_sha256"] if size == min(sizes) else [])
        times: dict[str, list[float]] = {k: [] for k in kinds}
        extra: dict[str, Any] = {}
        for n in range(repeat):
            for kind in kinds:
                result = drive(evaluate, f"benchRun({kind!r})")
                times[kind].append(result["seconds"])
                extra.setdefault(kind, result)
                print(f"  {label} {size} MiB run {n + 1}: {kind} {result['seconds']:.2f} s", flush=True)
        subtle = drive(evaluate, "benchRun('subtle')")
        results[size] = {k: statistics.median(v) for k, v in times.items()}
        results[size]["subtle"] = subtle["seconds"]
        results[size]["requests"] = extra["tipbox"]["requests"]
        results[size]["cipher_bytes"] = extra["bare"]["cipherBytes"]
    return results


def firefox_safer(url: str, sizes: list[int], repeat: int, log: Path) -> tuple[str, dict[int, dict[str, Any]]] | str:
    try:
        from tests.browser.firefox import FIREFOX, SAFER, Firefox, Marionette
    except ImportError as error:
        return f"cannot import tests.browser.firefox: {error}"
    if not Path(FIREFOX).exists():
        return f"Firefox ESR not installed at {FIREFOX}"
    if Marionette is None:
        return "marionette_driver not installed"
    browser = Firefox(SAFER, log_path=log).start()  # the log in our temp dir, removed with it
    try:
        prefs = browser.pref_values([k for k in SAFER if k.startswith("javascript.")])
        off = [k for k, v in prefs.items() if v is not False]
        if off:
            return f"Safer preferences not in effect: {off}"
        version = browser.client.session_capabilities.get("browserVersion", "?")
        browser.navigate(url)
        wasm = browser.js("return typeof WebAssembly")
        print(f"Firefox ESR {version}, Safer prefs in effect, typeof WebAssembly = {wasm}", flush=True)
        return f"Firefox ESR {version} Safer", measure(browser.js, sizes, repeat, "firefox")
    finally:
        browser.stop()


def chromium_jitless(url: str, sizes: list[int], repeat: int, log: Path) -> tuple[str, dict[int, dict[str, Any]]] | str:
    if not Path(CHROMIUM).exists():
        return f"Chromium not installed at {CHROMIUM}"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=[*CHROMIUM_ARGS, "--js-flags=--jitless"])
        try:
            page = browser.new_page()
            page.goto(url)
            # Marionette-style bodies ("return ...") in a function, so both browsers take the same strings.
            evaluate = functools.partial(lambda body: page.evaluate(f"(() => {{ {body} }})()"))
            wasm = page.evaluate("typeof WebAssembly")
            print(f"Chromium {browser.version} --jitless, typeof WebAssembly = {wasm}", flush=True)
            return f"Chromium {browser.version} --jitless", measure(evaluate, sizes, repeat, "chromium")
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="5,50", help="MiB, comma-separated (default 5,50)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, the median is printed (default 3)")
    parser.add_argument("--browsers", default="firefox,chromium", help="firefox, chromium or both (default)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="tipbox-browser-seal-") as tmp:
        build_site(Path(tmp))
        server = serve(Path(tmp))
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        rows: list[tuple[str, dict[int, dict[str, Any]]]] = []
        try:
            for name, run in (("firefox", firefox_safer), ("chromium", chromium_jitless)):
                if name not in args.browsers:
                    continue
                outcome = run(url, sizes, args.repeat, Path(tmp) / f"{name}.log")
                if isinstance(outcome, str):
                    print(f"{name}: skipped: {outcome}")
                else:
                    rows.append(outcome)
        finally:
            server.shutdown()
            server.server_close()
    print()
    print(f"medians of {args.repeat} runs; tipbox = upload.js describeFiles + uploadFiles: native digests, "
          "padding, age, 1 MiB chunks (no network)")
    print(f"{'browser':34} {'MiB':>4} {'tipbox s':>9} {'bare s':>8} {'tipbox÷bare':>12}  speed (goal >= 0.9x)")
    for name, by_size in rows:
        for size, r in by_size.items():
            print(f"{name:34} {size:>4} {r['tipbox']:>9.2f} {r['bare']:>8.2f} {r['tipbox'] / r['bare']:>12.2f}  "
                  f"tipbox at {r['bare'] / r['tipbox']:.2f}x the bare cipher's speed")
    print()
    print(f"{'browser':34} {'MiB':>4} {'seal only s':>12} {'JS SHA-256 s':>13} {'subtle SHA-256 ms':>18}")
    for name, by_size in rows:
        for size, r in by_size.items():
            seal = f"{r['seal_only']:.2f}" if "seal_only" in r else "-"
            sha = f"{r['js_sha256']:.2f}" if "js_sha256" in r else "-"
            print(f"{name:34} {size:>4} {seal:>12} {sha:>13} {r['subtle'] * 1000:>18.1f}")
    print()
    print("seal only = TipboxSealer.sealAttachment without its JS hash, ciphertext read and dropped (padding + age);")
    print("JS SHA-256 = TipboxSealer.createSha256() over the plaintext alone "
          "(what the page ran twice per attachment before issue #16);")
    print("subtle = crypto.subtle.digest('SHA-256') over the same bytes, per digest.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
