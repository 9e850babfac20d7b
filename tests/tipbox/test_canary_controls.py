"""Controls for the leak scanner (tests/tipbox/leak_scan.py): each scan finds a deliberate leak.

A scanner that cannot fail proves nothing, so each way a secret can escape is
staged here on purpose and must be found: every encoding at every alignment,
a base64 or hex log line, print() and raw writes to fds 1 and 2, temporary
files with and without a name, a written file, a database row, a deleted
SQLite row. The encoders used here are the standard library's own, not the
scanner's, so a wrong needle would show. (The PostgreSQL data-directory
control is in test_canary.py, next to the cluster it shares.)
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import re
import secrets
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from urllib.parse import quote, quote_plus, urlencode

import pytest

from tests.tipbox.leak_scan import FileWatch, Needles, every_log_to, scan_file, scan_rows, scan_tree

ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "base64": base64.b64encode,
    "base64url": base64.urlsafe_b64encode,
    "hex": lambda b: b.hex().encode(),
    "HEX": lambda b: b.hex().upper().encode(),
    "utf-16-le": lambda b: b.decode(errors="replace").encode("utf-16-le"),
    "utf-16-be": lambda b: b.decode(errors="replace").encode("utf-16-be"),
    "percent": lambda b: quote(b).encode(),
    "percent-lower": lambda b: re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(b)).encode(),
    "form": lambda b: urlencode({"answers": b}).encode(),
    "json": lambda b: json.dumps({"a": b.decode(errors="replace")}).encode(),
    "html": lambda b: html.escape(b.decode(errors="replace")).encode(),
    "base64(json)": lambda b: base64.b64encode(json.dumps({"a": b.decode(errors="replace")}).encode()),
    "hex(form)": lambda b: urlencode({"answers": b}).encode().hex().encode(),
    "utf-16(html)": lambda b: html.escape(b.decode(errors="replace")).encode("utf-16-le"),
}


def _blob(secret: str, offset: int) -> bytes:
    """``secret`` inside other text, starting ``offset`` bytes in (the alignment base64 sees)."""
    return b"x" * offset + b"answers=" + secret.encode() + b"&lang=id " + secrets.token_hex(8).encode()


@pytest.mark.parametrize("offset", [0, 1, 2])
@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_every_encoding_is_found_at_every_alignment(encoding: str, offset: int) -> None:
    needles = Needles()
    secret = needles.canary("description")
    found = needles.find(b"log: " + ENCODERS[encoding](_blob(secret, offset)) + b"\n", "blob")
    assert found and {leak.secret for leak in found} == {"description"}, found


def test_a_secret_made_elsewhere_is_found_encoded() -> None:
    needles = Needles()
    needles.add("receipt", "K7QF-2MXP-9RTA-H4WC")
    assert {leak.form for leak in needles.find(base64.b64encode(b"r=K7QF-2MXP-9RTA-H4WC"), "blob")} == {"base64@2"}


def test_a_near_miss_and_a_cut_off_canary() -> None:
    """One changed character is not a hit; a canary that lost its tail is still reported by its marker."""
    needles = Needles()
    secret = needles.canary("place")
    assert needles.find(secret[:-1].encode() + b"!", "blob")[0].secret == "canary marker"
    assert needles.find(secret.replace("Canary", "Kanary").encode(), "blob") == []
    assert needles.find(secrets.token_bytes(1 << 16), "blob") == []


@pytest.mark.parametrize("encode", [base64.b64encode, lambda b: b.hex().encode()], ids=["base64", "hex"])
def test_an_encoded_log_line_is_found(tmp_path: Path, encode: Callable[[bytes], bytes]) -> None:
    """The leak an audit found: answers logged base64- or hex-encoded by the app's own logger."""
    needles = Needles()
    secret = needles.canary("description")
    with every_log_to(tmp_path / "all.log"):
        logging.getLogger("tipbox.intake.service").warning(encode(json.dumps({"description": secret}).encode()))
    assert [leak.secret for leak in scan_tree(tmp_path, needles)] == ["description"]


def test_stdout_and_stderr_are_captured_at_the_descriptor(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    """print() and raw writes to fds 1 and 2 (what C code does) all reach the scan."""
    needles = Needles()
    printed, raw_out, raw_err = needles.canary("printed"), needles.canary("raw-out"), needles.canary("raw-err")
    print({"description": printed})
    os.write(1, raw_out.encode("utf-16-le"))
    os.write(2, raw_err.encode().hex().encode())
    out, err = capfdbinary.readouterr()
    assert {leak.secret for leak in needles.find(out, "stdout")} == {"printed", "raw-out"}
    assert [leak.secret for leak in needles.find(err, "stderr")] == ["raw-err"]


def test_a_temporary_file_without_a_name_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TemporaryFile (O_TMPFILE: no directory entry at all) cannot be scanned, so its creation is the finding."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    needles = Needles()
    with FileWatch() as watch, tempfile.TemporaryFile() as spool:
        spool.write(needles.canary("answers").encode())
    assert watch.unscannable() and all(Path(o.path) == tmp_path for o in watch.unscannable())
    assert [leak.secret for leak in watch.scan(needles)] == ["a write no scan can check"] * len(watch.unscannable())


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="O_TMPFILE is Linux only")
def test_a_raw_o_tmpfile_open_is_reported(tmp_path: Path) -> None:
    with FileWatch() as watch:
        os.close(os.open(tmp_path, os.O_TMPFILE | os.O_RDWR, 0o600))
    [opened] = watch.unscannable()
    assert opened.tmpfile and opened.path == str(tmp_path)


def test_a_spooled_file_that_rolls_over_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What Werkzeug's default stream factory does with a big upload."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with FileWatch() as watch, tempfile.SpooledTemporaryFile(max_size=1024) as spool:
        spool.write(b"x" * 512)
        assert watch.opened == []  # still in memory
        spool.write(b"x" * 1024)
    assert watch.unscannable()


def test_a_deleted_named_file_is_reported(tmp_path: Path) -> None:
    with FileWatch() as watch, tempfile.NamedTemporaryFile(dir=tmp_path) as named:
        named.write(b"answers")
    # io.open names the directory (its opener makes the file), os.open the file: both are reported.
    assert named.name in {o.path for o in watch.unscannable()}


def test_a_written_file_that_stays_is_scanned(tmp_path: Path) -> None:
    needles = Needles()
    kept = tmp_path / "kept.txt"
    with FileWatch() as watch:
        kept.write_text(needles.canary("description"))
        fd, path = tempfile.mkstemp(dir=tmp_path)
        os.write(fd, base64.b64encode(needles.canary("place").encode()))
        os.close(fd)
    assert watch.unscannable() == [] and watch.written_files() == sorted([kept, Path(path)])
    assert sorted(leak.secret for leak in watch.scan(needles)) == ["description", "place"]


def test_a_renamed_file_is_scanned_at_its_new_name(tmp_path: Path) -> None:
    """How the export writes its bundle: ``.partial``, then a rename."""
    needles = Needles()
    partial, final = tmp_path / "bundle.tar.partial", tmp_path / "bundle.tar"
    with FileWatch() as watch:
        partial.write_text(needles.canary("export"))
        partial.rename(final)
    assert watch.unscannable() == [] and watch.written_files() == [final]
    assert [leak.where for leak in watch.scan(needles)] == [str(final)]


def test_the_watch_ignores_reads_and_everything_outside_its_window(tmp_path: Path) -> None:
    before, read = tmp_path / "before.txt", tmp_path / "read.txt"
    read.write_text("x")
    with FileWatch() as watch:
        read.read_text()
        os.close(os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY))
    before.write_text("x")
    with tempfile.TemporaryFile():
        pass
    assert watch.opened == []


def test_a_database_row_is_scanned(tmp_path: Path) -> None:
    needles = Needles()
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with closing(sqlite3.connect(tmp_path / "db.sqlite3")) as conn, conn:
        conn.execute("CREATE TABLE t (a TEXT, b BLOB)")
        conn.execute("INSERT INTO t VALUES (?, ?)", ("fine", quote_plus(needles.canary("contact")).encode()))
    assert [(leak.secret, leak.where) for leak in scan_rows(url, needles)] == [("contact", "table t")]


def test_a_deleted_sqlite_row_stays_in_the_file(tmp_path: Path) -> None:
    """Why the canary scans the SQLite file and WAL, not just the rows: deleted data can outlive its row.

    Debian builds SQLite with SECURE_DELETE on; the scan must not depend on that, so it is off here.
    """
    needles = Needles()
    path = tmp_path / "db.sqlite3"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("PRAGMA secure_delete = OFF")
        conn.execute("CREATE TABLE t (a TEXT)")
        conn.execute("INSERT INTO t VALUES (?)", (needles.canary("when"),))
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("PRAGMA secure_delete = OFF")
        conn.execute("DELETE FROM t")
    assert scan_rows(f"sqlite:///{path}", needles) == []
    assert [leak.secret for leak in scan_file(path, needles)] == ["when"]
