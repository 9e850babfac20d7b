"""Channels in `tipbox-review` (crypto/FORMAT.md §7, §8, §14; docs/review.md "Channels").

The seed set of FORMAT.md §14, cut down: `blitar-kota` leads Kota Blitar tips,
`jatim-uptd-ppa` (East Java, coordinating) reads them along and leads the rest
of the province, `nasional` (coordinating) reads everything. The workspace's
reviewer belongs to `jatim-uptd-ppa`, with the other reviewer; `blitar-kota`
and `nasional` each have a reviewer of their own.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from crypto import audit, messages
from crypto.dispositions import parse_body
from crypto.errors import NoMatchingIdentity
from crypto.header import parse_header
from crypto.identity import ReviewerIdentity
from crypto.receipt_keys import derive
from crypto.signing import CONTEXT_DISPOSITIONS, public_key_b64, verify_document
from tests.review_cli.conftest import Run, SavedIdentity, one_line_error
from tests.review_cli.support import ChannelSpec, FakeServer, SealedTip, snapshot

SOURCE = derive("7K3M-Q9XD-2HPA-W4RT-ZB6N")
BLITAR_REVIEWER = ReviewerIdentity.generate()
NATIONAL_REVIEWER = ReviewerIdentity.generate()
OUTSIDER = ReviewerIdentity.generate()
REPLY_TEXT = "Terima kasih, laporan Anda sedang kami tangani."
SURABAYA = {"description": "Anak dipekerjakan di gudang", "province": "35", "regency": "35.78"}
BLITAR = {"description": "Anak di kapal", "province": "35", "regency": "35.72"}


@dataclass
class Setup:
    server: FakeServer
    jatim: list[str]  # the workspace's channel's reviewers
    directory: dict[str, Any]
    blitar_tip: SealedTip  # led by blitar-kota; jatim-uptd-ppa and nasional read along
    surabaya_tip: SealedTip  # led by jatim-uptd-ppa; nasional reads along
    surabaya_reviewers: list[str]


def _channels(jatim: list[str]) -> list[ChannelSpec]:
    return [
        ChannelSpec("blitar-kota", [BLITAR_REVIEWER.recipient], ("Satgas PPA Kota Blitar", "Task force Blitar"),
                    ("35.72",)),
        ChannelSpec("jatim-uptd-ppa", jatim, ("UPTD PPA Jatim", "Child protection East Java"), ("35",), True),
        ChannelSpec("nasional", [NATIONAL_REVIEWER.recipient], ("Desk Nasional", "National desk"), (), True),
    ]


@pytest.fixture
def setup(reviewer: SavedIdentity, other_reviewer: SavedIdentity) -> Setup:
    jatim = [reviewer.identity.recipient, other_reviewer.identity.recipient]
    server = FakeServer(jatim)
    blitar_reviewers = [BLITAR_REVIEWER.recipient, *jatim, NATIONAL_REVIEWER.recipient]
    surabaya_reviewers = [*jatim, NATIONAL_REVIEWER.recipient]
    blitar_tip = server.tip(
        BLITAR,
        recipients=blitar_reviewers,
        source_recipient=SOURCE.recipient,
        channels=["blitar-kota", "jatim-uptd-ppa", "nasional"],
        tip_reviewers=blitar_reviewers,
        received="2026-11-23T10:00:00Z",
    )
    surabaya_tip = server.tip(
        SURABAYA,
        recipients=surabaya_reviewers,
        source_recipient=SOURCE.recipient,
        channels=["jatim-uptd-ppa", "nasional"],
        tip_reviewers=surabaya_reviewers,
        received="2026-11-23T11:00:00Z",
    )
    return Setup(server, jatim, server.directory(_channels(jatim)), blitar_tip, surabaya_tip, surabaya_reviewers)


def _jatim_bundle(setup: Setup, path: Path, **kwargs: Any) -> Path:
    """The export of jatim-uptd-ppa: both tips, the channel's reviewers, the signed directory."""
    options: dict[str, Any] = {"channel": "jatim-uptd-ppa", "directory": setup.directory, "reviewers": setup.jatim}
    options.update(kwargs)
    return setup.server.bundle(path, [setup.blitar_tip, setup.surabaya_tip], **options)


@pytest.fixture
def imported(run: Run, setup: Setup, tmp_path: Path) -> Setup:
    result = run("import", str(_jatim_bundle(setup, tmp_path / "jatim.tar")))
    assert result.exit_code == 0, result.stderr
    assert "imported 2 new tips" in result.stdout
    assert "export of channel jatim-uptd-ppa (UPTD PPA Jatim); you review for: jatim-uptd-ppa" in result.stdout
    return setup


def _reply_file(tmp_path: Path) -> Path:
    path = tmp_path / "balasan.txt"
    path.write_text(REPLY_TEXT, encoding="utf-8")
    return path


# --- import ---------------------------------------------------------------------------------------


def test_import_refuses_another_channels_export_in_one_line_and_imports_nothing(
    run: Run, setup: Setup, workspace: Path, tmp_path: Path
) -> None:
    old = setup.server.tip()  # a workspace that already holds an older bundle's tip
    assert run("import", str(setup.server.bundle(tmp_path / "old.tar", [old]))).exit_code == 0
    before = snapshot(workspace)
    blitar = setup.server.bundle(
        tmp_path / "blitar.tar",
        [setup.blitar_tip],
        channel="blitar-kota",
        directory=setup.directory,
        reviewers=[BLITAR_REVIEWER.recipient],
    )
    result = run("import", str(blitar))
    assert result.exit_code == 2
    assert one_line_error(result) == (
        "tipbox-review: error: this bundle is the export of channel blitar-kota (Satgas PPA Kota Blitar); "
        "your key is not one of its reviewers: ask for your own channel's export"
    )
    assert result.stdout == ""
    assert snapshot(workspace) == before


def test_import_refuses_a_directory_signed_by_another_key(
    run: Run, setup: Setup, workspace: Path, tmp_path: Path
) -> None:
    forged = setup.server.directory(_channels(setup.jatim), key=nacl.signing.SigningKey.generate())
    before = snapshot(workspace)
    result = run("import", str(_jatim_bundle(setup, tmp_path / "forged.tar", directory=forged)))
    assert result.exit_code == 2
    assert "the bundle's channel directory is not signed by the pinned server key" in one_line_error(result)
    assert snapshot(workspace) == before
    assert not (workspace / "pinned-server-key.json").exists()


def test_import_remembers_the_channels_and_their_names(imported: Setup, workspace: Path) -> None:
    facts = json.loads((workspace / "reviewers.json").read_text())
    assert facts["channels"]["bundle"] == "jatim-uptd-ppa"
    assert facts["channels"]["mine"] == ["jatim-uptd-ppa"]
    assert facts["channels"]["names"]["blitar-kota"] == {"id": "Satgas PPA Kota Blitar", "en": "Task force Blitar"}
    meta = json.loads((workspace / "tips" / imported.surabaya_tip.id / "meta.json").read_text())
    assert meta["channels"] == ["jatim-uptd-ppa", "nasional"] and meta["reviewers"] == imported.surabaya_reviewers


def test_a_later_bundle_updates_a_tips_reviewers(run: Run, imported: Setup, workspace: Path, tmp_path: Path) -> None:
    """A channel gains a reviewer: the newer bundle's per-tip list stands (not a conflict with the signed entry)."""
    tip = imported.surabaya_tip
    grown = [*imported.surabaya_reviewers, OUTSIDER.recipient]
    tip.entry["reviewers"] = grown
    later = _jatim_bundle(imported, tmp_path / "later.tar", created="2026-11-24T12:00:00Z")
    result = run("import", str(later))
    assert result.exit_code == 0, result.stderr
    assert json.loads((workspace / "tips" / tip.id / "meta.json").read_text())["reviewers"] == grown


# --- list / show ----------------------------------------------------------------------------------


def test_list_shows_the_channels_with_the_lead_marked_and_filters_by_channel(run: Run, imported: Setup) -> None:
    table = run("list")
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].endswith("channels (*lead)")
    blitar = next(ln for ln in lines if ln.startswith(imported.blitar_tip.id[:8]))
    surabaya = next(ln for ln in lines if ln.startswith(imported.surabaya_tip.id[:8]))
    assert blitar.endswith("Satgas PPA Kota Blitar*, UPTD PPA Jatim, Desk Nasional")
    assert surabaya.endswith("UPTD PPA Jatim*, Desk Nasional")

    def ids(*args: str) -> list[str]:
        result = run("list", "--json", *args)
        assert result.exit_code == 0, result.stderr
        return [r["id"] for r in json.loads(result.stdout)]

    assert ids("--channel", "blitar-kota") == [imported.blitar_tip.id]
    assert ids("--channel", "jatim-uptd-ppa") == [imported.surabaya_tip.id, imported.blitar_tip.id]
    assert ids("--channel", "umum") == []
    [row] = json.loads(run("list", "--json", "--channel", "blitar-kota").stdout)
    assert row["channels"] == ["blitar-kota", "jatim-uptd-ppa", "nasional"] and row["lead"] == "blitar-kota"


def test_list_of_older_bundles_has_no_channels_column(run: Run, server: FakeServer, tmp_path: Path) -> None:
    assert run("import", str(server.bundle(tmp_path / "old.tar", [server.tip()]))).exit_code == 0
    table = run("list").stdout
    assert "channels" not in table
    assert "channels" not in json.loads(run("list", "--json").stdout)[0]


def test_show_names_the_channels_and_says_when_the_workspace_only_reads_along(run: Run, imported: Setup) -> None:
    blitar = run("show", imported.blitar_tip.id[:8], "--lang", "en")
    assert blitar.exit_code == 0, blitar.stderr
    assert (
        "blitar-kota (Task force Blitar)*, jatim-uptd-ppa (Child protection East Java), nasional (National desk)"
        in blitar.stdout
    )
    assert "Your channel reads this tip along" in blitar.stdout
    surabaya = run("show", imported.surabaya_tip.id[:8])
    assert "jatim-uptd-ppa (UPTD PPA Jatim)*, nasional (Desk Nasional)" in surabaya.stdout
    assert "hanya ikut membaca" not in surabaya.stdout


# --- replies --------------------------------------------------------------------------------------


def _stanzas(sealed: bytes) -> int:
    return sum(1 for s in parse_header(io.BytesIO(sealed)).stanzas if s.type == "X25519")


def test_reply_is_sealed_to_the_source_and_the_tips_own_reviewers(
    run: Run,
    imported: Setup,
    tmp_path: Path,
    reviewer: SavedIdentity,
    other_reviewer: SavedIdentity,
) -> None:
    tip = imported.surabaya_tip
    written = run("reply", tip.id[:8], "--message-file", str(_reply_file(tmp_path)))
    assert written.exit_code == 0, written.stderr
    assert "sealed to the source and 3 reviewers" in written.stdout
    out = tmp_path / "disposisi.json"
    assert run("dispositions", "export", "--out", str(out)).exit_code == 0
    body = verify_document(json.loads(out.read_bytes()), CONTEXT_DISPOSITIONS, [reviewer.identity.signing_public_key])
    [sent] = parse_body(body, datetime.now(UTC).replace(tzinfo=None), 365).replies
    assert sent.tip_id == tip.id
    assert _stanzas(sent.sealed) == 1 + len(imported.surabaya_reviewers)  # what the server counts
    intended = (SOURCE.identity, reviewer.identity.secret, other_reviewer.identity.secret, NATIONAL_REVIEWER.secret)
    for identity in intended:
        assert messages.open_message(sent.sealed, [identity], kind="reply")["text"] == REPLY_TEXT
    for outsider in (BLITAR_REVIEWER.secret, OUTSIDER.secret):  # a channel not holding the tip; a stranger
        with pytest.raises(NoMatchingIdentity):
            messages.open_message(sent.sealed, [outsider], kind="reply")


def test_reply_refuses_when_the_reviewer_is_not_among_the_tips_reviewers(
    run: Run, imported: Setup, workspace: Path, tmp_path: Path
) -> None:
    """The per-tip list decides, even though the bundle-wide list (the channel's) names the reviewer."""
    tip = imported.surabaya_tip
    tip.entry["reviewers"] = [OUTSIDER.recipient, NATIONAL_REVIEWER.recipient]
    later = _jatim_bundle(imported, tmp_path / "later.tar", created="2026-11-24T12:00:00Z")
    assert run("import", str(later)).exit_code == 0
    before = snapshot(workspace)
    refused = run("reply", tip.id[:8], "--message-file", str(_reply_file(tmp_path)))
    assert refused.exit_code == 3
    assert f"not in the reviewers list of tip {tip.id[:8]}" in one_line_error(refused)
    assert snapshot(workspace) == before


def test_reply_to_a_tip_another_channel_leads_is_refused(
    run: Run, imported: Setup, workspace: Path, tmp_path: Path
) -> None:
    tip = imported.blitar_tip
    before = snapshot(workspace)
    refused = run("reply", tip.id[:8], "--message-file", str(_reply_file(tmp_path)))
    assert refused.exit_code == 1
    assert one_line_error(refused) == (
        f"tipbox-review: error: tip {tip.id[:8]} is led by channel blitar-kota (Satgas PPA Kota Blitar): "
        "only its reviewers reply to the source"
    )
    assert snapshot(workspace) == before
    # Triage stays open to a channel that reads along: it is the reviewer's own, sealed, never sent.
    local = run("triage", tip.id[:8], "--notes", "koordinasi dengan Blitar", "--category", "ANAK-EKO")
    assert local.exit_code == 0, local.stderr


# --- dispositions ---------------------------------------------------------------------------------


def test_dispositions_export_keeps_changes_to_tips_another_channel_leads_local(
    run: Run, setup: Setup, tmp_path: Path, reviewer: SavedIdentity
) -> None:
    old = setup.server.tip()  # from a bundle without channels: counts as led, as before channels
    older = setup.server.bundle(tmp_path / "old.tar", [old], reviewers=setup.jatim, created="2026-11-22T12:00:00Z")
    assert run("import", str(older)).exit_code == 0
    assert run("import", str(_jatim_bundle(setup, tmp_path / "jatim.tar"))).exit_code == 0
    hold_until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    blitar, surabaya = setup.blitar_tip.id, setup.surabaya_tip.id
    assert run("triage", blitar[:8], "--status", "hold", "--hold-until", hold_until, "--hold-reason",
               "prosecution").exit_code == 0
    assert run("triage", surabaya[:8], "--status", "in_review").exit_code == 0
    assert run("triage", old.id[:8], "--status", "closed").exit_code == 0
    out = tmp_path / "disposisi.json"
    result = run("dispositions", "export", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert "kept local: 1 disposition and 0 pending replies for tips another channel leads" in result.stdout
    body = verify_document(json.loads(out.read_bytes()), CONTEXT_DISPOSITIONS, [reviewer.identity.signing_public_key])
    assert sorted(e["tip_id"] for e in body["entries"]) == sorted([surabaya, old.id])
    # Kept local, not forgotten: --all repeats the led tips' states and still leaves the other one out.
    again = run("dispositions", "export", "--all", "--out", str(tmp_path / "semua.json"))
    assert again.exit_code == 0 and "kept local: 1 disposition" in again.stdout
    everything = json.loads((tmp_path / "semua.json").read_bytes())["body"]["entries"]
    assert blitar not in {e["tip_id"] for e in everything}


# --- audit ----------------------------------------------------------------------------------------


def _audit_log(path: Path, key: nacl.signing.SigningKey) -> Path:
    """A small honest log: a Blitar tip (three channels) and a catch-all tip, then a checkpoint."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    lines = [json.dumps({"type": "tipbox-audit-log", "v": 1, "server_key": public_key_b64(key)})]
    head, seq = audit.GENESIS, 0
    for tip, channels in (("a" * 32, ["blitar-kota", "jatim-uptd-ppa", "nasional"]), ("b" * 32, ["umum", "nasional"])):
        entry = audit.make_entry(seq, head, audit.hour(start), "tip.received", tip, {"channels": channels})
        lines.append(json.dumps({"entry": entry}))
        head, seq = audit.entry_hash(entry), seq + 1
    checkpoint = audit.make_checkpoint(seq - 1, head, audit.hour(start + timedelta(hours=1)), key)
    lines.append(json.dumps({"checkpoint": checkpoint}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_audit_verify_reports_each_channel(run: Run, tmp_path: Path) -> None:
    key = nacl.signing.SigningKey.generate()
    log = _audit_log(tmp_path / "audit.jsonl", key)
    args = ("audit", "verify", str(log), "--server-key", public_key_b64(key), "--at", "2026-11-02")
    result = run(*args, "--html", str(tmp_path / "report.html"), input=None)
    assert result.exit_code == 0, result.stdout + result.stderr
    rows = {ln.split()[0]: ln.split() for ln in result.stdout.splitlines() if ln.strip()}
    assert rows["blitar-kota"] == ["blitar-kota", "1", "0", "kept", "1"]
    assert rows["nasional"] == ["nasional", "2", "0", "kept", "2"]
    assert rows["umum"][:3] == ["umum", "1", "0"] and "jatim-uptd-ppa" in rows
    page = (tmp_path / "report.html").read_text()
    assert "<tr><td>nasional</td><td>2</td><td>0</td><td>kept 2</td></tr>" in page
    assert page.count("<tr><td>") == 4  # one row per channel, no violations
    # The violations column counts what touches each channel's tips.
    overdue = run(*args[:-1], "2027-06-01", input=None)
    assert overdue.exit_code == 2
    late = {ln.split()[0]: ln.split() for ln in overdue.stdout.splitlines() if ln.strip()}
    assert late["nasional"][:3] == ["nasional", "2", "2"] and late["umum"][:3] == ["umum", "1", "1"]


def test_a_reply_written_before_another_channel_took_the_lead_stays_pending(
    run: Run, setup: Setup, workspace: Path, tmp_path: Path
) -> None:
    """Written while the tip came from a bundle without channels (led, as before), then a newer bundle says
    blitar-kota leads it: the export leaves the reply out (the server would refuse the file) and keeps it."""
    tip = setup.blitar_tip
    routed = {key: tip.entry.pop(key) for key in ("channels", "reviewers")}
    older = setup.server.bundle(tmp_path / "old.tar", [tip], reviewers=setup.jatim, created="2026-11-22T12:00:00Z")
    assert run("import", str(older)).exit_code == 0
    assert run("reply", tip.id[:8], "--message-file", str(_reply_file(tmp_path))).exit_code == 0
    tip.entry.update(routed)
    assert run("import", str(_jatim_bundle(setup, tmp_path / "jatim.tar"))).exit_code == 0
    result = run("dispositions", "export", "--out", str(tmp_path / "d.json"))
    assert result.exit_code == 0, result.stderr
    assert "kept local: 0 dispositions and 1 pending reply for tips another channel leads" in result.stdout
    assert "nothing changed" in result.stdout and not (tmp_path / "d.json").exists()
    assert "pending (not yet sent)" in run("show", tip.id[:8], "--lang", "en").stdout


def test_a_channel_bundle_without_a_directory_is_checked_against_its_own_reviewers(
    run: Run, setup: Setup, workspace: Path, tmp_path: Path
) -> None:
    """No directory to consult: the bundle's signed reviewers list is its channel's, and must name the reviewer."""
    other = setup.server.bundle(
        tmp_path / "blitar.tar", [setup.blitar_tip], channel="blitar-kota", reviewers=[BLITAR_REVIEWER.recipient]
    )
    before = snapshot(workspace)
    refused = run("import", str(other))
    assert refused.exit_code == 2
    assert "this bundle is the export of channel blitar-kota; your key is not one of" in one_line_error(refused)
    assert snapshot(workspace) == before
    ours = setup.server.bundle(tmp_path / "jatim.tar", [setup.surabaya_tip], channel="jatim-uptd-ppa",
                               reviewers=setup.jatim)
    assert run("import", str(ours)).exit_code == 0
    assert json.loads((workspace / "reviewers.json").read_text())["channels"]["mine"] == ["jatim-uptd-ppa"]
