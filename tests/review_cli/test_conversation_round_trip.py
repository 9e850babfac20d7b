"""The conversation end to end: a browser report with a receipt -> a follow-up from the status page ->
tipbox export -> tipbox-review import, show, attachments, triage --disclose, reply -> dispositions
export (v2) -> tipbox dispositions import -> the source reads the reply with the receipt."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from flask import Flask

from crypto import messages
from crypto.receipt_keys import derive
from tests.review_cli.conftest import Run, SavedIdentity
from tests.review_cli.support import ANSWERS
from tests.tipbox.browser_like import BrowserLike

PHOTO = b"\xff\xd8\xff\xe0 foto dermaga" * 500
REPLY = "Terima kasih, laporan Anda sudah kami teruskan ke pihak yang berwenang."


def _export(app: Flask, path: Path) -> Path:
    result = app.test_cli_runner().invoke(args=["export", "--out", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_reply_reaches_the_source_through_the_server(
    app: Flask, run: Run, tmp_path: Path, reviewer: SavedIdentity, other_reviewer: SavedIdentity
) -> None:
    browser = BrowserLike(app.test_client())
    receipt = browser.submit(dict(ANSWERS))
    status = browser.status(receipt)
    assert status.status_code == 200, status.get_json()
    sent = browser.follow_up(
        status.get_json()["access"], "Kapal berangkat lagi malam ini", {"b" * 32: ("dermaga.jpg", "image/jpeg", PHOTO)}
    )
    assert sent.status_code == 200, sent.get_json()

    imported = run("import", str(_export(app, tmp_path / "one.tar")))
    assert imported.exit_code == 0, imported.stderr
    assert "1 new follow-up (1 attachment), 0 published replies" in imported.stdout
    [row] = json.loads(run("list", "--json").stdout)
    tip_id = row["id"]
    shown = run("show", tip_id[:8], "--lang", "en")
    assert shown.exit_code == 0, shown.stderr
    assert "Kapal berangkat lagi malam ini" in shown.stdout and "dermaga.jpg" in shown.stdout
    out_dir = tmp_path / "lampiran"
    assert run("attachments", tip_id[:8], "--out", str(out_dir), "--all-originals").exit_code == 0
    assert [p.read_bytes() for p in out_dir.iterdir()] == [PHOTO]

    triaged = run("triage", tip_id[:8], "--status", "referred", "--target", "POLRI-PPA", "--disclose", "police")
    assert triaged.exit_code == 0, triaged.stderr
    message = tmp_path / "balasan.txt"
    message.write_text(REPLY)
    replied = run("reply", tip_id[:8], "--message-file", str(message))
    assert replied.exit_code == 0, replied.stderr
    dispositions = tmp_path / "disposisi.json"
    exported = run("dispositions", "export", "--out", str(dispositions))
    assert exported.exit_code == 0, exported.stderr
    assert "1 disposition (1 referred), 1 reply" in exported.stdout
    applied = app.test_cli_runner().invoke(args=["dispositions", "import", str(dispositions)])
    assert applied.exit_code == 0, applied.output

    # The source, with nothing but the receipt, reads the reply and the disclosed agency kind.
    answer = browser.status(receipt).get_json()
    assert answer["agency_kind"] == "police"
    [published] = answer["replies"]
    opened = messages.open_message(base64.b64decode(published["message"]), [derive(receipt).identity], kind="reply")
    assert opened["text"] == REPLY
    reply_id = json.loads(dispositions.read_bytes())["body"]["replies"][0]["id"]

    # The next bundle brings the published reply back; `show` lists it once, as published.
    again = run("import", str(_export(app, tmp_path / "two.tar")))
    assert again.exit_code == 0, again.stderr
    final = run("show", tip_id[:8], "--lang", "en").stdout
    assert final.count(REPLY[:40]) == 1 and "published on the status page" in final
    assert reply_id[:8] in final and "pending" not in final
