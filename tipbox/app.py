"""The application factory: wires each area's ``init_app`` onto one Flask app."""

from __future__ import annotations

import os

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from . import apidoc, db, i18n, page_safety
from .config import Config, load_config
from .errors import init_app as init_errors
from .intake import create_blueprint as intake_blueprint
from .retention import create_blueprint as retention_blueprint
from .security import fetch_metadata, headers, logs, paths, ratelimit
from .security.requests import InMemoryRequest
from .static_assets import init_app as init_static
from .status import create_blueprint as status_blueprint


def create_app(config: Config | None = None) -> Flask:
    """Build the app from ``config`` (tests) or from the environment (production)."""
    config = config or load_config(os.environ)
    app = Flask(__name__)
    app.request_class = InMemoryRequest
    app.extensions["tipbox.config"] = config
    app.config.update(
        SECRET_KEY=config.secret_key,
        TESTING=config.testing,
        MAX_CONTENT_LENGTH=config.limits.max_nojs_bytes,
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # Over https the cookie is Secure and __Host- (no Domain, Path=/); an http .onion cannot use either.
        SESSION_COOKIE_SECURE=config.secure_cookies,
        SESSION_COOKIE_NAME="__Host-tipbox" if config.secure_cookies else "tipbox",
        SESSION_COOKIE_PATH="/",
        BABEL_DEFAULT_LOCALE=config.default_locale,
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead; slow Tor uploads must not expire
        WTF_CSRF_HEADERS=["X-CSRFToken"],
        # Flask-WTF's https check wants a Referer, which Referrer-Policy: no-referrer never sends.
        # The token (bound to a SameSite=Strict session cookie) is the protection.
        WTF_CSRF_SSL_STRICT=False,
    )
    if config.trusted_proxies:
        # Only behind a reverse proxy that sets X-Forwarded-For/-Proto (docs/deploy.md).
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    logs.init_app(app)
    db.init_app(app, config.database_url)
    i18n.init_app(app)
    page_safety.init_app(app)
    # Before CSRF: a flood is cut off before anything else looks at it.
    ratelimit.init_app(app, config.ratelimits, config.ratelimit_storage, config.secret_key)
    CSRFProtect(app)
    fetch_metadata.init_app(app)
    headers.init_app(app, config.onion_location)
    init_static(app)
    init_errors(app)
    paths.init_app(app)
    app.register_blueprint(intake_blueprint())
    app.register_blueprint(retention_blueprint())
    app.register_blueprint(status_blueprint())
    app.register_blueprint(apidoc.create_blueprint())
    from .admin.cli import register_commands

    register_commands(app)
    return app


def tipbox_config(app: Flask) -> Config:
    return app.extensions["tipbox.config"]
