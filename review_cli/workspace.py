"""The reviewer's workspace: a directory of ciphertext and self-sealed records.

Layout (DIR defaults to ``platformdirs.user_data_dir("tipbox-review")``)::

    DIR/identity.age                     passphrase-protected reviewer identity (crypto/FORMAT.md §5)
    DIR/pinned-server-key.json           the server's Ed25519 public key, pinned on first import
    DIR/tips/<id>/meta.json              the tip's signed-manifest entry: received hour, sealed_by,
                                         sizes and SHA-256 of the age files (no plaintext)
    DIR/tips/<id>/payload.age            the sealed tip, exactly as exported by the server
    DIR/tips/<id>/attachments/<aid>.age  each sealed attachment (the tip's and its follow-ups'), as exported
    DIR/tips/<id>/messages/<mid>.age     each follow-up and published reply (FORMAT.md §13), as exported
    DIR/triage/<id>.age                  the reviewer's triage record and its history,
                                         age-encrypted to the reviewer's own recipient
    DIR/index.age                        a cache of what `list` shows, also sealed to the reviewer
    DIR/dispositions.age                 what earlier `dispositions export` runs sent, sealed likewise
    DIR/sources.age                      each tip's source recipient (replies are sealed to it), sealed likewise
    DIR/reviewers.json                   the reviewers' recipients from the newest imported bundle (public)
    DIR/replies/<id>.age                 replies written to a tip's source, sealed to the reviewer (each one
                                         holds the reply as sealed to the source and the reviewers)

Everything written here goes through :func:`write_atomic` (a temporary file in
the same directory, then ``os.replace``), so a crash never leaves half a file.
Plaintext of a tip exists only in memory; anything the reviewer writes about a
tip (triage notes reveal content) is sealed to the reviewer's own key with age
and Padmé padding, like everything else tipbox stores.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crypto import envelope, padding
from crypto.errors import MalformedPadding, TipboxCryptoError
from crypto.identity import ReviewerIdentity
from crypto.signing import canonical_json, key_fingerprint

from .errors import InputError, StateConflict, VerificationError

TIP_ID = re.compile(r"^[0-9a-f]{32}\Z")
PREFIX = re.compile(r"^[0-9a-f]{1,32}\Z")
ISO = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ISO)


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600, fsync: bool = True, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory.

    ``exclusive`` refuses to replace an existing file (the final step is a hard
    link, which fails if the name exists; on file systems without hard links,
    e.g. FAT on a USB stick, an existence check followed by a rename).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if exclusive and path.exists():
        raise StateConflict(f"{path} already exists; refusing to overwrite")
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.partial")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        if exclusive:
            commit_exclusive(temp, path)
        else:
            os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def commit_exclusive(temp: Path, final: Path) -> None:
    """Move ``temp`` to ``final`` unless ``final`` exists (then StateConflict)."""
    try:
        os.link(temp, final)
    except FileExistsError:
        raise StateConflict(f"{final} already exists; refusing to overwrite") from None
    except OSError:
        if final.exists():
            raise StateConflict(f"{final} already exists; refusing to overwrite") from None
        os.rename(temp, final)
        return
    temp.unlink()


@dataclass(frozen=True)
class Keys:
    """A loaded reviewer identity with its parsed age key, computed once per command."""

    identity: ReviewerIdentity
    age: envelope.Identity
    recipient: str
    fingerprint: str  # of the derived Ed25519 signing key: who made a triage change

    @classmethod
    def of(cls, identity: ReviewerIdentity) -> Keys:
        return cls(identity, identity.age_identity, identity.recipient, key_fingerprint(identity.signing_public_key))


def seal_record(document: Mapping[str, Any], keys: Keys) -> bytes:
    """A JSON record sealed (age + Padmé) to the reviewer's own recipient."""
    return envelope.seal_bytes(padding.pad(canonical_json(document)), [keys.recipient])


def open_record(data: bytes, keys: Keys, what: str) -> dict[str, Any]:
    try:
        document = json.loads(padding.unpad(envelope.open_bytes(data, [keys.age])))
    except MalformedPadding:
        raise VerificationError(f"{what} is damaged (bad padding)") from None
    except TipboxCryptoError as exc:
        raise VerificationError(f"{what} cannot be opened with this identity: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise VerificationError(f"{what} is damaged (not JSON)") from None
    if not isinstance(document, dict):
        raise VerificationError(f"{what} is damaged (not an object)")
    return document


@dataclass(frozen=True)
class Workspace:
    root: Path

    # --- layout ---------------------------------------------------------------------------------

    @property
    def default_identity(self) -> Path:
        return self.root / "identity.age"

    @property
    def pin_file(self) -> Path:
        return self.root / "pinned-server-key.json"

    @property
    def tips_dir(self) -> Path:
        return self.root / "tips"

    @property
    def triage_dir(self) -> Path:
        return self.root / "triage"

    @property
    def index_file(self) -> Path:
        return self.root / "index.age"

    @property
    def dispositions_file(self) -> Path:
        return self.root / "dispositions.age"

    @property
    def sources_file(self) -> Path:
        return self.root / "sources.age"

    @property
    def reviewers_file(self) -> Path:
        return self.root / "reviewers.json"

    @property
    def replies_dir(self) -> Path:
        return self.root / "replies"

    def replies_path(self, tip_id: str) -> Path:
        return self.replies_dir / f"{tip_id}.age"

    def message_path(self, tip_id: str, message_id: str) -> Path:
        return self.tip_dir(tip_id) / "messages" / f"{message_id}.age"

    def tip_dir(self, tip_id: str) -> Path:
        return self.tips_dir / tip_id

    def meta_path(self, tip_id: str) -> Path:
        return self.tip_dir(tip_id) / "meta.json"

    def payload_path(self, tip_id: str) -> Path:
        return self.tip_dir(tip_id) / "payload.age"

    def attachment_path(self, tip_id: str, attachment_id: str) -> Path:
        return self.tip_dir(tip_id) / "attachments" / f"{attachment_id}.age"

    def triage_path(self, tip_id: str) -> Path:
        return self.triage_dir / f"{tip_id}.age"

    def ensure(self) -> None:
        for directory in (self.root, self.tips_dir, self.triage_dir):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Keep two tipbox-review processes from changing the workspace at once."""
        self.ensure()
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StateConflict("another tipbox-review is using this workspace; try again when it ends") from None
            yield
        finally:
            os.close(fd)

    # --- the pinned server key ------------------------------------------------------------------

    def pinned_key(self) -> str | None:
        try:
            data = json.loads(self.pin_file.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            raise StateConflict(f"{self.pin_file} is unreadable; restore it from a backup") from None
        key = data.get("key") if isinstance(data, dict) else None
        if not isinstance(key, str):
            raise StateConflict(f"{self.pin_file} is damaged; restore it from a backup")
        return key

    def pin(self, key: str) -> None:
        record = {"key": key, "fingerprint": key_fingerprint(key), "pinned": iso(utc_now())}
        write_atomic(self.pin_file, json.dumps(record, indent=2).encode() + b"\n", mode=0o644, exclusive=True)

    # --- tips -----------------------------------------------------------------------------------

    def tip_ids(self) -> list[str]:
        """Ids of fully imported tips (meta.json is written last)."""
        try:
            names = os.listdir(self.tips_dir)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if TIP_ID.match(n) and self.meta_path(n).is_file())

    def metas(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, meta) of every fully imported tip, in id order (string paths: this runs 10,000 times)."""
        base = str(self.tips_dir)
        try:
            names = sorted(os.listdir(base))
        except FileNotFoundError:
            return
        for name in names:
            if not TIP_ID.match(name):
                continue
            try:
                with open(os.path.join(base, name, "meta.json"), "rb") as handle:
                    data = json.loads(handle.read())
            except FileNotFoundError:
                continue  # not fully imported
            except (OSError, ValueError):
                raise StateConflict(f"the workspace record of tip {name[:8]} is damaged") from None
            if not isinstance(data, dict) or data.get("id") != name:
                raise StateConflict(f"the workspace record of tip {name[:8]} is damaged")
            yield name, data

    def triage_ids(self) -> set[str]:
        try:
            return {n[:-4] for n in os.listdir(self.triage_dir) if n.endswith(".age") and TIP_ID.match(n[:-4])}
        except FileNotFoundError:
            return set()

    def read_meta(self, tip_id: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self.meta_path(tip_id).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            raise StateConflict(f"the workspace record of tip {tip_id[:8]} is damaged") from None
        if not isinstance(data, dict) or data.get("id") != tip_id:
            raise StateConflict(f"the workspace record of tip {tip_id[:8]} is damaged")
        return data

    def resolve(self, prefix: str) -> str:
        """The one imported tip whose id starts with ``prefix``."""
        wanted = prefix.strip().lower()
        if not PREFIX.match(wanted):
            raise InputError("a tip id is hexadecimal (the first 8 characters are enough)")
        matches = [t for t in self.tip_ids() if t.startswith(wanted)]
        if not matches:
            raise InputError(f"no imported tip id starts with {wanted}")
        if len(matches) > 1:
            raise InputError(f"{len(matches)} tips start with {wanted}; give more characters")
        return matches[0]
