"""triage --attachment N --class CLASS: ICCAM-like classes in the sealed triage history and in referral packets,
which list every file's hashes and never embed the media."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from crypto.vocabulary import MaterialClass, Status, codes
from review_cli import triage as triage_mod
from review_cli.triage_record import TRIAGE, read
from review_cli.workspace import Keys, Workspace
from tests.review_cli import media
from tests.review_cli.conftest import Run, SavedIdentity, one_line_error
from tests.review_cli.support import FakeServer, pdf_text, snapshot

JPEG = media.jpeg_with_gps()
PDF = media.pdf_pages(2)


@pytest.fixture
def tip(run: Run, server: FakeServer, tmp_path: Path):
    sealed = server.tip(files=[("IMG_Budi_rumah.jpg", "image/jpeg", JPEG), ("surat.pdf", "application/pdf", PDF)])
    assert run("import", str(server.bundle(tmp_path / "b.tar", [sealed]))).exit_code == 0
    return sealed


def _record(workspace: Path, reviewer: SavedIdentity, tip_id: str):
    return triage_mod.load(Workspace(workspace), Keys.of(reviewer.identity), tip_id)


def test_the_classes_are_the_shared_vocabulary() -> None:
    assert codes(MaterialClass) == ("intl-illegal", "national-illegal", "not-illegal", "not-assessed")


def test_classes_are_kept_in_the_sealed_history(run: Run, tip, workspace: Path, reviewer: SavedIdentity) -> None:
    first = run("triage", tip.id[:8], "--attachment", "1", "--class", "intl-illegal")
    assert first.exit_code == 0, first.stderr
    assert "classes" in first.stdout and "intl-illegal" in first.stdout
    assert run("triage", tip.id[:8], "--attachment", "2", "--class", "NOT-ILLEGAL").exit_code == 0
    again = run("triage", tip.id[:8], "--attachment", "1", "--class", "national-illegal")
    assert again.exit_code == 0, again.stderr
    photo, letter = (a.id for a in tip.document.attachments)
    record = _record(workspace, reviewer, tip.id)
    assert record.current.classes == (f"{photo}=national-illegal", f"{letter}=not-illegal")  # order kept
    assert record.current.class_of() == {photo: "national-illegal", letter: "not-illegal"}
    assert [item.changes["classes"][1] for item in record.history] == [
        (f"{photo}=intl-illegal",),
        (f"{photo}=intl-illegal", f"{letter}=not-illegal"),
        (f"{photo}=national-illegal", f"{letter}=not-illegal"),
    ]
    assert all(item.by == Keys.of(reviewer.identity).fingerprint for item in record.history)
    # Ciphertext at rest: the class is not readable in the workspace.
    sealed = (workspace / "triage" / f"{tip.id}.age").read_bytes()
    assert b"national-illegal" not in sealed and b"classes" not in sealed
    shown = run("show", tip.id[:8], "--lang", "en")
    assert shown.exit_code == 0, shown.stderr
    assert "Illegal under Indonesian law" in shown.stdout and "Not illegal" in shown.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--attachment", "1"], "--attachment N and --class CLASS go together"),
        (["--class", "not-illegal"], "--attachment N and --class CLASS go together"),
        (["--attachment", "3", "--class", "not-illegal"], "--attachment 3: the tip has attachments 1 to 2"),
        (["--attachment", "1", "--class", "baseline"], "--class"),
        (["--attachment", "0", "--class", "not-illegal"], "--attachment"),
    ],
)
def test_bad_classifications_change_nothing(run: Run, tip, workspace: Path, args: list[str], words: str) -> None:
    before = snapshot(workspace)
    result = run("triage", tip.id[:8], *args)
    assert result.exit_code == 1 and words in one_line_error(result), result.stderr
    assert snapshot(workspace) == before


def test_a_record_from_before_classes_is_still_read(reviewer: SavedIdentity) -> None:
    keys = Keys.of(reviewer.identity)
    tip_id = "c" * 32
    old = TRIAGE.seal(
        {"tip_id": tip_id, "current": {"status": "in_review", "category": "ANAK-KS"}, "history": []}, keys
    )
    record = read(old, keys, tip_id)
    assert record.current.classes == () and record.current.status == Status.IN_REVIEW
    damaged = TRIAGE.seal({"tip_id": tip_id, "current": {"classes": ["x=legal"]}, "history": []}, keys)
    with pytest.raises(Exception, match="classes holds something other than attachment=class"):
        read(damaged, keys, tip_id)


def test_the_packet_lists_hashes_and_classes_and_never_the_media(run: Run, tip, tmp_path: Path) -> None:
    assert run("triage", tip.id[:8], "--priority", "P1", "--reason", "anak dalam bahaya").exit_code == 0
    assert run("triage", tip.id[:8], "--attachment", "1", "--class", "intl-illegal").exit_code == 0
    js = tmp_path / "p.json"
    result = run("refer", tip.id[:8], "--to", "POLRI-PPA", "--format", "json", "--out", str(js), "--lang", "en")
    assert result.exit_code == 0, result.stderr
    raw = js.read_bytes()
    photo, letter = json.loads(raw)["evidence"]
    assert photo == {
        "n": 1,
        "type": "image/jpeg",
        "kind": "jpeg",
        "size": len(JPEG),
        "sha256": hashlib.sha256(JPEG).hexdigest(),
        "sha1": hashlib.sha1(JPEG).hexdigest(),
        "md5": hashlib.md5(JPEG).hexdigest(),
        "pdq": media.pdq_hex(JPEG),
        "classification": {"code": "intl-illegal", "text": "Illegal internationally (ICCAM baseline)"},
    }
    assert letter["kind"] == "pdf" and letter["pdq"] is None and letter["classification"] is None
    # The media never travels in a packet: no bytes of it, raw or base64, no GPS, no file names.
    for blob in (JPEG[100:140], base64.b64encode(JPEG)[100:140], media.CANARY, b"105.275", b"IMG_Budi"):
        assert blob not in raw
    md = tmp_path / "p.md"
    assert run("refer", tip.id[:8], "--to", "POLRI-PPA", "--out", str(md)).exit_code == 0
    text = md.read_text()
    assert "intl-illegal: Ilegal secara internasional (baseline ICCAM)" in text
    assert f"MD5 `{hashlib.md5(JPEG).hexdigest()}`" in text and f"PDQ `{media.pdq_hex(JPEG)}`" in text
    assert f"SHA-1 `{hashlib.sha1(PDF).hexdigest()}`" in text
    pdf_file = tmp_path / "p.pdf"
    assert run("refer", tip.id[:8], "--to", "POLRI-PPA", "--format", "pdf", "--out", str(pdf_file)).exit_code == 0
    text = pdf_text(pdf_file.read_bytes())
    assert hashlib.md5(JPEG).hexdigest() in text and "intl-illegal" in text
    assert len(pdf_file.read_bytes()) < 200_000  # text only; the photo is not in it
