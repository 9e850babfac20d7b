"""Security headers on every response, built by pure functions tests can parse.

No inline script or style and no external origin anywhere: the page, the
sealer and the stylesheet are served by the app itself. The headers go on
pages, API answers, error responses (404, 405, 413, 429, 500, CSRF failures)
and static files alike; only static files whose URL carries their current
content hash may be cached.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask, Response, request

from .. import static_assets

CSP_DIRECTIVES: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "object-src": "'none'",
}
# Every policy-controlled feature browsers know (W3C Permissions Policy registry
# and Chromium's list); none is needed by a form that seals text and files.
PERMISSIONS = (
    "accelerometer",
    "ambient-light-sensor",
    "attribution-reporting",
    "autoplay",
    "battery",
    "bluetooth",
    "browsing-topics",
    "camera",
    "captured-surface-control",
    "clipboard-read",
    "clipboard-write",
    "compute-pressure",
    "cross-origin-isolated",
    "deferred-fetch",
    "display-capture",
    "document-domain",
    "encrypted-media",
    "execution-while-not-rendered",
    "execution-while-out-of-viewport",
    "fullscreen",
    "gamepad",
    "geolocation",
    "gyroscope",
    "hid",
    "identity-credentials-get",
    "idle-detection",
    "interest-cohort",
    "join-ad-interest-group",
    "keyboard-map",
    "local-fonts",
    "magnetometer",
    "microphone",
    "midi",
    "otp-credentials",
    "payment",
    "picture-in-picture",
    "private-aggregation",
    "private-state-token-issuance",
    "private-state-token-redemption",
    "publickey-credentials-create",
    "publickey-credentials-get",
    "run-ad-auction",
    "screen-wake-lock",
    "serial",
    "shared-storage",
    "shared-storage-select-url",
    "speaker-selection",
    "storage-access",
    "sync-xhr",
    "usb",
    "web-share",
    "window-management",
    "xr-spatial-tracking",
)
REFERRER_POLICY = "no-referrer"
HSTS = "max-age=63072000; includeSubDomains"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_STORE = "no-store"


def build_csp(directives: dict[str, str] = CSP_DIRECTIVES) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def parse_csp(header: str) -> dict[str, str]:
    """The inverse of :func:`build_csp` (for tests and audits)."""
    directives = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name] = value.strip()
    return directives


def build_permissions_policy(features: tuple[str, ...] = PERMISSIONS) -> str:
    return ", ".join(f"{feature}=()" for feature in features)


def is_onion(host: str) -> bool:
    return host.split(":")[0].rstrip(".").lower().endswith(".onion")


def cacheable(response: Response) -> bool:
    """Only a static file requested under its current content hash (``?v=<hash>``) may be cached."""
    if request.endpoint != "static" or response.status_code != 200:
        return False
    filename = (request.view_args or {}).get("filename", "")
    version = request.args.get("v", "")
    # The same digest asset_url() puts in the URL; a 200 means the file exists under static/.
    return bool(version) and version == static_assets._digest(filename)[1]


def onion_location(base: str) -> str:
    """``base`` + this request's path and query, percent-encoded (a header must never carry raw input)."""
    path = quote(request.path, safe="/")
    query = quote(request.query_string.decode("latin-1"), safe="=&")
    return base + path + (f"?{query}" if query else "")


def init_app(app: Flask, onion_location_base: str | None) -> None:
    csp = build_csp()
    permissions = build_permissions_policy()

    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        h["Content-Security-Policy"] = csp
        h["Referrer-Policy"] = REFERRER_POLICY
        h["X-Content-Type-Options"] = "nosniff"
        h["X-Frame-Options"] = "DENY"
        h["Permissions-Policy"] = permissions
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Cross-Origin-Resource-Policy"] = "same-origin"
        h["X-Robots-Tag"] = "noindex, nofollow, noarchive"
        h["X-DNS-Prefetch-Control"] = "off"
        if cacheable(response):
            h["Cache-Control"] = IMMUTABLE
            h.pop("Pragma", None)
        else:
            h["Cache-Control"] = NO_STORE
            h["Pragma"] = "no-cache"
            h.pop("Expires", None)
            h.pop("ETag", None)
            h.pop("Last-Modified", None)
        onion = is_onion(request.host or "")
        if request.is_secure and not onion:
            h["Strict-Transport-Security"] = HSTS
        else:
            h.pop("Strict-Transport-Security", None)
        if onion_location_base and not onion:
            h["Onion-Location"] = onion_location(onion_location_base)
        return response
