"""Hashes agencies can match (SHA-256, SHA-1, MD5, PDQ) in `show`, and kinds told from content, not names."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from review_cli.hashes import Hasher
from review_cli.kinds import disagreement, sniff
from tests.review_cli import media
from tests.review_cli.conftest import Run
from tests.review_cli.support import FakeServer

JPEG = media.jpeg_with_gps()


def test_one_pass_gives_all_three_digests_of_the_whole() -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    hasher = Hasher()
    for start in range(0, len(data), 65_537):
        hasher.update(memoryview(data)[start : start + 65_537])
    result = hasher.result()
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.sha1 == hashlib.sha1(data).hexdigest()
    assert result.md5 == hashlib.md5(data).hexdigest()


@pytest.mark.parametrize(
    ("head", "code"),
    [
        (JPEG[:64], "jpeg"),
        (media.png_pattern()[:64], "png"),
        (media.pdf_pages(1)[:64], "pdf"),
        (b"GIF89a" + bytes(58), "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(48), "webp"),
        (b"\x00\x00\x00\x18ftypheic" + bytes(52), "heic"),
        (b"\x00\x00\x00\x18ftypisom" + bytes(52), "mp4"),
        (b"PK\x03\x04" + bytes(60), "zip"),
        (b"MZ\x90\x00" + bytes(60), "exe"),
        (b"Laporan: anak-anak di pelabuhan, " * 2, "text"),
        (b"\x00\x01\x02\x03" * 16, "unknown"),
        (b"", "empty"),
    ],
)
def test_kinds_come_from_the_first_bytes(head: bytes, code: str) -> None:
    assert sniff(head[:64]).code == code


def test_a_name_or_type_that_lies_is_pointed_out() -> None:
    pdf = sniff(b"%PDF-1.7\n")
    assert disagreement(pdf, "foto.jpg", "image/jpeg") == "name ends .jpg and declared image/jpeg, but the content is pdf"
    assert disagreement(pdf, "surat.PDF", "application/pdf") is None
    exe = sniff(b"MZ\x90\x00")
    assert disagreement(exe, "foto.jpg", "image/jpeg") == "name ends .jpg and declared image/jpeg, but the content is exe"
    assert disagreement(sniff(JPEG[:64]), "IMG_1.JPEG", "image/jpeg") is None


def test_show_prints_every_hash_the_kind_and_the_metadata(run: Run, server: FakeServer, tmp_path: Path) -> None:
    lying = media.pdf_pages(1)
    sealed = server.tip(files=[("IMG_1.jpg", "image/jpeg", JPEG), ("liburan.jpg", "image/jpeg", lying)])
    assert run("import", str(server.bundle(tmp_path / "b.tar", [sealed]))).exit_code == 0
    shown = run("show", sealed.id[:8], "--lang", "en")
    assert shown.exit_code == 0, shown.stderr
    out = shown.stdout
    for expected in (
        "Evidence: attachments (from content, not names)",
        hashlib.sha256(JPEG).hexdigest(),
        hashlib.sha1(JPEG).hexdigest(),
        hashlib.md5(JPEG).hexdigest(),
        media.pdq_hex(JPEG),
        "GPS (latitude, longitude)",
        "-5.433333, 105.275000",
        "KameraPelapor X-100",
        "name ends .jpg and declared image/jpeg, but the content is pdf",
        hashlib.md5(lying).hexdigest(),
    ):
        assert expected in out, expected
    quick = run("show", sealed.id[:8], "--no-evidence")
    assert quick.exit_code == 0 and hashlib.md5(JPEG).hexdigest() not in quick.stdout


def test_show_still_shows_a_tip_whose_attachment_is_damaged(
    run: Run, server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    sealed = server.tip(files=[("a.jpg", "image/jpeg", JPEG), ("b.pdf", "application/pdf", media.pdf_pages(1))])
    assert run("import", str(server.bundle(tmp_path / "b.tar", [sealed]))).exit_code == 0
    stored = workspace / "tips" / sealed.id / "attachments" / f"{sealed.document.attachments[1].id}.age"
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 1
    stored.write_bytes(bytes(data))
    shown = run("show", sealed.id[:8])
    assert shown.exit_code == 2
    assert "Anak-anak bekerja di kapal" in shown.stdout and hashlib.md5(JPEG).hexdigest() in shown.stdout
    assert "#2 Tidak dapat diperiksa" in shown.stdout
    assert "1 attachment of tip" in shown.stderr and "failed verification" in shown.stderr


def test_hostile_metadata_is_shown_inert(run: Run, server: FakeServer, tmp_path: Path) -> None:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "\x1b[2J\x1b]0;pwned\x07Kamera\u202eexe"  # clear screen, set title, right-to-left override
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(out, format="JPEG", exif=exif)
    sealed = server.tip(files=[("a.jpg", "image/jpeg", out.getvalue())])
    assert run("import", str(server.bundle(tmp_path / "b.tar", [sealed]))).exit_code == 0
    shown = run("show", sealed.id[:8])
    assert shown.exit_code == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout and "\u202e" not in shown.stdout
    assert "Kamera" in shown.stdout
