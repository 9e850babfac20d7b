"""``tipbox channels ...``: the teams tips go to, their public names and scopes.

Thin: validation, overlap notes and re-signing live in tipbox/channels.py;
routing tips over the published channels is tipbox/readers.py's
(docs/channels.md).
"""

from __future__ import annotations

import click
import nacl.signing
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from .. import channels, db
from ..keys import ReviewerError, current_manifest, load_server_key
from ..models import Channel


def _server_key() -> nacl.signing.SigningKey:
    try:
        return load_server_key(current_app.extensions["tipbox.config"].server_key_file)
    except ReviewerError as exc:
        raise click.ClickException(str(exc)) from None


def _show(session: Session, channel: Channel) -> list[str]:
    scope = channels.scope_of(channel)
    count = channels.reviewer_count(session, channel.id)
    lines = [
        f"{channel.id}\t{channel.name_id} / {channel.name_en}",
        f"  scope: {scope.describe()}",
        f"  coordinating: {'yes' if scope.coordinating else 'no'}",
        f"  active reviewers: {count}",
    ]
    if not count:
        lines.append("  " + channels.unstaffed_warning(channel.id))
    return lines


@click.group("channels")
def channels_group() -> None:
    """The channels (teams) tips go to: names, scope, coordinating."""


@channels_group.command("add")
@click.argument("channel_id", metavar="ID")
@click.option("--name-id", required=True, help="Public name in Bahasa Indonesia.")
@click.option("--name-en", required=True, help="Public name in English.")
@click.option("--region", "regions", multiple=True, help="A province or kabupaten/kota code (repeatable).")
@click.option("--category", "categories", multiple=True, help="A tip category code (repeatable).")
@click.option("--coordinating", is_flag=True, help="Receive every tip in scope even when a more specific channel leads.")
@click.option("--forward-only", is_flag=True,
              help="Never routed to nor shown on the form: receives forwards only (an agency desk; no scope).")
@with_appcontext
def add_command(
    channel_id: str, name_id: str, name_en: str, regions: tuple[str, ...], categories: tuple[str, ...],
    coordinating: bool, forward_only: bool,
) -> None:
    """Create channel ID. An empty scope (no region, no category) that is not coordinating is the catch-all."""
    try:
        with db.transaction() as session:
            channel = channels.add(session, channel_id, name_id, name_en,
                                   channels.Scope(regions, categories, coordinating, forward_only))
            lines = _show(session, channel)
            notes = channels.overlap_notes(session, channel_id)
    except channels.ChannelError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added channel {channel_id}")
    for line in lines + notes:
        click.echo(line)


@channels_group.command("list")
@with_appcontext
def list_command() -> None:
    """Every channel with its scope and reviewer count; notes on overlapping scopes."""
    session = db.session()
    for channel in channels.all_channels(session):
        for line in _show(session, channel):
            click.echo(line)
    for note in channels.overlap_notes(session):
        click.echo(note)


@channels_group.command("show")
@click.argument("channel_id", metavar="ID")
@with_appcontext
def show_command(channel_id: str) -> None:
    """One channel, with its current key manifest fingerprint."""
    session = db.session()
    try:
        channel = channels.get(session, channel_id)
    except channels.ChannelError as exc:
        raise click.ClickException(str(exc)) from None
    for line in _show(session, channel):
        click.echo(line)
    manifest = current_manifest(session, channel_id)
    click.echo(f"  key manifest fingerprint: {manifest.fingerprint if manifest else '(none: add a reviewer)'}")
    for note in channels.overlap_notes(session, channel_id):
        click.echo(note)


@channels_group.command("update")
@click.argument("channel_id", metavar="ID")
@click.option("--name-id", help="New public name in Bahasa Indonesia.")
@click.option("--name-en", help="New public name in English.")
@click.option("--region", "regions", multiple=True, help="Replace the regions with these (repeatable).")
@click.option("--clear-regions", is_flag=True, help="Remove every region (any region).")
@click.option("--category", "categories", multiple=True, help="Replace the categories with these (repeatable).")
@click.option("--clear-categories", is_flag=True, help="Remove every category (any category).")
@click.option("--coordinating/--no-coordinating", default=None, help="Set or clear coordinating.")
@with_appcontext
def update_command(
    channel_id: str, name_id: str | None, name_en: str | None, regions: tuple[str, ...], clear_regions: bool,
    categories: tuple[str, ...], clear_categories: bool, coordinating: bool | None,
) -> None:
    """Replace the given fields of channel ID and re-sign its key manifest."""
    if regions and clear_regions:
        raise click.ClickException("give --region or --clear-regions, not both")
    if categories and clear_categories:
        raise click.ClickException("give --category or --clear-categories, not both")
    changes = channels.Changes(
        name_id=name_id,
        name_en=name_en,
        regions=() if clear_regions else (regions or None),
        categories=() if clear_categories else (categories or None),
        coordinating=coordinating,
    )
    key = _server_key()
    try:
        with db.transaction() as session:
            manifest = channels.update(session, key, channel_id, changes)
            lines = _show(session, channels.get(session, channel_id))
            notes = channels.overlap_notes(session, channel_id)
    except channels.ChannelError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"updated channel {channel_id}")
    for line in lines + notes:
        click.echo(line)
    if manifest is not None:
        click.echo(f"key manifest re-signed; fingerprint {manifest.fingerprint}")


@channels_group.command("remove")
@click.argument("channel_id", metavar="ID")
@with_appcontext
def remove_command(channel_id: str) -> None:
    """Delete channel ID: only one that has no reviewers and no tips; never the default channel."""
    try:
        with db.transaction() as session:
            channels.remove(session, channel_id)
    except channels.ChannelError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"removed channel {channel_id}")
