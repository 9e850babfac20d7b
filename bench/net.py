"""Loopback ports for the processes the benchmarks and tests start (gunicorn, nginx, Redis, PostgreSQL)."""

from __future__ import annotations

import socket
import subprocess
import time


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, process: subprocess.Popen | None = None) -> bool:
    """True once something accepts on ``port``; False after ``timeout`` or as soon as ``process`` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def raw_exchange(port: int, data: bytes, *, half_close: bool = False, timeout: float = 10.0) -> bytes:
    """Send ``data`` as is (malformed HTTP included) to 127.0.0.1:``port`` and return all the server answers.

    ``half_close`` ends the sending side first, for a request whose body is cut
    short on purpose: the server then sees the end instead of waiting for more.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except OSError:
            pass
    return b"".join(chunks)


def status_of(reply: bytes) -> int:
    """The status code of a raw HTTP reply (0 when the server answered nothing)."""
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/") else 0
