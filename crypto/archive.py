"""Signed archives: a POSIX ustar whose first member is a signed JSON document listing every other member.

The export bundle (FORMAT.md §8) and the dispositions package (§10.2) are
both this: the first member says, under a signature, the path, size and
SHA-256 of each age file that follows, in order. Writing is deterministic
(mtime 0, uid/gid 0, mode 0644, empty owner names) and streams each file from
its opener, so a large attachment never sits in memory. Reading verifies
every member against the list before anything is trusted, and refuses
members the list does not name, missing ones, non-regular ones and a first
member with another name (:class:`~crypto.errors.BundleInvalid`).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from .errors import BundleInvalid

_READ = 1024 * 1024


@dataclass(frozen=True)
class Words:
    """What an archive and its list are called in errors ("bundle", "manifest"): readers match on them."""

    archive: str = "archive"
    listing: str = "list"


@dataclass(frozen=True)
class ArchiveFile:
    """One age file to write; ``open`` is called once, when it is written."""

    path: str
    size: int
    sha256: str
    open: Callable[[], IO[bytes]]


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_archive(
    out: BinaryIO,
    first: tuple[str, bytes],
    files: Iterable[ArchiveFile],
    listed: Mapping[str, tuple[int, str]],
    words: Words = Words(),
) -> None:
    """Write ``first`` (name, signed bytes), then ``files``, each exactly as ``listed`` says (path -> size, sha256)."""
    expected = dict(listed)
    name, data = first
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(_tarinfo(name, len(data)), io.BytesIO(data))
        for file in files:
            entry = expected.pop(file.path, None)
            if entry is None or entry != (file.size, file.sha256):
                raise BundleInvalid(f"file does not match the {words.listing} being written")
            with file.open() as handle:
                tar.addfile(_tarinfo(file.path, file.size), handle)
    if expected:
        raise BundleInvalid(f"{words.listing} lists files that were not written")


def read_first(path: Path, name: str, max_bytes: int, words: Words = Words()) -> bytes:
    """The first member's bytes, which must be called ``name`` (the signed list; verified by the caller)."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            first = tar.next()
            if first is None or first.name != name or not first.isfile():
                raise BundleInvalid(f"{words.archive} does not start with {name}")
            if first.size > max_bytes:
                raise BundleInvalid(f"{words.listing} too large")
            handle = tar.extractfile(first)
            assert handle is not None
            return handle.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleInvalid(f"not a readable {words.archive} ({type(exc).__name__})") from None


def verify_members(path: Path, listed: Mapping[str, tuple[int, str]], words: Words = Words()) -> None:
    """Every member after the first is listed, with its size and SHA-256, and every listed one is there."""
    expected = dict(listed)
    try:
        with tarfile.open(path, mode="r:") as tar:
            tar.next()  # the signed list, read and verified by the caller
            while (member := tar.next()) is not None:
                entry = expected.pop(member.name, None)
                if entry is None or not member.isfile():
                    raise BundleInvalid(f"{words.archive} holds a file its {words.listing} does not list")
                if member.size != entry[0]:
                    raise BundleInvalid(f"a file's size differs from the {words.listing}")
                handle = tar.extractfile(member)
                assert handle is not None
                digest = hashlib.sha256()
                while chunk := handle.read(_READ):
                    digest.update(chunk)
                if digest.hexdigest() != entry[1]:
                    raise BundleInvalid(f"a file's SHA-256 differs from the {words.listing}")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleInvalid(f"{words.archive} is truncated or corrupted ({type(exc).__name__})") from None
    if expected:
        raise BundleInvalid(f"{words.archive} is missing files its {words.listing} lists")


@contextmanager
def open_member(path: Path, member: str) -> Iterator[IO[bytes]]:
    """One member as a stream (checking a header, copying a large file); verify the archive first."""
    with tarfile.open(path, mode="r:") as tar:
        handle = tar.extractfile(member)
        if handle is None:
            raise BundleInvalid("member missing")
        yield handle


def read_member(path: Path, member: str) -> bytes:
    """One member's bytes (small files: payloads, messages); verify the archive first."""
    with tarfile.open(path, mode="r:") as tar:
        handle = tar.extractfile(member)
        if handle is None:
            raise BundleInvalid("member missing")
        return handle.read()


def copy_member(path: Path, member: str, dst: BinaryIO) -> None:
    """Stream one member into ``dst`` (large files: attachments); verify the archive first."""
    with tarfile.open(path, mode="r:") as tar:
        handle = tar.extractfile(member)
        if handle is None:
            raise BundleInvalid("member missing")
        while chunk := handle.read(_READ):
            dst.write(chunk)
