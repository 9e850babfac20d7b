"""Security headers on every response, built by pure functions tests can parse.

No inline script or style and no external origin anywhere: the page, the
sealer and the stylesheet are served by the app itself.
"""

from __future__ import annotations

from flask import Flask, Response, request

CSP_DIRECTIVES: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}
PERMISSIONS = (
    "accelerometer",
    "autoplay",
    "camera",
    "clipboard-read",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "web-share",
    "xr-spatial-tracking",
)


def build_csp(directives: dict[str, str] = CSP_DIRECTIVES) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def build_permissions_policy() -> str:
    return ", ".join(f"{feature}=()" for feature in PERMISSIONS)


def static_is_immutable(path: str) -> bool:
    """Static files whose URL carries a content hash may be cached."""
    return path.startswith("/static/") and "v=" in request.query_string.decode()


def init_app(app: Flask, onion_location: str | None) -> None:
    csp = build_csp()
    permissions = build_permissions_policy()

    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        h["Content-Security-Policy"] = csp
        h["Referrer-Policy"] = "no-referrer"
        h["X-Content-Type-Options"] = "nosniff"
        h["X-Frame-Options"] = "DENY"
        h["Permissions-Policy"] = permissions
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Cross-Origin-Resource-Policy"] = "same-origin"
        h["X-Robots-Tag"] = "noindex, nofollow"
        if static_is_immutable(request.path):
            h["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            h["Cache-Control"] = "no-store"
            h["Pragma"] = "no-cache"
        host = (request.host or "").split(":")[0]
        if not host.endswith(".onion") and request.is_secure:
            h["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if onion_location and not host.endswith(".onion"):
            h["Onion-Location"] = onion_location + request.full_path.rstrip("?")
        return response
