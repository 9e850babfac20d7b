"""`tipbox-review attachments --original N / --all-originals`: decrypt originals to a directory, on request.

Since the preview sheet (review_cli/evidence.py, review_cli/sheet.py) is
what `attachments` writes by default, originals are written only when asked
for by number, so no abuse material lands in a folder where a double-click
opens it by accident.

Each attachment is opened with crypto.attachments.open_attachment_file into a
temporary file (mode 0600, created exclusively) in the output directory and
checked against the size and SHA-256 in the tip's payload manifest; only then
is it given its final, sanitised name, without ever replacing an existing
file. On any error the temporary file is deleted: age authenticates per 64 KiB
chunk, so a truncated or modified file may already have produced
unauthenticated bytes.

open_attachment_file reads the sealed file through C buffered I/O and
unpads, hashes and writes in a worker thread while pyrage decrypts (see
crypto/attachments.py); bench/review.py times it against the stock `age -d`.
The progress bar counts ciphertext bytes as pyrage reads them (about once per
MiB), so it tracks decryption; the last few MiB of unpadding, hashing and
writing finish just after it reaches 100 %.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from crypto.attachments import ContentDigest, open_attachment, open_attachment_file
from crypto.bundle import BundleAttachment
from crypto.errors import TipboxCryptoError
from crypto.payload import AttachmentEntry

from .errors import InputError, StateConflict, VerificationError
from .kinds import HEAD, sniff
from .progress import REPORT_EVERY, CountingReader
from .strip import Stripped, mat2_extension, mat2_path, strip_file
from .tips import read_verified
from .workspace import Keys, Workspace, commit_exclusive, short

_BLOCK = 1024 * 1024
_EXT = re.compile(r"^\.[A-Za-z0-9]{1,10}\Z")
_FORBIDDEN = set('<>:"/\\|?*')


def safe_name(name: str, attachment_id: str, id_chars: int = 8) -> str:
    """A file name that cannot escape the directory, hide itself or collide.

    Only the last path component is kept; control, format (e.g. right-to-left
    override) and reserved characters become ``_``; leading dots and spaces are
    dropped; the first ``id_chars`` characters of the attachment id make it unique.
    """
    base = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    base = "".join(
        "_" if ch in _FORBIDDEN or unicodedata.category(ch)[0] in ("C", "Z") and ch != " " else ch for ch in base
    )
    base = base.strip().lstrip(". ").strip()
    stem, ext = os.path.splitext(base)
    if not _EXT.match(ext):
        stem, ext = base, ""
    stem = stem[:80].rstrip(". ") or "lampiran"
    return f"{stem}-{attachment_id[:id_chars]}{ext.lower()}"


@dataclass
class Extracted:
    number: int
    attachment_id: str
    path: Path
    size: int
    sha256: str  # as submitted (the manifest's), also when a stripped copy was written
    media_type: str
    stripped: bool | None = None  # None: not asked; False: asked but not possible
    stripped_sha256: str | None = None
    note: str | None = None


class _Batched:
    """Pass byte counts on to ``on_bytes`` at most about once per MiB (and at the end)."""

    def __init__(self, on_bytes: Callable[[int], None]) -> None:
        self._on_bytes = on_bytes
        self._pending = 0

    def __call__(self, n: int) -> None:
        self._pending += n
        if self._pending >= REPORT_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._on_bytes(self._pending)
            self._pending = 0


def decrypt_to(
    src: Path | BinaryIO,
    dst_path: Path,
    keys: Keys,
    expected: ContentDigest | None,
    on_bytes: Callable[[int], None],
) -> None:
    """Open one sealed attachment into a new file at ``dst_path`` (deleted on any error).

    ``src`` is the sealed file's path (the fast path, what `tipbox-review
    attachments` uses) or an open binary stream.
    """
    if isinstance(src, (str, os.PathLike)):
        progress = _Batched(on_bytes)
        open_attachment_file(src, dst_path, [keys.age], expected, on_read=progress)  # deletes dst on error
        progress.flush()
        return
    fd = os.open(dst_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb", buffering=_BLOCK) as handle:
            open_attachment(CountingReader(src, on_bytes), handle, [keys.age], expected)  # type: ignore[arg-type]
    except BaseException:
        dst_path.unlink(missing_ok=True)
        raise


def plan(
    content: Sequence[AttachmentEntry], out_dir: Path, only: Collection[int] | None = None
) -> list[tuple[int, AttachmentEntry, Path]]:
    """(number, content entry, final path) per attachment asked for (``only``: numbers from 1; None: all).

    Refuses if any final path exists.
    """
    names = [safe_name(entry.name, entry.id) for entry in content]
    if len(set(names)) != len(names):  # same name and same id prefix: use the whole id
        names = [safe_name(entry.name, entry.id, id_chars=32) for entry in content]
    targets = [
        (number, entry, out_dir / name)
        for number, (entry, name) in enumerate(zip(content, names, strict=True), 1)
        if only is None or number in only
    ]
    existing = [path.name for _, _, path in targets if path.exists()]
    if existing:
        raise StateConflict(f"{out_dir / existing[0]} already exists; refusing to overwrite (nothing was written)")
    return targets


def extract(
    ws: Workspace,
    keys: Keys,
    tip_id: str,
    content: Sequence[AttachmentEntry],
    sealed: Sequence[BundleAttachment],
    out_dir: Path,
    *,
    strip: bool = False,
    only: Collection[int] | None = None,
    on_start: Callable[[str, int], None] = lambda name, total: None,
    on_bytes: Callable[[int], None] = lambda n: None,
) -> list[Extracted]:
    """Decrypt every attachment ``content`` lists (the opened tip's and follow-ups' manifests) from the sealed
    files ``sealed`` lists (the signed bundle's entries), each checked against both."""
    if not content:
        raise InputError(f"tip {short(tip_id)} has no attachments")
    if not out_dir.is_dir():
        raise InputError(f"{out_dir} is not a directory")
    sealed_by_id = {a.id: a for a in sealed}
    targets = plan(content, out_dir, only)
    results: list[tuple[Extracted, Path]] = []
    try:
        # Decrypt and verify everything first; name nothing until all of it verified.
        for number, entry, final in targets:
            what = f"attachment {number} of tip {short(tip_id)}"
            sealed_entry = sealed_by_id.get(entry.id)
            source = ws.attachment_path(tip_id, entry.id)
            if sealed_entry is None or not source.is_file():
                raise VerificationError(f"{what} is missing from the workspace; nothing was written")
            if source.stat().st_size != sealed_entry.size:
                read_verified(source, sealed_entry, what)
            temp = out_dir / f".tipbox-{secrets.token_hex(8)}.partial"
            on_start(final.name, sealed_entry.size)
            try:
                decrypt_to(source, temp, keys, ContentDigest(entry.size, entry.sha256), on_bytes)
            except TipboxCryptoError as exc:
                raise VerificationError(f"{what} failed verification: {exc}; nothing was written") from None
            result = Extracted(number, entry.id, final, entry.size, entry.sha256, entry.media_type)
            results.append((result, temp))
            if strip:
                temp = _named_for_mat2(temp, entry)
                results[-1] = (result, temp)
                outcome = _strip(temp, entry)
                result.stripped, result.note = outcome.done, outcome.note
                if outcome.done:
                    os.chmod(temp, 0o600)  # a tool may have written a new file
                    result.stripped_sha256 = _sha256_file(temp)
        for result, temp in results:
            commit_exclusive(temp, result.path)
    finally:
        for _, temp in results:
            temp.unlink(missing_ok=True)
    return [result for result, _ in results]


def _named_for_mat2(temp: Path, entry: AttachmentEntry) -> Path:
    """The verified copy renamed to end as mat2 expects for its sniffed kind (mat2 picks a parser by name)."""
    if mat2_path() is None:
        return temp
    with temp.open("rb") as handle:
        ending = mat2_extension(sniff(handle.read(HEAD)), entry.name)
    if not ending:
        return temp
    named = temp.with_name(temp.name + ending)
    os.rename(temp, named)
    return named


def _strip(path: Path, entry: AttachmentEntry) -> Stripped:
    with path.open("rb") as handle:
        kind = sniff(handle.read(HEAD))
    return strip_file(path, kind, entry.name)


def _sha256_file(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_BLOCK):
            digest.update(chunk)
    return digest.hexdigest()
