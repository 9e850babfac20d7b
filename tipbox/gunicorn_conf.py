"""gunicorn settings for tipbox (``gunicorn --config tipbox/gunicorn_conf.py wsgi:app``).

- No access log (it would record client addresses, URLs and user agents), and
  every log line goes through :class:`tipbox.security.logs.RedactFilter`.
- Threaded workers (``gthread``). In production nginx stands in front of
  every instance, the onion service's included (docs/deploy.md): it holds a
  request until its whole body has arrived, so a slow client never ties up a
  thread here. ``make run`` serves gunicorn alone, which is fine on loopback.
- Tor's PROXY line (the circuit address the rate limits key on) is read by
  nginx, which passes it in ``X-Forwarded-For``: gunicorn speaks no PROXY
  protocol (``TIPBOX_TRUSTED_PROXIES=1`` on both instances).

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
worker_class = _worker
threads = _int("TIPBOX_THREADS", 4)
# A worker that does not report in for this long is restarted. With gthread the
# heartbeat does not wait for slow clients (nor does the restart cut them off:
# that is nginx's job), so this only catches a stuck worker.
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
# Tor's PROXY line used to come straight to gunicorn. A tor.env that still asks for
# it belongs to a deployment whose torrc may still point here, where every Tor
# request would now be refused as malformed: stop with a message instead.
if os.environ.get("TIPBOX_PROXY_PROTOCOL", "").strip().lower() not in ("", "0", "off"):
    raise SystemExit("TIPBOX_PROXY_PROTOCOL is no longer used: tor connects to nginx, which reads the PROXY "
                     "line (docs/deploy.md, section 4); remove it and set TIPBOX_TRUSTED_PROXIES=1")
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
# Never leave a control socket lying around in the working directory.
control_socket_disable = True


def pre_request(worker, req):  # noqa: ARG001
    """gunicorn's default logs each request's method and path at debug level: log nothing."""
