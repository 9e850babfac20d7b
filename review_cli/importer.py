"""`tipbox-review import`: verify an export bundle and copy its ciphertext in.

Order of work, so that bad input touches nothing:

1. read the signed manifest and compare its signer with the pinned server key
   (first import: the key is pinned; a different key later is refused);
2. verify the whole bundle (crypto.bundle.verify_bundle: signature, every
   member's presence, size and SHA-256, no extra members);
3. read the bundle once more, re-checking each member's hash while copying
   (the file could change between two reads) into a staging directory inside
   the workspace, and open every new tip's payload and every new message
   (FORMAT.md §13: a follow-up with crypto.messages.open_message(kind=MessageKind.FOLLOWUP)
   and its attachment list compared with the bundle's, a reply with
   kind=MessageKind.REPLY) in memory: a tip or message sealed to someone else, an
   unknown version, an attachment list that does not match the bundle, refuse
   the whole import;
4. only then move the files into place, the sealed source recipients
   (``sources.age``) next and ``meta.json`` last, so a tip is either fully
   imported or not there at all; finally remember the bundle's ``reviewers``
   list (``reviewers.json``) unless an already imported bundle is newer.

Before step 3, a bundle from a server with channels (FORMAT.md §14) has its
channel directory verified against the pinned key, and the export of a channel
whose manifest does not list this reviewer is refused (review_cli/channels.py).

Re-importing the same bundle, or one that overlaps, skips identical tips and
messages; a later bundle adds the messages a tip gained (the tip's signed entry
must be the same, else it is a conflict; so is a message or source recipient
that differs from the one already imported). A tip's channels and reviewers are
the exception: the newest bundle's stand, since a channel gains and loses
reviewers (a reply is sealed to the current ones).

A tip forwarded or re-sealed (FORMAT.md §10.2) comes back with the same entry
but other ciphertext (sizes, SHA-256, key fingerprint). Every part that changed
is opened, old and new, and their plaintexts compared (SHA-256, padding
included): equal, the new ciphertext replaces the old and the summary says
"re-sealed"; different, the whole import is refused (exit 2): someone changed
the content under cover of a re-seal, which the server cannot see.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from crypto import bundle
from crypto.bundle import BundleFileEntry, BundleManifest, BundleMessage, BundleTip
from crypto.errors import BundleInvalid, NoMatchingIdentity, TipboxCryptoError
from crypto.payload import TipDocument
from crypto.signing import key_fingerprint
from crypto.vocabulary import MessageKind

from . import channels, conversation, server_facts
from .errors import NotSealedToYou, StateConflict, VerificationError
from .index import Index
from .resealing import plaintext_sha256
from .tips import open_sealed_tip
from .workspace import Keys, TipMeta, Workspace, short

_COPY = 1024 * 1024


@dataclass(frozen=True)
class Signer:
    key: str
    fingerprint: str
    pin_now: bool  # first import into this workspace


@dataclass
class ImportReport:
    signer: Signer
    new: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    resealed: list[str] = field(default_factory=list)  # forwarded or re-sealed: same plaintext, new ciphertext
    skipped: list[str] = field(default_factory=list)  # not sealed to this reviewer (with --skip-unreadable)
    attachments: int = 0
    sealed_by_mismatch: list[str] = field(default_factory=list)
    followups: int = 0  # new follow-ups from sources
    followup_attachments: int = 0
    replies: int = 0  # new replies the server published
    notes: int = 0  # new notes a forwarding team sent with a forward
    skipped_messages: int = 0  # not sealed to this reviewer (with --skip-unreadable)
    message_sealed_by_mismatch: list[tuple[str, str]] = field(default_factory=list)  # (tip id, message id)
    reviewers_updated: bool = False
    directory: channels.Directory | None = None  # the bundle's verified channel facts, if it had any


def check_signer(ws: Workspace, path: Path, expect_fingerprint: str | None) -> Signer:
    """Verify the manifest's signature and compare the signer with the pinned key."""
    _manifest, key = bundle.read_manifest(path, None)
    fingerprint = key_fingerprint(key)
    pinned = ws.pinned_key()
    if pinned is not None and pinned != key:
        raise VerificationError(
            f"REFUSED: this bundle is signed by server key {fingerprint}, but this workspace trusts "
            f"{key_fingerprint(pinned)}. Do not import it unless the operator confirms, out of band, "
            "that the server key was replaced (then use a new workspace)."
        )
    if expect_fingerprint is not None and expect_fingerprint.strip().upper() != fingerprint:
        raise VerificationError(
            f"REFUSED: this bundle is signed by server key {fingerprint}, not the {expect_fingerprint.strip()} "
            "you expected"
        )
    return Signer(key, fingerprint, pinned is None)


def _signed_entry(tip: BundleTip) -> BundleTip:
    """The parts of a tip's entry that must never change between bundles (its thread and routing may)."""
    return replace(tip, source_recipient=None, messages=(), channels=None, reviewers=None)


_Entry = TypeVar("_Entry", bound=BundleFileEntry)


def _unsealed(entry: _Entry) -> _Entry:
    """An entry without what a re-seal changes (its ciphertext's size and SHA-256)."""
    return replace(entry, size=0, sha256="")


def _content_message(message: BundleMessage) -> BundleMessage:
    return replace(_unsealed(message), attachments=tuple(_unsealed(a) for a in message.attachments))


def _content_entry(tip: BundleTip) -> BundleTip:
    """The signed entry as a re-seal (FORMAT.md §10.2) leaves it: the same parts, hours and sealers, any ciphertext.

    Two entries equal here but not in :func:`_signed_entry` are the same tip
    sealed again (a forward or a reseal): accepted only once every changed part
    is shown to hold exactly the plaintext the workspace holds.
    """
    return replace(
        _signed_entry(tip),
        key_fingerprint=None,
        payload=_unsealed(tip.payload),
        attachments=tuple(_unsealed(a) for a in tip.attachments),
    )


def _routing(tip: BundleTip) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    return tip.channels, tip.reviewers


def _sizes_match(files: list[tuple[Path, BundleFileEntry]]) -> bool:
    for path, entry in files:
        try:
            if path.stat().st_size != entry.size:
                return False
        except FileNotFoundError:
            return False
    return True


def _local_copy_intact(ws: Workspace, tip: BundleTip) -> bool:
    files: list[tuple[Path, BundleFileEntry]] = [(ws.payload_path(tip.id), tip.payload)]
    files += [(ws.attachment_path(tip.id, a.id), a) for a in tip.attachments]
    return _sizes_match(files)


def _message_intact(ws: Workspace, tip_id: str, message: BundleMessage) -> bool:
    files: list[tuple[Path, BundleFileEntry]] = [(ws.message_path(tip_id, message.id), message)]
    files += [(ws.attachment_path(tip_id, a.id), a) for a in message.attachments]
    return _sizes_match(files)


def _check_attachment_ids(tip: BundleTip, existing: TipMeta | None) -> None:
    """Follow-ups never reuse a file name (crypto/bundle.py has checked each path matches its id)."""
    taken = {a.id for a in tip.attachments}
    stored = {m.id for m in existing.messages} if existing else set()
    for m in existing.messages if existing else ():
        taken |= {a.id for a in m.attachments}
    for message in tip.messages:
        for a in message.attachments:
            if message.id not in stored and a.id in taken:
                raise VerificationError(
                    f"tip {short(tip.id)}: a follow-up attachment reuses the id of another file; nothing was imported"
                )
            taken.add(a.id)


@dataclass
class _Plan:
    """What one tip of the bundle needs: its own files (new or repaired) and which messages."""

    tip: BundleTip
    existing: TipMeta | None
    core: bool  # stage the payload and the tip's own attachments
    messages: list[BundleMessage]  # message entries to stage (new or repaired)
    new_messages: set[str]  # ids not yet in meta.json
    skipped: bool = False
    document: TipDocument | None = None
    rerouted: bool = False  # the bundle gives the tip other channels or reviewers than meta.json has
    # Re-sealed parts (a forward or a reseal): bundle path -> the workspace file it replaces, whose
    # plaintext it must hold exactly.
    resealed: dict[str, Path] = field(default_factory=dict)


def _plan(ws: Workspace, tip: BundleTip) -> _Plan:
    existing = ws.read_meta(tip.id)
    _check_attachment_ids(tip, existing)
    incoming = list(tip.messages)
    if existing is None:
        return _Plan(tip, None, True, incoming, {m.id for m in incoming})
    if _content_entry(existing.entry) != _content_entry(tip):
        raise StateConflict(
            f"tip {short(tip.id)} is already in the workspace with different signed contents; nothing was imported"
        )
    resealed: dict[str, Path] = {}
    if _signed_entry(existing.entry) != _signed_entry(tip):
        resealed.update(_changed_files(ws, tip.id, [(existing.payload, tip.payload)]))
        resealed.update(_changed_files(ws, tip.id, list(zip(existing.attachments, tip.attachments, strict=True))))
    stored = {m.id: m for m in existing.messages}
    stage, new = [], set()
    for message in incoming:
        old = stored.get(message.id)
        if old is None:
            stage.append(message)
            new.add(message.id)
        elif _content_message(old) != _content_message(message):
            raise StateConflict(
                f"a message of tip {short(tip.id)} is already in the workspace with different signed contents; "
                "nothing was imported"
            )
        elif old != message:  # the same message, sealed again
            resealed.update(_changed_files(ws, tip.id, [(old, message)]))
            resealed.update(_changed_files(ws, tip.id, list(zip(old.attachments, message.attachments, strict=True))))
            stage.append(message)
        elif not _message_intact(ws, tip.id, message):
            stage.append(message)
    core = bool(resealed) or not _local_copy_intact(ws, tip)
    plan = _Plan(tip, existing, core, stage, new, resealed=resealed)
    plan.rerouted = tip.channels is not None and _routing(tip) != _routing(existing.entry)
    return plan


def _changed_files(
    ws: Workspace, tip_id: str, pairs: list[tuple[BundleFileEntry, BundleFileEntry]]
) -> dict[str, Path]:
    """Bundle path -> workspace file, for each part whose ciphertext the bundle changed (it was re-sealed)."""
    return {new.path: _workspace_file(ws, tip_id, new.path) for old, new in pairs if old != new}


def _workspace_file(ws: Workspace, tip_id: str, bundle_path: str) -> Path:
    """Where a bundle member (``tips/<id>/...``) lives in the workspace."""
    return ws.tip_dir(tip_id) / bundle_path.split("/", 2)[2]


def _stage_members(
    path: Path, wanted: Mapping[str, tuple[str, BundleFileEntry]], staging: Path, on_bytes: Callable[[int], None]
) -> dict[str, Path]:
    """Copy the wanted members to ``staging``, re-checking size and SHA-256; return path -> staged file."""
    staged: dict[str, Path] = {}
    try:
        with tarfile.open(path, mode="r:") as tar:
            for member in tar:
                item = wanted.get(member.name)
                if item is None:
                    continue
                staged_name, entry = item
                handle = tar.extractfile(member)
                if handle is None or member.size != entry.size:
                    raise BundleInvalid("the bundle changed while it was being imported")
                target = staging / staged_name
                digest = hashlib.sha256()
                with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                    while chunk := handle.read(_COPY):
                        digest.update(chunk)
                        out.write(chunk)
                        on_bytes(len(chunk))
                if digest.hexdigest() != entry.sha256:
                    raise BundleInvalid("the bundle changed while it was being imported")
                staged[member.name] = target
    except (tarfile.TarError, EOFError) as exc:
        raise BundleInvalid(f"bundle is truncated or corrupted ({type(exc).__name__})") from None
    if len(staged) != len(wanted):
        raise BundleInvalid("the bundle changed while it was being imported")
    return staged


def _wanted(plans: list[_Plan]) -> dict[str, tuple[str, BundleFileEntry]]:
    """Bundle path -> (name in the staging directory, manifest entry) of every file to copy in."""
    wanted: dict[str, tuple[str, BundleFileEntry]] = {}
    for n, plan in enumerate(plans):
        tip = plan.tip
        if plan.core:
            wanted[tip.payload.path] = (f"{n}.payload", tip.payload)
            for m, attachment in enumerate(tip.attachments):
                wanted[attachment.path] = (f"{n}.{m}.attachment", attachment)
        for m, message in enumerate(plan.messages):
            wanted[message.path] = (f"{n}.{m}.message", message)
            for k, attachment in enumerate(message.attachments):
                wanted[attachment.path] = (f"{n}.{m}.{k}.message-attachment", attachment)
    return wanted


def import_bundle(
    ws: Workspace,
    keys: Keys,
    path: Path,
    signer: Signer,
    *,
    skip_unreadable: bool = False,
    on_bytes: Callable[[int], None] = lambda n: None,
) -> ImportReport:
    manifest = bundle.verify_bundle(path, [signer.key]).manifest
    report = ImportReport(signer, directory=channels.check_bundle(manifest, signer.key, keys.recipient))
    plans = [_plan(ws, tip) for tip in manifest.tips]
    sources = conversation.load_sources(ws, keys) if any(t.source_recipient for t in manifest.tips) else {}
    for tip in manifest.tips:
        known, given = sources.get(tip.id), tip.source_recipient
        if known and given and known != given:
            raise StateConflict(
                f"tip {short(tip.id)} is already in the workspace with a different source recipient; "
                "nothing was imported"
            )

    ws.ensure()
    staging = ws.root / f".import-{secrets.token_hex(8)}"
    staging.mkdir(mode=0o700)
    try:
        staged = _stage_members(path, _wanted(plans), staging, on_bytes)
        for plan in plans:
            _verify(plan, staged, keys, report, skip_unreadable)
        if signer.pin_now:
            ws.pin(signer.key)
        kept = [p for p in plans if not p.skipped]
        if not server_facts.is_newest(ws, manifest):
            for plan in kept:
                plan.rerouted = False  # an older bundle's routing never replaces a newer one's
        _commit(ws, keys, manifest, signer, kept, staged, sources, report)
        if manifest.reviewers is not None or manifest.policy is not None or report.directory is not None:
            report.reviewers_updated = server_facts.remember(ws, manifest, signer.fingerprint, report.directory)
        report.skipped = [p.tip.id for p in plans if p.skipped]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _commit(
    ws: Workspace,
    keys: Keys,
    manifest: BundleManifest,
    signer: Signer,
    kept: list[_Plan],
    staged: Mapping[str, Path],
    sources: Mapping[str, str],
    report: ImportReport,
) -> None:
    """Move the verified files into place: files, then sources.age, then each meta.json; then the cache."""
    index = Index.load(ws, keys)
    active = [p for p in kept if p.core or p.messages or p.rerouted]
    for plan in active:
        _place(ws, plan, staged)
    _sync()
    updated = dict(sources)
    for plan in kept:
        if plan.tip.source_recipient:
            updated[plan.tip.id] = plan.tip.source_recipient
    if updated != sources:
        conversation.save_sources(ws, keys, updated)  # before meta.json: a tip is complete or absent
    for plan in active:
        tip = plan.tip
        earlier = plan.existing.messages if plan.existing else ()
        restaged = {m.id: m for m in plan.messages}  # a re-sealed message keeps its place, with its new entry
        messages = (
            *(restaged.get(m.id, m) for m in earlier),
            *(m for m in plan.messages if m.id in plan.new_messages),
        )
        entry = replace(tip, source_recipient=None, messages=messages)
        if plan.existing is not None and not plan.rerouted:
            entry = replace(entry, channels=plan.existing.entry.channels, reviewers=plan.existing.entry.reviewers)
        if plan.existing is not None and (plan.existing.bundle_created or plan.existing.bundle_signer):
            meta = replace(plan.existing, entry=entry)  # keeps which bundle first brought the tip
        else:
            meta = TipMeta(entry, manifest.created, signer.fingerprint)
        ws.write_meta(meta)
        if plan.core:
            assert plan.document is not None
            index.put_tip(tip.id, tip.payload.sha256, plan.document)
            if plan.existing is None:
                report.new.append(tip.id)
                report.attachments += len(tip.attachments)
        for message in plan.messages:
            if message.id not in plan.new_messages:
                continue
            if message.kind == MessageKind.FOLLOWUP:
                report.followups += 1
                report.followup_attachments += len(message.attachments)
            elif message.kind == MessageKind.NOTE:
                report.notes += 1
            else:
                report.replies += 1
    for plan in kept:
        if plan.existing is not None:
            if plan.resealed:
                report.resealed.append(plan.tip.id)
            elif plan.core or any(m.id not in plan.new_messages for m in plan.messages):
                report.repaired.append(plan.tip.id)
            else:
                report.present.append(plan.tip.id)
    _sync()
    index.save(ws, keys)


def _verify(plan: _Plan, staged: Mapping[str, Path], keys: Keys, report: ImportReport, skip_unreadable: bool) -> None:
    """Open what is new in memory; refuse the whole import on anything wrong (or skip what is not ours)."""
    tip = plan.tip
    if plan.core:
        try:
            document = open_sealed_tip(staged[tip.payload.path].read_bytes(), tip.id, keys)
        except NotSealedToYou as exc:
            if skip_unreadable:
                plan.skipped = True
                return
            raise VerificationError(f"{exc}; nothing was imported (--skip-unreadable imports the others)") from None
        except VerificationError as exc:
            raise VerificationError(f"{exc}; nothing was imported") from None
        in_payload = sorted(a.id for a in document.attachments)
        in_bundle = sorted(a.id for a in tip.attachments)
        if in_payload != in_bundle:
            missing = len(set(in_payload) - set(in_bundle))
            extra = len(set(in_bundle) - set(in_payload))
            raise VerificationError(
                f"tip {short(tip.id)}: the bundle lacks {missing} attachment(s) the tip lists and holds "
                f"{extra} it does not list; nothing was imported"
            )
        if document.sealed_by != tip.sealed_by:
            report.sealed_by_mismatch.append(tip.id)
        plan.document = document
    readable = []
    for message in plan.messages:
        try:
            opened = conversation.open_message_bytes(staged[message.path].read_bytes(), keys, tip.id, message)
        except NotSealedToYou as exc:
            if skip_unreadable:
                report.skipped_messages += 1
                continue
            raise VerificationError(f"{exc}; nothing was imported (--skip-unreadable imports the others)") from None
        except VerificationError as exc:
            raise VerificationError(f"{exc}; nothing was imported") from None
        if opened.sealed_by != message.sealed_by:
            report.message_sealed_by_mismatch.append((tip.id, message.id))
        readable.append(message)
    plan.messages = readable
    for bundle_path, local in plan.resealed.items():
        if bundle_path in staged:
            _same_plaintext(staged[bundle_path], local, keys, tip.id)


def _same_plaintext(new: Path, old: Path, keys: Keys, tip_id: str) -> None:
    """A re-sealed part must hold exactly what the workspace holds (FORMAT.md §10.2's tamper check).

    A reviewer of any channel holding a tip can re-seal it, and the server can
    only check that each part keeps its padded length; so every part whose
    ciphertext changed is opened, old and new, and their plaintexts (padding
    included) compared by SHA-256. Anything else refuses the whole import.
    """
    what = f"tip {short(tip_id)}"
    try:
        before = plaintext_sha256(old, keys.age)
    except (TipboxCryptoError, OSError):
        raise VerificationError(
            f"{what} was re-sealed, but its copy in the workspace cannot be opened to compare; nothing was imported"
        ) from None
    try:
        after = plaintext_sha256(new, keys.age)
    except NoMatchingIdentity:
        raise NotSealedToYou(f"{what} was re-sealed without your key; nothing was imported") from None
    except TipboxCryptoError as exc:
        raise VerificationError(f"{what}: a re-sealed part cannot be opened ({exc}); nothing was imported") from None
    if before != after:
        raise VerificationError(
            f"REFUSED: {what} was re-sealed with different content than this workspace holds "
            "(content changed by a re-seal: possible tampering by a reviewer of a channel holding it); "
            "nothing was imported: tell the operator and the other channels out of band"
        )


def _place(ws: Workspace, plan: _Plan, staged: Mapping[str, Path]) -> None:
    tip = plan.tip
    directory = ws.tip_dir(tip.id)
    directory.mkdir(mode=0o700, exist_ok=True)
    if tip.attachments or any(m.attachments for m in plan.messages):
        (directory / "attachments").mkdir(mode=0o700, exist_ok=True)
    if plan.core:
        os.replace(staged[tip.payload.path], ws.payload_path(tip.id))
        for attachment in tip.attachments:
            os.replace(staged[attachment.path], ws.attachment_path(tip.id, attachment.id))
    if plan.messages:
        (directory / "messages").mkdir(mode=0o700, exist_ok=True)
    for message in plan.messages:
        os.replace(staged[message.path], ws.message_path(tip.id, message.id))
        for attachment in message.attachments:
            os.replace(staged[attachment.path], ws.attachment_path(tip.id, attachment.id))


def _sync() -> None:
    """Flush once for the whole import instead of once per small file."""
    if hasattr(os, "sync"):
        os.sync()
