"""``tipbox purge`` and ``tipbox audit ...``: retention enforcement and the auditor's export."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from crypto import audit
from crypto.signing import key_fingerprint, public_key_b64

from .. import db
from ..audit.log import chain_pending, ensure_policy_recorded, export_records
from ..keys import load_server_key
from ..retention.purge import purge
from .words import counted


def _config():
    return current_app.extensions["tipbox.config"]


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only list what is due; delete nothing.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Delete every tip past its retention deadline, with its attachments and any abandoned uploads.

    Safe to run from a timer, twice, or concurrently; an interrupted run is finished by the next one.
    """
    config = _config()
    result = purge(db.engine(), load_server_key(config.server_key_file), config.retention, dry_run=dry_run)
    if dry_run:
        due = len(result.expired)
        click.echo(f"{counted(due, 'tip')} {'is' if due == 1 else 'are'} due for deletion (dry run: nothing deleted)")
        for tip_id in result.expired:
            click.echo(f"  {tip_id}")
        return
    click.echo(
        f"purged {len(result.purged)} of {counted(len(result.expired), 'due tip')}; "
        f"removed {counted(result.abandoned, 'abandoned upload')}"
    )


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log."""


@audit_group.command("checkpoint")
@with_appcontext
def checkpoint_command() -> None:
    """Link pending events into the chain and sign a checkpoint (run from a timer)."""
    config = _config()
    with db.transaction() as session:
        ensure_policy_recorded(session, config.retention)
        linked = chain_pending(session, load_server_key(config.server_key_file))
    click.echo(f"linked {linked} events; checkpoint signed")


@audit_group.command("export")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def export_command(out: Path) -> None:
    """Write the whole audit log with its checkpoints and the server's public key (JSON Lines)."""
    config = _config()
    key = load_server_key(config.server_key_file)
    if out.exists():
        raise click.ClickException(f"{out} already exists; refusing to overwrite")
    with db.transaction() as session:
        ensure_policy_recorded(session, config.retention)
        chain_pending(session, key)
    partial = out.with_name(out.name + ".partial")
    with partial.open("x", encoding="utf-8") as handle:
        audit.write_log(handle, public_key_b64(key), export_records(db.session()))
    partial.rename(out)
    click.echo(
        f"wrote {out}; server key fingerprint {key_fingerprint(public_key_b64(key))} "
        "(the auditor should compare it out of band)"
    )


COMMANDS = (purge_command, audit_group)
