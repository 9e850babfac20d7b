"""The `tipbox-review` command: one click group, and the one place errors become exit codes.

Helpers raise :mod:`review_cli.errors` or crypto/'s typed errors; only
:class:`ReviewGroup` turns them into a single line on stderr and an exit code.
Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from click.decorators import FC

from crypto.errors import TipboxCryptoError, TooLarge
from crypto.identity import ReviewerIdentity, load_identity, recipient_fingerprint, save_identity
from crypto.payload import TipDocument
from crypto.signing import key_fingerprint
from crypto.vocabulary import Language

from . import (
    audit_report,
    channels,
    conversation,
    dispositions_state,
    evidence,
    extract,
    handover,
    importer,
    referral,
    render,
    server_facts,
    tips,
    triage,
)
from . import dispositions as dispositions_mod
from .errors import EXIT_OK, EXIT_USAGE, EXIT_VERIFY, InputError, ReviewError, StateConflict, VerificationError
from .taxonomy import (
    AGENCIES,
    AGENCY_KINDS,
    CATEGORIES,
    HOLD_REASONS,
    LANGS,
    MATERIAL_CLASSES,
    PRIORITIES,
    STATUSES,
)
from .workspace import Keys, TipMeta, Workspace, utc_now, write_atomic

PROG = "tipbox-review"
MIN_PASSPHRASE = 10

EPILOG = """\b
Exit codes (kode keluar):
  0  success
  1  usage or input error: bad option, unknown code or tip id, nothing to do
  2  verification or decryption failure: bad signature, wrong passphrase,
     tampered or truncated data, sealed to someone else, unknown version
  3  workspace or state conflict: refusing to overwrite, data that differs
     from what the workspace already holds, a damaged workspace record
Errors are one line on stderr and never show a tip's content.

\b
Workspace: --workspace DIR, or TIPBOX_REVIEW_WORKSPACE, or the per-user data
directory. Identity: --identity FILE, default WORKSPACE/identity.age.
See docs/review.md.
"""


class ReviewGroup(click.Group):
    """Maps every failure to one stderr line and an exit code (the only place that does)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,  # click's own signature (passed through to the Context), as is the return type
    ) -> Any:
        code = EXIT_OK
        try:
            result = super().main(args, prog_name or PROG, complete_var, standalone_mode=False, **extra)
            if isinstance(result, int) and not isinstance(result, bool):
                code = result  # click.exceptions.Exit, e.g. after --help
        except ReviewError as exc:
            render.error(str(exc))
            code = exc.exit_code
        except TooLarge as exc:
            render.error(str(exc))
            code = EXIT_USAGE
        except TipboxCryptoError as exc:
            render.error(str(exc))
            code = EXIT_VERIFY
        except click.ClickException as exc:
            hint = f" (see {exc.ctx.command_path} --help)" if isinstance(exc, click.UsageError) and exc.ctx else ""
            render.error(exc.format_message() + hint)
            code = EXIT_USAGE
        except click.Abort:
            render.error("aborted")
            code = EXIT_USAGE
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            render.error(f"{exc.strerror or type(exc).__name__}{where}")
            code = EXIT_USAGE
        except Exception as exc:  # a bug: its message could quote a tip, so only the type is shown
            if os.environ.get("TIPBOX_REVIEW_DEBUG") == "1":
                raise
            render.error(f"internal error ({type(exc).__name__}); set TIPBOX_REVIEW_DEBUG=1 to see it, and report it")
            code = EXIT_USAGE
        if standalone_mode:
            sys.exit(code)
        return code


@dataclass
class App:
    workspace: Workspace
    identity_path: Path
    _keys: Keys | None = field(default=None, repr=False)

    def keys(self) -> Keys:
        """Ask for the passphrase and open the identity (about a second of scrypt), once per command."""
        if self._keys is None:
            if not self.identity_path.is_file():
                raise InputError(f"no identity at {self.identity_path}: run `{PROG} keygen` or pass --identity FILE")
            _refuse_unprotected(self.identity_path)
            passphrase = ask_secret(f"Passphrase for {self.identity_path}")
            self._keys = Keys.of(_load_identity(self.identity_path, passphrase))
        return self._keys


def _refuse_unprotected(path: Path) -> None:
    """Say what is wrong with a bare age key (age-keygen's text) before asking for a passphrase.

    tipbox-review keeps the reviewer's key only under a passphrase (crypto/FORMAT.md §5), so it
    never opens an unprotected one, not even for a demo: `make run` writes its demo identity
    protected, with the passphrase printed (tipbox/admin/demo.py).
    """
    with path.open("rb") as handle:
        head = handle.read(4096)
    if not head.startswith(b"age-encryption.org/") and b"AGE-SECRET-KEY-1" in head:
        raise InputError(
            f"{path} is an unprotected age key; {PROG} uses only passphrase-protected identities "
            f"(made by `{PROG} keygen`; the demo of `make run` is var/demo-review/identity.age)"
        )


def ask_secret(prompt: str, *, confirm: bool = False) -> str:
    """Read a passphrase: hidden at a terminal; one line per answer from a pipe (scripts, tests).

    Never from the command line or the environment.
    """
    stdin = sys.stdin
    if stdin.isatty():
        return click.prompt(
            prompt,
            hide_input=True,
            confirmation_prompt=confirm,
            err=True,
            value_proc=_retry_if_short if confirm else None,
        )

    def line(label: str) -> str:
        click.echo(f"{label}: ", err=True, nl=False)
        text = stdin.readline()
        click.echo(err=True)
        if not text:
            raise click.Abort()
        return text.rstrip("\r\n")

    value = line(prompt)
    if confirm:
        _check_passphrase(value)
        if line("Repeat for confirmation") != value:
            raise InputError("the two passphrases do not match")
    return value


def _retry_if_short(value: str) -> str:
    try:
        return _check_passphrase(value)
    except InputError as exc:
        raise click.UsageError(str(exc)) from None  # click.prompt asks again


def _load_identity(path: Path, passphrase: str) -> ReviewerIdentity:
    return load_identity(path, passphrase)


def _default_workspace() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("tipbox-review", appauthor=False))


pass_app = click.make_pass_decorator(App)


@click.group(cls=ReviewGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="TIPBOX_REVIEW_WORKSPACE",
    help="Workspace directory (ruang kerja). Default: the per-user data directory.",
)
@click.option(
    "--identity",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Passphrase-protected identity file. Default: WORKSPACE/identity.age.",
)
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None, identity: Path | None) -> None:
    """tipbox-review: read, triage and refer tipbox tips on an offline computer.

    Alat peninjau luring: membuka, memilah dan merujuk laporan tipbox.
    Never connects to a network; everything it writes about a tip is encrypted.
    """
    ws = Workspace((workspace or _default_workspace()).expanduser())
    ctx.obj = App(ws, (identity or ws.default_identity).expanduser())


# --- identity ---------------------------------------------------------------------------------------


def _check_passphrase(value: str) -> str:
    if len(value) < MIN_PASSPHRASE:
        raise InputError(f"the passphrase needs at least {MIN_PASSPHRASE} characters (a few random words are best)")
    return value


@cli.command()
@click.option("--label", default="LABEL", show_default=True, help="Your pseudonym for the operator's command line.")
@pass_app
def keygen(app: App, label: str) -> None:
    """Create your reviewer identity (buat identitas peninjau).

    The passphrase is asked twice and never echoed. Prints the age recipient
    and the signing key to give the operator, with their fingerprints.
    """
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", label):
        raise InputError("--label: 1 to 64 of A-Z a-z 0-9 . _ - (a pseudonym, as the key manifest requires)")
    path = app.identity_path
    if path.exists():
        raise StateConflict(f"{path} already exists; refusing to overwrite an identity")
    passphrase = ask_secret("New passphrase", confirm=True)
    if path.parent == app.workspace.root:
        app.workspace.ensure()
    else:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    identity = ReviewerIdentity.generate()
    try:
        save_identity(identity, path, passphrase)
    except FileExistsError:
        raise StateConflict(f"{path} already exists; refusing to overwrite an identity") from None
    _identity_card(identity, label, path)
    render.echo("Back up the identity file; without it and its passphrase no tip sealed to you can be read.")


@cli.command()
@pass_app
def whoami(app: App) -> None:
    """Show your recipient and signing key again (needs the passphrase)."""
    _identity_card(app.keys().identity, "LABEL", app.identity_path)


def _identity_card(identity: ReviewerIdentity, label: str, path: Path) -> None:
    render.identity_card(
        identity.recipient,
        recipient_fingerprint(identity.recipient),
        identity.signing_public_key,
        key_fingerprint(identity.signing_public_key),
        label,
        path,
    )


# --- import / list / show ---------------------------------------------------------------------------


@cli.command("import")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--expect-server-key", metavar="FINGERPRINT", help="Refuse unless the bundle's signer has this fingerprint."
)
@click.option("--skip-unreadable", is_flag=True, help="Import the other tips when some are not sealed to you.")
@pass_app
def import_command(app: App, bundle: Path, expect_server_key: str | None, skip_unreadable: bool) -> None:
    """Verify an export bundle and copy its ciphertext in (impor bundel).

    The first import pins the server's signing key; a bundle signed by any
    other key later is refused. Importing the same or an overlapping bundle
    again is harmless: identical tips are skipped. A tip forwarded or
    re-sealed since comes back with new ciphertext: each changed part is
    opened and compared with what the workspace holds, and different content
    refuses the import (possible tampering).
    """
    ws = app.workspace
    with ws.lock():
        signer = importer.check_signer(ws, bundle, expect_server_key)
        keys = app.keys()
        with render.byte_progress() as progress:
            progress.start("importing", bundle.stat().st_size)
            report = importer.import_bundle(
                ws, keys, bundle, signer, skip_unreadable=skip_unreadable, on_bytes=progress.advance
            )
    if signer.pin_now:
        render.pinned_banner(signer.fingerprint)
    render.import_report(report)


def _codes_option(name: str, choices: Iterable[str], help_text: str, multiple: bool = True) -> Callable[[FC], FC]:
    return click.option(name, multiple=multiple, type=click.Choice(list(choices), case_sensitive=False), help=help_text)


class RegionCode(click.ParamType[str, object]):
    name = "CODE"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from crypto.regions import valid_code

        if not isinstance(value, str) or not valid_code(value.strip()):
            self.fail("a Kemendagri code looks like 18 (province) or 18.09 (kabupaten/kota)", param, ctx)
        return value.strip()


@cli.command("list")
@_codes_option("--status", STATUSES, "Only tips with this status (repeatable).")
@_codes_option("--category", CATEGORIES, "Only this category (repeatable).")
@_codes_option("--priority", PRIORITIES, "Only this priority (repeatable).")
@click.option(
    "--region", multiple=True, type=RegionCode(), help="Only this region or what lies in it: 18 matches 18.09."
)
@click.option(
    "--channel", multiple=True, metavar="ID", help="Only tips this channel holds, as lead or reader (repeatable)."
)
@click.option("--sort", type=click.Choice(tips.SORTS), default="received", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts instead of a table.")
@pass_app
def list_command(
    app: App,
    status: tuple[str, ...],
    category: tuple[str, ...],
    priority: tuple[str, ...],
    region: tuple[str, ...],
    channel: tuple[str, ...],
    sort: str,
    as_json: bool,
) -> None:
    """List imported tips (daftar laporan). Newest first unless --sort says otherwise.

    With channels, the last column names the channels holding each tip, the
    lead channel first and marked with *.
    """
    keys = app.keys()
    with app.workspace.lock():
        listing = tips.load_listing(app.workspace, keys)
    rows = tips.sort_rows(
        tips.filter_rows(
            listing.rows,
            status=tuple(s.lower() for s in status),
            category=tuple(c.upper() for c in category),
            priority=tuple(p.upper() for p in priority),
            region=region,
            channel=tuple(c.strip() for c in channel),
        ),
        sort,
    )
    if as_json:
        render.tips_json(rows)
    else:
        render.tips_table(rows, _directory(app.workspace))
    if listing.unreadable:
        for reason in listing.unreadable:
            render.warn(reason)
        raise VerificationError(f"{len(listing.unreadable)} tip(s) could not be opened (listed above)")


def _directory(ws: Workspace) -> channels.Directory | None:
    """The channel facts the workspace keeps (None before any bundle with channels)."""
    facts = server_facts.known(ws)
    return facts.directory if facts is not None else None


def _open(app: App, tip_prefix: str) -> tuple[str, TipMeta, TipDocument, Keys]:
    tip_id = app.workspace.resolve(tip_prefix)
    meta = app.workspace.meta(tip_id)
    keys = app.keys()
    return tip_id, meta, tips.open_payload(app.workspace, keys, meta), keys


lang_option = click.option(
    "--lang", type=click.Choice(LANGS), default="id", show_default=True, help="id: Bahasa Indonesia; en: English."
)


@cli.command()
@click.argument("tip")
@lang_option
@click.option("--no-evidence", is_flag=True, help="Skip the evidence section (decrypting and hashing attachments).")
@pass_app
def show(app: App, tip: str, lang: str, no_evidence: bool) -> None:
    """Show one tip in full, then its conversation (tampilkan laporan). TIP is its id or a unique prefix.

    After the tip and its triage: the source's follow-ups (with their
    attachments), the replies the server published, and your replies that are
    sent or still pending (not yet in a `dispositions export`), oldest first.
    Then the evidence: per attachment its kind from the content, SHA-256,
    SHA-1, MD5, PDQ (images), class and metadata (capture time, device, GPS);
    never a picture (see `attachments`).
    """
    tip_id, meta, document, keys = _open(app, tip)
    record = triage.load(app.workspace, keys, tip_id)
    sent = dispositions_state.load_state(app.workspace, keys).replies
    thread = conversation.thread(app.workspace, keys, meta, sent)
    render.tip_detail(tip_id, meta, document, record, lang, _directory(app.workspace))
    render.thread(thread, lang)
    checked = _evidence_for_show(app, tip_id, meta, document, keys) if not no_evidence else []
    if checked:
        render.evidence_section(checked, record.current.class_of(), lang)
    if thread.problems:
        raise VerificationError(
            f"{len(thread.problems)} message(s) of tip {tip_id[:8]} could not be opened (shown above)"
        )
    failed = [c for c in checked if isinstance(c, tuple)]
    if failed:
        raise VerificationError(
            f"{render.counted(len(failed), 'attachment')} of tip {tip_id[:8]} failed verification (shown above)"
        )


def _evidence_for_show(
    app: App, tip_id: str, meta: TipMeta, document: TipDocument, keys: Keys
) -> list[evidence.Evidence | tuple[int, str]]:
    """Each attachment's evidence, or (number, why) when it does not verify: `show` still shows the rest."""
    try:
        content, sealed = conversation.all_attachments(app.workspace, keys, meta, document)
    except ReviewError as exc:
        return [(0, str(exc))]
    by_id = {a.id: a for a in sealed}
    out: list[evidence.Evidence | tuple[int, str]] = []
    for number, entry in enumerate(content, 1):
        try:
            out.append(evidence.inspect_one(app.workspace, keys, tip_id, number, entry, by_id.get(entry.id)))
        except VerificationError as exc:
            out.append((number, str(exc)))
    return out


# --- reply ------------------------------------------------------------------------------------------

SCISSORS = "# ------------------------ >8 ------------------------"
EDITOR_HELP = {
    "id": (
        "# Tulis balasan untuk pelapor di atas garis ini. Semua yang ada di bawah garis diabaikan.\n"
        "# Balasan dienkripsi untuk pelapor dan semua peninjau; pelapor membacanya di halaman status.\n"
        "# Jangan menyebut nama petugas, kantor, atau hal yang dapat membahayakan pelapor.\n"
        "# Simpan dan tutup editor untuk menyimpan; tutup tanpa menyimpan untuk membatalkan.\n"
    ),
    "en": (
        "# Write the reply to the source above this line. Everything below the line is ignored.\n"
        "# It is encrypted to the source and every reviewer; the source reads it on the status page.\n"
        "# Do not name officers or offices, or anything that could put the source at risk.\n"
        "# Save and close the editor to keep it; close without saving to cancel.\n"
    ),
}


def _reply_text(message_file: Path | None, lang: str) -> str:
    if message_file is not None:
        try:
            return message_file.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{message_file} is not UTF-8 text; nothing was saved") from None
    edited = click.edit("\n\n" + SCISSORS + "\n" + EDITOR_HELP[lang], extension=".txt", require_save=True)
    if edited is None:
        raise InputError("the editor was closed without saving; no reply was written")
    return edited.split(SCISSORS, 1)[0]


@cli.command()
@click.argument("tip")
@click.option(
    "--message-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the reply from this UTF-8 text file instead of opening $EDITOR.",
)
@click.option(
    "--lang",
    type=click.Choice(LANGS),
    help="The reply's language, id or en (what the status page shows it as). Default: the source's language.",
)
@click.option(
    "--discard",
    "discard",
    metavar="REPLY",
    help="Instead of writing: delete the pending reply with this id (or its first characters, as `show` lists).",
)
@pass_app
def reply(app: App, tip: str, message_file: Path | None, lang: str | None, discard: str | None) -> None:
    """Write a reply to the source of a tip (balas pelapor).

    The text comes from $EDITOR (or --message-file). It is sealed at once to
    the tip's source (the receipt-derived key the report carried) and to
    exactly the tip's reviewers (for tips from bundles before channels: the
    reviewers of the last imported bundle), and kept in the
    workspace as pending: the next `dispositions export` carries it to the
    server, which shows it on the source's status page. `show TIP` lists it.
    With channels, only the reviewers of the tip's lead channel reply.
    Refused for a tip without a source recipient (sent before replies existed)
    or before a bundle has told the workspace who the reviewers are.
    `--discard REPLY` deletes a reply that no export has carried yet.
    """
    ws = app.workspace
    tip_id = ws.resolve(tip)
    if discard is not None:
        if message_file is not None or lang is not None:
            raise InputError("--discard takes no --message-file or --lang")
        tip_id, _meta, _document, keys = _open(app, tip_id)
        with ws.lock():
            sent = dispositions_state.load_state(ws, keys).replies
            removed = conversation.discard_reply(ws, keys, tip_id, discard, sent)
        click.echo(f"reply {removed[:8]} to tip {tip_id[:8]} discarded; it will not be sent")
        return
    entry = ws.meta(tip_id).entry  # before the passphrase: a refusal here costs nothing
    channels.require_lead(_directory(ws), tip_id, entry.channels)
    if entry.reviewers is None and server_facts.known(ws) is None:
        raise InputError("no reviewers list is known yet: import a bundle from a server that lists its reviewers")
    tip_id, meta, document, keys = _open(app, tip_id)
    recipients = conversation.reply_recipients(ws, keys, tip_id)
    language = Language(lang) if lang else document.lang
    text = conversation.check_text(_reply_text(message_file, language))
    with ws.lock():
        written = conversation.write_reply(ws, keys, tip_id, text, language, recipients, utc_now())
    render.reply_written(written)


# --- attachments / triage / refer -------------------------------------------------------------------


@cli.command()
@click.argument("tip")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the preview sheet or the originals to (created if missing).",
)
@click.option(
    "--original",
    "originals",
    multiple=True,
    type=click.IntRange(min=1),
    metavar="N",
    help="Decrypt original N as a file instead of writing the sheet (repeatable; numbers as on the sheet).",
)
@click.option("--all-originals", is_flag=True, help="Decrypt every original as a file instead of writing the sheet.")
@click.option(
    "--unblur",
    multiple=True,
    type=click.IntRange(min=1),
    metavar="N",
    help="Render attachment N's preview sharp (still small and greyscale) on a sheet of its own.",
)
@click.option(
    "--strip",
    "--strip-metadata",
    "strip",
    is_flag=True,
    help="With --original/--all-originals: write copies without metadata (mat2 if installed, else Pillow).",
)
@lang_option
@pass_app
def attachments(
    app: App,
    tip: str,
    out_dir: Path,
    originals: tuple[int, ...],
    all_originals: bool,
    unblur: tuple[int, ...],
    strip: bool,
    lang: str,
) -> None:
    """Write a preview sheet of a tip's attachments and its follow-ups' (lembar pratinjau lampiran).

    By default no original is written: one PDF, OUT/previews-<id>.pdf, lists
    each attachment with its kind (from the content, not the name), size,
    SHA-256, SHA-1, MD5, PDQ hash (images), metadata (capture time, device,
    GPS) and a small, greyscale, strongly blurred preview (images; the first
    pages of PDFs), or why there is none. Decoders run in resource-limited
    child processes; nothing but the sheet is written.

    --original N / --all-originals decrypt originals instead, each verified
    against its SHA-256, mode 0600, never over an existing file; --strip
    writes them without metadata. --unblur N renders one preview sharp.
    """
    if strip and not (originals or all_originals):
        raise InputError("--strip applies to originals: add --original N or --all-originals")
    if unblur and (originals or all_originals):
        raise InputError("--unblur changes the preview sheet; ask for originals in a separate command")
    tip_id, meta, document, keys = _open(app, tip)
    content, sealed = conversation.all_attachments(app.workspace, keys, meta, document)
    if not content:
        raise InputError(f"tip {tip_id[:8]} has no attachments")
    evidence.check_numbers(originals, len(content), "--original")
    evidence.check_numbers(unblur, len(content), "--unblur")
    if originals or all_originals:
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with render.byte_progress() as progress:
            results = extract.extract(
                app.workspace,
                keys,
                tip_id,
                content,
                sealed,
                out_dir,
                strip=strip,
                only=None if all_originals else set(originals),
                on_start=progress.start,
                on_bytes=progress.advance,
            )
        render.attachments_done(results)
        return
    name = f"previews-{tip_id[:8]}" + "".join(f"-unblurred-{n}" for n in sorted(set(unblur))) + ".pdf"
    sheet_path = out_dir / name
    if sheet_path.exists():
        raise StateConflict(f"{sheet_path} already exists; refusing to overwrite (nothing was written)")
    classes = triage.load(app.workspace, keys, tip_id).current.class_of()
    with render.byte_progress() as progress:
        items = evidence.inspect(
            app.workspace, keys, tip_id, content, sealed, sharp=set(unblur),
            on_start=progress.start, on_bytes=progress.advance,
        )
    from .sheet import render_sheet

    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(sheet_path, render_sheet(tip_id, items, classes, lang, utc_now()), exclusive=True)
    render.sheet_done(items, sheet_path, classes)


@cli.command("triage")
@click.argument("tip")
@click.option(
    "--category", type=click.Choice(list(CATEGORIES), case_sensitive=False), help="Category code (see `codes`)."
)
@click.option("--priority", type=click.Choice(list(PRIORITIES), case_sensitive=False), help="P1..P4; needs --reason.")
@click.option("--reason", help="Why this priority (required with --priority).")
@click.option(
    "--region", multiple=True, type=RegionCode(), help="Region code, e.g. 18 or 18.09 (repeatable; replaces)."
)
@_codes_option("--target", AGENCIES, "Referral agency code (repeatable; replaces).")
@click.option("--notes", help="Free notes (replace earlier notes; kept encrypted, never sent anywhere).")
@click.option("--status", type=click.Choice(list(STATUSES), case_sensitive=False))
@click.option("--hold-until", type=click.DateTime(formats=["%Y-%m-%d"]), help="With --status hold: the end date.")
@click.option("--hold-reason", type=click.Choice(list(HOLD_REASONS), case_sensitive=False), help="With --status hold.")
@click.option(
    "--disclose",
    type=click.Choice([*AGENCY_KINDS, triage.NO_DISCLOSURE], case_sensitive=False),
    help="The kind of agency the source may be told about on the status page (`codes`), "
    "or none (the default: the source is told nothing about where the report went).",
)
@click.option(
    "--attachment",
    "attachment_number",
    type=click.IntRange(min=1),
    metavar="N",
    help="With --class: the attachment to classify (numbers as on the preview sheet and in `show`).",
)
@click.option(
    "--class",
    "material_class",
    type=click.Choice(list(MATERIAL_CLASSES), case_sensitive=False),
    help="With --attachment: intl-illegal, national-illegal, not-illegal or not-assessed (ICCAM-like).",
)
@pass_app
def triage_command(
    app: App,
    tip: str,
    category: str | None,
    priority: str | None,
    reason: str | None,
    region: tuple[str, ...],
    target: tuple[str, ...],
    notes: str | None,
    status: str | None,
    hold_until: datetime | None,
    hold_reason: str | None,
    disclose: str | None,
    attachment_number: int | None,
    material_class: str | None,
) -> None:
    """Set category, priority, region, agency, notes, status, disclosure or an attachment's class (pilah laporan).

    Every change is kept in the tip's history with the time and your key's
    fingerprint. Run `tipbox-review codes` for the codes. Only the status, the
    hold and the disclosed agency kind ever leave this computer (in
    `dispositions export`).
    """
    change = triage.Change(
        category=category,
        priority=priority,
        reason=reason,
        regions=list(region) or None,
        targets=list(target) or None,
        notes=notes,
        status=status,
        hold_until=hold_until.date() if hold_until else None,
        hold_reason=hold_reason,
        disclose=disclose,
        attachment="?" if attachment_number is not None else None,
        material_class=material_class,
    )
    if change.empty():
        raise InputError("nothing to change: give at least one option (see tipbox-review triage --help)")
    if (attachment_number is None) != (material_class is None):
        raise InputError("--attachment N and --class CLASS go together: which attachment, and what it is")
    tip_id, meta, document, keys = _open(app, tip)
    if attachment_number is not None:
        content, _sealed = conversation.all_attachments(app.workspace, keys, meta, document)
        evidence.check_numbers([attachment_number], len(content), "--attachment")
        change = replace(change, attachment=content[attachment_number - 1].id)
    with app.workspace.lock():
        record = triage.load(app.workspace, keys, tip_id)
        limit = server_facts.hold_limit(app.workspace)
        record, changes = triage.apply_change(record, change, by=keys.fingerprint, now=utc_now(), hold_limit=limit)
        if changes:
            triage.save(app.workspace, keys, record)
    render.triage_changes(tip_id, changes)


@cli.command()
@click.argument("tip")
@click.option(
    "--to",
    "agency",
    required=True,
    type=click.Choice(list(AGENCIES), case_sensitive=False),
    help="The receiving agency (see `codes`).",
)
@click.option("--format", "fmt", type=click.Choice(referral.FORMATS), default="md", show_default=True)
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@lang_option
@pass_app
def refer(app: App, tip: str, agency: str, fmt: str, out_file: Path, lang: str) -> None:
    """Write a referral packet for an agency (buat paket rujukan), marked RAHASIA.

    Needs a triaged priority and category. Never includes the source's contact
    unless the source consented in the tip. Records the referral in the tip's
    history and marks it referred.
    """
    if out_file.exists():
        raise StateConflict(f"{out_file} already exists; refusing to overwrite")
    tip_id, meta, document, keys = _open(app, tip)
    with app.workspace.lock():
        record = triage.load(app.workspace, keys, tip_id)
        current = record.current
        triage.require_referable(current, document.answers.category, tip_id)
        now = utc_now()
        items = _evidence_for_packet(app, meta, document, keys)
        packet = referral.build_packet(
            tip_id, meta, document, current, record.history, agency.upper(), lang, now, items
        )
        if fmt == "md":
            data = referral.to_markdown(packet).encode()
        elif fmt == "json":
            data = referral.to_json(packet)
        else:
            from .pdf import render_pdf

            data = render_pdf(packet)
        write_atomic(out_file, data, exclusive=True)
        digest = hashlib.sha256(data).hexdigest()
        record, _changes = triage.record_referral(
            record, agency=agency.upper(), fmt=fmt, lang=lang, sha256=digest, by=keys.fingerprint, now=now
        )
        triage.save(app.workspace, keys, record)
    render.echo(f"wrote {out_file} ({fmt}, {len(data)} bytes, sha256 {digest})")
    render.echo(
        f"tip {tip_id[:8]} is now {record.current.status.value}; referred to {', '.join(record.current.targets)}"
    )


# --- dispositions / codes ---------------------------------------------------------------------------


@cli.group()
def dispositions() -> None:
    """Signed status changes for the server (disposisi bertanda tangan)."""


@dispositions.command("export")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--all", "everything", is_flag=True, help="List every triaged tip's current state, not only changes.")
@pass_app
def dispositions_export(app: App, out_file: Path, everything: bool) -> None:
    """Write status changes and pending replies since the last export, signed with your key.

    Only tip ids, statuses, hold end dates and hold reason codes, the agency
    kind you chose to disclose (`triage --disclose`), and your pending replies
    (`reply`), each already sealed to the source and the reviewers: no content
    in the clear, no notes. Replies are then marked sent. The operator imports
    the file with `tipbox dispositions import FILE`.

    Tips another channel leads are left out (the server would refuse the whole
    file): their status changes and replies stay in the workspace, and the
    command says how many.

    Forwards and reseals queued with `forward` and `reseal` make the file a
    package: a tar archive (the name then ends in .tar) holding the signed
    file and every re-sealed part, which the operator imports whole.
    """
    if out_file.exists():
        raise StateConflict(f"{out_file} already exists; refusing to overwrite")
    keys = app.keys()
    ws = app.workspace
    with ws.lock():
        queued = handover.load_queued(ws, keys)
        if queued and dispositions_mod.package_name(out_file).exists():
            raise StateConflict(f"{dispositions_mod.package_name(out_file)} already exists; refusing to overwrite")
        listing = tips.load_listing(ws, keys)  # triage records, through the verified cache
        local = channels.led_elsewhere(ws, _directory(ws))
        currents = {t: c for t, c in listing.triage.items() if t not in local}
        state = dispositions_state.load_state(ws, keys)
        replies = conversation.pending_replies(ws, keys, state.replies, keep_local=local)
        export = dispositions_mod.build_export(
            currents, state, keys, utc_now(), everything=everything, replies=replies,
            hold_limit=server_facts.hold_limit(ws), handovers=queued,
        )
        _kept_local(
            dispositions_mod.changed_count(
                {t: c for t, c in listing.triage.items() if t in local}, state, everything=everything
            ),
            conversation.unsent_count(ws, keys, local, state.replies),
        )
        if export.empty:
            render.echo("nothing changed since the last export; no file written (use --all to repeat everything)")
            return
        written = dispositions_mod.write_file(ws, export, out_file)
        dispositions_state.save_state(ws, keys, export.state)  # replies count as sent only once the file exists
        handover.forget(ws, [h.tip_id for h in export.handovers])  # their ciphertext now travels in the package
    counts: dict[str, int] = {}
    for entry in export.entries:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    handed = (
        f", {render.counted(export.forwards, 'forward')}, "
        f"{render.counted(len(export.handovers) - export.forwards, 'reseal')}" if export.package else ""
    )
    render.echo(
        f"wrote {written}: {render.counted(len(export.entries), 'disposition')}"
        + (f" ({summary})" if summary else "")
        + f", {render.counted(export.replies, 'reply', 'replies')}{handed}, id {export.file_id}"
    )
    if export.package:
        render.echo(
            f"{written.name} is a dispositions package (a tar archive: the signed file and the re-sealed tips); "
            f"the operator imports it whole with `tipbox dispositions import {written.name}`"
        )
    resealed = sum(1 for r in replies if r.resealed)
    if resealed:
        render.echo(f"{resealed} pending replies were sealed again to the reviewers of the newest bundle")
    render.echo(f"signed by {keys.fingerprint}")


def _kept_local(entries: int, replies: int) -> None:
    """Say what `dispositions export` left in the workspace because another channel leads those tips."""
    if entries or replies:
        render.echo(
            f"kept local: {render.counted(entries, 'disposition')} and "
            f"{render.counted(replies, 'pending reply', 'pending replies')} for tips another channel leads "
            "(only its reviewers set status, holds, closure, disclosure or reply)"
        )


# --- forward / reseal --------------------------------------------------------------------------------


@cli.command()
@click.argument("tip")
@click.option("--to", "target", required=True, metavar="CHANNEL", help="The channel to hand the tip to (its id).")
@click.option("--lead", is_flag=True, help="Also hand over the lead (only the lead channel's reviewers may).")
@click.option("--note", help="A note to the receiving team (sealed to the tip's readers, never shown to the source).")
@click.option("--note-lang", type=click.Choice(LANGS), default="id", show_default=True, help="The note's language.")
@click.option(
    "--packet",
    "packet_agency",
    type=click.Choice(list(AGENCIES), case_sensitive=False),
    help="Include the referral packet for this agency (as `refer --format md` writes it) in the note.",
)
@pass_app
def forward(
    app: App, tip: str, target: str, lead: bool, note: str | None, note_lang: str, packet_agency: str | None
) -> None:
    """Hand a tip to another channel (teruskan laporan): re-seal it whole for the next dispositions export.

    Every stored part (the report, every attachment, every follow-up and
    reply) is decrypted and the same content sealed to the tip's current
    reviewers and the target channel's (as the signed channel directory of
    your newest bundle lists them); replies also to the source. Only
    ciphertext is written: it waits in the workspace until `dispositions
    export` carries it in a package. The target must have reviewers and not
    hold the tip yet; with --lead it also becomes the lead (then status and
    replies are its). --note adds a note to the receiving team, sealed to every
    reader and never shown to the source; --packet AGENCY adds the referral
    packet to that note (built in memory, never written to disk here). Copies
    already exported to laptops are not affected.
    """
    ws = app.workspace
    tip_id = ws.resolve(tip)
    plan = handover.plan_forward(ws, ws.meta(tip_id), target, lead, note, note_lang)  # before the passphrase
    keys = app.keys()
    with ws.lock():
        if packet_agency is not None:
            plan = _with_packet(app, plan, keys, packet_agency.upper(), note_lang)
        queued = _queue(ws, keys, [plan])
    directory = _directory(ws)
    render.echo(
        f"tip {tip_id[:8]} re-sealed to {render.counted(queued[0].recipients, 'reviewer')} "
        f"({render.counted(len(queued[0].parts), 'part')}) for channel {channels.label(target.strip(), directory)}"
        + (", with the lead" if lead else "")
        + "; `dispositions export` carries it to the server"
    )


def _evidence_for_packet(
    app: App, meta: TipMeta, document: TipDocument, keys: Keys
) -> list[evidence.Evidence] | None:
    """The hashes (and PDQ) of every attachment for a referral packet's evidence list; never the media."""
    content, sealed = conversation.all_attachments(app.workspace, keys, meta, document)
    if not content:
        return None
    with render.byte_progress() as progress:
        return evidence.inspect(
            app.workspace, keys, meta.id, content, sealed, on_start=progress.start, on_bytes=progress.advance
        )


def _with_packet(app: App, plan: handover.Target, keys: Keys, agency: str, lang: str) -> handover.Target:
    """The forward's note with the referral packet appended, as Markdown (the same packet `refer` writes)."""
    meta = plan.meta
    document = tips.open_payload(app.workspace, keys, meta)
    record = triage.load(app.workspace, keys, meta.id)
    triage.require_referable(record.current, document.answers.category, meta.id)
    items = _evidence_for_packet(app, meta, document, keys)
    packet = referral.build_packet(
        meta.id, meta, document, record.current, record.history, agency, lang, utc_now(), items
    )
    text = "\n\n".join(part for part in (plan.note, referral.to_markdown(packet)) if part)
    return replace(plan, note=conversation.check_text(text, "note with its referral packet"))


@cli.command()
@click.option("--channel", "channel", required=True, metavar="ID", help="Your channel whose tips to re-seal.")
@click.option("--all", "everything", is_flag=True, help="Re-seal every tip the channel holds, not only stale ones.")
@pass_app
def reseal(app: App, channel: str, everything: bool) -> None:
    """Re-seal a channel's tips to its current reviewers after one left (segel ulang).

    Needs a bundle exported AFTER the change (`tipbox reviewers remove`): its
    per-tip reviewers no longer list the removed key. A tip is stale when the
    key fingerprint it was sealed to is not that of its current reviewers;
    each stale tip is re-sealed whole (like `forward`) and queued for the
    next `dispositions export`. Afterwards the removed key opens nothing the
    server keeps; copies already exported to laptops cannot be taken back.
    """
    ws = app.workspace
    plan = handover.plan_reseal(ws, channel, everything)
    if not plan.targets:
        render.echo(
            f"nothing to re-seal: {render.counted(plan.current, 'tip')} of channel {channel.strip()} "
            "already sealed to its current reviewers (as the newest bundle lists them)"
            + (f", {plan.waiting} already queued" if plan.waiting else "")
        )
        return
    keys = app.keys()
    with ws.lock():
        queued = _queue(ws, keys, plan.targets)
    render.echo(
        f"re-sealed {render.counted(len(queued), 'tip')} of channel {channel.strip()} to their current reviewers"
        f" ({plan.current} already current" + (f", {plan.waiting} already queued" if plan.waiting else "")
        + "); `dispositions export` carries them to the server"
    )


def _queue(ws: Workspace, keys: Keys, targets: Sequence[handover.Target]) -> list[handover.Queued]:
    """Re-seal and queue each target, with a progress bar over the ciphertext read."""
    sources = conversation.load_sources(ws, keys)
    total = sum(p.size for t in targets for p in t.meta.entry.files())
    out = []
    with render.byte_progress() as progress:
        progress.start("re-sealing", total)
        for target in targets:
            out.append(handover.queue(ws, keys, target, sources, on_part=progress.advance))
    return out


# --- audit -------------------------------------------------------------------------------------------


@cli.group()
def audit() -> None:
    """Check a server's audit log and retention (no key needed) / Periksa log audit."""


@audit.command("verify")
@click.argument("log_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--server-key", help="The server's Ed25519 public key (base64), obtained out of band.")
@click.option("--policy", "policy_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The published retention policy (JSON) to judge against, instead of the log's own.")
@click.option("--at", "at_text", help="Judge compliance at this UTC time (default: the last checkpoint).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path), help="Also write an HTML report.")
@pass_app
def audit_verify(app: App, log_file: Path, server_key: str | None, policy_file: Path | None, at_text: str | None,
                 as_json: bool, html_file: Path | None) -> int:
    """Verify the chain, the signed checkpoints and every tip's retention; exit 2 on any violation."""
    key = server_key or app.workspace.pinned_key()
    report = audit_report.verify_file(log_file, key, audit_report.load_policy(policy_file),
                                      audit_report.parse_at(at_text))
    if html_file is not None:
        write_atomic(html_file, audit_report.html_report(report, log_file.name).encode(), exclusive=True)
    if as_json:
        render.echo(json.dumps(report.as_json(), indent=2, sort_keys=True))
    else:
        render.audit_report(report, pinned=key is not None)
    return EXIT_OK if report.ok else EXIT_VERIFY


@cli.command("codes")
def codes_command() -> None:
    """List every code: categories, priorities, statuses, hold reasons, agencies, agency kinds."""
    render.codes()


def main() -> None:
    cli.main(prog_name=PROG)
