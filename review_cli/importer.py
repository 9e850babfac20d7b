"""`tipbox-review import`: verify an export bundle and copy its ciphertext in.

Order of work, so that bad input touches nothing:

1. read the signed manifest and compare its signer with the pinned server key
   (first import: the key is pinned; a different key later is refused);
2. verify the whole bundle (crypto.bundle.verify_bundle: signature, every
   member's presence, size and SHA-256, no extra members);
3. read the bundle once more, re-checking each member's hash while copying
   (the file could change between two reads) into a staging directory inside
   the workspace, and open every new tip's payload in memory: a tip sealed to
   someone else, an unknown payload version, a payload whose attachment list
   does not match the bundle, refuse the whole import;
4. only then move the files into place, ``meta.json`` last, so a tip is either
   fully imported or not there at all.

Re-importing the same bundle, or one that overlaps, skips identical tips; a tip
whose signed entry differs from the one already imported is a conflict.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crypto import bundle
from crypto.errors import BundleInvalid
from crypto.signing import key_fingerprint

from .errors import NotSealedToYou, StateConflict, VerificationError
from .tips import Index, open_sealed_tip, short
from .workspace import Keys, Workspace, write_atomic

ENTRY_KEYS = ("id", "received", "sealed_by", "key_fingerprint", "payload", "attachments")
_COPY = 1024 * 1024


@dataclass
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
    skipped: list[str] = field(default_factory=list)  # not sealed to this reviewer (with --skip-unreadable)
    attachments: int = 0
    sealed_by_mismatch: list[str] = field(default_factory=list)


def check_signer(ws: Workspace, path: Path, expect_fingerprint: str | None) -> Signer:
    """Verify the manifest's signature and compare the signer with the pinned key."""
    _body, key = bundle.read_manifest(path, None)
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


def _entry(tip: Mapping[str, Any]) -> dict[str, Any]:
    return {k: tip.get(k) for k in ENTRY_KEYS}


def _local_copy_intact(ws: Workspace, tip: Mapping[str, Any]) -> bool:
    files = [(ws.payload_path(tip["id"]), tip["payload"])]
    files += [(ws.attachment_path(tip["id"], a["id"]), a) for a in tip.get("attachments", [])]
    for path, entry in files:
        try:
            if path.stat().st_size != entry["size"]:
                return False
        except FileNotFoundError:
            return False
    return True


def _stage_members(
    path: Path, wanted: Mapping[str, tuple[str, Mapping[str, Any]]], staging: Path, on_bytes: Callable[[int], None]
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
                if handle is None or member.size != entry["size"]:
                    raise BundleInvalid("the bundle changed while it was being imported")
                target = staging / staged_name
                digest = hashlib.sha256()
                with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                    while chunk := handle.read(_COPY):
                        digest.update(chunk)
                        out.write(chunk)
                        on_bytes(len(chunk))
                if digest.hexdigest() != entry["sha256"]:
                    raise BundleInvalid("the bundle changed while it was being imported")
                staged[member.name] = target
    except (tarfile.TarError, EOFError) as exc:
        raise BundleInvalid(f"bundle is truncated or corrupted ({type(exc).__name__})") from None
    if len(staged) != len(wanted):
        raise BundleInvalid("the bundle changed while it was being imported")
    return staged


def import_bundle(
    ws: Workspace,
    keys: Keys,
    path: Path,
    signer: Signer,
    *,
    skip_unreadable: bool = False,
    on_bytes: Callable[[int], None] = lambda n: None,
) -> ImportReport:
    verified = bundle.verify_bundle(path, [signer.key])
    report = ImportReport(signer)
    todo: list[dict[str, Any]] = []
    for tip in verified.body["tips"]:
        existing = ws.read_meta(tip["id"])
        if existing is None:
            todo.append(tip)
        elif _entry(existing) != _entry(tip):
            raise StateConflict(
                f"tip {short(tip['id'])} is already in the workspace with different signed contents; "
                "nothing was imported"
            )
        elif _local_copy_intact(ws, tip):
            report.present.append(tip["id"])
        else:
            todo.append(tip)
            report.repaired.append(tip["id"])

    wanted: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for n, tip in enumerate(todo):
        wanted[tip["payload"]["path"]] = (f"{n}.payload", tip["payload"])
        for m, attachment in enumerate(tip.get("attachments", [])):
            wanted[attachment["path"]] = (f"{n}.{m}.attachment", attachment)

    ws.ensure()
    staging = ws.root / f".import-{secrets.token_hex(8)}"
    staging.mkdir(mode=0o700)
    try:
        staged = _stage_members(path, wanted, staging, on_bytes)
        opened: dict[str, dict[str, Any]] = {}
        unreadable: list[str] = []
        for tip in todo:
            try:
                document = open_sealed_tip(staged[tip["payload"]["path"]].read_bytes(), tip["id"], keys)
            except NotSealedToYou as exc:
                if skip_unreadable:
                    unreadable.append(tip["id"])
                    continue
                raise VerificationError(f"{exc}; nothing was imported (--skip-unreadable imports the others)") from None
            except VerificationError as exc:
                raise VerificationError(f"{exc}; nothing was imported") from None
            in_payload = sorted(a["id"] for a in document["attachments"])
            in_bundle = sorted(a["id"] for a in tip.get("attachments", []))
            if in_payload != in_bundle:
                missing = len(set(in_payload) - set(in_bundle))
                extra = len(set(in_bundle) - set(in_payload))
                raise VerificationError(
                    f"tip {short(tip['id'])}: the bundle lacks {missing} attachment(s) the tip lists and holds "
                    f"{extra} it does not list; nothing was imported"
                )
            if document["sealed_by"] != tip["sealed_by"]:
                report.sealed_by_mismatch.append(tip["id"])
            opened[tip["id"]] = document

        if signer.pin_now:
            ws.pin(signer.key)
        index = Index.load(ws, keys)
        commit = [t for t in todo if t["id"] in opened]
        for tip in commit:
            _place(ws, tip, staged)
        _sync()
        for tip in commit:
            meta = {**_entry(tip), "bundle": {"created": verified.body.get("created"), "signer": signer.fingerprint}}
            write_atomic(ws.meta_path(tip["id"]), json.dumps(meta, indent=1).encode() + b"\n", mode=0o600, fsync=False)
            index.put_tip(tip["id"], tip["payload"]["sha256"], opened[tip["id"]])
            if tip["id"] not in report.repaired:
                report.new.append(tip["id"])
            report.attachments += len(tip.get("attachments", []))
        _sync()
        index.save(ws, keys)
        report.skipped = unreadable
        report.repaired = [t for t in report.repaired if t in opened]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _place(ws: Workspace, tip: Mapping[str, Any], staged: Mapping[str, Path]) -> None:
    directory = ws.tip_dir(tip["id"])
    directory.mkdir(mode=0o700, exist_ok=True)
    if tip.get("attachments"):
        (directory / "attachments").mkdir(mode=0o700, exist_ok=True)
    os.replace(staged[tip["payload"]["path"]], ws.payload_path(tip["id"]))
    for attachment in tip.get("attachments", []):
        os.replace(staged[attachment["path"]], ws.attachment_path(tip["id"], attachment["id"]))


def _sync() -> None:
    """Flush once for the whole import instead of once per small file."""
    if hasattr(os, "sync"):
        os.sync()
