"""Real notification targets for the tests: an SMTP server (aiosmtpd) and a webhook receiver (http.server).

apprise talks to them over real sockets, exactly as it talks to a team's
mail server or ntfy/Matrix/Signal bridge.
"""

from __future__ import annotations

import email
import json
import socket
import threading
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """A local SMTP server; ``messages`` are the parsed mails it accepted."""

    port: int = field(default_factory=free_port)
    messages: list[Message] = field(default_factory=list)

    def start(self) -> Mailbox:
        from aiosmtpd.controller import Controller

        box = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
                box.messages.append(email.message_from_bytes(envelope.content))  # type: ignore[attr-defined]
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=tipbox@example.org&to=tim@example.org&mode=insecure"

    def texts(self) -> list[str]:
        """Subject and every text part of each mail, decoded."""
        out = []
        for message in self.messages:
            parts = [str(message["Subject"])]
            for part in message.walk():
                if part.get_content_maintype() == "text":
                    parts.append(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8"))
            out.append("\n".join(parts))
        return out


@dataclass
class Webhook:
    """A local HTTP endpoint; ``posts`` are the JSON bodies apprise's json:// sent it."""

    port: int = field(default_factory=free_port)
    posts: list[dict] = field(default_factory=list)

    def start(self) -> Webhook:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                hook.posts.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, secret: str = "") -> str:
        credentials = f"hook:{secret}@" if secret else ""
        return f"json://{credentials}127.0.0.1:{self.port}/tipbox"

    def texts(self) -> list[str]:
        return [f"{p.get('title', '')}\n{p.get('message', '')}" for p in self.posts]
