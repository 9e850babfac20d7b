"""Retention: the published policy (/retention) and the purge that enforces it."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template


def policy_page():
    config = current_app.extensions["tipbox.config"]
    return render_template("retention/policy.html", policy=config.retention)


def create_blueprint() -> Blueprint:
    blueprint = Blueprint("retention", __name__)
    blueprint.add_url_rule("/retention", "policy", policy_page, methods=["GET"])
    return blueprint
