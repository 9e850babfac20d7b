"""A no-JS post is plaintext: through the documented nginx it must never touch the disk, nor a response.

A complete no-JavaScript report with a multi-MiB attachment (a canary in the
text and in the file), the same sent with chunked transfer encoding, and the
largest response (the sealer) pass through nginx; afterwards no file under the
deployment's directory holds the canary (the database holds only ciphertext)
and nginx's temporary directories were never written to. A control run with
``client_body_buffer_size`` shrunk shows that this check does see a spooled body.
"""

from __future__ import annotations

import http.client
import re
import secrets
from pathlib import Path

import pytest

from bench.deploy import Loopback, tor_proxy_line
from bench.load import Client
from bench.net import free_port
from bench.nginx import Nginx, files_containing
from tests.deploy.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.redis]

ATTACHMENT_BYTES = 6 * 1024 * 1024


def nojs_report(client: Client, canary: str) -> tuple[bytes, str]:
    """A multipart no-JS report (body, content type) whose text and attachment carry ``canary``."""
    boundary = secrets.token_hex(16)
    fields = {"csrf_token": client.csrf, "description": f"Laporan {canary}", "category": "ANAK-EKO",
              "how_known": "saw"}
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    content = (canary.encode() + secrets.token_bytes(4096)) * (ATTACHMENT_BYTES // (len(canary) + 4096))
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="bukti.jpg"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def submit(port: int, circuit: int, canary: str, chunked: bool = False) -> int:
    """Load the form on one circuit, post the report, return the status (200: a receipt came back)."""
    client = Client(f"http://127.0.0.1:{port}", circuit=circuit, timeout=60)
    client.start()
    body, content_type = nojs_report(client, canary)
    if not chunked:
        reply = client.request("POST", "/", body, {"Content-Type": content_type})
        client.close()
        assert reply.status != 200 or re.search(rb'id="receipt-code"', reply.body)
        return reply.status
    client.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.connect()
    conn.sock.sendall(tor_proxy_line(circuit))
    pieces = (body[i:i + 65536] for i in range(0, len(body), 65536))
    conn.request("POST", "/", pieces, {"Content-Type": content_type, "Cookie": client.cookie}, encode_chunked=True)
    status = conn.getresponse().status
    conn.close()
    return status


def test_no_js_report_and_responses_never_reach_disk(stack: Stack) -> None:
    canary = f"BODYCANARY{secrets.token_hex(8)}"
    assert submit(stack.ports.onion, 0x6100_0001, canary) == 200
    assert submit(stack.ports.onion, 0x6100_0002, canary, chunked=True) == 200
    # A large response (87 KB), beyond nginx's default proxy buffers (8 x 4 or 8 KiB): held in memory,
    # not in proxy_temp.
    sealer = Client(stack.onion_url(), circuit=0x6100_0003)
    reply = sealer.request("GET", "/static/js/sealer.js")
    sealer.close()
    assert reply.status == 200 and len(reply.body) > 8 * 8 * 1024
    assert stack.nginx.spooled() == []
    assert files_containing(canary.encode(), stack.root) == []


def test_the_disk_check_sees_a_spooled_body(stack: Stack, tmp_path: Path) -> None:
    """Control: the documented onion site with a body buffer too small for the report spools it, and is caught."""
    ports = Loopback(free_port(), stack.ports.tor_gunicorn, 0, 0, 0, tmp_path / "deploy")
    include = ports.write_proxy_include()
    include.write_text(include.read_text().replace("client_body_buffer_size 26m;", "client_body_buffer_size 16k;"))
    nginx = Nginx(tmp_path / "nginx", {"tipbox-onion": ports.nginx_onion()})
    nginx.start([ports.onion])
    try:
        canary = f"CONTROLCANARY{secrets.token_hex(8)}"
        assert submit(ports.onion, 0x6200_0001, canary) == 200
        assert nginx.spooled(), "a body larger than client_body_buffer_size went unnoticed"
    finally:
        nginx.stop()
