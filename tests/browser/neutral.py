"""A stand-in for the quick exit's neutral site (the test machines have no internet).

A second origin on 127.0.0.1 serving one harmless page, recording what each
request carried, so tests can check that leaving tipbox sends no Referer.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = (b"<!doctype html><html lang='id'><head><meta charset='utf-8'><title>Prakiraan cuaca</title></head>"
        b"<body><h1 id='neutral'>Prakiraan cuaca hari ini</h1><p>Cerah berawan.</p>"
        b"<p><a id='neutral-next' href='/berita'>Berita</a></p></body></html>")


class NeutralSite:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(PAGE)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> NeutralSite:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
