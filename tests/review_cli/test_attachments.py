"""attachments --original/--all-originals: decrypt, verify against the tip's SHA-256, safe names, no overwrite,
metadata stripping. (The default, the preview sheet, is tests/review_cli/test_previews.py.)"""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

from review_cli.extract import safe_name
from tests.review_cli.conftest import Run, one_line_error
from tests.review_cli.support import FakeServer
from tests.support import missing_service


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "KameraPelapor"  # Make
    exif[0x0131] = "Budi's phone"  # Software
    exif[0x8825] = {1: "S", 2: (5.0, 26.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"rumah Budi")
    return out.getvalue()


@pytest.fixture
def tip(run: Run, server: FakeServer, tmp_path: Path):
    files = [
        ("../../../etc/.bashrc", "text/plain", b"bukan skrip"),
        ("foto\u202egpj.exe", "image/jpeg", _jpeg_with_gps()),
        ("catatan.pdf", "application/pdf", b"%PDF-1.4 " + b"x" * 200_000),
    ]
    sealed = server.tip(files=files)
    assert run("import", str(server.bundle(tmp_path / "b.tar", [sealed]))).exit_code == 0
    return sealed


def test_safe_names() -> None:
    aid = "0123456789abcdef" * 2
    assert safe_name("../../etc/passwd", aid) == "passwd-01234567"
    assert safe_name("..\\..\\win.ini", aid) == "win-01234567.ini"
    assert safe_name(".hidden.jpg", aid) == "hidden-01234567.jpg"
    assert safe_name("foto\u202egpj.exe", aid) == "foto_gpj-01234567.exe"
    assert safe_name("a\x00b\nc.PDF", aid) == "a_b_c-01234567.pdf"
    assert safe_name("...", aid) == "lampiran-01234567"
    assert safe_name("x" * 300 + ".jpg", aid) == "x" * 80 + "-01234567.jpg"
    assert safe_name("laporan.tar.gz", aid) == "laporan.tar-01234567.gz"


def test_attachments_are_verified_written_and_never_overwritten(run: Run, tip, tmp_path: Path) -> None:
    out = tmp_path / "keluar"
    result = run("attachments", tip.id[:8], "--out", str(out), "--all-originals")
    assert result.exit_code == 0, result.stderr
    manifest = tip.document.attachments
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            f"bashrc-{manifest[0].id[:8]}",
            f"foto_gpj-{manifest[1].id[:8]}.exe",
            f"catatan-{manifest[2].id[:8]}.pdf",
        ]
    )
    for entry in manifest:
        [path] = out.glob(f"*-{entry.id[:8]}*")
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.sha256
        assert path.stat().st_mode & 0o777 == 0o600
    assert "3 attachments verified" in result.stdout
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = run("attachments", tip.id[:8], "--out", str(out), "--all-originals")
    assert again.exit_code == 3 and "refusing to overwrite" in one_line_error(again)
    one = run("attachments", tip.id[:8], "--out", str(out), "--original", "2")
    assert one.exit_code == 3 and "refusing to overwrite" in one_line_error(one)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_original_n_writes_only_that_one_with_every_check(run: Run, tip, tmp_path: Path) -> None:
    out = tmp_path / "satu"
    result = run("attachments", tip.id[:8], "--out", str(out), "--original", "3", "--original", "1")
    assert result.exit_code == 0, result.stderr
    manifest = tip.document.attachments
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"bashrc-{manifest[0].id[:8]}", f"catatan-{manifest[2].id[:8]}.pdf"]
    )
    for path in out.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600
    assert "2 attachments verified" in result.stdout
    bad = run("attachments", tip.id[:8], "--out", str(out), "--original", "4")
    assert bad.exit_code == 1 and "--original 4: the tip has attachments 1 to 3" in one_line_error(bad)
    strip_alone = run("attachments", tip.id[:8], "--out", str(out), "--strip")
    assert strip_alone.exit_code == 1 and "--strip applies to originals" in one_line_error(strip_alone)


@pytest.fixture(params=["mat2", "pillow"])
def stripper(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test of --strip runs with mat2 (Debian/Tails package) and with the Pillow fallback."""
    if request.param == "mat2":
        if shutil.which("mat2") is None:
            missing_service("mat2 is not installed (Debian package `mat2`)")
        monkeypatch.delenv("TIPBOX_REVIEW_MAT2", raising=False)
    else:
        monkeypatch.setenv("TIPBOX_REVIEW_MAT2", "0")
    return request.param


def test_strip_metadata_says_per_file_what_was_done(run: Run, tip, tmp_path: Path, stripper: str) -> None:
    out = tmp_path / "bersih"
    result = run("attachments", tip.id[:8], "--out", str(out), "--all-originals", "--strip")
    assert result.exit_code == 0, result.stderr
    [jpeg] = out.glob("foto*")
    assert jpeg.stat().st_mode & 0o777 == 0o600
    with Image.open(jpeg) as image:
        assert image.format == "JPEG" and image.size == (32, 24)
        assert len(image.getexif()) == 0 and "comment" not in image.info and "exif" not in image.info
    assert b"KameraPelapor" not in jpeg.read_bytes() and b"rumah Budi" not in jpeg.read_bytes()
    assert f"metadata removed by {'mat2' if stripper == 'mat2' else 'Pillow'}" in result.stdout
    if stripper == "mat2":  # per file, what was found (names only, never the values)
        assert "Make" in result.stdout and "KameraPelapor" not in result.stdout
    else:
        assert "found: EXIF, comment" in result.stdout
    # The PDF here is not a real one: neither tool can clean it, and the CLI says so, per file.
    assert "not stripped" in result.stdout and "still carry their metadata" in result.stderr
    [pdf] = out.glob("catatan*")
    assert pdf.read_bytes().startswith(b"%PDF-1.4")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in out.glob("*-*"))  # no leftovers


def test_strip_cleans_a_real_pdf_with_mat2_or_says_why_not(
    run: Run, server: FakeServer, tmp_path: Path, stripper: str
) -> None:
    from tests.review_cli.media import pdf_pages

    sealed = server.tip(files=[("surat.pdf", "application/pdf", pdf_pages(2))])
    assert run("import", str(server.bundle(tmp_path / "b.tar", [sealed]))).exit_code == 0
    out = tmp_path / "o"
    result = run("attachments", sealed.id[:8], "--out", str(out), "--original", "1", "--strip")
    assert result.exit_code == 0, result.stderr
    [pdf] = out.iterdir()
    if stripper == "mat2":
        assert "metadata removed by mat2" in result.stdout
        assert b"Penulis Dokumen" not in pdf.read_bytes()
    else:
        assert "not stripped: pdf files need mat2 (not installed)" in result.stdout
        assert b"Penulis Dokumen" in pdf.read_bytes()


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_a_damaged_attachment_writes_nothing(run: Run, tip, workspace: Path, tmp_path: Path, damage: str) -> None:
    entry = tip.document.attachments[2]
    stored = workspace / "tips" / tip.id / "attachments" / f"{entry.id}.age"
    data = bytearray(stored.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 1
        stored.write_bytes(bytes(data))
    elif damage == "truncate":
        stored.write_bytes(bytes(data[:-100]))
    else:
        stored.unlink()
    out = tmp_path / "keluar"
    result = run("attachments", tip.id[:8], "--out", str(out), "--all-originals")
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "attachment 3" in line
    assert list(out.iterdir()) == []  # not even the two good ones, nor a partial file
    assert "bukan skrip" not in result.stdout + result.stderr
    sheet = run("attachments", tip.id[:8], "--out", str(out))  # the preview sheet verifies the same way
    assert sheet.exit_code == 2 and "attachment 3" in one_line_error(sheet)
    assert list(out.iterdir()) == []


def test_tip_without_attachments(run: Run, server: FakeServer, tmp_path: Path) -> None:
    tip = server.tip()
    run("import", str(server.bundle(tmp_path / "b.tar", [tip])))
    result = run("attachments", tip.id[:8], "--out", str(tmp_path / "o"))
    assert result.exit_code == 1 and "no attachments" in one_line_error(result)


def test_one_attachment_is_counted_in_the_singular(run: Run, server: FakeServer, tmp_path: Path) -> None:
    sealed = server.tip(files=[("bukti.txt", "text/plain", b"satu berkas")])
    imported = run("import", str(server.bundle(tmp_path / "b.tar", [sealed])))
    assert "imported 1 new tip (1 attachment);" in imported.stdout
    assert run("list").stdout.rstrip().endswith("\n1 tip")
    result = run("attachments", sealed.id[:8], "--out", str(tmp_path / "keluar"))
    assert result.exit_code == 0, result.stderr
    assert "1 attachment verified" in result.stdout and "1 attachments" not in result.stdout
