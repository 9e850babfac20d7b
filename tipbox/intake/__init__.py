"""The anonymous intake surface: the tip form and the ciphertext upload API."""

from __future__ import annotations

from flask import Blueprint

from . import api, views


def create_blueprint() -> Blueprint:
    blueprint = Blueprint("intake", __name__)
    views.register(blueprint)
    api.register(blueprint)
    return blueprint
