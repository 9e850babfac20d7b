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
    DIR/reviewers.json                   the reviewers' recipients, the retention policy and the channel facts
                                         (yours, and every channel's names) from the newest imported bundle (public)
    DIR/replies/<id>.age                 replies written to a tip's source, sealed to the reviewer (each one
                                         holds the reply as sealed to the source and the reviewers)

Everything written here goes through :func:`write_atomic` (a temporary file in
the same directory, then ``os.replace``), so a crash never leaves half a file.
Records are read and written through review_cli/records.py, so a damaged one
is always the same error (exit code 3).
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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from crypto import envelope
from crypto.bundle import BundleAttachment, BundleFileEntry, BundleMessage, BundleTip, parse_tip
from crypto.documents import JSONObject
from crypto.errors import MalformedDocument
from crypto.identity import ReviewerIdentity
from crypto.signing import key_fingerprint
from crypto.vocabulary import SealedBy

from .errors import InputError, StateConflict
from .records import damaged, read_json

TIP_ID = re.compile(r"^[0-9a-f]{32}\Z")
PREFIX = re.compile(r"^[0-9a-f]{1,32}\Z")
ISO = "%Y-%m-%dT%H:%M:%SZ"


def short(tip_id: str) -> str:
    """The first 8 characters of an id: how messages and `list` name a tip."""
    return tip_id[:8]


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


@dataclass(frozen=True)
class TipMeta:
    """What ``meta.json`` keeps of a tip: its signed manifest entry, the messages imported so far, and
    which bundle first brought it (no plaintext).

    The entry is the bundle's (crypto.bundle.BundleTip, read with the same parser)
    except the source's recipient, which ties a receipt to a tip and so lives
    sealed in ``sources.age``: ``entry.source_recipient`` is always None here.
    """

    entry: BundleTip
    bundle_created: str | None = None
    bundle_signer: str | None = None  # fingerprint of the server key that signed it

    REMEDY = "move that tip's directory out of the workspace and import its bundle again"

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def received(self) -> str:
        return self.entry.received

    @property
    def sealed_by(self) -> SealedBy:
        return self.entry.sealed_by

    @property
    def payload(self) -> BundleFileEntry:
        return self.entry.payload

    @property
    def attachments(self) -> tuple[BundleAttachment, ...]:
        return self.entry.attachments

    @property
    def messages(self) -> tuple[BundleMessage, ...]:
        return self.entry.messages

    @classmethod
    def parse(cls, data: bytes, tip_id: str, what: str) -> TipMeta:
        fields = read_json(data, what, cls.REMEDY)
        try:
            entry = parse_tip({**fields.raw, "source_recipient": None})
        except MalformedDocument as exc:
            raise damaged(what, str(exc), cls.REMEDY) from None
        if entry.id != tip_id:
            raise damaged(what, "it is another tip's", cls.REMEDY)
        origin = fields.raw.get("bundle")
        created = signer = None
        if origin is not None:
            bundle = fields.nested(origin, "bundle")
            created, signer = bundle.optional_text("created"), bundle.optional_text("signer")
        return cls(entry, created, signer)

    def as_json(self) -> bytes:
        document: JSONObject = self.entry.as_document()
        del document["source_recipient"]  # sealed in sources.age, never in the clear
        document["bundle"] = {"created": self.bundle_created, "signer": self.bundle_signer}
        return json.dumps(document, indent=1).encode() + b"\n"


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
            data = self.pin_file.read_bytes()
        except FileNotFoundError:
            return None
        return read_json(data, f"the pinned server key ({self.pin_file})", "restore it from a backup").text("key")

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

    def metas(self) -> Iterator[TipMeta]:
        """The meta of every fully imported tip, in id order (string paths: this runs 10,000 times)."""
        base = str(self.tips_dir)
        try:
            names = sorted(os.listdir(base))
        except FileNotFoundError:
            return
        for name in names:
            if not TIP_ID.match(name):
                continue
            path = os.path.join(base, name, "meta.json")
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except FileNotFoundError:
                continue  # not fully imported
            yield TipMeta.parse(data, name, f"the workspace record of tip {short(name)} ({path})")

    def triage_ids(self) -> set[str]:
        try:
            return {n[:-4] for n in os.listdir(self.triage_dir) if n.endswith(".age") and TIP_ID.match(n[:-4])}
        except FileNotFoundError:
            return set()

    def read_meta(self, tip_id: str) -> TipMeta | None:
        path = self.meta_path(tip_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        return TipMeta.parse(data, tip_id, f"the workspace record of tip {short(tip_id)} ({path})")

    def meta(self, tip_id: str) -> TipMeta:
        """The meta of an imported tip (one :meth:`resolve` found): it must be there."""
        meta = self.read_meta(tip_id)
        if meta is None:
            raise InputError(f"tip {short(tip_id)} is not fully imported; import its bundle again")
        return meta

    def write_meta(self, meta: TipMeta) -> None:
        """Written last when a tip is imported: a tip without meta.json is not there (tip_ids, metas)."""
        write_atomic(self.meta_path(meta.id), meta.as_json(), mode=0o600, fsync=False)

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
