"""Where a source comes back with the receipt: status, end-to-end encrypted replies, follow-ups."""

from __future__ import annotations

from flask import Blueprint

from . import api, views


def create_blueprint() -> Blueprint:
    blueprint = Blueprint("status", __name__)
    views.register(blueprint)
    api.register(blueprint)
    return blueprint
