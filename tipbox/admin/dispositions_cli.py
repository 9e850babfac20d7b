"""``tipbox dispositions import FILE``: apply a reviewer's signed dispositions.

Wire it in with :func:`register` (``register(app)`` next to the other
commands). Refusals print one line and exit 1 with nothing applied.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from crypto.dispositions import is_package, read_package_document
from crypto.errors import TipboxCryptoError

from .. import db
from ..dispositions import MAX_FILE_BYTES, DispositionError, import_dispositions
from ..retention.purge import scrub
from .words import counted


@click.group("dispositions")
def dispositions_group() -> None:
    """Reviewer dispositions: statuses, holds and closures signed offline."""


@dispositions_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(file: Path) -> None:
    """Verify FILE against the active reviewers' signing keys and apply it (all or nothing)."""
    config = current_app.extensions["tipbox.config"]
    package = file if is_package(file) else None
    try:
        if package is not None:
            data = read_package_document(package)
        else:
            with file.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        with db.transaction() as session:
            result = import_dispositions(
                session, data, max_hold_days=config.retention.max_hold_days, record_event=_audit_sink(),
                package=package, chunk_bytes=config.limits.upload_chunk_bytes,
            )
    except (DispositionError, TipboxCryptoError) as exc:
        raise click.ClickException(f"dispositions refused: {exc}") from None
    if result.forwarded or result.resealed:
        # The replaced ciphertext must be gone from the database files too, as after a purge.
        scrub(db.engine())
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(result.by_status.items())) or "none"
    click.echo(
        f"imported dispositions {result.file_id} from reviewer {result.reviewer_label}: "
        f"{counted(result.entries, 'entry', 'entries')}, {result.applied} applied ({statuses}), "
        f"{result.unchanged} unchanged, {result.stale} older than the tip's last disposition, "
        f"{result.purged} for tips already purged; {counted(result.replies, 'reply', 'replies')} published"
        + (f" ({result.replies_unchanged} already published before)" if result.replies_unchanged else "")
        + (f"; {counted(result.forwarded, 'tip')} forwarded, {counted(result.resealed, 'tip')} re-sealed"
           if result.forwarded or result.resealed else "")
    )


def _audit_sink():
    """The audit log's ``record`` (tip.held, tip.released, tip.closed, tip.status, dispositions.imported)."""
    from ..audit.log import record

    return lambda session, event, tip_id, data: record(session, event, tip_id, data)

