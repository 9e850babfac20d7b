"""Each documented nginx site in front of its gunicorn instance gives the browser what docs/deploy.md promises.

The clearnet site reaches tipbox as https (HSTS, ``__Host-`` Secure cookie,
Onion-Location from web.env) and its port 80 only redirects; the onion site is
plain http (no HSTS, no Secure cookie, no Onion-Location). Neither names
nginx's version or compresses a page (BREACH: pages carry CSRF tokens).
"""

from __future__ import annotations

import pytest

from tests.deploy.stack import Stack, fetch

pytestmark = [pytest.mark.slow, pytest.mark.redis]

GZIP = {"Accept-Encoding": "gzip, deflate"}


def test_clearnet_site_is_https_end_to_end(stack: Stack) -> None:
    status, headers, body = fetch(stack.ports.https, "/", tls=stack.tls, headers=GZIP)
    assert status == 200 and b'name="csrf_token"' in body
    assert "strict-transport-security" in headers
    assert headers["set-cookie"].startswith("__Host-tipbox=") and "Secure" in headers["set-cookie"]
    assert headers["onion-location"].startswith("http://") and ".onion" in headers["onion-location"]
    assert "content-encoding" not in headers and headers.get("server") == "nginx"
    status, headers, _ = fetch(stack.ports.http, "/status?x=1")
    assert status == 301 and headers["location"] == "https://tips.example.org/status?x=1"


def test_onion_site_is_plain_http(stack: Stack) -> None:
    status, headers, body = fetch(stack.ports.onion, "/", circuit=0x7100_0001, headers=GZIP)
    assert status == 200 and b'name="csrf_token"' in body
    assert "strict-transport-security" not in headers and "onion-location" not in headers
    assert headers["set-cookie"].startswith("tipbox=") and "Secure" not in headers["set-cookie"]
    assert "content-encoding" not in headers and headers.get("server") == "nginx"
