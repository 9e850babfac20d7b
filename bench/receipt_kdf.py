"""Receipt-key derivation benchmark (FORMAT.md §12): ms per derivation.

    python bench/receipt_kdf.py [--repeat 200] [--budget-ms 500]

Times ``derive(receipt)`` (HKDF-SHA256 twice, Bech32, one X25519 base-point
multiplication) in each runtime that is available here:

* Python: crypto.receipt_keys.derive (cryptography + pyrage);
* node and ``node --jitless``: the committed bundle tipbox/static/js/sealer.js
  in a vm realm without WebAssembly, as a page loads it;
* the two --jitless runs again with X25519 WebCrypto made to report
  NotSupportedError, so the derivation is entirely pure JS (noble);
* headless Chromium (Debian's /usr/bin/chromium through Playwright; never
  downloads a browser), normally and with ``--js-flags=--jitless`` (the JIT
  off, which also disables WebAssembly: Tor Browser "Safer"), the bundle
  injected into a blank page that Playwright serves (no network) from an https
  origin, a secure context like the real site: on about:blank crypto.subtle is
  undefined and age-encryption's X25519 probe throws instead of falling back.
  Firefox is not installed here, so it is not measured.

Each JS runtime reports the first (cold) derivation and the median of the
following ones; every result is checked against crypto/vectors/receipt_keys.json.
Two more rows per runtime time what the pages do around it: a new receipt made
in the browser and its keys derived (``newReceipt`` + ``deriveReceiptKeys``,
the tip form's finalize), and opening the reply of crypto/vectors/messages.json
with the receipt's identity (``openMessage``, the status page), checked against
the vector's document.
Exit status 1 if a derivation exceeds ``--budget-ms`` or a result is wrong.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crypto import messages, receipt_keys  # noqa: E402

BUNDLE = ROOT / "tipbox" / "static" / "js" / "sealer.js"
VECTORS = json.loads((ROOT / "crypto" / "vectors" / "receipt_keys.json").read_text())
_MESSAGES = json.loads((ROOT / "crypto" / "vectors" / "messages.json").read_text())
REPLY = {
    "receipt": _MESSAGES["receipt"],
    "sealed": list(base64.b64decode(_MESSAGES["sealed"]["reply"])),
    "text": _MESSAGES["valid"][0]["document"]["text"],
}
CHROMIUM = os.environ.get("TIPBOX_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Runs in any JS realm that has TipboxSealer; returns {first, times, ok}. With
# noWebCrypto, X25519 WebCrypto reports NotSupportedError, so age-encryption
# falls back to pure-JS noble (as in browsers without X25519 WebCrypto, e.g.
# Firefox ESR before 130, which Tor Browser 14 is based on).
JS_LOOP = """
async ([vectors, repeat, noWebCrypto, reply]) => {
  if (noWebCrypto) {
    const original = crypto.subtle.importKey.bind(crypto.subtle);
    crypto.subtle.importKey = (format, key, alg, ...rest) => ((alg && alg.name) || alg) === "X25519"
      ? Promise.reject(new DOMException("X25519 disabled by the benchmark", "NotSupportedError"))
      : original(format, key, alg, ...rest);
  }
  const now = () => performance.now();
  const check = (k, v) => k.identity === v.identity && k.recipient === v.recipient && k.lookup === v.lookup;
  let ok = true;
  let t = now();
  ok = check(await TipboxSealer.deriveReceiptKeys(vectors[0].input), vectors[0]) && ok;
  const first = now() - t;
  const times = [];
  for (let i = 0; i < repeat; i++) {
    const v = vectors[i % vectors.length];
    t = now();
    const k = await TipboxSealer.deriveReceiptKeys(v.input);
    times.push(now() - t);
    ok = check(k, v) && ok;
  }
  // The tip form's finalize: a fresh receipt and its keys.
  const fresh = [];
  for (let i = 0; i < repeat; i++) {
    t = now();
    const k = await TipboxSealer.deriveReceiptKeys(TipboxSealer.newReceipt());
    fresh.push(now() - t);
    ok = /^age1/.test(k.recipient) && k.lookup.length === 64 && ok;
  }
  // The status page: open a reply with the receipt's identity.
  const sealed = Uint8Array.from(reply.sealed);
  const identity = (await TipboxSealer.deriveReceiptKeys(reply.receipt)).identity;
  const open = [];
  for (let i = 0; i < repeat; i++) {
    t = now();
    const doc = await TipboxSealer.openMessage(sealed, identity, "reply");
    open.push(now() - t);
    ok = doc.text === reply.text && ok;
  }
  return { first, times, fresh, open, ok };
}
"""

NODE_SCRIPT = """
import { readFileSync } from "node:fs";
import vm from "node:vm";
const [bundle, vectors, repeat, noWebCrypto, reply] = JSON.parse(process.argv[1]);
const context = vm.createContext({ crypto, performance, TextEncoder, TextDecoder, ReadableStream, TransformStream, WritableStream, Blob, DOMException });
vm.runInContext("delete globalThis.WebAssembly;", context);
vm.runInContext(readFileSync(bundle, "utf8"), context);
const loop = vm.runInContext(__LOOP__, context);
console.log(JSON.stringify(await loop([vectors, repeat, noWebCrypto, reply])));
""".replace("__LOOP__", json.dumps(JS_LOOP))


def python_times(repeat: int) -> dict[str, Any]:
    vectors = VECTORS["valid"]
    ok = True
    t = time.perf_counter()
    keys = receipt_keys.derive(vectors[0]["input"])
    first = (time.perf_counter() - t) * 1000
    times = []
    for i in range(repeat):
        v = vectors[i % len(vectors)]
        t = time.perf_counter()
        keys = receipt_keys.derive(v["input"])
        times.append((time.perf_counter() - t) * 1000)
        ok = ok and (keys.identity, keys.recipient, keys.lookup) == (v["identity"], v["recipient"], v["lookup"])
    sealed = bytes(REPLY["sealed"])
    identity = receipt_keys.derive(REPLY["receipt"]).identity
    opened = []
    for _ in range(repeat):
        t = time.perf_counter()
        document = messages.open_message(sealed, [identity], kind=messages.REPLY)
        opened.append((time.perf_counter() - t) * 1000)
        ok = ok and document["text"] == REPLY["text"]
    return {"first": first, "times": times, "open": opened, "ok": ok}


def node_times(repeat: int, flags: list[str], no_webcrypto: bool = False) -> dict[str, Any] | str:
    node = shutil.which("node")
    if node is None:
        return "node not installed"
    run = subprocess.run(
        [
            node,
            *flags,
            "--input-type=module",
            "-e",
            NODE_SCRIPT,
            json.dumps([str(BUNDLE), VECTORS["valid"], repeat, no_webcrypto, REPLY]),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if run.returncode != 0:
        return f"node failed: {run.stderr.strip()[-300:]}"
    return json.loads(run.stdout)


def chromium_times(repeat: int, jitless: bool, no_webcrypto: bool = False) -> dict[str, Any] | str:
    if not Path(CHROMIUM).exists():
        return f"Chromium not installed at {CHROMIUM}"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "playwright not installed"
    args = CHROMIUM_ARGS + (["--js-flags=--jitless"] if jitless else [])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            page = browser.new_page()
            # A blank page in a secure context, as the real (HTTPS or .onion) site is:
            # on about:blank crypto.subtle is undefined and age-encryption's X25519
            # WebCrypto probe throws a TypeError instead of falling back to noble.
            page.route(
                "**/*",
                lambda route: route.fulfill(content_type="text/html", body="<!doctype html><title>bench</title>"),
            )
            page.goto("https://bench.invalid/")
            assert page.evaluate("isSecureContext")
            page.add_script_tag(content=BUNDLE.read_text())
            wasm = page.evaluate("typeof WebAssembly")
            result = page.evaluate(JS_LOOP, [VECTORS["valid"], repeat, no_webcrypto, REPLY])
            result["webassembly"] = wasm
            result["version"] = browser.version
            return result
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--budget-ms", type=float, default=500.0)
    args = parser.parse_args()
    runs = {
        "python (cryptography + pyrage)": lambda: python_times(args.repeat),
        "node": lambda: node_times(args.repeat, []),
        "node --jitless": lambda: node_times(args.repeat, ["--jitless"]),
        "chromium headless": lambda: chromium_times(args.repeat, jitless=False),
        "chromium headless --js-flags=--jitless": lambda: chromium_times(args.repeat, jitless=True),
        "node --jitless, pure-JS X25519": lambda: node_times(args.repeat, ["--jitless"], no_webcrypto=True),
        "chromium --jitless, pure-JS X25519": lambda: chromium_times(args.repeat, jitless=True, no_webcrypto=True),
    }
    status = 0
    print(f"{'runtime':42} {'first ms':>9} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}  notes")
    for name, run in runs.items():
        result = run()
        if isinstance(result, str):
            print(f"{name:42} {'-':>9} {'-':>10} {'-':>8} {'-':>8}  skipped: {result}")
            continue
        times = sorted(result["times"])
        p95 = times[int(len(times) * 0.95) - 1]
        extra = [(label, result[key]) for label, key in (("  newReceipt + derive", "fresh"), ("  openMessage (a reply)", "open"))
                 if key in result]
        notes = []
        if "webassembly" in result:
            notes.append(f"Chromium {result['version']}, typeof WebAssembly = {result['webassembly']}")
        if not result["ok"]:
            notes.append("WRONG RESULT")
            status = 1
        if max(result["first"], times[-1]) > args.budget_ms:
            notes.append(f"over the {args.budget_ms:g} ms budget")
            status = 1
        print(
            f"{name:42} {result['first']:9.2f} {statistics.median(times):10.2f} {p95:8.2f} {times[-1]:8.2f}  "
            + "; ".join(notes)
        )
        for label, values in extra:
            first, rest = values[0], sorted(values[1:] or values)
            if max(values) > args.budget_ms:
                status = 1
            print(
                f"{label:42} {first:9.2f} {statistics.median(rest):10.2f} {rest[int(len(rest) * 0.95) - 1]:8.2f} "
                f"{rest[-1]:8.2f}" + (f"  over the {args.budget_ms:g} ms budget" if max(values) > args.budget_ms else "")
            )
    return status


if __name__ == "__main__":
    sys.exit(main())
