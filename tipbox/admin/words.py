"""Wording shared by the admin commands."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 tip``, ``2 tips``: the number and the noun that agrees with it."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
