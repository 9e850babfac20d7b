"""gunicorn's threaded worker, keeping a connection's PROXY-protocol address for all its requests.

Behind a Tor onion service with ``HiddenServiceExportCircuitID haproxy``, Tor
opens one TCP connection per stream and starts it with a PROXY v1 line whose
source address encodes the circuit. gunicorn 27's ``gthread`` worker applies
that line to the *first* request on the connection only: every further
keep-alive request on it arrives from the Tor daemon's own address
(127.0.0.1), so all Tor users would share one rate-limit bucket. (gunicorn's
async workers already carry the address over; this does the same for
``gthread``.) tests/tipbox/test_ratelimit.py checks it against a real gunicorn.
"""

from __future__ import annotations

from gunicorn.workers.gthread import ThreadWorker


class ProxyKeepAliveThreadWorker(ThreadWorker):
    def handle_request(self, req, conn):  # type: ignore[no-untyped-def]
        if getattr(req, "proxy_protocol_info", None):
            conn.tipbox_proxy_protocol_info = req.proxy_protocol_info
        elif getattr(conn, "tipbox_proxy_protocol_info", None):
            req.proxy_protocol_info = conn.tipbox_proxy_protocol_info
        return super().handle_request(req, conn)
