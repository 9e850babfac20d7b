"""attachments (the default): a preview sheet instead of originals; decoders contained; nothing else on disk.

Real files made in tests/review_cli/media.py: a JPEG with EXIF GPS, a PNG, a 5-page PDF, a PDF cut
short, a decompression-bomb PNG and a PDF named like a photo.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pytest

from review_cli import evidence
from review_cli.sandbox import MIB, Limits
from review_cli.workspace import Keys, Workspace
from tests.review_cli import media
from tests.review_cli.conftest import Run, SavedIdentity, one_line_error
from tests.review_cli.support import FakeServer, pdf_text, snapshot

JPEG = media.jpeg_with_gps()
PNG = media.png_pattern()
PDF = media.pdf_pages(5)
TRUNCATED = media.truncated_pdf()
BOMB = media.bomb_png(8000)  # 64 megapixels: over review_cli's MAX_PIXELS (50 M), under Pillow's default (89 M)
FILES = [
    ("IMG_rumah.jpg", "image/jpeg", JPEG),
    ("pola.png", "image/png", PNG),
    ("kontrak.pdf", "application/pdf", PDF),
    ("rusak.pdf", "application/pdf", TRUNCATED),
    ("bom.png", "image/png", BOMB),
    ("foto_liburan.jpg", "image/jpeg", PDF),  # the name and type lie: it is a PDF
]


@pytest.fixture
def tip(run: Run, server: FakeServer, tmp_path: Path):
    sealed = server.tip(files=FILES)
    assert run("import", str(server.bundle(tmp_path / "b.tar", [sealed]))).exit_code == 0
    return sealed


def _inspect(workspace: Path, reviewer: SavedIdentity, tip, **options) -> list[evidence.Evidence]:
    ws = Workspace(workspace)
    keys = Keys.of(reviewer.identity)
    content = list(tip.document.attachments)
    sealed = ws.meta(tip.id).attachments
    return evidence.inspect(ws, keys, tip.id, content, sealed, **options)


def _neighbour_difference(preview: evidence.Preview) -> float:
    """Mean absolute difference of horizontally adjacent pixels: high for sharp edges, low when blurred."""
    w, px = preview.width, preview.pixels
    total = sum(abs(px[i] - px[i + 1]) for i in range(len(px) - 1) if (i + 1) % w)
    return total / (len(px) - preview.height)


def test_the_report_of_each_kind(workspace: Path, reviewer: SavedIdentity, tip) -> None:
    jpeg, png, pdf, truncated, bomb, liar = _inspect(workspace, reviewer, tip)
    # Hashes match independent computations, also where no preview could be made.
    for item, (_, _, data) in zip((jpeg, png, pdf, truncated, bomb, liar), FILES, strict=True):
        assert item.hashes.size == len(data)
        assert item.hashes.sha256 == hashlib.sha256(data).hexdigest()
        assert item.hashes.sha1 == hashlib.sha1(data).hexdigest()
        assert item.hashes.md5 == hashlib.md5(data).hexdigest()
    # The photo: kind from content, PDQ as pdqhash computes it on the original, metadata, one blurred preview.
    assert jpeg.kind.code == "jpeg" and jpeg.details == "640×480 JPEG" and jpeg.mismatch is None
    assert jpeg.pdq == media.pdq_hex(JPEG) and jpeg.pdq_quality is not None
    assert jpeg.metadata["gps"] == "-5.433333, 105.275000"
    assert jpeg.metadata["gps_altitude"] == "12.5 m"
    assert jpeg.metadata["device"] == "KameraPelapor X-100"
    assert jpeg.metadata["capture_time"].startswith("2026:11:20 21:14:59")
    [preview] = jpeg.previews
    assert max(preview.width, preview.height) == evidence.PREVIEW_PX
    assert len(preview.pixels) == preview.width * preview.height  # one grey byte per pixel
    assert _neighbour_difference(preview) < 3  # a checkerboard, blurred to almost flat grey
    assert png.kind.code == "png" and png.pdq == media.pdq_hex(PNG) and "gps" not in png.metadata
    # The PDF: its first pages rendered the same way, no PDQ, its document information as metadata.
    assert pdf.kind.code == "pdf" and pdf.details == "5 pages" and len(pdf.previews) == evidence.PDF_PAGES
    assert pdf.pdq is None and pdf.metadata.get("author") == "Penulis Dokumen"
    # The truncated PDF and the bomb fail in their child; the run goes on.
    assert truncated.previews == () and truncated.problem == "cannot be decoded (PdfiumError)"
    assert bomb.previews == () and bomb.pdq is None
    assert bomb.problem is not None and bomb.problem.startswith("decompression bomb")
    # The liar is treated as what it is: a PDF, rendered by PDFium, never handed to the image decoder.
    assert liar.kind.code == "pdf" and len(liar.previews) == evidence.PDF_PAGES
    assert liar.mismatch == "name ends .jpg and declared image/jpeg, but the content is pdf"


def test_unblur_renders_one_preview_sharp(workspace: Path, reviewer: SavedIdentity, tip) -> None:
    items = _inspect(workspace, reviewer, tip, sharp={1})
    [sharp] = items[0].previews
    assert items[0].sharp and max(sharp.width, sharp.height) == evidence.SHARP_PX
    assert _neighbour_difference(sharp) > 30  # the checkerboard's edges are there
    assert not items[1].sharp and _neighbour_difference(items[1].previews[0]) < 3


def test_a_bomb_below_pillows_pixel_limit_is_stopped_by_the_address_space_limit(
    run: Run, server: FakeServer, workspace: Path, reviewer: SavedIdentity, tmp_path: Path
) -> None:
    """7000 × 7000 is under MAX_PIXELS, so only RLIMIT_AS stops it at 384 MiB (remove it and this fails)."""
    sealed = server.tip(files=[("besar.png", "image/png", media.bomb_png(7000)), ("pola.png", "image/png", PNG)])
    assert run("import", str(server.bundle(tmp_path / "b.tar", [sealed]))).exit_code == 0
    big, small = _inspect(workspace, reviewer, sealed, limits=Limits(address_space=384 * MIB))
    assert big.previews == () and big.problem in ("memory limit reached", "the decoder failed (exit 1)")
    assert small.previews and small.pdq == media.pdq_hex(PNG)


def test_a_decoder_past_its_deadline_costs_only_its_preview(
    workspace: Path, reviewer: SavedIdentity, tip
) -> None:
    items = _inspect(workspace, reviewer, tip, limits=Limits(timeout=0.001))
    assert all(i.previews == () for i in items)
    assert {i.problem for i in items if i.kind.decoder} == {"timeout: stopped after 0.001 s"}
    assert items[0].hashes.sha256 == hashlib.sha256(JPEG).hexdigest()


def test_the_sheet_is_the_only_file_written(
    run: Run, tip, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmpdir"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    before = snapshot(workspace)
    out = tmp_path / "lembar"
    result = run("attachments", tip.id[:8], "--out", str(out))
    assert result.exit_code == 0, result.stderr
    [sheet] = out.iterdir()
    assert sheet.name == f"previews-{tip.id[:8]}.pdf" and sheet.stat().st_mode & 0o777 == 0o600
    assert snapshot(workspace) == before  # the workspace stays ciphertext only, untouched
    assert list(temp.iterdir()) == []
    for path in tmp_path.rglob("*"):  # the plaintext canary (a JPEG comment) is nowhere on disk
        if path.is_file():
            assert media.CANARY not in path.read_bytes(), path
    text = pdf_text(sheet.read_bytes())
    for expected in (
        "RAHASIA",
        "Lembar pratinjau lampiran",
        hashlib.sha1(JPEG).hexdigest(),
        hashlib.md5(JPEG).hexdigest(),
        hashlib.sha256(BOMB).hexdigest(),
        media.pdq_hex(JPEG),
        "-5.433333, 105.275000",
        "dapat menunjukkan tempat anak",
        "KameraPelapor X-100",
        "decompression bomb",
        "cannot be decoded (PdfiumError)",
        "PERINGATAN: nama/jenis tidak sesuai isi",
        "5 pages",
    ):
        assert expected in text, expected
    assert "6 attachments verified against the tip's SHA-256; preview sheet written to" in result.stdout
    assert "no preview: decompression bomb" in result.stdout
    assert "disagrees with its content" in result.stderr and "GPS position" in result.stderr
    # Never overwritten; an unblurred sheet is a file of its own.
    again = run("attachments", tip.id[:8], "--out", str(out))
    assert again.exit_code == 3 and "refusing to overwrite" in one_line_error(again)
    sharp = run("attachments", tip.id[:8], "--out", str(out), "--unblur", "1")
    assert sharp.exit_code == 0, sharp.stderr
    assert (out / f"previews-{tip.id[:8]}-unblurred-1.pdf").is_file()
    assert "TAJAM (--unblur)" in pdf_text((out / f"previews-{tip.id[:8]}-unblurred-1.pdf").read_bytes())


def test_sheet_options_are_checked_before_anything_is_written(run: Run, tip, tmp_path: Path) -> None:
    out = tmp_path / "o"
    for args, words in (
        (["--unblur", "7"], "--unblur 7: the tip has attachments 1 to 6"),
        (["--unblur", "1", "--original", "1"], "--unblur changes the preview sheet"),
        (["--original", "0"], "--original"),
    ):
        result = run("attachments", tip.id[:8], "--out", str(out), *args)
        assert result.exit_code == 1 and words in one_line_error(result), (args, result.stderr)
    assert not out.exists() or list(out.iterdir()) == []


def test_a_sheet_in_english_and_follow_up_attachments_numbered_after_the_tips(
    run: Run, server: FakeServer, tmp_path: Path
) -> None:
    sealed = server.tip(files=[("a.png", "image/png", PNG)], source_recipient=None)
    server.message(sealed, "followup", "foto lagi", files=[("b.jpg", "image/jpeg", JPEG)])
    assert run("import", str(server.bundle(tmp_path / "b.tar", [sealed]))).exit_code == 0
    out = tmp_path / "en"
    result = run("attachments", sealed.id[:8], "--out", str(out), "--lang", "en")
    assert result.exit_code == 0, result.stderr
    text = pdf_text(next(out.iterdir()).read_bytes())
    assert "Attachment preview sheet" in text and "#2 · jpeg" in text and "A GPS fix can locate a child" in text
    assert os.environ.get("TMPDIR") != "/nonexistent"
