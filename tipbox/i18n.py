"""Bahasa Indonesia first, English second (Flask-Babel).

The locale comes from, in order: an explicit ``?lang=`` (remembered in the
session so the whole visit stays in that language), the session, then the
deployment's ``TIPBOX_DEFAULT_LOCALE``. The browser's Accept-Language is used
only when the operator sets ``TIPBOX_HONOUR_ACCEPT_LANGUAGE=1``: Tor Browser
sends ``en-US,en;q=0.5`` for every user (a fingerprinting defence), so
honouring it would show English to Indonesian sources who use Tor Browser.

Some pages must speak both languages at once (the receipt, which offers no
language switch because leaving it loses the code): :func:`in_locale` renders
a lazy string in a given locale, and :func:`other_locale` names the other one.
"""

from __future__ import annotations

from flask import Flask, current_app, request, session
from flask_babel import Babel, LazyString, force_locale, get_locale

LOCALES = ("id", "en")


def select_locale() -> str:
    requested = request.args.get("lang")
    if requested in LOCALES:
        session["lang"] = requested
        return requested
    remembered = session.get("lang")
    if remembered in LOCALES:
        return remembered
    config = current_app.extensions["tipbox.config"]
    if config.honour_accept_language:
        return request.accept_languages.best_match(LOCALES, default=config.default_locale) or config.default_locale
    return config.default_locale


def current_locale() -> str:
    return str(get_locale() or LOCALES[0])


def other_locale() -> str:
    """The offered language that is not the page's (``id`` <-> ``en``)."""
    return "en" if current_locale() == "id" else "id"


def in_locale(locale: str, message: LazyString | str) -> str:
    """``message`` (a lazy_gettext string) translated into ``locale``, whatever the page's language."""
    with force_locale(locale):
        return str(message)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "id")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = "translations"
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(get_locale=get_locale, other_locale=other_locale)
