"""Static files with content hashes: Subresource Integrity and cache busting.

The sealer bundle is the weak point of any browser-side encryption; the page
pins it with an SRI hash computed from the bytes actually served, and the URL
carries a hash so caches never mix versions.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path

from flask import Flask, url_for

STATIC = Path(__file__).parent / "static"


@cache
def _digest(filename: str) -> tuple[str, str]:
    data = (STATIC / filename).read_bytes()
    sri = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
    return sri, hashlib.sha256(data).hexdigest()[:16]


def asset_url(filename: str) -> str:
    return url_for("static", filename=filename, v=_digest(filename)[1])


def asset_sri(filename: str) -> str:
    return _digest(filename)[0]


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(asset_url=asset_url, asset_sri=asset_sri)
