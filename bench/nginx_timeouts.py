"""What the documented nginx timeouts mean in practice, measured on the onion site (docs/deploy.md §5).

    python bench/nginx_timeouts.py                      # about 2.5 minutes
    python bench/nginx_timeouts.py --rate-kib 64 --stall 5   # quicker

Through docs/deploy/nginx-onion.conf (rendered by bench/deploy.py) in front of
a tipbox gunicorn (SQLite, throwaway keys), with raw sockets that write the way
a Tor circuit delivers (498-byte relay cells):

1. a request header trickled one byte a second: when does nginx hang up?
   (``client_header_timeout`` counts the whole header);
2. a 1 MiB upload piece (``PUT …/chunks/0``) at ``--rate-kib`` KiB/s with one
   ``--stall`` second pause in the middle: is it stored, and how long did it take?
   (``client_body_timeout`` is the longest *pause*, not a limit on the whole body);
3. the same piece with a pause longer than ``client_body_timeout``: when is it cut off?

Nothing here is a pass/fail test; it prints what it saw.
"""

from __future__ import annotations

import argparse
import re
import select
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.deploy import DEPLOY, Loopback, tor_proxy_line  # noqa: E402
from bench.load import Client, TipboxServer  # noqa: E402
from bench.net import free_port  # noqa: E402
from bench.nginx import Nginx  # noqa: E402

CELL = 498  # payload bytes of one Tor relay cell
PIECE = 1024 * 1024


def seconds_of(directive: str) -> int:
    match = re.search(rf"^{directive} (\d+)s;", (DEPLOY / "tipbox-proxy.conf").read_text(), re.M)
    assert match, directive
    return int(match[1])


def connect(port: int, circuit: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=600)
    sock.sendall(tor_proxy_line(circuit))
    return sock


def answer(sock: socket.socket) -> str:
    """The status line nginx (or tipbox) answered with, or how the connection ended."""
    try:
        data = sock.recv(200)
    except OSError as exc:
        return type(exc).__name__
    return data.split(b"\r\n", 1)[0].decode() if data else "closed without an answer"


def trickled_header(port: int) -> tuple[str, float]:
    sock = connect(port, 0xA1)
    started = time.monotonic()
    header = b"GET /retention HTTP/1.1\r\nHost: x\r\n" + b"X-Padding: " + b"p" * 200 + b"\r\n\r\n"
    try:
        for byte in header:
            sock.sendall(bytes([byte]))
            time.sleep(1)
    except OSError:
        pass
    return answer(sock), time.monotonic() - started


def slow_piece(port: int, circuit: int, rate: float, stall: float) -> tuple[str, float]:
    """Open an upload like the page does, then PUT one 1 MiB piece cell by cell, pausing ``stall`` s halfway."""
    client = Client(f"http://127.0.0.1:{port}", circuit=circuit)
    client.start()
    opened = client.api("POST", "/api/v1/submissions").json()
    client.close()
    path = f"/api/v1/submissions/{opened['tip_id']}/attachments/{'ab' * 16}/chunks/0"
    sock = connect(port, circuit)
    sock.sendall((f"PUT {path} HTTP/1.1\r\nHost: x\r\nCookie: {client.cookie}\r\nX-CSRFToken: {client.csrf}\r\n"
                  f"X-Upload-Token: {opened['token']}\r\nSec-Fetch-Site: same-origin\r\n"
                  f"Content-Type: application/octet-stream\r\nContent-Length: {PIECE}\r\n\r\n").encode())
    started = time.monotonic()
    body = bytes(PIECE)
    try:
        for offset in range(0, PIECE, CELL):
            if offset <= PIECE // 2 < offset + CELL:
                paused = time.monotonic()
                if select.select([sock], [], [], stall)[0]:  # nginx gave up during the pause
                    return f"{answer(sock)} {time.monotonic() - paused:.1f} s into the pause", 0.0
            sock.sendall(body[offset:offset + CELL])
            time.sleep(CELL / rate)
    except OSError as exc:
        return type(exc).__name__, time.monotonic() - started
    return answer(sock), time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate-kib", type=float, default=16.0, help="upload rate of the slow circuit (default 16)")
    parser.add_argument("--stall", type=float, default=20.0, help="pause halfway through the piece (default 20 s)")
    args = parser.parse_args(argv)
    header_timeout, body_timeout = seconds_of("client_header_timeout"), seconds_of("client_body_timeout")
    work = Path(tempfile.mkdtemp(prefix="tipbox-timeouts-"))
    ports = Loopback(free_port(), free_port(), 0, 0, 0, work / "deploy")
    ports.write_proxy_include()
    server = TipboxServer.create(work / "var", port=ports.tor_gunicorn, TIPBOX_LOG_LEVEL="warning",
                                 **ports.tor_env())
    nginx = Nginx(work / "nginx", {"tipbox-onion": ports.nginx_onion()})
    try:
        server.start()
        nginx.start([ports.onion])
        status, took = trickled_header(ports.onion)
        print(f"header at 1 byte/s (client_header_timeout {header_timeout}s): {status} after {took:.1f} s")
        rate = args.rate_kib * 1024
        status, took = slow_piece(ports.onion, 0xA2, rate, args.stall)
        print(f"1 MiB piece at {args.rate_kib:g} KiB/s, {args.stall:g} s pause (client_body_timeout {body_timeout}s): "
              f"{status} after {took:.1f} s")
        status, _ = slow_piece(ports.onion, 0xA3, rate, body_timeout + 5)
        print(f"1 MiB piece at {args.rate_kib:g} KiB/s, {body_timeout + 5} s pause: {status}")
        print(f"nginx spooled nothing: {not nginx.spooled()}")
    finally:
        nginx.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
