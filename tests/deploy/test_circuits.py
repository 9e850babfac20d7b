"""Through the real nginx (nginx-onion.conf) and gunicorn (tor.env): one rate-limit bucket per Tor circuit.

tor starts every connection with a PROXY v1 line naming the circuit; nginx
reads it and sends the circuit's address to gunicorn in X-Forwarded-For on
every request of the connection, keep-alive ones included (what tipbox's own
gunicorn worker class used to do for gunicorn's PROXY support). The limit on
opening uploads is 5 a minute per client here (tests/deploy/stack.py).
"""

from __future__ import annotations

import socket

import pytest

from bench.load import Client
from tests.deploy.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.redis]


def opens(client: Client, times: int, **headers: str) -> list[int]:
    statuses = []
    for _ in range(times):
        client.extra.update(headers)
        statuses.append(client.api("POST", "/api/v1/submissions").status)
    return statuses


def test_each_circuit_has_its_own_bucket_on_every_connection_and_keep_alive_request(stack: Stack) -> None:
    # One circuit, a new connection per request (so both gunicorn workers serve it): 5 accepted in all.
    first = Client(stack.onion_url(), circuit=0x77_0001)
    first.start()
    statuses = []
    for _ in range(8):
        statuses += opens(first, 1)
        first.close()
    assert statuses == [201] * 5 + [429] * 3
    assert first.connections == 8  # the form page and the first request shared one
    # Another circuit (same /64) has its own budget, for every request of one keep-alive connection.
    second = Client(stack.onion_url(), circuit=0x77_0002)
    second.start()
    assert opens(second, 6) == [201] * 5 + [429]
    assert second.connections == 1, "the connection was not kept alive"
    second.close()
    assert len(stack.server.gunicorn.worker_pids()) == 2


def test_a_client_cannot_choose_its_bucket(stack: Stack) -> None:
    """nginx replaces X-Forwarded-For with the circuit's address: a header the client sends changes nothing."""
    client = Client(stack.onion_url(), circuit=0x78_0001)
    client.start()
    statuses = [opens(client, 1, **{"X-Forwarded-For": f"203.0.{n}.1", "X-Real-IP": f"198.51.{n}.1"})[0]
                for n in range(7)]
    assert statuses == [201] * 5 + [429] * 2
    client.close()


def test_the_onion_listener_takes_only_tors_connections(stack: Stack) -> None:
    """Without tor's PROXY line nginx hangs up: nothing reaches gunicorn unnamed (or as 127.0.0.1)."""
    with socket.create_connection(("127.0.0.1", stack.ports.onion), timeout=10) as sock:
        sock.sendall(b"GET /retention HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert sock.recv(100) == b""
