"""Bahasa Indonesia first, English second (Flask-Babel).

The locale comes from, in order: an explicit ``?lang=`` (remembered in the
session so the whole visit stays in that language), the session, then the
browser's Accept-Language, then Indonesian.
"""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel, get_locale

LOCALES = ("id", "en")


def select_locale() -> str:
    requested = request.args.get("lang")
    if requested in LOCALES:
        session["lang"] = requested
        return requested
    remembered = session.get("lang")
    if remembered in LOCALES:
        return remembered
    return request.accept_languages.best_match(LOCALES, default="id") or "id"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "id")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = "translations"
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
