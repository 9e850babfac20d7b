"""Status-page timing: does a wrong receipt answer after the same time as a nonexistent one?

    python bench/status_timing.py [--repeat 300] [--database-url URL]

An attacker who can tell "this code is malformed" from "well-formed, but no
report" learns nothing useful, but one who can tell "no report" from "a
report" by timing could test receipts without reading the answer. tipbox
answers every code that finds nothing after the same work (a malformed code is
derived as a decoy and looked up too). This measures, in-process through
Flask's test client (no network noise), the median time of:

* ``POST /status`` (JS off) with a well-formed receipt that matches nothing,
  with a malformed one, and with one mistyped character of a real receipt;
* ``POST /api/v1/status`` with an unknown lookup key and a malformed one;
* the same requests for a real report (more work by design: the status page is
  rendered and replies are opened), as the reference;

and prints each as a ratio to "well-formed, matches nothing" (the baseline,
measured in the same run, interleaved). Ratios near 1.00 for every
not-found row are the target; the found rows are expected to differ and are
shown for scale. Rate limits are off (TIPBOX_TESTING), the database is SQLite
under a temporary directory unless ``--database-url`` is given.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crypto import receipt_keys  # noqa: E402
from crypto.identity import ReviewerIdentity  # noqa: E402
from tests.tipbox.browser_like import BrowserLike  # noqa: E402
from tests.tipbox.conftest import make_app  # noqa: E402
from tipbox.receipts import new_receipt  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'status.sqlite3'}"
        app = make_app(Path(tmp) / "var", url, [ReviewerIdentity.generate()])
        client = app.test_client()
        browser = BrowserLike(client)
        real = browser.submit({"description": "bench"})
        for _ in range(50):  # some other reports, so the index is not trivially small
            browser.submit({"description": "other"})
        page = client.get("/status").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        mistyped = real[:-1] + ("0" if real[-1] != "0" else "1")

        def form(code: str) -> Callable[[], int]:
            return lambda: client.post("/status", data={"csrf_token": token, "receipt": code}).status_code

        def api(lookup: str) -> Callable[[], int]:
            return lambda: client.post(
                "/api/v1/status", json={"lookup": lookup}, headers=browser.headers()
            ).status_code

        cases: dict[str, tuple[Callable[[], int], int]] = {
            "form: well-formed, no report (baseline)": (form(new_receipt()), 404),
            "form: malformed code": (form("ABCD-EFGH"), 404),
            "form: one character mistyped": (form(mistyped), 404),
            "form: empty": (form(""), 404),
            "api: unknown lookup key": (api(receipt_keys.derive(new_receipt()).lookup), 404),
            "api: malformed lookup key": (api("zz"), 404),
            "form: a real report (reference)": (form(real), 200),
            "api: a real report (reference)": (api(receipt_keys.derive(real).lookup), 200),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):  # interleaved, so drift hits every row alike
            for name, (call, expected) in cases.items():
                started = time.perf_counter()
                status = call()
                times[name].append(time.perf_counter() - started)
                if status != expected:
                    print(f"{name}: expected HTTP {expected}, got {status}", file=sys.stderr)
                    return 1
        app.extensions["tipbox.engine"].dispose()
    medians = {name: statistics.median(values) for name, values in times.items()}
    base_form = medians["form: well-formed, no report (baseline)"]
    base_api = medians["api: unknown lookup key"]
    print(f"{'request':44}{'median ms':>10}{'ratio':>8}")
    for name, median in medians.items():
        base = base_api if name.startswith("api") else base_form
        print(f"{name:44}{median * 1000:10.2f}{median / base:8.2f}")
    print("(api rows are relative to 'api: unknown lookup key'; form rows to the form baseline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
