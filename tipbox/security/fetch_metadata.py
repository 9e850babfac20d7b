"""A second CSRF wall: refuse state-changing requests a browser marks as cross-site.

Flask-WTF's token is the main protection. Browsers that send Fetch Metadata
(every current one, Tor Browser included) also say where a request came from;
a POST or PUT that another site made is refused before any view runs, whatever
token it carries. Clients that send no ``Sec-Fetch-Site`` (scripts, old
browsers) are left to the token check.
"""

from __future__ import annotations

from flask import Flask, request
from flask_wtf.csrf import CSRFError

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFUSED_SITES = frozenset({"cross-site", "same-site"})


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_cross_site() -> None:
        if request.method in READ_METHODS:
            return
        if request.headers.get("Sec-Fetch-Site", "").lower() in REFUSED_SITES:
            raise CSRFError("cross-site request")
