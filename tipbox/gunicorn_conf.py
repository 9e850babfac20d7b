"""gunicorn settings for tipbox (``gunicorn --config tipbox/gunicorn_conf.py wsgi:app``).

No access log (it would record client addresses, URLs and user agents), long
timeouts for slow uploads over Tor, and workers that start fresh regularly.
Values come from ``TIPBOX_*`` so a deployment needs no edited copy.
"""

from __future__ import annotations

import os

bind = os.environ.get("TIPBOX_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("TIPBOX_WORKERS", "2"))
worker_class = "sync"
# A Tor circuit can move a 1 MiB chunk slowly; give each request room.
timeout = int(os.environ.get("TIPBOX_REQUEST_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = None
errorlog = "-"
loglevel = os.environ.get("TIPBOX_LOG_LEVEL", "info")
# Only trust X-Forwarded-* from a reverse proxy on this machine.
forwarded_allow_ips = os.environ.get("TIPBOX_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Behind a Tor onion service with HiddenServiceExportCircuitID haproxy.
proxy_protocol = os.environ.get("TIPBOX_PROXY_PROTOCOL") == "1"
proxy_allow_ips = os.environ.get("TIPBOX_PROXY_ALLOW_IPS", "127.0.0.1")
limit_request_line = 4094
limit_request_fields = 50
