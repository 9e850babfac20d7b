"""The whole path: submit (browser and no-JS) -> tipbox export -> tipbox-review import, list,
show, triage, attachments, refer -> dispositions export -> tipbox dispositions import."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from crypto.signing import key_fingerprint
from tests.review_cli.conftest import Run, SavedIdentity
from tests.review_cli.support import pdf_text
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.support import post_report_form
from tipbox import db
from tipbox.audit.models import AuditEvent
from tipbox.models import DispositionImport, Tip

PHOTO = b"\xff\xd8\xff\xe0 foto kapal" * 3000
LETTER = b"%PDF-1.4 surat perekrut" * 2000


def test_round_trip(app: Flask, run: Run, workspace: Path, tmp_path: Path, reviewer: SavedIdentity) -> None:
    client = app.test_client()
    browser_answers = {
        "danger": ["danger_now"],
        "category": "ANAK-DARING",
        "description": "Akun ini memeras anak-anak SMP",
        "province": "18",
        "regency": "18.09",
        "place": "grup WhatsApp",
        "when": "minggu lalu",
        "ongoing": "yes",
        "victims_count": 3,
        "victims_age_band": "13-17",
        "victims_nationality": None,
        "responsible": "admin grup",
        "online_places": ["https://x.invalid/grup", "@pemeras"],
        "how_known": "online",
        "contact": "email rahasia@x.invalid",
        "contact_consent": True,
    }
    attachment_id = "a" * 32
    BrowserLike(client).submit(browser_answers, {attachment_id: ("tangkapan layar.jpg", "image/jpeg", PHOTO)})
    response = post_report_form(
        client,
        description="Pekerja dibawa ke Malaysia\r\nlewat pelabuhan",
        category="TPPO-PMI",
        province="17",
        regency="17.09",
        ongoing="unknown",
        victims_count="12",
        victims_age_band="adult",
        how_known="told",
        danger=["leaving_soon"],
        contact="0812 3456",
        attachments=[(io.BytesIO(LETTER), "surat.pdf", "application/pdf")],
    )
    assert response.status_code == 200

    bundle_path = tmp_path / "export.tar"
    exported = app.test_cli_runner().invoke(args=["export", "--out", str(bundle_path)])
    assert exported.exit_code == 0, exported.output
    server_fp = re.search(r"reviewers pin it\): (\S+)", exported.output).group(1)

    imported = run("import", str(bundle_path), "--expect-server-key", server_fp)
    assert imported.exit_code == 0, imported.stderr
    assert "imported 2 new tips (2 attachments)" in imported.stdout and server_fp in imported.stderr

    rows = {r["sealed_by"]: r for r in json.loads(run("list", "--json").stdout)}
    with app.app_context():
        db_tips = {t.sealed_by: t for t in db.session().scalars(select(Tip))}
    browser, nojs = rows["browser"], rows["server"]
    for row in (browser, nojs):
        tip = db_tips[row["sealed_by"]]
        assert row["id"] == tip.id
        assert row["received"] == tip.received_at.strftime("%Y-%m-%dT%H:00:00Z")
        assert row["payload_sealed_by"] == row["sealed_by"] and row["status"] == "new" and row["attachments"] == 1
        assert row["danger"] is True and row["priority"] is None and row["targets"] == [] and not row["triaged"]
    assert (browser["category"], browser["regions"]) == ("ANAK-DARING", ["18.09"])
    assert (nojs["category"], nojs["regions"]) == ("TPPO-PMI", ["17.09"])

    shown = run("show", browser["id"][:8]).stdout
    for text in (
        "Akun ini memeras anak-anak SMP",
        "18.09 Kabupaten Pesawaran, Lampung",
        "grup WhatsApp",
        "@pemeras",
        "Pelapor melihatnya di internet",
        "rahasia@x.invalid",
        "SETUJU",
        "tangkapan layar.jpg",
        hashlib.sha256(PHOTO).hexdigest(),
        "KOMDIGI",
    ):
        assert text in shown, text
    assert "SERVER" not in shown
    shown_nojs = run("show", nojs["id"][:8], "--lang", "en").stdout
    for text in (
        "encrypted by the SERVER",
        "Pekerja dibawa ke Malaysia",
        "lewat pelabuhan",
        "17.09 Kabupaten Bengkulu Tengah",
        "Someone is about to be taken away or sent abroad",
        "Adult (18 or older)",
        "12",
        "did NOT agree",
        "surat.pdf",
    ):
        assert text in shown_nojs, text

    out = tmp_path / "lampiran"
    sheets = tmp_path / "pratinjau"
    assert run("attachments", browser["id"][:8], "--out", str(sheets)).exit_code == 0  # the default: a sheet
    assert sorted(p.name for p in sheets.iterdir()) == [f"previews-{browser['id'][:8]}.pdf"]
    assert run("attachments", browser["id"][:8], "--out", str(out), "--all-originals").exit_code == 0
    assert run("attachments", nojs["id"][:8], "--out", str(out), "--all-originals").exit_code == 0
    written = {p.name: p.read_bytes() for p in out.iterdir()}
    assert written == {
        f"tangkapan layar-{attachment_id[:8]}.jpg": PHOTO,
        **{n: LETTER for n in written if n.startswith("surat-")},
    }
    assert len(written) == 2

    hold_until = (date.today() + timedelta(days=120)).isoformat()
    assert (
        run(
            "triage",
            browser["id"][:8],
            "--priority",
            "P1",
            "--reason",
            "pemerasan sedang berlangsung",
            "--region",
            "18.09",
            "--notes",
            "cek akun",
        ).exit_code
        == 0
    )
    assert (
        run(
            "triage",
            nojs["id"][:8],
            "--priority",
            "P2",
            "--reason",
            "keberangkatan dekat",
            "--status",
            "hold",
            "--hold-until",
            hold_until,
            "--hold-reason",
            "investigation",
        ).exit_code
        == 0
    )
    packet_md = tmp_path / "rujukan.md"
    assert run("refer", browser["id"][:8], "--to", "POLRI-PPA", "--out", str(packet_md)).exit_code == 0
    md = packet_md.read_text()
    for text in (
        "RAHASIA",
        "ANAK-DARING",
        "UU 44/2008",
        "Pasal 14",
        "P1 Darurat",
        "pemerasan sedang berlangsung",
        "18.09 Kabupaten Pesawaran, Lampung",
        "https://x.invalid/grup\n@pemeras",
        hashlib.sha256(PHOTO).hexdigest(),
        "rahasia@x.invalid",
        "Jangan menyebarkan",
    ):
        assert text in md, text
    assert "cek akun" not in md and "tangkapan layar" not in md
    packet_pdf = tmp_path / "rujukan.pdf"
    assert (
        run(
            "refer", nojs["id"][:8], "--to", "BP2MI", "--format", "pdf", "--out", str(packet_pdf), "--lang", "en"
        ).exit_code
        == 0
    )
    pdf = pdf_text(packet_pdf.read_bytes())
    for text in (
        "Referral packet",
        "TPPO-PMI",
        "Law 21/2007",
        "Article 4",
        "17.09 Kabupaten Bengkulu Tengah",
        "0800-1000",
        "The source is anonymous",
        hashlib.sha256(LETTER).hexdigest(),
    ):
        assert text in pdf, text
    assert "0812 3456" not in pdf

    listed = {r["id"]: r for r in json.loads(run("list", "--json").stdout)}
    assert listed[browser["id"]]["status"] == "referred" and listed[browser["id"]]["targets"] == ["POLRI-PPA"]
    assert listed[nojs["id"]]["status"] == "hold" and listed[nojs["id"]]["hold_until"] == hold_until

    dispositions = tmp_path / "disposisi.json"
    exported = run("dispositions", "export", "--out", str(dispositions))
    assert exported.exit_code == 0, exported.stderr
    applied = app.test_cli_runner().invoke(args=["dispositions", "import", str(dispositions)])
    assert applied.exit_code == 0, applied.output
    assert "from reviewer r0: 2 entries, 2 applied (1 hold, 1 referred)" in applied.output
    with app.app_context():
        session = db.session()
        browser_tip, nojs_tip = session.get(Tip, browser["id"]), session.get(Tip, nojs["id"])
        [record] = session.scalars(select(DispositionImport)).all()
        assert (browser_tip.review_status, browser_tip.hold_until, browser_tip.hold_reason, browser_tip.closed_at) == (
            "referred",
            None,
            None,
            None,
        )
        assert (nojs_tip.review_status, nojs_tip.hold_until, nojs_tip.hold_reason) == (
            "hold",
            datetime.fromisoformat(hold_until),
            "investigation",
        )
        assert browser_tip.disposition_id == nojs_tip.disposition_id == record.id
        assert record.id == json.loads(dispositions.read_bytes())["body"]["id"]
        assert record.reviewer_id and (record.entry_count, record.applied_count) == (2, 2)
        assert record.sha256 == hashlib.sha256(dispositions.read_bytes()).hexdigest()
        events = {(e.event, e.tip_id) for e in session.scalars(select(AuditEvent))}
        assert ("tip.held", nojs["id"]) in events and ("tip.status", browser["id"]) in events
        assert ("dispositions.imported", None) in events
    assert key_fingerprint(reviewer.identity.signing_public_key) in exported.stdout
    replay = app.test_cli_runner().invoke(args=["dispositions", "import", str(dispositions)])
    assert replay.exit_code == 1 and "replay refused" in replay.output

    # A later export holds nothing new; importing it again changes nothing.
    again = tmp_path / "again.tar"
    assert app.test_cli_runner().invoke(args=["export", "--out", str(again), "--new-only"]).exit_code == 0
    assert "imported 0 new tips (0 attachments); 0 already present" in run("import", str(again)).stdout
    assert "2 already present" in run("import", str(bundle_path)).stdout
