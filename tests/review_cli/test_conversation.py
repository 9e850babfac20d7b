"""Source follow-up with end-to-end encrypted replies, the reviewer's side (docs/status.md, FORMAT.md §8/§10/§13):
importing follow-ups and published replies, the thread in `show`, `reply`, `triage --disclose`
and dispositions v2."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest

from crypto import dispositions as shared
from crypto import messages
from crypto.audit import Policy
from crypto.errors import NoMatchingIdentity
from crypto.header import parse_header
from crypto.identity import ReviewerIdentity
from crypto.receipt_keys import derive
from crypto.signing import CONTEXT_DISPOSITIONS, verify_document
from review_cli import taxonomy
from tests.review_cli.conftest import Run, SavedIdentity, one_line_error
from tests.review_cli.support import FakeServer, SealedTip, snapshot

RECEIPT = "7K3M-Q9XD-2HPA-W4RT-ZB6N"
SOURCE = derive(RECEIPT)
PHOTO = b"\xff\xd8\xff\xe0 foto kapal lanjutan" * 400
FOLLOWUP_TEXT = "Kapalnya berangkat lagi malam ini dari dermaga 3"
REPLY_TEXT = "Terima kasih. Laporan Anda sudah kami teruskan.\nMohon tetap berhati-hati."


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _stanzas(sealed: bytes) -> list[str]:
    return [s.type for s in parse_header(io.BytesIO(sealed)).stanzas if s.type == "X25519"]


@pytest.fixture
def conversed(run: Run, server: FakeServer, tmp_path: Path) -> SealedTip:
    """A tip with a source recipient, a follow-up with an attachment, and a reply the server published."""
    tip = server.tip(source_recipient=SOURCE.recipient)
    server.message(tip, "followup", FOLLOWUP_TEXT, files=[("dermaga 3.jpg", "image/jpeg", PHOTO)])
    server.message(
        tip,
        "reply",
        "Balasan pertama tim",
        recipients=[SOURCE.recipient, *server.recipients],
        received="2026-11-24T10:00:00Z",
    )
    result = run("import", str(server.bundle(tmp_path / "b.tar", [tip], reviewers=server.recipients)))
    assert result.exit_code == 0, result.stderr
    assert "imported 1 new tip (0 attachments)" in result.stdout
    assert "1 new follow-up (1 attachment), 1 published reply" in result.stdout
    return tip


def _reply_file(tmp_path: Path, text: str = REPLY_TEXT) -> Path:
    path = tmp_path / f"balasan-{len(list(tmp_path.iterdir()))}.txt"
    path.write_text(text, encoding="utf-8")
    return path


# --- the shared codes -----------------------------------------------------------------------------


def test_taxonomy_takes_its_codes_from_crypto_dispositions() -> None:
    assert tuple(taxonomy.STATUSES) == shared.STATUSES
    assert tuple(taxonomy.HOLD_REASONS) == shared.HOLD_REASONS
    assert tuple(taxonomy.AGENCY_KINDS) == shared.AGENCY_KINDS
    for table in (taxonomy.STATUSES, taxonomy.HOLD_REASONS, taxonomy.AGENCY_KINDS):
        assert all(term.id and term.en and term.id != term.code for term in table.values())
    assert all(agency.kind in shared.AGENCY_KINDS for agency in taxonomy.AGENCIES.values())
    kinds = {code: agency.kind for code, agency in taxonomy.AGENCIES.items()}
    assert kinds["POLRI-PPA"] == "police" and kinds["KPAI"] == "child-protection"
    assert kinds["IOM"] == kinds["LPSK"] == "victim-protection" and kinds["GUGUS-TPPO"] == "anti-trafficking"


# --- import ---------------------------------------------------------------------------------------


def test_import_stores_messages_beside_the_tip_sealed_and_idempotent(
    run: Run, server: FakeServer, conversed: SealedTip, workspace: Path, tmp_path: Path
) -> None:
    tip = conversed
    followup, published = tip.entry["messages"]
    files = dict(tip.files)
    base = workspace / "tips" / tip.id
    assert (base / "messages" / f"{followup['id']}.age").read_bytes() == files[followup["path"]]
    assert (base / "messages" / f"{published['id']}.age").read_bytes() == files[published["path"]]
    photo = followup["attachments"][0]
    assert (base / "attachments" / f"{photo['id']}.age").read_bytes() == files[photo["path"]]
    meta = json.loads((base / "meta.json").read_text())
    assert meta["messages"] == tip.entry["messages"]
    assert "source_recipient" not in meta
    # The source recipient is sealed to the reviewer; the reviewers list is public.
    assert json.loads((workspace / "reviewers.json").read_text())["reviewers"] == server.recipients
    for name, data in snapshot(workspace).items():
        for secret in (SOURCE.recipient.encode(), b"dermaga", b"Balasan pertama", b"kapal"):
            assert secret not in data, (name, secret)
    before = snapshot(workspace)
    again = run("import", str(server.bundle(tmp_path / "again.tar", [tip], reviewers=server.recipients)))
    assert again.exit_code == 0 and "0 new tips (0 attachments); 1 already present" in again.stdout
    assert "follow-ups" not in again.stdout
    assert snapshot(workspace) == before
    # A later export of the same tip with one more follow-up adds only that one.
    later = server.message(tip, "followup", "Ada dua anak baru", received="2026-11-25T08:00:00Z")
    more = run("import", str(server.bundle(tmp_path / "later.tar", [tip], reviewers=server.recipients)))
    assert more.exit_code == 0 and "1 new follow-up (0 attachments), 0 published replies" in more.stdout
    assert [m["id"] for m in json.loads((base / "meta.json").read_text())["messages"]] == [
        followup["id"],
        published["id"],
        later["id"],
    ]
    # A damaged message is repaired by importing again.
    (base / "messages" / f"{later['id']}.age").write_bytes(b"rusak")
    repaired = run("import", str(tmp_path / "later.tar"))
    assert repaired.exit_code == 0 and "1 repaired" in repaired.stdout
    assert (base / "messages" / f"{later['id']}.age").read_bytes() == dict(tip.files)[later["path"]]


def _refused(run: Run, workspace: Path, path: Path, code: int, words: str) -> None:
    before = snapshot(workspace)
    result = run("import", str(path))
    assert result.exit_code == code, result.stderr
    assert words in one_line_error(result)
    assert snapshot(workspace) == before


def test_bad_messages_refuse_the_whole_import(
    run: Run, server: FakeServer, workspace: Path, tmp_path: Path, reviewer: SavedIdentity
) -> None:
    # The follow-up lists an attachment the bundle does not carry.
    tip = server.tip(source_recipient=SOURCE.recipient)
    server.message(tip, "followup", "lampiran hilang", files=[("a.jpg", "image/jpeg", PHOTO)], list_attachments=False)
    _refused(run, workspace, server.bundle(tmp_path / "a.tar", [tip]), 2, "attachment list does not match")
    # A follow-up sealed to someone else.
    stranger = ReviewerIdentity.generate()
    tip = server.tip(source_recipient=SOURCE.recipient)
    server.message(tip, "followup", "bukan untukmu", recipients=[stranger.recipient])
    _refused(run, workspace, server.bundle(tmp_path / "b.tar", [tip]), 2, "not sealed to your key")
    # A follow-up the bundle calls a reply.
    tip = server.tip(source_recipient=SOURCE.recipient)
    entry = server.message(tip, "followup", "menyamar")
    entry["kind"] = "reply"
    _refused(run, workspace, server.bundle(tmp_path / "c.tar", [tip]), 2, "expected a reply")
    # With --skip-unreadable the tip comes in without the message that is not ours.
    tip = server.tip(source_recipient=SOURCE.recipient)
    server.message(tip, "followup", "bukan untukmu", recipients=[stranger.recipient])
    result = run("import", "--skip-unreadable", str(server.bundle(tmp_path / "d.tar", [tip])))
    assert result.exit_code == 0 and "1 message skipped" in result.stdout
    assert json.loads((workspace / "tips" / tip.id / "meta.json").read_text())["messages"] == []


def test_a_message_or_source_that_differs_is_a_conflict(
    run: Run, server: FakeServer, conversed: SealedTip, workspace: Path, tmp_path: Path
) -> None:
    tip = conversed
    changed = SealedTip(tip.id, json.loads(json.dumps(tip.entry)), list(tip.files), tip.document)
    changed.entry["messages"][0]["received"] = "2026-11-24T11:00:00Z"
    _refused(run, workspace, server.bundle(tmp_path / "m.tar", [changed]), 3, "different signed contents")
    other = SealedTip(tip.id, json.loads(json.dumps(tip.entry)), list(tip.files), tip.document)
    other.entry["source_recipient"] = derive("0000-0000-0000-0000-0000").recipient
    _refused(run, workspace, server.bundle(tmp_path / "s.tar", [other]), 3, "different source recipient")


# --- show -----------------------------------------------------------------------------------------


def test_show_prints_the_thread_in_both_languages_and_attachments_extracts_followup_files(
    run: Run, conversed: SealedTip, tmp_path: Path
) -> None:
    tip = conversed
    shown = run("show", tip.id[:8])
    assert shown.exit_code == 0, shown.stderr
    out = shown.stdout
    assert "Percakapan dengan pelapor" in out and "Pesan lanjutan dari pelapor" in out
    assert FOLLOWUP_TEXT in out and "dermaga 3.jpg" in out and "Balasan pertama tim" in out
    assert out.index("Pesan lanjutan") < out.index("Balasan pertama tim")
    assert "diterbitkan di halaman status" in out
    english = run("show", tip.id[:8], "--lang", "en")
    assert "Conversation with the source" in english.stdout and "Follow-up from the source" in english.stdout
    assert "published on the status page" in english.stdout
    # Follow-up attachments are extracted and verified like the tip's own.
    out_dir = tmp_path / "keluar"
    extracted = run("attachments", tip.id[:8], "--out", str(out_dir), "--all-originals")
    assert extracted.exit_code == 0, extracted.stderr
    photo = tip.entry["messages"][0]["attachments"][0]
    [written] = list(out_dir.iterdir())
    assert written.name == f"dermaga 3-{photo['id'][:8]}.jpg" and written.read_bytes() == PHOTO


def test_show_without_messages_or_source(run: Run, server: FakeServer, tmp_path: Path) -> None:
    tip = server.tip()
    assert run("import", str(server.bundle(tmp_path / "b.tar", [tip]))).exit_code == 0
    out = run("show", tip.id[:8], "--lang", "en").stdout
    assert "cannot receive replies" in out and "No follow-ups or replies yet" in out


def test_a_damaged_message_is_shown_as_such_and_exits_2(run: Run, conversed: SealedTip, workspace: Path) -> None:
    followup = conversed.entry["messages"][0]
    (workspace / "tips" / conversed.id / "messages" / f"{followup['id']}.age").write_bytes(b"x" * followup["size"])
    shown = run("show", conversed.id[:8], "--lang", "en")
    assert shown.exit_code == 2
    assert "Cannot be opened" in shown.stdout and "Balasan pertama tim" in shown.stdout
    assert "could not be opened" in one_line_error(shown)


# --- reply and dispositions v2 --------------------------------------------------------------------


def test_reply_is_sealed_to_the_source_and_exactly_the_reviewers_then_exported_once(
    run: Run,
    server: FakeServer,
    conversed: SealedTip,
    workspace: Path,
    tmp_path: Path,
    reviewer: SavedIdentity,
    other_reviewer: SavedIdentity,
) -> None:
    tip = conversed
    written = run("reply", tip.id[:8], "--message-file", str(_reply_file(tmp_path)))
    assert written.exit_code == 0, written.stderr
    assert "sealed to the source and 2 reviewers" in written.stdout and "pending (not yet sent)" in written.stdout
    assert REPLY_TEXT.splitlines()[0] not in written.stdout + written.stderr
    for name, data in snapshot(workspace).items():
        assert b"Terima kasih" not in data, name
    shown = run("show", tip.id[:8], "--lang", "en")
    assert "pending (not yet sent)" in shown.stdout and "Mohon tetap berhati-hati." in shown.stdout
    assert "tertunda (belum dikirim)" in run("show", tip.id[:8]).stdout

    out = tmp_path / "disposisi.json"
    exported = run("dispositions", "export", "--out", str(out))
    assert exported.exit_code == 0, exported.stderr
    assert "0 dispositions, 1 reply" in exported.stdout
    document = json.loads(out.read_bytes())
    body = verify_document(document, CONTEXT_DISPOSITIONS, [reviewer.identity.signing_public_key])
    parsed = shared.parse_body(body, _now(), Policy().max_hold_days)
    assert parsed.version == 2 and parsed.entries == ()
    [sent] = parsed.replies
    assert sent.tip_id == tip.id and len(sent.id) == 32
    # Exactly one X25519 stanza for the source and one per reviewer of the bundle.
    assert len(_stanzas(sent.sealed)) == 1 + len(server.recipients)
    for identity in (SOURCE.identity, reviewer.identity.secret, other_reviewer.identity.secret):
        opened = messages.open_message(sent.sealed, [identity], kind="reply")
        assert opened["text"] == REPLY_TEXT and opened["sealed_by"] == "reviewer" and opened["lang"] == "id"
    with pytest.raises(NoMatchingIdentity):
        messages.open_message(sent.sealed, [ReviewerIdentity.generate().secret])
    # Marked sent: shown as such, and never exported twice.
    assert f"sent in dispositions file {body['id'][:8]}" in run("show", tip.id[:8], "--lang", "en").stdout
    nothing = run("dispositions", "export", "--out", str(tmp_path / "lagi.json"))
    assert nothing.exit_code == 0 and "nothing changed" in nothing.stdout
    assert not (tmp_path / "lagi.json").exists()
    # Once the server publishes it, it comes back in a bundle and is shown once, as published.
    server.message(tip, "reply", "", sealed=sent.sealed, message_id=sent.id, received="2026-11-25T10:00:00Z")
    assert run("import", str(server.bundle(tmp_path / "pub.tar", [tip], reviewers=server.recipients))).exit_code == 0
    final = run("show", tip.id[:8], "--lang", "en").stdout
    assert final.count("Mohon tetap berhati-hati.") == 1 and "sent in dispositions file" not in final


def test_disclose_and_replies_in_one_v2_file(
    run: Run, server: FakeServer, conversed: SealedTip, tmp_path: Path, reviewer: SavedIdentity
) -> None:
    tip = conversed
    plain = server.tip()
    assert run("import", str(server.bundle(tmp_path / "p.tar", [plain], reviewers=server.recipients))).exit_code == 0
    changed = run("triage", tip.id[:8], "--status", "referred", "--target", "POLRI-PPA", "--disclose", "police")
    assert changed.exit_code == 0, changed.stderr
    assert "disclose: - → police" in changed.stdout
    assert run("triage", plain.id[:8], "--disclose", "child-protection").exit_code == 0  # still "new"
    assert "Told to the source" in run("show", tip.id[:8], "--lang", "en").stdout
    assert run("reply", tip.id[:8], "--message-file", str(_reply_file(tmp_path)), "--lang", "en").exit_code == 0
    out = tmp_path / "d.json"
    assert run("dispositions", "export", "--out", str(out)).exit_code == 0
    body = json.loads(out.read_bytes())["body"]
    parsed = shared.parse_body(body, _now(), Policy().max_hold_days)
    assert sorted(body["entries"], key=lambda e: e["tip_id"]) == sorted(
        [
            {"tip_id": tip.id, "status": "referred", "disclose": "police"},
            {"tip_id": plain.id, "status": "new", "disclose": "child-protection"},
        ],
        key=lambda e: e["tip_id"],
    )
    assert messages.open_message(parsed.replies[0].sealed, [SOURCE.identity])["lang"] == "en"
    # --disclose none withdraws it; the next export says so.
    assert run("triage", tip.id[:8], "--disclose", "none").exit_code == 0
    again = tmp_path / "d2.json"
    assert run("dispositions", "export", "--out", str(again)).exit_code == 0
    assert json.loads(again.read_bytes())["body"]["entries"] == [{"tip_id": tip.id, "status": "referred"}]
    assert run("triage", tip.id[:8], "--disclose", "embassy").exit_code == 1


def test_reply_from_the_editor(run: Run, conversed: SealedTip, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def edit(text: str, **kwargs: object) -> str:
        seen.append(text)
        return "Kami sudah menerima pesan Anda.\r\n\n" + text + "\nteks di bawah garis diabaikan"

    monkeypatch.setattr(click, "edit", edit)
    result = run("reply", conversed.id[:8], "--lang", "en")
    assert result.exit_code == 0, result.stderr
    assert "Write the reply to the source above this line" in seen[0]
    shown = run("show", conversed.id[:8], "--lang", "en").stdout
    assert "Kami sudah menerima pesan Anda." in shown and "diabaikan" not in shown and ">8" not in shown
    # Closing the editor without saving, or saving only the template, writes nothing.
    monkeypatch.setattr(click, "edit", lambda text, **kwargs: None)
    closed = run("reply", conversed.id[:8])
    assert closed.exit_code == 1 and "without saving" in one_line_error(closed)
    monkeypatch.setattr(click, "edit", lambda text, **kwargs: text)
    empty = run("reply", conversed.id[:8])
    assert empty.exit_code == 1 and "the reply is empty" in one_line_error(empty)


def test_reply_refusals_are_one_line_and_touch_nothing(
    run: Run, server: FakeServer, conversed: SealedTip, workspace: Path, tmp_path: Path
) -> None:
    secret = _reply_file(tmp_path, "RAHASIA: alamat rumah aman di jalan X")
    no_source = server.tip()
    assert run("import", str(server.bundle(tmp_path / "n.tar", [no_source]))).exit_code == 0
    cases = [
        ([no_source.id[:8], "--message-file", str(secret)], 1, "has no source recipient"),
        ([conversed.id[:8], "--message-file", str(_reply_file(tmp_path, " \n\t\n"))], 1, "the reply is empty"),
        ([conversed.id[:8], "--message-file", str(_reply_file(tmp_path, "x" * 20_001))], 1, "at most 20000"),
        (["ffffffff", "--message-file", str(secret)], 1, "no imported tip"),
        ([conversed.id[:8], "--message-file", str(tmp_path / "tidak-ada.txt")], 1, "does not exist"),
        ([conversed.id[:8], "--lang", "fr", "--message-file", str(secret)], 1, "--lang"),
    ]
    before = snapshot(workspace)
    for args, code, words in cases:
        result = run("reply", *args)
        assert result.exit_code == code, (args, result.stderr)
        line = one_line_error(result)
        assert words in line, (args, line)
        assert "RAHASIA" not in result.stdout + result.stderr and "alamat" not in result.stderr
        assert snapshot(workspace) == before, args


def test_reply_needs_a_known_reviewers_list(run: Run, server: FakeServer, workspace: Path, tmp_path: Path) -> None:
    tip = server.tip(source_recipient=SOURCE.recipient)
    assert run("import", str(server.bundle(tmp_path / "b.tar", [tip]))).exit_code == 0  # an older server: no list
    before = snapshot(workspace)
    result = run("reply", tip.id[:8], "--message-file", str(_reply_file(tmp_path)))
    assert result.exit_code == 1 and "no reviewers list is known" in one_line_error(result)
    assert "Passphrase" not in result.stderr and snapshot(workspace) == before


def test_a_pending_reply_follows_a_newer_reviewers_list(
    run: Run,
    server: FakeServer,
    conversed: SealedTip,
    workspace: Path,
    tmp_path: Path,
    reviewer: SavedIdentity,
) -> None:
    assert run("reply", conversed.id[:8], "--message-file", str(_reply_file(tmp_path))).exit_code == 0
    third = ReviewerIdentity.generate()
    newer = [*server.recipients, third.recipient]
    # An older bundle does not replace the list; a newer one does.
    older = server.bundle(
        tmp_path / "old.tar", [conversed], reviewers=server.recipients[:1], created="2026-11-01T00:00:00Z"
    )
    assert run("import", str(older)).exit_code == 0
    assert json.loads((workspace / "reviewers.json").read_text())["reviewers"] == server.recipients
    bundle = server.bundle(tmp_path / "new.tar", [conversed], reviewers=newer, created="2026-12-01T00:00:00Z")
    assert run("import", str(bundle)).exit_code == 0
    out = tmp_path / "d.json"
    exported = run("dispositions", "export", "--out", str(out))
    assert exported.exit_code == 0 and "sealed again" in exported.stdout
    [sent] = shared.parse_body(json.loads(out.read_bytes())["body"], _now(), 365).replies
    assert len(_stanzas(sent.sealed)) == 1 + len(newer)
    assert messages.open_message(sent.sealed, [third.secret])["text"] == REPLY_TEXT
    assert messages.open_message(sent.sealed, [SOURCE.identity])["text"] == REPLY_TEXT
    # A reviewer no longer on the list cannot reply (the server would refuse the file).
    only_others = server.bundle(
        tmp_path / "gone.tar", [conversed], reviewers=[third.recipient], created="2026-12-02T00:00:00Z"
    )
    assert run("import", str(only_others)).exit_code == 0
    refused = run("reply", conversed.id[:8], "--message-file", str(_reply_file(tmp_path)))
    assert refused.exit_code == 3 and "not in the reviewers list" in one_line_error(refused)


def test_help_and_codes_describe_replies_and_disclosure(run: Run) -> None:
    top = run("--help", input=None).stdout
    assert "reply" in top
    reply_help = run("reply", "--help", input=None).stdout
    assert "--message-file" in reply_help and "--lang" in reply_help and "pending" in reply_help
    assert "--disclose" in run("triage", "--help", input=None).stdout
    assert "replies" in run("dispositions", "export", "--help", input=None).stdout
    codes = run("codes", input=None).stdout
    assert "agency kinds" in codes and "child-protection" in codes and "anti-trafficking" in codes


# --- a real process -------------------------------------------------------------------------------


@pytest.mark.slow
def test_reply_and_export_as_a_subprocess(tmp_path: Path, reviewer: SavedIdentity, server: FakeServer) -> None:
    from tests.review_cli.support import PASSPHRASE, run_cli_process

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "identity.age").write_bytes(reviewer.path.read_bytes())
    tip = server.tip(source_recipient=SOURCE.recipient)
    server.message(tip, "followup", FOLLOWUP_TEXT)
    bundle = server.bundle(tmp_path / "b.tar", [tip], reviewers=server.recipients)
    imported = run_cli_process(["--workspace", str(ws), "import", str(bundle)], tmp_path, PASSPHRASE + "\n")
    assert imported.returncode == 0, imported.stderr
    message = _reply_file(tmp_path)
    replied = run_cli_process(
        ["--workspace", str(ws), "reply", tip.id[:8], "--message-file", str(message)], tmp_path, PASSPHRASE + "\n"
    )
    assert replied.returncode == 0, replied.stderr
    shown = run_cli_process(["--workspace", str(ws), "show", tip.id[:8], "--lang", "en"], tmp_path, PASSPHRASE + "\n")
    assert shown.returncode == 0 and FOLLOWUP_TEXT in shown.stdout and "pending (not yet sent)" in shown.stdout
    out = tmp_path / "d.json"
    exported = run_cli_process(["--workspace", str(ws), "dispositions", "export", "--out", str(out)], tmp_path, PASSPHRASE + "\n")
    assert exported.returncode == 0, exported.stderr
    [sent] = shared.parse_body(json.loads(out.read_bytes())["body"], _now(), 365).replies
    assert messages.open_message(sent.sealed, [SOURCE.identity])["text"] == REPLY_TEXT
    refused = run_cli_process(["--workspace", str(ws), "reply", "ffff"], tmp_path)
    assert refused.returncode == 1 and refused.stderr.count("tipbox-review: error:") == 1
    assert "Traceback" not in refused.stderr
    assert base64.b64decode(json.loads(out.read_bytes())["body"]["replies"][0]["message"]) == sent.sealed


def test_a_pending_reply_can_be_discarded_but_not_a_sent_one(
    run: Run, conversed: SealedTip, tmp_path: Path
) -> None:
    tip = conversed
    first = run("reply", tip.id[:8], "--message-file", str(_reply_file(tmp_path, "Balasan yang salah ketik")))
    second = run("reply", tip.id[:8], "--message-file", str(_reply_file(tmp_path, "Balasan yang benar")))
    assert first.exit_code == 0 and second.exit_code == 0
    first_id = first.stdout.split("reply ", 1)[1][:8]
    gone = run("reply", tip.id[:8], "--discard", first_id)
    assert gone.exit_code == 0 and f"reply {first_id} to tip" in gone.stdout
    shown = run("show", tip.id[:8], "--lang", "en").stdout
    assert "Balasan yang salah ketik" not in shown and "Balasan yang benar" in shown
    assert one_line_error(run("reply", tip.id[:8], "--discard", first_id))  # no longer there
    out = tmp_path / "disposisi.json"
    assert "0 dispositions, 1 reply" in run("dispositions", "export", "--out", str(out)).stdout
    [sent] = json.loads(out.read_bytes())["body"]["replies"]
    refused = run("reply", tip.id[:8], "--discard", sent["id"][:8])
    assert refused.exit_code == 3 and "already exported" in one_line_error(refused)
