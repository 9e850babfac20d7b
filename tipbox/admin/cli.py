"""The ``tipbox`` admin CLI: set-up, migrations, reviewers, export.

Registered on the app (``flask --app wsgi`` works too) and exposed as the
``tipbox`` console script. Errors print one line and exit non-zero; nothing
here prints a secret except the demo identity, which says loudly what it is.
"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from crypto.errors import TipboxCryptoError
from crypto.identity import ReviewerIdentity, recipient_fingerprint
from crypto.signing import key_fingerprint, public_key_b64

from .. import db
from ..audit.log import chain_pending
from ..config import ConfigError, load_config
from ..keys import (
    NewReviewer,
    ReviewerError,
    active_reviewers,
    add_reviewer,
    current_manifest,
    ensure_server_key,
    load_server_key,
    remove_reviewer,
    write_secret_file,
)
from .migrate import upgrade_database

DEMO_IDENTITY = "demo-reviewer.key"


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


@click.group("reviewers")
def reviewers_group() -> None:
    """Manage the reviewers whose keys tips are sealed to."""


@reviewers_group.command("add")
@click.argument("label")
@click.argument("recipient")
@click.option("--signing-key", help="The reviewer's Ed25519 public key (base64), from `tipbox-review keygen`.")
@with_appcontext
def reviewers_add(label: str, recipient: str, signing_key: str | None) -> None:
    """Add a reviewer: LABEL (a pseudonym, shown to nobody but operators) and an age RECIPIENT."""
    key = _server_key()
    try:
        with db.transaction() as session:
            add_reviewer(session, key, NewReviewer(label, recipient, signing_key))
            manifest = current_manifest(session)
    except (ReviewerError, TipboxCryptoError) as exc:
        _fail(str(exc))
    click.echo(f"added {label}: {recipient}")
    click.echo(f"recipient fingerprint: {recipient_fingerprint(recipient)}")
    click.echo(f"key manifest fingerprint (shown on the form): {manifest.fingerprint}")


@reviewers_group.command("remove")
@click.argument("reviewer")
@with_appcontext
def reviewers_remove(reviewer: str) -> None:
    """Remove a reviewer by label, recipient or id; new tips are no longer sealed to them."""
    key = _server_key()
    try:
        with db.transaction() as session:
            removed = remove_reviewer(session, key, reviewer)
            manifest = current_manifest(session)
    except ReviewerError as exc:
        _fail(str(exc))
    click.echo(f"removed {removed.label}; key manifest fingerprint is now {manifest.fingerprint}")


@reviewers_group.command("list")
@with_appcontext
def reviewers_list() -> None:
    """List active reviewers and the current key manifest fingerprint."""
    session = db.session()
    for reviewer in active_reviewers(session):
        click.echo(f"{reviewer.label}\t{reviewer.recipient}\t{recipient_fingerprint(reviewer.recipient)}")
    manifest = current_manifest(session)
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
@click.option("--new-only", is_flag=True, help="Only tips never exported before.")
@with_appcontext
def export_command(out: Path, since: datetime | None, new_only: bool) -> None:
    """Write a signed export bundle of ciphertext for the offline reviewers."""
    from ..export import export_bundle

    key = _server_key()
    if out.exists():
        _fail(f"{out} already exists; refusing to overwrite")
    partial = out.with_name(out.name + ".partial")
    try:
        with db.transaction() as session, partial.open("xb") as handle:
            result = export_bundle(session, handle, key, since, new_only)
        with db.transaction() as session:
            chain_pending(session, key)
        partial.rename(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    click.echo(f"exported {len(result.tip_ids)} tips ({result.attachment_count} attachments) to {out}")
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
@with_appcontext
def demo_setup() -> None:
    """For `make run`: migrate, and create a DEMO reviewer if there is none."""
    config = _config()
    upgrade_database(config.database_url)
    with db.transaction() as session:
        if active_reviewers(session):
            click.echo("tipbox: reviewers already configured")
            return
        identity = ReviewerIdentity.generate()
        path = config.var_dir / DEMO_IDENTITY
        write_secret_file(path, identity.to_text().encode())
        add_reviewer(session, _server_key(), NewReviewer("demo", identity.recipient, identity.signing_public_key))
    click.secho(
        "\n*** DEMO REVIEWER KEY — for trying tipbox out only, never for real tips ***\n"
        f"Its secret key is stored UNENCRYPTED in {path}.\n"
        "Read submitted tips:  tipbox export --out /tmp/tips.tar && tar -xf /tmp/tips.tar -C /tmp\n"
        "                      age -d -i var/demo-reviewer.key /tmp/tips/<id>/payload.age\n"
        "Real reviewers create their own key offline with `tipbox-review keygen`.\n",
        fg="yellow",
        err=True,
    )


def register_commands(app: Flask) -> None:
    from .dispositions_cli import register as register_dispositions
    from .retention_cli import COMMANDS as retention_commands

    register_dispositions(app)
    for command in (db_group, reviewers_group, export_command, cleanup_command, demo_setup, *retention_commands):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from .. import create_app

    try:
        return create_app()
    except ConfigError as exc:
        click.echo(f"tipbox: configuration error: {exc}", err=True)
        sys.exit(1)


cli = FlaskGroup(
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    help="tipbox server administration.",
)
cli.add_command(init_command)


def main() -> None:
    # `init` must work before the secret key exists, so it is not an app command.
    cli.main(prog_name="tipbox")
