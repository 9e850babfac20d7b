"""The real form over a Tor-like link: click-to-receipt time and round trips, against the floor.

    python bench/tor_link.py                                   # 300 ms each way, 1 Mbit/s up, 5 MiB (about 2.5 minutes)
    python bench/tor_link.py --attachment-mib 1 --repeat 1     # smoke run
    python bench/tor_link.py --delay-ms 500 --up-mbit 0.5 --down-mbit 1
    python bench/tor_link.py --jitless --repeat 1              # Chromium without its JIT (Tor Browser "Safer")

Issue #16. tipbox is set up as the other benchmarks do (bench/load.py's
TipboxServer: its own CLI, throwaway keys, SQLite, gunicorn with
tipbox/gunicorn_conf.py). Between it and Debian's Chromium (Playwright, JIT on;
never downloads a browser) sits a TCP proxy written here that behaves like one
Tor circuit:

* every byte is delayed by ``--delay-ms`` in each direction (RTT = twice that);
* each direction is one shared link of ``--up-mbit`` / ``--down-mbit``: bytes of
  all connections queue behind each other, as streams on one circuit do
  (Tor Browser puts one site on one circuit);
* a new TCP connection costs one round trip before its first byte goes out
  (Tor's RELAY_BEGIN / CONNECTED: the browser's SOCKS connect waits for it).

The form is filled and, after the page has loaded, "Kirim" is clicked; the
clock stops when the receipt shows. Runs: a tip without attachments and a tip
with one ``--attachment-mib`` MiB random file, ``--repeat`` times each.

For each run it prints the time, the requests from the click to the receipt in
order (Playwright request events: start and end after the click, request body
size), the number of sequential round trips (groups of requests that do not
overlap: each waits for the answer to the one before), the connections opened
after the click, and the ratio to the floor:

    floor = ciphertext bytes / up bandwidth + minimum round trips x RTT

where ciphertext bytes are the sealed tip (the payload, decoded from its
base64 in the sealed open, or in the finalize before issue #16) plus the sealed attachment (the chunk bodies),
and the minimum is ``--min-round-trips`` (default 1: the page already holds
the CSRF token and could hold the signed recipients, so one request carrying
the sealed tip and its attachment, answered once, is the least any design
needs; the receipt is made in the page). The goal in the issue is <= 1.15x.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import TipboxServer, free_port  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
READ_BYTES = 16 * 1024  # the proxy forwards in pieces of at most this much


# --------------------------------------------------------------------------- the Tor-like link


class Link:
    """One direction of the circuit: a shared queue at ``bits_per_second``, then ``delay`` seconds of latency."""

    def __init__(self, delay: float, bits_per_second: float) -> None:
        self.delay = delay
        self.bps = bits_per_second
        self.free_at = 0.0
        self.bytes = 0

    def schedule(self, now: float, size: int, not_before: float) -> float:
        """When ``size`` bytes handed over at ``now`` arrive at the other end."""
        start = max(now, self.free_at, not_before)
        self.free_at = start + size * 8 / self.bps
        self.bytes += size
        return self.free_at + self.delay


@dataclass
class TorLikeProxy:
    """A TCP proxy on 127.0.0.1 to ``target_port``, run by asyncio in a thread of its own."""

    target_port: int
    delay: float
    up_bps: float
    down_bps: float
    port: int = field(default_factory=free_port)
    connections: list[float] = field(default_factory=list)  # time.monotonic() of each accept

    def start(self) -> TorLikeProxy:
        self.up = Link(self.delay, self.up_bps)
        self.down = Link(self.delay, self.down_bps)
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)
        return self

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", self.port))
        ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:  # connections still open (keep-alive): cut
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections.append(time.monotonic())
        connected_at = self.loop.time() + 2 * self.delay  # RELAY_BEGIN there, RELAY_CONNECTED back
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.close()
            return
        try:
            await asyncio.gather(self._pump(client_r, server_w, self.up, connected_at),
                                 self._pump(server_r, client_w, self.down, 0.0), return_exceptions=True)
        except asyncio.CancelledError:  # stop(): ends here, not as a cancelled task asyncio would report
            pass
        for writer in (client_w, server_w):
            writer.close()

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, link: Link,
                    not_before: float) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                at, data = await queue.get()
                wait = at - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if sink.can_write_eof():
                        sink.write_eof()
                    return
                sink.write(data)
                await sink.drain()

        delivering = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await source.read(READ_BYTES)
                now = self.loop.time()
                if not data:
                    queue.put_nowait((max(now + link.delay, link.free_at + link.delay), b""))
                    break
                at = link.schedule(now, len(data), not_before)
                queue.put_nowait((at, data))
                # Flow control: hold the sender once more than about a second's worth is queued on the link.
                backlog = link.free_at - now
                if backlog > 1.0:
                    await asyncio.sleep(backlog - 1.0)
            await delivering
        except (ConnectionError, OSError):
            delivering.cancel()


# --------------------------------------------------------------------------- one submission


@dataclass
class Request:
    method: str
    url: str
    start: float
    end: float | None = None
    body_bytes: int = 0
    status: int | None = None


ID = re.compile(r"[0-9a-f]{32}")


def short(url: str, origin: str) -> str:
    path = url[len(origin):] if url.startswith(origin) else url
    return ID.sub("<id>", path)


def fill(page: Any) -> None:
    """The form's answers (tests/browser/support.py fill_form, without its attachment)."""
    page.check("#danger-danger_now")
    page.select_option("#category", "ANAK-EKO")
    page.fill("#description", "Anak-anak dipaksa bekerja di kapal ikan.")
    page.select_option("#province", "18")
    page.select_option("#regency", "18.09")
    page.fill("#place", "Pelabuhan dekat pasar")
    page.fill("#when", "Minggu lalu, malam hari")
    page.check("input[name=ongoing][value=yes]")


def submit_once(browser: Any, proxy: TorLikeProxy, attachment: bytes | None) -> dict[str, Any]:
    context = browser.new_context(locale="id-ID")
    page = context.new_page()
    origin = f"http://127.0.0.1:{proxy.port}"
    page.goto(origin + "/", timeout=120_000)
    fill(page)
    if attachment is not None:
        page.set_input_files("#attachments", files=[{"name": "video.mp4", "mimeType": "video/mp4",
                                                     "buffer": attachment}])
    # The clock is the page's own (performance.timeOrigin + now(), ms): the click as it reaches the page, the
    # receipt as it is unhidden; Playwright's request timings use the same wall clock.
    page.evaluate("""() => {
      window.benchTimes = {};
      const now = () => performance.timeOrigin + performance.now();
      document.addEventListener("click", (e) => {
        if (e.target.closest("#submit") && !window.benchTimes.click) window.benchTimes.click = now();
      }, true);
      const shown = document.getElementById("js-receipt");
      new MutationObserver(() => {
        if (!shown.hidden && !window.benchTimes.receipt) window.benchTimes.receipt = now();
      }).observe(shown, { attributes: true });
    }""")
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))
    connections_before = len(proxy.connections)
    up_before = proxy.up.bytes
    page.click("#submit")
    page.wait_for_selector("#js-receipt:not([hidden])", timeout=600_000)
    times = page.evaluate("window.benchTimes")
    clicked = times["click"]
    seconds = (times["receipt"] - clicked) / 1000
    receipt = page.inner_text("#js-receipt-code").strip()
    records, payload = [], 0
    for request in requests:
        response = request.response()
        timing = request.timing
        start = (timing["startTime"] - clicked) / 1000
        end = start + timing["responseEnd"] / 1000 if timing["responseEnd"] >= 0 else None
        body = request.post_data_buffer
        records.append(Request(request.method, short(request.url, origin), start, end, len(body) if body else 0,
                               response.status if response else None))
        if request.url.endswith(("/finalize", "/api/v1/submissions/sealed")):  # before and after issue #16
            payload = len(base64.b64decode(json.loads(request.post_data)["payload"]))
    listed = sorted(records, key=lambda r: r.start)
    context.close()
    chunks = sum(r.body_bytes for r in listed if r.method == "PUT")
    # Sequential round trips: groups of requests that overlap none before them. Chromium's start (a wall clock)
    # and end (a monotonic offset) may disagree by a few ms: an overlap shorter than a quarter RTT is none.
    waves, busy_until = 0, -1.0
    slack = max(0.02, proxy.delay / 2)
    for record in listed:
        if record.start >= busy_until - slack:
            waves += 1
        busy_until = max(busy_until, record.end if record.end is not None else float("inf"))
    return {"seconds": seconds, "requests": listed, "round_trips": waves, "payload": payload, "chunks": chunks,
            "connections": len(proxy.connections) - connections_before, "up_bytes": proxy.up.bytes - up_before,
            "receipt": len(receipt) == 24}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delay-ms", type=float, default=300, help="one-way latency (default 300 ms)")
    parser.add_argument("--up-mbit", type=float, default=1.0, help="browser -> server, Mbit/s (default 1)")
    parser.add_argument("--down-mbit", type=float, default=2.0, help="server -> browser, Mbit/s (default 2)")
    parser.add_argument("--attachment-mib", type=float, default=5.0, help="the attachment's size (default 5 MiB)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each kind of tip (default 2)")
    parser.add_argument("--jitless", action="store_true",
                        help="Chromium with --js-flags=--jitless (no JIT, no WebAssembly: Tor Browser Safer)")
    parser.add_argument("--min-round-trips", type=int, default=1, help="the floor's round trips (default 1)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"Chromium not installed at {CHROMIUM}")
        return 1
    from playwright.sync_api import sync_playwright

    rtt = 2 * args.delay_ms / 1000
    up_bps = args.up_mbit * 1_000_000
    attachment = secrets.token_bytes(int(args.attachment_mib * 1024 * 1024))
    status = 0
    with tempfile.TemporaryDirectory(prefix="tipbox-tor-link-") as tmp:
        server = TipboxServer.create(Path(tmp) / "var")
        server.start()
        proxy = TorLikeProxy(server.gunicorn.port, args.delay_ms / 1000, up_bps, args.down_mbit * 1_000_000).start()
        results: dict[str, list[dict[str, Any]]] = {"no attachment": [], f"{args.attachment_mib:g} MiB": []}
        try:
            with sync_playwright() as p:
                flags = ["--js-flags=--jitless"] if args.jitless else []
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *flags])
                try:
                    print(f"Chromium {browser.version} {' '.join(flags)}; link: {args.delay_ms:g} ms each way "
                          f"(RTT {rtt:g} s), {args.up_mbit:g} Mbit/s up, {args.down_mbit:g} Mbit/s down", flush=True)
                    for n in range(args.repeat):
                        for label, data in (("no attachment", None), (f"{args.attachment_mib:g} MiB", attachment)):
                            result = submit_once(browser, proxy, data)
                            results[label].append(result)
                            print(f"  run {n + 1}, {label}: {result['seconds']:.2f} s, "
                                  f"{result['round_trips']} round trips, {len(result['requests'])} requests, "
                                  f"{result['connections']} new connections", flush=True)
                            if not result["receipt"]:
                                status = 1
                finally:
                    browser.close()
        finally:
            proxy.stop()
            server.stop()

    print()
    for label, runs in results.items():
        last = runs[-1]
        print(f"{label}: requests from the click on Kirim to the receipt (last run; s after the click)")
        for r in last["requests"]:
            end = f"{r.end:7.2f}" if r.end is not None else "   none"
            print(f"  {r.start:7.2f} -> {end}  {r.method:5} {r.url:60} {r.body_bytes:>9} B  {r.status}")
        print()
    print(f"floor = ciphertext bytes / {args.up_mbit:g} Mbit/s + {args.min_round_trips} round trip(s) x {rtt:g} s")
    print(f"{'tip':16} {'s (median)':>10} {'ciphertext B':>13} {'floor s':>8} {'ratio':>6} {'round trips':>12} "
          f"{'requests':>9} {'new conns':>9} {'bytes up':>10}")
    for label, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        last = runs[-1]
        cipher = last["payload"] + last["chunks"]
        floor = cipher * 8 / up_bps + args.min_round_trips * rtt
        print(f"{label:16} {seconds:>10.2f} {cipher:>13} {floor:>8.2f} {seconds / floor:>6.2f} "
              f"{last['round_trips']:>12} {len(last['requests']):>9} {last['connections']:>9} {last['up_bytes']:>10}")
    print()
    print("round trips: groups of requests that overlap none before them (each waits for an answer);")
    print("bytes up: everything the browser sent through the link after the click (headers, base64, ...).")
    return status


if __name__ == "__main__":
    sys.exit(main())
