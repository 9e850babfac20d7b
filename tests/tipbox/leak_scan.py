"""Find a secret wherever a leak could have put it, in whatever encoding.

The canary tests (test_canary*.py) and the no-spool tests (test_no_spool.py)
use this module. A scan that only looks for the raw text in live rows misses
the leaks that actually happen, so it covers:

- **Encodings** (:class:`Needles`, :func:`encoded_forms`): each text
  escaping (none, JSON ``\\uXXXX`` lower and upper, percent- and form
  ``+``-encoding with hex digits in either case, HTML) under each byte
  encoding (UTF-8, base64 and base64url at all three alignments, hex lower and
  upper, UTF-16-LE/BE), so ``b64encode(json.dumps(answers))`` is found too.
  Base64 needs three needles: inside a larger blob a secret at offset 0, 1 or
  2 mod 3 encodes to different characters, so each alignment's needle is the
  characters that depend on the secret alone. Canaries contain a space,
  ``&``, ``+`` and a non-ASCII letter so that the escapings differ from the
  raw text. Every canary starts with one random ASCII marker that no
  escaping changes; a haystack is searched for the marker's few forms first
  (a prefix of a secret encodes to a prefix of the secret's form, at each
  alignment) and only on a hit for each canary's forms, so a 60 MB
  PostgreSQL cluster takes about a second instead of ten, and a canary
  cut short or escaped in a way not listed still shows as its marker.
- **Files** (:func:`scan_tree`): everything under a directory, including the
  SQLite file, WAL and shm, logs, export bundles.
- **Rows** (:func:`scan_rows`): every value of every table, as the database
  returns it (decompressed, de-TOASTed).
- **PostgreSQL files** (:func:`prepare_postgres`, :func:`checkpoint`):
  the data directory and WAL of a private cluster. What PostgreSQL cannot
  promise: a deleted or updated row stays in its heap page as a dead tuple
  until VACUUM (and its bytes until the space is reused), and WAL segments
  are recycled, not wiped, so old records survive a checkpoint. That is why
  the rule is stronger than "no plaintext in live rows": plaintext must never
  reach PostgreSQL at all, so the data directory and WAL must contain no
  canary in any encoding. Values over ~2 KB are pglz-compressed by default,
  which would hide them from a byte scan; :func:`prepare_postgres` sets every
  column to ``STORAGE EXTERNAL`` (stored as-is) so nothing is compressed.
  (Index tuples of very large keys may still be compressed; ciphertext
  columns carry no such indexes.)
- **Temporary and written files** (:class:`FileWatch`): a ``TemporaryFile``
  opened with ``O_TMPFILE`` has no directory entry and a deleted temp file is
  gone before any scan, so the only place to see them is the moment they are
  opened. :class:`FileWatch` is a ``sys.addaudithook`` hook on the ``open``
  (``open()``, ``io.open``, ``os.open``), ``tempfile.mkstemp`` and
  ``tempfile.mkdtemp`` events, recording every open with write intent while
  the watch is active. An audit hook cannot be removed, so the hook is
  installed once per process and does nothing unless a watch is active.
  After the window, a written file that still exists is scanned; one opened
  with ``O_TMPFILE`` (which names only the directory) or deleted since cannot
  be scanned and is reported as such; a file renamed (``os.rename`` event, e.g.
  the export's ``.partial`` file) is scanned at its new name. Not seen: files opened by C or Rust code
  (SQLite, libpq, pyrage), which the file and database scans cover instead.
- **Logs** (:func:`every_log_to`): one file handler at DEBUG on the root
  logger and on every logger that does not propagate, so whatever any
  logger would write somewhere is in a file that gets scanned.
- **stdout/stderr**: the tests use pytest's ``capfdbinary``, which captures
  file descriptors 1 and 2 themselves (``dup2``), so ``print()``, direct
  ``os.write`` and C-level writes are all caught; the bytes go to
  :meth:`Needles.find`.

Not covered: base64 wrapped into lines (MIME) may split a needle; a secret
truncated or transformed otherwise (compressed, reversed) is not found.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import logging
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, quote_plus

from sqlalchemy import create_engine, inspect
from sqlalchemy import text as sql_text

MAX_FILE_BYTES = 256 << 20


# --- encodings ---------------------------------------------------------------------------------


def _base64_slices(raw: bytes, encode: Callable[[bytes], bytes], name: str) -> dict[str, bytes]:
    """The characters of ``raw``'s encoding that do not depend on its neighbours, per alignment."""
    forms = {}
    for offset in range(3):
        encoded = encode(b"\0" * offset + raw)
        start = -(-8 * offset // 6)  # first character made only of raw's bits
        end = 8 * (offset + len(raw)) // 6  # last one, exclusive
        forms[f"{name}@{offset}"] = encoded[start:end]
    return forms


def _hex_case(text: str, escape: str, digits: int, upper: bool) -> str:
    """``text`` with the hex digits after each ``escape`` (``%XX`` or ``\\uXXXX``) in the other case."""
    def change(match: re.Match[str]) -> str:
        found = match.group(0)[len(escape):]
        return escape + (found.upper() if upper else found.lower())

    return re.sub(re.escape(escape) + f"[0-9A-Fa-f]{{{digits}}}", change, text)


def _text_forms(value: str) -> dict[str, str]:
    """How text gets escaped before it is written or encoded further."""
    percent, form, escaped = quote(value, safe=""), quote_plus(value, safe=""), json.dumps(value)[1:-1]
    return {
        "raw": value,
        "percent": percent,
        "percent-lower": _hex_case(percent, "%", 2, upper=False),
        "form": form,
        "form-lower": _hex_case(form, "%", 2, upper=False),
        "json": escaped,
        "json-upper": _hex_case(escaped, "\\u", 4, upper=True),
        "html": html.escape(value),
    }


def _byte_forms(text: str) -> dict[str, bytes]:
    """How text gets written as bytes."""
    raw = text.encode()
    return {
        "raw": raw,
        **_base64_slices(raw, base64.b64encode, "base64"),
        **_base64_slices(raw, base64.urlsafe_b64encode, "base64url"),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "utf-16-le": text.encode("utf-16-le"),
        "utf-16-be": text.encode("utf-16-be"),
    }


@functools.cache
def encoded_forms(value: str) -> dict[str, bytes]:
    """``value`` as each encoding a leak could plausibly write, e.g. ``base64(json)``; identical forms kept once.

    Each text escaping (JSON, percent, form, HTML) combined with each byte
    encoding (base64, hex, UTF-16): ``base64.b64encode(json.dumps(answers))``
    is the likely leak, not base64 of the bare string.
    """
    unique: dict[str, bytes] = {}
    for text_name, text in _text_forms(value).items():
        for byte_name, data in _byte_forms(text).items():
            name = text_name if byte_name == "raw" else byte_name if text_name == "raw" else f"{byte_name}({text_name})"
            if data not in unique.values():
                unique[name] = data
    return unique


@dataclass(frozen=True)
class Leak:
    """One secret found in one encoding at one place."""

    secret: str
    form: str
    where: str

    def __str__(self) -> str:
        return f"{self.secret} ({self.form}) in {self.where}"


@dataclass
class Needles:
    """The secrets of one test run, each searched in every encoding.

    :meth:`canary` makes secrets that all start with :attr:`marker`, so one
    probe per encoding finds any of them; :meth:`add` takes secrets made
    elsewhere (receipts, keys), each its own probe.
    """

    marker: str = field(default_factory=lambda: f"Canary-{secrets.token_hex(5)}")
    canaries: dict[str, str] = field(default_factory=dict)
    others: dict[str, str] = field(default_factory=dict)

    def canary(self, label: str) -> str:
        value = f"{self.marker} é&+ {label} {secrets.token_hex(5)}"
        self.canaries[label] = value
        return value

    def add(self, label: str, value: str) -> None:
        self.others[label] = value

    def find(self, data: bytes, where: str) -> list[Leak]:
        """Every secret in ``data``; the marker itself when only it is found (a cut-off canary).

        A canary's form starts where its marker's form (same encoding, same
        alignment) starts, so only those places are compared with each
        canary's forms: a leak in a 16 MB WAL segment is reported in
        milliseconds, not minutes.
        """
        found = [Leak(label, name, where) for label, value in self.others.items()
                 for name, form in encoded_forms(value).items() if form in data]
        hits = {name: _places(data, form) for name, form in encoded_forms(self.marker).items()}
        places = {place for found_at in hits.values() for place in found_at}
        if not places:
            return found
        whole = [Leak(label, name, where) for label, value in self.canaries.items()
                 for name, form in encoded_forms(value).items()
                 if any(data.startswith(form, place) for place in places)]
        return found + (whole or [Leak("canary marker", name, where) for name, at in hits.items() if at])


def _places(data: bytes, needle: bytes, limit: int = 64) -> list[int]:
    """Where ``needle`` starts in ``data`` (the first ``limit`` places: enough to name what leaked)."""
    places: list[int] = []
    start = data.find(needle)
    while start >= 0 and len(places) < limit:
        places.append(start)
        start = data.find(needle, start + 1)
    return places


# --- files and rows ----------------------------------------------------------------------------


def _files(root: Path) -> Iterator[Path]:
    # os.walk ignores directories that vanish mid-scan (other processes' temp dirs).
    for top, _dirs, names in os.walk(root):
        for name in names:
            yield Path(top) / name


def scan_file(path: Path, needles: Needles) -> list[Leak]:
    """A file that vanished or cannot be read is skipped (the watcher reports vanished writes)."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return []
        return needles.find(path.read_bytes(), str(path))
    except OSError:
        return []


def scan_tree(root: Path, needles: Needles) -> list[Leak]:
    """Every regular file under ``root``."""
    return [leak for path in _files(root) for leak in scan_file(path, needles)]


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode(errors="surrogateescape")


def scan_rows(url: str, needles: Needles) -> list[Leak]:
    """Every value of every table, as the database returns it."""
    engine = create_engine(url)
    found = []
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(sql_text(f'SELECT * FROM "{table}"')):
                    found += needles.find(b"\0".join(_as_bytes(value) for value in row), f"table {table}")
    finally:
        engine.dispose()
    return found


# --- PostgreSQL --------------------------------------------------------------------------------


def _autocommit(url: str, statements: Iterable[str]) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(sql_text(statement))
    finally:
        engine.dispose()


def prepare_postgres(url: str) -> None:
    """Store every column uncompressed, so a byte scan of the data files sees every value.

    Only the physical storage changes (pglz compression off for new values);
    the application's behaviour does not. WAL compression must be off too.
    """
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sql_text("SHOW wal_compression")).scalar() == "off"
            columns = conn.execute(sql_text(
                "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' "
                "AND a.attnum > 0 AND NOT a.attisdropped AND a.attstorage IN ('x', 'm')"
            )).all()
    finally:
        engine.dispose()
    assert columns, "no compressible columns: is the schema there?"
    _autocommit(url, (f'ALTER TABLE "{t}" ALTER COLUMN "{c}" SET STORAGE EXTERNAL' for t, c in columns))


def checkpoint(url: str) -> None:
    """Write every dirty page to the data files (the WAL already has every committed record)."""
    _autocommit(url, ["CHECKPOINT"])


# --- logs ---------------------------------------------------------------------------------------


@contextmanager
def every_log_to(path: Path) -> Iterator[None]:
    """Every record of every logger, DEBUG and up, into ``path`` (also loggers that do not propagate)."""
    handler = logging.FileHandler(path)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    loggers = [root] + [
        logger for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    old_level = root.level
    for logger in loggers:
        logger.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


# --- writes and temporary files ----------------------------------------------------------------

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_current: FileWatch | None = None
_installed = False


@dataclass(frozen=True)
class Opened:
    """A file opened for writing (or made by tempfile) while a watch was active."""

    event: str
    path: str
    flags: int | None

    @property
    def tmpfile(self) -> bool:
        return bool(_O_TMPFILE) and self.flags is not None and self.flags & _O_TMPFILE == _O_TMPFILE

    @property
    def kind(self) -> str:
        return "O_TMPFILE: a file without a name" if self.tmpfile else f"{self.event}, deleted since"


def _hook(event: str, args: tuple[Any, ...]) -> None:
    """Runs on every audit event of the process, for good: returns at once unless a watch is active."""
    watch = _current
    if watch is None or event not in ("open", "tempfile.mkstemp", "tempfile.mkdtemp", "os.rename"):
        return
    try:
        watch._see(event, args)
    except Exception:  # never break the code under test; an event not understood is a finding
        watch.opened.append(Opened(f"{event} (not understood)", repr(args), None))


class FileWatch:
    """Records every write-open and temp file made by this process between ``__enter__`` and ``__exit__``.

    Use it around the requests only (not around the test's own file work):
    everything it records is the server's doing.
    """

    def __init__(self) -> None:
        self.opened: list[Opened] = []
        self.moved: set[str] = set()  # written, then renamed (os.rename, os.replace, Path.rename)

    def __enter__(self) -> FileWatch:
        global _current, _installed
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True
        assert _current is None, "watches do not nest"
        _current = self
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        global _current
        _current = None

    def _see(self, event: str, args: tuple[Any, ...]) -> None:
        path = args[0]
        if isinstance(path, int):  # an already open descriptor: its open was seen (or predates the watch)
            return
        if event == "os.rename":  # the content moves to the destination, which is scanned instead
            self.moved.add(os.path.abspath(os.fsdecode(path)))
            self.opened.append(Opened(event, os.path.abspath(os.fsdecode(args[1])), None))
            return
        flags = args[2] if event == "open" else None
        if event == "open" and not (isinstance(flags, int) and flags & _WRITE_FLAGS):  # O_TMPFILE needs one too
            return
        self.opened.append(Opened(event, os.path.abspath(os.fsdecode(path)), flags))

    def unscannable(self) -> list[Opened]:
        """Writes whose content cannot be checked now: a file without a name (O_TMPFILE) or deleted since.

        ``io.open(directory, opener=...)``, how tempfile wraps its own
        ``os.open``, is neither: the ``os.open`` it wraps is recorded too.
        """
        return [o for o in self.opened if o.path not in self.moved and (o.tmpfile or not Path(o.path).exists())]

    def written_files(self) -> list[Path]:
        """Files (and temp dirs) written that still exist, for a content scan."""
        return sorted({Path(o.path) for o in self.opened if not o.tmpfile and (
            Path(o.path).is_file() or (o.event == "tempfile.mkdtemp" and Path(o.path).is_dir()))})

    def scan(self, needles: Needles) -> list[Leak]:
        """Content of every written file still there; each unscannable write is a finding by itself."""
        found = [Leak("a write no scan can check", o.kind, o.path) for o in self.unscannable()]
        for path in self.written_files():
            found += scan_tree(path, needles) if path.is_dir() else scan_file(path, needles)
        return found

