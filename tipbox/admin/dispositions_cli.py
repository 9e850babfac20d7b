"""``tipbox dispositions import FILE``: apply a reviewer's signed dispositions.

Wire it in with :func:`register` (``register(app)`` next to the other
commands). Refusals print one line and exit 1 with nothing applied.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from crypto.errors import TipboxCryptoError

from .. import db
from ..dispositions import MAX_FILE_BYTES, DispositionError, import_dispositions
from .words import counted


@click.group("dispositions")
def dispositions_group() -> None:
    """Reviewer dispositions: statuses, holds and closures signed offline."""


@dispositions_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(file: Path) -> None:
    """Verify FILE against the active reviewers' signing keys and apply it (all or nothing)."""
    max_hold_days = current_app.extensions["tipbox.config"].retention.max_hold_days
    with file.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    try:
        with db.transaction() as session:
            result = import_dispositions(session, data, max_hold_days=max_hold_days, record_event=_audit_sink())
    except (DispositionError, TipboxCryptoError) as exc:
        raise click.ClickException(f"dispositions refused: {exc}") from None
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(result.by_status.items())) or "none"
    click.echo(
        f"imported dispositions {result.file_id} from reviewer {result.reviewer_label}: "
        f"{counted(result.entries, 'entry', 'entries')}, {result.applied} applied ({statuses}), "
        f"{result.unchanged} unchanged, {result.stale} older than the tip's last disposition, "
        f"{result.purged} for tips already purged; {counted(result.replies, 'reply', 'replies')} published"
        + (f" ({result.replies_unchanged} already published before)" if result.replies_unchanged else "")
    )


def _audit_sink():
    """The audit log's ``record`` (tip.held, tip.released, tip.closed, tip.status, dispositions.imported)."""
    from ..audit.log import record

    return lambda session, event, tip_id, data: record(session, event, tip_id, data)

