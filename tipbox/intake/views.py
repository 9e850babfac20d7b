"""The form page and its no-JavaScript submission.

With JavaScript off (Tor Browser "Safest"), the same form posts here as
multipart. :class:`~tipbox.security.requests.InMemoryRequest` keeps every part
in memory; the answers and files are sealed at once and only ciphertext is
written. The receipt is rendered in the response itself: never in a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from crypto import regions

from .. import db, readers
from . import context
from .fields import AGE_BANDS, CATEGORIES, DANGER, HOW_KNOWN, ONGOING, FieldError, choice_label, parse_answers
from .service import PlainAttachment, submit_server_sealed


@dataclass(frozen=True)
class Team:
    """A channel as the form shows it: its name, what it covers in words, its key fingerprint."""

    name: str
    covers: str
    fingerprint: str


def _covers(channel: readers.Published) -> str:
    """A channel's scope in a source's words ("Kota Blitar", "Jawa Timur, coordinating")."""
    routed = channel.as_routed()
    if routed.catch_all:
        return str(_l("reports that no other team receives"))
    known = regions.load()
    parts = [known.name(code) or code for code in sorted(routed.scope.regions)]
    parts += [str(choice_label(CATEGORIES, code)) for code in sorted(routed.scope.categories)]
    where = "; ".join(parts) if parts else str(_l("every report"))
    return str(_l("%(scope)s (reads along with the responsible team)", scope=where)) if routed.coordinating else where


def channel_context(lang: str) -> dict[str, Any]:
    """What the form needs to tell a source who can read the report (FORMAT.md §14).

    ``route_data`` is what form.js routes over (the published channels);
    ``fixed_readers`` names the readers when every answer leads to the same
    ones (a single team), so the page can say it even without JavaScript.
    """
    session = db.session()
    # Forward-only channels (agency desks) are never routed to, so the form never names them.
    channels = {i: c for i, c in readers.published(session).items() if not c.forward_only}
    names = dict(zip(channels, readers.names(session, channels, lang), strict=True))
    route_data = []
    for channel in channels.values():
        routed = channel.as_routed()
        route_data.append({"id": channel.id, "name": names[channel.id], "regions": sorted(routed.scope.regions),
                           "categories": sorted(routed.scope.categories), "coordinating": routed.coordinating,
                           # the page seals to these before it sends anything (public keys, as in /api/v1/keys)
                           "recipients": channel.recipients})
    outcomes = readers.outcomes(session) if channels else frozenset()
    fixed = [names[c] for c in next(iter(outcomes))] if len(outcomes) == 1 else None
    teams = [Team(names[c.id], _covers(c), c.fingerprint) for c in channels.values()]
    return {"route_data": route_data, "fixed_readers": fixed, "teams": teams}


def _render_form(values: dict | None = None, error: FieldError | None = None, status: int = 200):
    return (
        render_template(
            "intake/form.html",
            values=values or {},
            selected_danger=values.getlist("danger") if values is not None and hasattr(values, "getlist") else [],
            error=error,
            regions=regions.load(),
            categories=CATEGORIES,
            danger=DANGER,
            ongoing=ONGOING,
            age_bands=AGE_BANDS,
            how_known=HOW_KNOWN,
            limits=context.limits(),
            **channel_context(str(get_locale() or "id")),
        ),
        status,
    )


def posted_files() -> list[PlainAttachment]:
    """The files of a multipart post's ``attachments`` field, still in memory (InMemoryRequest)."""
    return [
        PlainAttachment(f.filename or "", f.mimetype or "application/octet-stream", f.stream)
        for f in request.files.getlist("attachments")
        if f.filename
    ]


def form():
    return _render_form()


def submit():
    try:
        answers = parse_answers(request.form, context.limits().max_field_chars)
    except FieldError as exc:
        return _render_form(request.form, exc, 400)
    files = posted_files()
    lang = str(get_locale() or "id")
    with db.transaction() as session:
        receipt = submit_server_sealed(session, context.limits(), context.secret(), answers, lang, files,
                                       urgent=request.form.get("urgent") == "1")
    readable_by = readers.names(db.session(), receipt.channels, lang)
    return render_template("intake/receipt.html", receipt=receipt.code, sealed_by="server", readable_by=readable_by)


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/", "form", form, methods=["GET"])
    blueprint.add_url_rule("/", "submit", submit, methods=["POST"])
