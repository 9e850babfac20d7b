"""What the browser tests share: the evidence files, filling the form, and the reviewer's side of a round trip.

Import these; a test module never imports another test module's private functions.
"""

from __future__ import annotations

import io
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from crypto import bundle, messages, payload, receipt_keys
from crypto.attachments import ContentDigest, open_attachment
from crypto.errors import TipboxCryptoError
from crypto.identity import ReviewerIdentity, save_identity
from crypto.signing import public_key_b64
from review_cli.main import cli as review_cli
from tests.browser.conftest import LiveServer
from tests.review_cli.support import PASSPHRASE
from tests.support import missing_service

PDF_EVIDENCE = b"%PDF-1.4\n" + bytes(range(256)) * 9000  # ~2.2 MiB: several upload chunks
REPLY_TEXT = "Terima kasih atas laporan Anda.\nDi desa mana tepatnya? <b>tidak tebal</b> & \"kutip\""


PHOTO_EVIDENCE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 1200  # ~300 KiB: more than one age chunk


def export_new(server: LiveServer, tmp_path: Path):
    out = tmp_path / f"export-{secrets.token_hex(4)}.tar"
    server.tipbox("export", "--out", str(out), "--new-only")
    from tipbox.keys import load_server_key

    key = public_key_b64(load_server_key(server.var_dir / "server-signing.key"))
    return bundle.verify_bundle(out, [key])


def publish_reply(server: LiveServer, tmp_path: Path, bundle_path: Path, tip: dict, text: str) -> None:
    """The reviewer's side with the real CLI: import, triage, reply, dispositions export; then the server imports."""
    workspace = tmp_path / f"workspace-{secrets.token_hex(4)}"
    workspace.mkdir(mode=0o700)
    save_identity(server.reviewer, workspace / "identity.age", PASSPHRASE)

    def review(*args: str) -> str:
        result = CliRunner().invoke(review_cli, ["--workspace", str(workspace), *args], input=PASSPHRASE + "\n")
        assert result.exit_code == 0, (args, result.output)
        return result.output

    review("import", str(bundle_path))
    short = tip["id"][:8]
    review("triage", short, "--status", "referred", "--target", "POLRI-PPA", "--disclose", "police")
    message = tmp_path / f"reply-{secrets.token_hex(4)}.txt"
    message.write_text(text)
    review("reply", short, "--message-file", str(message))
    dispositions = tmp_path / f"dispositions-{secrets.token_hex(4)}.json"
    review("dispositions", "export", "--out", str(dispositions))
    message.unlink()
    server.tipbox("dispositions", "import", str(dispositions))


def report_with_reply(server: LiveServer, tmp_path: Path, receipt: str) -> dict:
    verified = export_new(server, tmp_path)
    # The recipient the browser (or the server, without JavaScript) derived from this receipt.
    [tip] = [t for t in verified.body["tips"] if t.get("source_recipient") == receipt_keys.derive(receipt).recipient]
    assert verified.body["reviewers"] == [server.reviewer.recipient]
    publish_reply(server, tmp_path, verified.path, tip, REPLY_TEXT)
    return tip


def followup_in_next_export(server: LiveServer, tmp_path: Path, tip_id: str,
                             receipt: str) -> tuple[dict, dict, dict[str, bytes]]:
    verified = export_new(server, tmp_path)
    [tip] = [t for t in verified.body["tips"] if t["id"] == tip_id]
    followups = [m for m in tip["messages"] if m["kind"] == "followup"]
    assert len(followups) == 1
    [entry] = followups
    document = messages.open_message(verified.open_member(entry["path"]), [server.reviewer.secret], kind="followup")
    # Sealed to the reviewers only: the source's own identity cannot reopen it.
    with pytest.raises(TipboxCryptoError):
        messages.open_message(verified.open_member(entry["path"]), [receipt_keys.derive(receipt).identity])
    return entry, document, open_files(server, verified, document["attachments"], entry["attachments"])


def open_files(server: LiveServer, verified, listed, sealed_entries) -> dict[str, bytes]:
    """File name -> content: each sealed attachment opened with the reviewer key and checked against
    the size and SHA-256 its (sealed) document lists."""
    files = {}
    for meta, sealed in zip(listed, sealed_entries, strict=True):
        out = io.BytesIO()
        open_attachment(io.BytesIO(verified.open_member(sealed["path"])), out, [server.reviewer.secret],
                        ContentDigest(meta["size"], meta["sha256"]))
        files[meta["name"]] = out.getvalue()
    return files


def fill_form(page, canary: str) -> None:
    page.check("#danger-danger_now")
    page.select_option("#category", "ANAK-EKO")
    page.fill("#description", f"Anak-anak dipaksa bekerja di kapal ikan. {canary}")
    page.select_option("#province", "18")
    page.select_option("#regency", "18.09")
    page.fill("#place", "Pelabuhan dekat pasar")
    page.fill("#when", "Minggu lalu, malam hari")
    page.check("input[name=ongoing][value=yes]")
    page.fill("#victims_count", "3")
    page.check("input[name=victims_age_band][value='13-17']")
    page.fill("#victims_nationality", "Indonesia")
    page.fill("#responsible", "Seorang mandor bernama Pak X")
    page.fill("#online_places", "https://contoh.invalid/loker\n@perekrut_kapal")
    page.check("input[name=how_known][value=saw]")
    page.fill("#contact", "Signal: +62 000")
    page.check("input[name=contact_consent]")
    page.set_input_files("#attachments", files=[{"name": "bukti kapal.pdf", "mimeType": "application/pdf",
                                                  "buffer": PDF_EVIDENCE}])


def export_and_open(server: LiveServer, tmp_path: Path, tip_count: int | None) -> list[dict]:
    """Export the tips not exported yet (``tip_count`` of them, if given) and open each with the reviewer key."""
    verified = export_new(server, tmp_path)
    assert tip_count is None or len(verified.body["tips"]) == tip_count
    results = []
    for tip in verified.body["tips"]:
        document = payload.open_tip(verified.open_member(tip["payload"]["path"]), [server.reviewer.secret])
        files = open_files(server, verified, document["attachments"], tip["attachments"])
        results.append({"tip": tip, "document": document, "files": files})
    return results


def assert_answers(answers: dict, canary: str) -> None:
    assert answers["description"] == f"Anak-anak dipaksa bekerja di kapal ikan. {canary}"
    assert answers["danger"] == ["danger_now"]
    assert answers["category"] == "ANAK-EKO"
    assert (answers["province"], answers["regency"]) == ("18", "18.09")
    assert answers["place"] == "Pelabuhan dekat pasar"
    assert answers["when"] == "Minggu lalu, malam hari"
    assert answers["ongoing"] == "yes"
    assert answers["victims_count"] == 3
    assert answers["victims_age_band"] == "13-17"
    assert answers["victims_nationality"] == "Indonesia"
    assert answers["responsible"] == "Seorang mandor bernama Pak X"
    assert answers["online_places"] == ["https://contoh.invalid/loker", "@perekrut_kapal"]
    assert answers["how_known"] == "saw"
    assert answers["contact"] == "Signal: +62 000"
    assert answers["contact_consent"] is True


# --------------------------------------------------------------------------- channels (test_channels.py)


def fill_routed_form(page, canary: str, province: str = "", regency: str = "", category: str = "ANAK-EKO") -> None:
    """A short tip whose routing answers are the region (and category) given; nothing attached."""
    page.select_option("#category", category)
    page.fill("#description", f"Seorang anak dipekerjakan di warung tiap malam. {canary}")
    if province:
        page.select_option("#province", province)
    if regency:
        page.select_option("#regency", regency)


def export_channel(server: LiveServer, tmp_path: Path, channel: str):
    """``tipbox export --channel CHANNEL`` (every tip of it, not only new ones), verified with the server key."""
    out = tmp_path / f"export-{channel}-{secrets.token_hex(4)}.tar"
    try:
        server.tipbox("export", "--channel", channel, "--out", str(out))
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"tipbox export --channel {channel} failed ({exc.returncode}):\n{exc.stdout}{exc.stderr}")
    from tipbox.keys import load_server_key

    key = public_key_b64(load_server_key(server.var_dir / "server-signing.key"))
    return bundle.verify_bundle(out, [key])


def review_workspace(tmp_path: Path, identity: ReviewerIdentity, name: str):
    """A fresh ``tipbox-review`` workspace holding ``identity``; returns ``review(*args) -> CliResult``
    running the real CLI (passphrase on stdin). The caller checks the exit code."""
    workspace = tmp_path / f"workspace-{name}-{secrets.token_hex(4)}"
    workspace.mkdir(mode=0o700)
    save_identity(identity, workspace / "identity.age", PASSPHRASE)

    def review(*args: str):
        return CliRunner().invoke(review_cli, ["--workspace", str(workspace), *args], input=PASSPHRASE + "\n")

    return review


def stock_age_decrypt(tmp_path: Path, identity: ReviewerIdentity, sealed: bytes) -> subprocess.CompletedProcess[bytes]:
    """``age -d -i IDENTITY FILE`` with the stock age CLI: the identity as age-keygen writes it (no passphrase)."""
    age = shutil.which("age")
    if age is None:
        missing_service("the stock age CLI is not on PATH (install the Debian package `age`)")
    work = tmp_path / f"age-{secrets.token_hex(4)}"
    work.mkdir(mode=0o700)
    (work / "identity.txt").write_text(identity.to_text())
    (work / "payload.age").write_bytes(sealed)
    return subprocess.run([str(age), "-d", "-i", str(work / "identity.txt"), str(work / "payload.age")],
                          capture_output=True, timeout=60)
