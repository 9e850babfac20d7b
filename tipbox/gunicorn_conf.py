"""gunicorn settings for tipbox (``gunicorn --config tipbox/gunicorn_conf.py wsgi:app``).

- No access log (it would record client addresses, URLs and user agents), and
  every log line goes through :class:`tipbox.security.logs.RedactFilter`.
- Threaded workers (``gthread``) so that a slow Tor upload ties up one thread,
  not a whole worker; long timeouts for 1 MiB pieces on a slow circuit.
- Behind a Tor onion service with ``HiddenServiceExportCircuitID haproxy``:
  ``TIPBOX_PROXY_PROTOCOL=v1`` so that each circuit arrives with its own
  address (the rate limits key on it). Behind nginx: keep it off and set
  ``TIPBOX_TRUSTED_PROXIES=1`` (docs/deploy.md).

Values come from ``TIPBOX_*`` so a deployment needs no edited copy; a bad
value stops gunicorn with a message naming the variable.
"""

from __future__ import annotations

import os


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be an integer") from None
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}")
    return value


bind = os.environ.get("TIPBOX_BIND", "127.0.0.1:8000")
workers = _int("TIPBOX_WORKERS", 2)
_worker = os.environ.get("TIPBOX_WORKER_CLASS", "gthread")
if _worker not in ("gthread", "sync"):
    raise SystemExit("TIPBOX_WORKER_CLASS must be gthread or sync")
# gthread, but a keep-alive connection keeps the address its PROXY line gave (tipbox/security/proxy_worker.py).
worker_class = "tipbox.security.proxy_worker.ProxyKeepAliveThreadWorker" if _worker == "gthread" else "sync"
threads = _int("TIPBOX_THREADS", 4)
# A worker that does not report in for this long is restarted. With gthread the
# heartbeat does not wait for slow clients, so this only catches a stuck worker.
timeout = _int("TIPBOX_REQUEST_TIMEOUT", 120)
graceful_timeout = 30
keepalive = 5
# Workers start fresh regularly (memory that held a no-JS upload is returned).
max_requests = _int("TIPBOX_MAX_REQUESTS", 2000, minimum=0)
max_requests_jitter = 200
accesslog = None
errorlog = "-"
loglevel = os.environ.get("TIPBOX_LOG_LEVEL", "info")
logger_class = "tipbox.security.logs.GunicornLogger"
# Only trust X-Forwarded-Proto (https) from a reverse proxy on this machine.
forwarded_allow_ips = os.environ.get("TIPBOX_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# PROXY protocol from Tor (HiddenServiceExportCircuitID haproxy sends v1): off, v1, v2, auto.
_proxy = os.environ.get("TIPBOX_PROXY_PROTOCOL", "off").strip().lower()
proxy_protocol = {"1": "v1", "0": "off", "": "off"}.get(_proxy, _proxy)
if proxy_protocol not in ("off", "v1", "v2", "auto"):
    raise SystemExit("TIPBOX_PROXY_PROTOCOL must be off, v1, v2 or auto")
proxy_allow_ips = os.environ.get("TIPBOX_PROXY_ALLOW_IPS", "127.0.0.1,::1")
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
# Never leave a control socket lying around in the working directory.
control_socket_disable = True


def pre_request(worker, req):  # noqa: ARG001
    """gunicorn's default logs each request's method and path at debug level: log nothing."""
