"""The intake API's OpenAPI 3 description (tipbox/openapi.json), served at /api/v1/openapi.json.

tests/tipbox/test_fuzz.py checks that it lists exactly the app's API routes and
fuzzes the app against it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Blueprint, Response

SPEC = Path(__file__).with_name("openapi.json")


@cache
def _document() -> bytes:
    return SPEC.read_bytes()


def openapi() -> Response:
    return Response(_document(), mimetype="application/json")


def create_blueprint() -> Blueprint:
    blueprint = Blueprint("apidoc", __name__)
    blueprint.add_url_rule("/api/v1/openapi.json", "openapi", openapi, methods=["GET"])
    return blueprint
