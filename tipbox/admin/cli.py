"""The ``tipbox`` admin CLI: set-up, migrations, reviewers, export.

Registered on the app (``flask --app wsgi`` works too) and exposed as the
``tipbox`` console script, whose group lists its commands without building the
app, so ``--help`` works before ``tipbox init``. Errors print one line and exit
non-zero; nothing here prints a secret except the demo passphrase, which says
loudly what it is.
"""

from __future__ import annotations

import os
import secrets
import sys
import sysconfig
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from crypto.errors import TipboxCryptoError
from crypto.identity import recipient_fingerprint
from crypto.signing import key_fingerprint, public_key_b64

from .. import db, readers
from ..audit.log import chain_pending
from ..config import ConfigError, load_config
from ..keys import (
    DEFAULT_CHANNEL,
    NewReviewer,
    ReviewerError,
    active_reviewers,
    add_reviewer,
    current_manifest,
    ensure_server_key,
    load_server_key,
    remove_reviewer,
    removed_reviewers,
    write_secret_file,
)
from . import demo
from .channels_cli import channels_group
from .dispositions_cli import dispositions_group
from .migrate import upgrade_database
from .notify_cli import COMMANDS as NOTIFY_COMMANDS
from .retention_cli import COMMANDS as RETENTION_COMMANDS
from .words import counted

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _config():
    return current_app.extensions["tipbox.config"]


def _fail(message: str) -> None:
    raise click.ClickException(message)


@click.command("init")
def init_command() -> None:
    """Create var/, the secret key and the server signing key (never overwrites)."""
    config = load_config(os.environ)
    config.var_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_secret_file(config.secret_key_file, secrets.token_hex(32).encode() + b"\n")
    ensure_server_key(config.server_key_file)
    click.echo(f"tipbox: state directory ready: {config.var_dir}")


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic)."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply every pending migration."""
    upgrade_database(_config().database_url)
    click.echo("tipbox: database is at the newest revision")
    with db.transaction() as session:
        if not readers.directory_is_current(session):
            # Deployments from before the directory existed (migration 0006) get their first one here.
            readers.publish_directory(session, _server_key())
            click.echo("tipbox: signed the channel directory")


@click.group("reviewers")
def reviewers_group() -> None:
    """Manage the reviewers whose keys tips are sealed to."""


@reviewers_group.command("add")
@click.argument("label")
@click.argument("recipient")
@click.option("--signing-key", help="The reviewer's Ed25519 public key (base64), from `tipbox-review keygen`.")
@click.option("--channel", "channel_id", default=DEFAULT_CHANNEL, show_default=True,
              help="The channel whose tips this reviewer opens (`tipbox channels list`).")
@with_appcontext
def reviewers_add(label: str, recipient: str, signing_key: str | None, channel_id: str) -> None:
    """Add a reviewer: LABEL (a pseudonym, shown to nobody but operators) and an age RECIPIENT."""
    key = _server_key()
    try:
        with db.transaction() as session:
            add_reviewer(session, key, NewReviewer(label, recipient, signing_key), channel_id)
            manifest = current_manifest(session, channel_id)
    except (ReviewerError, TipboxCryptoError) as exc:
        _fail(str(exc))
    click.echo(f"added {label} to channel {channel_id}: {recipient}")
    click.echo(f"recipient fingerprint: {recipient_fingerprint(recipient)}")
    click.echo(f"key manifest fingerprint (shown on the form): {manifest.fingerprint}")


@reviewers_group.command("remove")
@click.argument("reviewer")
@click.option("--channel", "channel_id", default=DEFAULT_CHANNEL, show_default=True, help="The reviewer's channel.")
@with_appcontext
def reviewers_remove(reviewer: str, channel_id: str) -> None:
    """Remove a reviewer by label, recipient or id; new tips are no longer sealed to them."""
    key = _server_key()
    try:
        with db.transaction() as session:
            removed = remove_reviewer(session, key, reviewer, channel_id)
            manifest = current_manifest(session, channel_id)
    except ReviewerError as exc:
        _fail(str(exc))
    click.echo(f"removed {removed.label}; key manifest fingerprint is now {manifest.fingerprint}")


@reviewers_group.command("list")
@click.option("--channel", "channel_id", default=DEFAULT_CHANNEL, show_default=True, help="The channel to list.")
@with_appcontext
def reviewers_list(channel_id: str) -> None:
    """List a channel's reviewers, how many stored tips each one's key opens, and the key manifest fingerprint.

    A removed reviewer whose key still opens stored tips is listed too: until
    a remaining reviewer re-seals them (``tipbox-review reseal``), the server
    keeps ciphertext that key can open.
    """
    session = db.session()
    opens = readers.stored_tips_by_recipient(session)
    click.echo(f"channel: {channel_id}")
    for reviewer in active_reviewers(session, channel_id):
        click.echo(f"{reviewer.label}\t{reviewer.recipient}\t{recipient_fingerprint(reviewer.recipient)}\t"
                   f"opens {counted(opens.get(reviewer.recipient, 0), 'stored tip')}")
    for reviewer in removed_reviewers(session, channel_id):
        if opens.get(reviewer.recipient):
            click.echo(f"removed: {reviewer.label}\t{reviewer.recipient}\tstill opens "
                       f"{counted(opens[reviewer.recipient], 'stored tip')}: re-seal them "
                       f"(tipbox-review reseal --channel {channel_id})")
    manifest = current_manifest(session, channel_id)
    click.echo(f"key manifest fingerprint: {manifest.fingerprint if manifest else '(none: add a reviewer)'}")


def _server_key():
    try:
        return load_server_key(_config().server_key_file)
    except ReviewerError as exc:
        _fail(str(exc))


@click.command("export")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Only tips received at or after this UTC time.",
)
@click.option("--new-only", is_flag=True, help="Only tips (or follow-ups) this channel never exported before.")
@click.option("--channel", "channel_id", help="The channel whose tips to export (needed once there are several).")
@with_appcontext
def export_command(out: Path, since: datetime | None, new_only: bool, channel_id: str | None) -> None:
    """Write a signed export bundle of one channel's ciphertext for its offline reviewers."""
    from ..export import ExportError, export_bundle, export_channel

    with db.transaction() as session:
        try:
            channel_id = export_channel(session, channel_id)
        except ExportError as exc:
            _fail(str(exc))

    key = _server_key()
    if out.exists():
        _fail(f"{out} already exists; refusing to overwrite")
    partial = out.with_name(out.name + ".partial")
    try:
        with db.transaction() as session, partial.open("xb") as handle:
            policy = current_app.extensions["tipbox.config"].retention
            result = export_bundle(session, handle, key, policy, since, new_only, channel_id)
        with db.transaction() as session:
            chain_pending(session, key)
        partial.rename(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    tips, files = counted(len(result.tip_ids), "tip"), counted(result.attachment_count, "attachment")
    click.echo(f"exported {tips} ({files}) of channel {result.channel} to {out}")
    click.echo(f"server key fingerprint (reviewers pin it): {key_fingerprint(public_key_b64(key))}")


@click.command("cleanup-uploads")
@with_appcontext
def cleanup_command() -> None:
    """Delete unfinished browser uploads older than TIPBOX_ABANDONED_UPLOAD_HOURS."""
    from ..intake.service import cleanup_abandoned

    with db.transaction() as session:
        count = cleanup_abandoned(session)
    click.echo(f"removed {count} abandoned uploads")


@click.command("demo-setup")
@click.option(
    "--url",
    default="http://127.0.0.1:8000/",
    show_default=True,
    help="Where the form is served (`make run` passes its HOST and PORT); printed for you to open.",
)
@with_appcontext
def demo_setup(url: str) -> None:
    """For `make run`: migrate, create a DEMO reviewer if there is none, print how to try tipbox out."""
    config = _config()
    upgrade_database(config.database_url)
    with db.transaction() as session:
        labels = {reviewer.label for reviewer in active_reviewers(session)}
        if labels:
            click.echo("tipbox: reviewers already configured")
        else:
            _add_demo_reviewer(session, config.var_dir)
            labels = {demo.LABEL}
    legacy = config.var_dir / demo.LEGACY_IDENTITY
    ready = demo.LABEL in labels and demo.identity_ready(config.var_dir)
    if ready and legacy.exists():
        click.echo(f"tipbox: {legacy} (the unencrypted demo key of earlier versions) is no longer used: delete it")
    scripts = Path(sysconfig.get_path("scripts"))
    text = demo.instructions(
        url,
        config.var_dir,
        demo=ready,
        env=os.environ,
        cwd=Path.cwd(),
        scripts=scripts if (scripts / "tipbox").exists() else None,
    )
    click.secho("\n" + text, fg="yellow")


def _add_demo_reviewer(session: Session, var_dir: Path) -> None:
    identity = demo.demo_identity(var_dir)
    try:
        add_reviewer(session, _server_key(), NewReviewer(demo.LABEL, identity.recipient, identity.signing_public_key))
    except ReviewerError as exc:
        _fail(str(exc))


ADMIN_COMMANDS: tuple[click.Command, ...] = (
    db_group,
    reviewers_group,
    export_command,
    cleanup_command,
    demo_setup,
    dispositions_group,
    channels_group,
    *RETENTION_COMMANDS,
    *NOTIFY_COMMANDS,
)


def register_commands(app: Flask) -> None:
    for command in ADMIN_COMMANDS:
        app.cli.add_command(command)


class TipboxGroup(FlaskGroup):
    """The ``tipbox`` group: only the commands attached to it, so listing and ``--help`` never build the app.

    FlaskGroup builds the app to look for commands registered on ``app.cli``,
    and building it reads the secret key, which does not exist before ``tipbox
    init``. Every tipbox command is attached here as well; those that need the
    app build it when they run (``with_appcontext``). Flask plugin commands are
    not offered.
    """

    # Flask's own options (--env-file, --app, --debug) choose another app or load a .env: not for tipbox.
    _FLASK_OPTIONS = frozenset({"env_file", "app", "debug"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params = [p for p in self.params if p.name not in self._FLASK_OPTIONS]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return click.Group.get_command(self, ctx, name)


def _create_app() -> Flask:
    from .. import create_app

    try:
        return create_app()
    except ConfigError as exc:
        click.echo(f"tipbox: configuration error: {exc}", err=True)
        sys.exit(1)


cli = TipboxGroup(
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    help="tipbox server administration.",
)
cli.add_command(init_command)  # needs no app: it creates what the app needs
for _command in ADMIN_COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli.main(prog_name="tipbox")
