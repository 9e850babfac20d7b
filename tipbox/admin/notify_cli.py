"""``tipbox notify ...``: tell teams that reports wait (tipbox/notify/, docs/notifications.md)."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from .. import db
from ..config import ConfigError, Notify
from ..models import Channel
from ..notify import run, targets
from .words import counted


def _settings() -> Notify:
    settings: Notify = current_app.extensions["tipbox.config"].notify
    if not settings.enabled:
        raise click.ClickException(
            "notifications are off: set TIPBOX_NOTIFY_TARGETS_FILE or TIPBOX_NOTIFY_URLS (docs/notifications.md)")
    return settings


def _targets(settings: Notify) -> dict[str, list[targets.Target]]:
    with db.transaction() as session:
        channel_ids = list(session.scalars(select(Channel.id)))
    try:
        return targets.load(settings, channel_ids)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _pass(settings: Notify, found: dict[str, list[targets.Target]]) -> run.Outcome:
    config = current_app.extensions["tipbox.config"]
    with run.locked(config.var_dir / "notify.lock"):
        return run.run_once(db.transaction, settings, config.retention, found, targets.deliver)


def _report(outcome: run.Outcome) -> None:
    for channel_id, count in outcome.urgent.items():
        click.echo(f"{channel_id}: urgent alert sent ({counted(count, 'report')})")
    for channel_id in outcome.digests:
        click.echo(f"{channel_id}: digest sent")
    for channel_id in outcome.failed:
        click.echo(f"{channel_id}: not delivered; the next run tries again", err=True)


@click.group("notify")
def notify_group() -> None:
    """Digests and urgent alerts to each team's own tools (counts only, never content)."""


@notify_group.command("run")
@with_appcontext
def run_command() -> None:
    """Send the urgent alerts and the digests that are due (a timer runs this every minute)."""
    settings = _settings()
    found = _targets(settings)
    try:
        outcome = _pass(settings, found)
    except run.Busy:
        click.echo("another notify run is in progress; nothing done")
        return
    _report(outcome)
    if outcome.failed:
        raise SystemExit(1)


@notify_group.command("watch")
@click.option("--interval", type=click.IntRange(10, 3600), default=60, show_default=True, help="Seconds between runs.")
@with_appcontext
def watch_command(interval: int) -> None:
    """Run every INTERVAL seconds until stopped (instead of a timer)."""
    settings = _settings()
    found = _targets(settings)
    while True:
        try:
            _report(_pass(settings, found))
        except run.Busy:
            pass
        time.sleep(interval)


@notify_group.command("check")
@with_appcontext
def check_command() -> None:
    """Show which channels have targets (by scheme, never the URL) and the schedule."""
    settings = _settings()
    found = _targets(settings)
    times = ", ".join(f"{hour:02d}:00" for hour in settings.times)
    click.echo(f"digests at {times} ({settings.timezone}); empty digests {'sent' if settings.send_empty else 'skipped'}")
    for channel_id, listed in found.items():
        kinds = ", ".join(t.scheme for t in listed) or "none: this team is not notified"
        click.echo(f"{channel_id}: {kinds}")


@notify_group.command("test")
@click.option("--channel", "channel_id", required=True, help="The channel whose targets to try.")
@with_appcontext
def test_command(channel_id: str) -> None:
    """Send a test notice to one channel's targets."""
    from .. import readers
    from ..notify import messages

    settings = _settings()
    found = _targets(settings).get(channel_id)
    if not found:
        raise click.ClickException(f"channel {channel_id!r} has no notification targets")
    with db.transaction() as session:
        [name] = readers.names(session, [channel_id], settings.language)
    notice = messages.test(name, language=settings.language)
    if not targets.deliver(found, notice.title, notice.body):
        raise click.ClickException("no target took the test notice (see the log above)")
    click.echo(f"{channel_id}: test notice delivered")


COMMANDS = (notify_group,)
