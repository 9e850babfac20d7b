"""What every page gives a source who may be watched, or who shares a phone.

- **Quick exit** ("Keluar cepat / Quick exit") on every page, to the neutral
  site the operator set (``TIPBOX_QUICK_EXIT_URL``). Without JavaScript it is a
  plain link; with it, tipbox/static/js/safety.js empties the page and replaces
  the current history entry, so Back does not bring the page back.
- **The receipt cannot be lost with one tap.** Its words come from here in
  both languages at once (:func:`receipt_words`), so the receipt page needs no
  language switch: leaving it loses the code for good (with JavaScript the
  browser made the code; without, the server forgot it). With JavaScript every
  way off the receipt asks first, until the source ticks "I have written it
  down"; without, the receipt page offers no link except the quick exit, which
  asks first too (a ``<details>`` that needs no script).
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from .i18n import in_locale

RECEIPT_WORDS = {
    # TRANSLATORS: heading of the receipt's block in the other language: "in <this catalog's language>".
    "language": _l("In English"),
    "heading": _l("Thank you. Your report was received."),
    "keep": _l(
        "This is your receipt code. Write it down or copy it and keep it somewhere safe and secret. "
        "With it you can come back later to see whether there is an answer. "
        "Anyone who has this code can read the answers, so do not share it."
    ),
    "once": _l(
        "This page cannot be shown again. Write the code down before you leave this page, reload it or go back."
    ),
    "where": _l(
        "To see whether there is an answer, or to add something later, open the page “Check your report” "
        "at this address and enter your code:"
    ),
    "written": _l("I have written down my code"),
    "leave_title": _l("Have you written down your receipt code?"),
    "leave_text": _l(
        "If you leave this page, the code is gone for good: it cannot be shown again, "
        "and without it you cannot read the reviewers' answers."
    ),
    "stay": _l("Stay on this page"),
    "leave": _l("I have written it down: leave"),
    "exit_text": _l("Leaving now closes this page. Your receipt code cannot be shown again."),
    "exit_now": _l("Leave now"),
}


def receipt_words(locale: str) -> SimpleNamespace:
    """The receipt's words in ``locale`` (``id`` or ``en``), whatever the page's language."""
    return SimpleNamespace(**{name: in_locale(locale, text) for name, text in RECEIPT_WORDS.items()})


def init_app(app: Flask) -> None:
    app.jinja_env.globals["receipt_words"] = receipt_words

    @app.context_processor
    def _quick_exit() -> dict[str, str]:
        return {"quick_exit_url": current_app.extensions["tipbox.config"].quick_exit_url}
