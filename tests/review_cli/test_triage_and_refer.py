"""triage validation and history; referral packets in Markdown, JSON and PDF."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from crypto.audit import Policy
from crypto.bundle import BundleFileEntry, BundleTip
from crypto.payload import Answers, TipDocument
from crypto.signing import key_fingerprint
from crypto.vocabulary import Language, SealedBy
from review_cli import pdf as pdf_mod
from review_cli import triage as triage_mod
from review_cli.triage_record import Triage, TriageRecord
from review_cli.workspace import Keys, TipMeta, Workspace
from tests.review_cli.conftest import Run, SavedIdentity, one_line_error
from tests.review_cli.support import ANSWERS, FakeServer, pdf_text, snapshot

EVIDENCE = b"\x89PNG bukti" * 300


@pytest.fixture
def tip(run: Run, server: FakeServer, tmp_path: Path):
    sealed = server.tip(files=[("IMG_Budi_rumah.png", "image/png", EVIDENCE)])
    assert run("import", str(server.bundle(tmp_path / "b.tar", [sealed]))).exit_code == 0
    return sealed


def _record(workspace: Path, reviewer: SavedIdentity, tip_id: str) -> TriageRecord:
    return triage_mod.load(Workspace(workspace), Keys.of(reviewer.identity), tip_id)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--priority", "P1"], "--priority and --reason go together"),
        (["--reason", "karena"], "--priority and --reason go together"),
        (["--priority", "P2", "--reason", "  "], "--reason must not be empty"),
        (["--category", "ANAK-XYZ"], "--category"),
        (["--target", "FBI"], "--target"),
        (["--region", "99.99"], "no such Kemendagri"),
        (["--region", "18.9"], "looks like 18"),
        (["--status", "hold"], "--hold-until"),
        (["--status", "hold", "--hold-until", "2020-01-01", "--hold-reason", "investigation"], "after today"),
        (["--status", "hold", "--hold-until", "2999-01-01", "--hold-reason", "investigation"],
         "at most 365 days ahead (tipbox's default"),
        (["--status", "hold", "--hold-until", "2027-01-01", "--hold-reason", "forever"], "--hold-reason"),
        (["--hold-until", "2027-01-01"], "only apply with --status hold"),
        (["--status", "referred"], "needs the agency"),
        (["--status", "done"], "--status"),
        ([], "nothing to change"),
    ],
)
def test_triage_validation(run: Run, tip, workspace: Path, args: list[str], words: str) -> None:
    before = snapshot(workspace)
    result = run("triage", tip.id[:8], *args)
    assert result.exit_code == 1, result.stdout
    assert words in one_line_error(result)
    assert snapshot(workspace) == before


def test_triage_keeps_a_sealed_history(run: Run, tip, workspace: Path, reviewer: SavedIdentity) -> None:
    first = run(
        "triage",
        tip.id[:8],
        "--category",
        "anak-eko",
        "--priority",
        "p2",
        "--reason",
        "korban teridentifikasi",
        "--region",
        "35.72",
        "--region",
        "35",
        "--target",
        "UPTD-PPA",
        "--notes",
        "cek pelabuhan Blitar",
        "--status",
        "in_review",
    )
    assert first.exit_code == 0, first.stderr
    assert "priority: - → P2" in first.stdout
    until = (date.today() + timedelta(days=90)).isoformat()
    assert (
        run("triage", tip.id[:8], "--status", "hold", "--hold-until", until, "--hold-reason", "investigation").exit_code
        == 0
    )
    same = run("triage", tip.id[:8], "--priority", "P2", "--reason", "korban teridentifikasi")
    assert "nothing changed" in same.stdout
    sealed = (workspace / "triage" / f"{tip.id}.age").read_bytes()
    assert sealed.startswith(b"age-encryption.org/v1\n") and b"Blitar" not in sealed
    record = _record(workspace, reviewer, tip.id)
    assert record.current.as_json() == {
        "category": "ANAK-EKO",
        "priority": "P2",
        "priority_reason": "korban teridentifikasi",
        "regions": ["35.72", "35"],
        "targets": ["UPTD-PPA"],
        "notes": "cek pelabuhan Blitar",
        "status": "hold",
        "hold_until": until,
        "hold_reason": "investigation",
        "disclose": None,
        "classes": [],
    }
    by = key_fingerprint(reviewer.identity.signing_public_key)
    assert [h.by for h in record.history] == [by, by]
    assert record.history[1].changes == {
        "status": ("in_review", "hold"),
        "hold_until": (None, until),
        "hold_reason": (None, "investigation"),
    }
    assert datetime.strptime(record.history[0].at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) <= datetime.now(UTC)
    shown = run("show", tip.id[:8], "--lang", "en").stdout
    for text in ("hold", until, "Investigation in progress", "P2 High (3 days)", "cek pelabuhan Blitar", "History"):
        assert text in shown
    # Leaving hold clears its fields; the row in `list` follows.
    assert run("triage", tip.id[:8], "--status", "closed").exit_code == 0
    assert _record(workspace, reviewer, tip.id).current.hold_until is None
    [row] = json.loads(run("list", "--json").stdout)
    assert (row["status"], row["priority"], row["regions"], row["targets"]) == (
        "closed",
        "P2",
        ["35.72", "35"],
        ["UPTD-PPA"],
    )


def test_refer_needs_a_triaged_priority(run: Run, tip, tmp_path: Path) -> None:
    result = run("refer", tip.id[:8], "--to", "POLRI-PPA", "--out", str(tmp_path / "p.md"))
    assert result.exit_code == 1 and "no priority yet" in one_line_error(result)
    assert not (tmp_path / "p.md").exists()


def _triaged(run: Run, tip) -> None:
    assert (
        run(
            "triage", tip.id[:8], "--priority", "P1", "--reason", "anak di kapal malam ini", "--region", "35.72"
        ).exit_code
        == 0
    )


def test_referral_markdown_has_everything_domain_md_asks(
    run: Run, tip, tmp_path: Path, workspace: Path, reviewer: SavedIdentity
) -> None:
    _triaged(run, tip)
    out = tmp_path / "rujukan.md"
    result = run("refer", tip.id[:8], "--to", "polri-ppa", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    assert out.stat().st_mode & 0o777 == 0o600
    for expected in (
        "# RAHASIA: Paket Rujukan TB-" + tip.id[:8].upper(),
        "POLRI-PPA: Polri",
        "Darurat 110",
        "**ANAK-EKO**: Eksploitasi ekonomi anak / pekerja anak",
        "Pasal 76I jo. Pasal 88",
        "UU 13/2003",
        "**P1 Darurat**",
        "hari yang sama",
        "anak di kapal malam ini",
        "Seseorang sedang dalam bahaya saat ini",
        "Seseorang akan segera dibawa pergi",
        "2026-11-23T11:00:00Z",
        "sejak Agustus",
        "Ya, masih berlangsung",
        "Pelapor melihatnya sendiri",
        "Anak-anak bekerja di kapal\nsetiap malam",
        "35.72 Kota Blitar, Jawa Timur",
        "pelabuhan",
        "Jumlah korban: 4",
        "13 sampai 17 tahun",
        "WNI",
        "mandor kapal bernama X",
        "https://x.invalid/lowongan\n@perekrut",
        f"`{__import__('hashlib').sha256(EVIDENCE).hexdigest()}`",
        "image/png",
        "Catatan keselamatan",
        "Identitas anak wajib dirahasiakan",
        "Imigrasi dan BP2MI",
        "Perlindungan LPSK",
        "Perlu dipertimbangkan",
        "UU 31/2014",
        "Pelapor anonim. Identitas pelapor tidak diketahui",
    ):
        assert expected in text, expected
    assert "Signal" not in text and "+62" not in text  # no consent: never the contact
    assert "IMG_Budi_rumah" not in text  # nor the source's file names
    record = _record(workspace, reviewer, tip.id)
    assert record.current.status == "referred" and record.current.targets == ("POLRI-PPA",)
    referral = record.history[-1].referral
    assert referral is not None and referral.to == "POLRI-PPA" and referral.sha256 in result.stdout
    # Refuses to overwrite, in any format.
    before = out.read_bytes()
    again = run("refer", tip.id[:8], "--to", "POLRI-PPA", "--out", str(out))
    assert again.exit_code == 3 and out.read_bytes() == before


def test_referral_includes_contact_only_with_consent_and_escapes_markdown(
    run: Run, server: FakeServer, tmp_path: Path
) -> None:
    answers = {
        **ANSWERS,
        "contact_consent": True,
        "description": "![x](https://tracker.invalid/p.png) <img src=x>\n~~~\nlepas",
    }
    tip = server.tip(answers)
    assert run("import", str(server.bundle(tmp_path / "b.tar", [tip]))).exit_code == 0
    _triaged(run, tip)
    md = tmp_path / "p.md"
    assert run("refer", tip.id[:8], "--to", "SAPA129", "--out", str(md), "--lang", "en").exit_code == 0
    text = md.read_text()
    assert "Signal +62 812 0000 0000" in text and "agreed to be contacted" in text
    assert "~~~~text\n![x](https://tracker.invalid/p.png) <img src=x>\n~~~\nlepas\n~~~~" in text  # fenced, not rendered
    assert "Someone is in danger right now" in text and "Refer within: **same day**" in text


def test_referral_json_and_pdf(run: Run, tip, tmp_path: Path) -> None:
    _triaged(run, tip)
    js = tmp_path / "p.json"
    assert (
        run("refer", tip.id[:8], "--to", "UPTD-PPA", "--format", "json", "--out", str(js), "--lang", "en").exit_code
        == 0
    )
    packet = json.loads(js.read_text())
    assert packet["marking"] == "RAHASIA" and packet["case_reference"] == f"TB-{tip.id[:8].upper()}"
    assert packet["category"] == {"code": "ANAK-EKO", "name": "Economic exploitation / child labour"}
    assert packet["priority"]["code"] == "P1" and packet["priority"]["reason"] == "anak di kapal malam ini"
    assert packet["region"] == [{"code": "35.72", "name": "Kota Blitar, Jawa Timur"}]
    assert packet["victims"] == {
        "count": 4,
        "age_band": {"code": "13-17", "text": "13 to 17 years"},
        "nationality": "WNI",
    }
    hashlib = __import__("hashlib")
    assert packet["evidence"] == [
        {
            "n": 1,
            "type": "image/png",
            "kind": "unknown",  # "\x89PNG" alone is not a PNG signature: the content decides, not the type
            "size": len(EVIDENCE),
            "sha256": hashlib.sha256(EVIDENCE).hexdigest(),
            "sha1": hashlib.sha1(EVIDENCE).hexdigest(),
            "md5": hashlib.md5(EVIDENCE).hexdigest(),
            "pdq": None,
            "classification": None,
        }
    ]
    assert packet["source_contact"] is None and packet["lpsk"]["consider"] is True
    assert packet["chronology"]["earlier_referrals"] == []
    pdf_file = tmp_path / "p.pdf"
    result = run("refer", tip.id[:8], "--to", "POLRI-PPA", "--format", "pdf", "--out", str(pdf_file))
    assert result.exit_code == 0, result.stderr
    data = pdf_file.read_bytes()
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for expected in (
        "RAHASIA",
        "Paket Rujukan",
        "Eksploitasi ekonomi anak",
        "Pasal 76I",
        "P1 Darurat",
        "Anak-anak bekerja di kapal",
        "Kota Blitar",
        "mandor kapal",
        "Catatan keselamatan",
        "Rujukan sebelumnya",
        "UPTD-PPA",
    ):
        assert expected in text, expected
    assert "Signal" not in text


def test_pdf_renders_indonesian_and_other_scripts_with_or_without_a_unicode_font(tmp_path: Path) -> None:
    from review_cli.referral import build_packet
    from review_cli.workspace import utc_now

    answers = Answers.of({**ANSWERS, "description": "Pekerja dibawa ke Malaysia — «segera» 中文 😀"})
    document = TipDocument(1, Language.ID, SealedBy.BROWSER, answers, ())
    payload = BundleFileEntry(f"tips/{'a' * 32}/payload.age", 1, "0" * 64)
    meta = TipMeta(BundleTip("a" * 32, "2026-11-23T11:00:00Z", SealedBy.BROWSER, None, payload, (), None, ()))
    current = Triage(priority="P2", priority_reason="ketahuan")
    packet = build_packet("a" * 32, meta, document, current, [], "BP2MI", "id", utc_now())
    font = pdf_mod.find_font()
    if font is not None:
        text = pdf_text(pdf_mod.render_pdf(packet, compress=False))
        assert "Pekerja dibawa ke Malaysia — «segera» ??" in text  # CJK is not in the font: replaced, never dropped
    core = pdf_text(pdf_mod.render_pdf(packet, compress=True, use_system_font=False))
    assert "Pekerja dibawa ke Malaysia ? «segera» ?? ?" in core and "Unicode font not found" in core


def test_holds_are_checked_against_the_policy_in_the_newest_bundle(
    run: Run, server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    """An operator's 180-day limit reaches the CLI in the signed bundle: a 300-day hold is refused at triage
    time, naming the limit, instead of the server refusing the whole dispositions file later."""
    sealed = server.tip()
    strict = Policy(max_hold_days=180)
    path = server.bundle(tmp_path / "b.tar", [sealed], policy=strict, created="2026-11-23T12:00:00Z")
    assert run("import", str(path)).exit_code == 0
    hold = ["triage", sealed.id[:8], "--status", "hold", "--hold-reason", "investigation", "--hold-until"]
    before = snapshot(workspace)
    refused = run(*hold, (date.today() + timedelta(days=300)).isoformat())
    assert refused.exit_code == 1
    assert "at most 180 days ahead (the server's retention policy" in one_line_error(refused)
    assert snapshot(workspace) == before
    assert run(*hold, (date.today() + timedelta(days=170)).isoformat()).exit_code == 0
    # An older bundle does not overrule the newer one's policy; a newer one does.
    older = server.bundle(tmp_path / "old.tar", [sealed], policy=Policy(max_hold_days=365), created="2026-01-01T00:00:00Z")
    assert run("import", str(older)).exit_code == 0
    assert run(*hold, (date.today() + timedelta(days=300)).isoformat()).exit_code == 1
    newer = server.bundle(tmp_path / "new.tar", [sealed], policy=Policy(max_hold_days=400), created="2026-12-01T00:00:00Z")
    assert run("import", str(newer)).exit_code == 0
    assert run(*hold, (date.today() + timedelta(days=300)).isoformat()).exit_code == 0

