"""Slow clients: connections that send a request header and then trickle its body, one byte at a time.

This is the attack of issue #19: each connection declares a body
(``Content-Length``), sends ``preamble`` at once and then one byte every
``interval`` seconds, never completing the body. Served by gunicorn alone,
each one holds a worker thread for as long as it likes; behind nginx, only an
nginx connection.

Bounded by construction: everything runs in one thread that stops after
``duration`` seconds (or at :meth:`SlowClients.stop`) and closes every socket,
on loopback only.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SlowClients:
    port: int
    count: int
    interval: float = 2.0
    duration: float = 20.0
    declared: int = 1000  # the Content-Length each one announces (and never completes)
    preamble: bytes = b""  # body bytes sent at once after the header (e.g. a canary)
    path: str = "/"
    content_type: str = "application/x-www-form-urlencoded"
    proxy_line: Callable[[int], bytes] | None = None  # connection number -> what tor would send first
    tls: ssl.SSLContext | None = None
    # Results, read after stop().
    opened: int = 0
    refused: int = 0  # could not connect or send the header
    answered: dict[int, int] = field(default_factory=dict)  # connection -> HTTP status the server sent early
    closed_by_server: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def header(self) -> bytes:
        return (f"POST {self.path} HTTP/1.1\r\nHost: tipbox.test\r\nUser-Agent: slow-client\r\n"
                f"Content-Type: {self.content_type}\r\nContent-Length: {self.declared}\r\n\r\n").encode()

    def start(self) -> None:
        if len(self.preamble) >= self.declared:
            raise ValueError("the preamble must leave part of the declared body unsent")
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _connect(self, number: int) -> socket.socket | None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            if self.proxy_line is not None:
                sock.sendall(self.proxy_line(number))
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_hostname="tipbox.test")
            sock.sendall(self.header() + self.preamble)
        except OSError:
            self.refused += 1
            return None
        self.opened += 1
        return sock

    def _run(self) -> None:
        deadline = time.monotonic() + self.duration
        sockets = {n: s for n in range(self.count) if (s := self._connect(n)) is not None}
        sent = dict.fromkeys(sockets, len(self.preamble))
        try:
            while sockets and not self._stop.is_set() and time.monotonic() < deadline:
                self._collect_answers(sockets)
                for number, sock in list(sockets.items()):
                    if sent[number] + 1 >= self.declared:
                        continue  # never complete the body
                    try:
                        sock.sendall(b"x")
                        sent[number] += 1
                    except OSError:
                        self.closed_by_server += 1
                        sock.close()
                        del sockets[number]
                self._stop.wait(min(self.interval, max(0.0, deadline - time.monotonic())))
        finally:
            for sock in sockets.values():
                sock.close()

    def _collect_answers(self, sockets: dict[int, socket.socket]) -> None:
        """A server that answers early (408, 413, 429) or hangs up is noted, and the connection dropped."""
        readable, _, _ = select.select(list(sockets.values()), [], [], 0)
        for number, sock in list(sockets.items()):
            if sock not in readable:
                continue
            sock.setblocking(False)  # readable may mean a TLS record that carries no data (a session ticket)
            try:
                data = sock.recv(64)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue
            except OSError:
                data = b""
            finally:
                sock.settimeout(5)
            if data.startswith(b"HTTP/"):
                self.answered[number] = int(data.split(b" ", 2)[1])
            else:
                self.closed_by_server += 1
            sock.close()
            del sockets[number]
