"""Small accessors the intake views share (config, limits, secret)."""

from __future__ import annotations

from flask import current_app

from ..config import Config, Limits


def config() -> Config:
    return current_app.extensions["tipbox.config"]


def limits() -> Limits:
    return config().limits


def secret() -> bytes:
    return current_app.config["SECRET_KEY"]
