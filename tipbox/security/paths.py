"""Path converters that only match what the database can hold.

werkzeug's ``<int:…>`` matches any run of digits (Unicode digits included) and
its default converter any text without a slash, so a piece number of 2**31 or
an id with a line break reached PostgreSQL and came back as a 500 ("integer
out of range", "value too long"). These converters make such paths not match
at all: the client gets the same 404 as for any unknown upload.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import BaseConverter, IntegerConverter, Map

# Upload pieces are numbered in an INTEGER column (PostgreSQL: 4 bytes, signed).
MAX_PIECE = 2**31 - 1


class HexIdConverter(BaseConverter):
    """A public id: exactly 32 lowercase hex characters (tipbox/intake/service.py ID_PATTERN)."""

    regex = "[0-9a-f]{32}"


class PieceConverter(IntegerConverter):
    """An upload piece number: ASCII digits, 0 … 2**31 - 1."""

    regex = "[0-9]{1,10}"

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, min=0, max=MAX_PIECE)


def init_app(app: Flask) -> None:
    """Register before any blueprint that uses ``<hexid:…>`` or ``<piece:…>``."""
    app.url_map.converters["hexid"] = HexIdConverter
    app.url_map.converters["piece"] = PieceConverter
