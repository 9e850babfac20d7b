"""Hardening, one concern per module.

- ``headers``: the browser policy on every response (CSP, Permissions-Policy, caching, HSTS, Onion-Location).
- ``ratelimit``: abuse limits keyed by a daily-rotating HMAC of the network or Tor circuit, plus global buckets.
- ``fetch_metadata``: refuses state-changing requests a browser marks as cross-site (besides the CSRF token).
- ``logs``: nothing identifying in any log line (gunicorn's logger class and a redaction filter).
- ``requests``: the request class that never spools an upload to disk.
"""
