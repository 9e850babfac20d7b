"""Forwards and reseals with the real `tipbox-review` and the real server (issue #15, FORMAT.md §10.2).

The seed network of tests/tipbox/network.py (Kota Blitar leads a Kota Blitar
tip, East Java's UPTD PPA and the national desk read it along, Bengkulu
Tengah's immigration office does not hold it), on SQLite and PostgreSQL. Each
reviewer has a workspace of their own; every "opens" and "cannot open" is a
real decrypt of what the server stores.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import select

from crypto import envelope, padding, payload
from crypto.dispositions import Handover, Part, read_package_document
from crypto.identity import ReviewerIdentity, save_identity
from crypto.signing import CONTEXT_DISPOSITIONS, canonical_json, sign_document
from review_cli import main as review_main
from tests.review_cli.conftest import Run, SavedIdentity, one_line_error
from tests.review_cli.support import PASSPHRASE, ChannelSpec, FakeServer, snapshot
from tests.support import opens_all
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.handovers import package, resealed_parts
from tests.tipbox.network import BENGKULU, BLITAR, JATIM, NASIONAL, UMUM, add_reviewer, seed_network
from tests.tipbox.support import run_cli
from tipbox import db, storage
from tipbox.models import Tip, TipChannel

ROUTE = [BLITAR, JATIM, NASIONAL]
REPLY = "Terima kasih, laporan Anda kami tangani."


@dataclass
class Desk:
    """One reviewer's workspace, driven through the real CLI (passphrase on stdin)."""

    root: Path
    identity: ReviewerIdentity

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(review_main.cli, ["--workspace", str(self.root), *args],
                                  input=PASSPHRASE + "\n", catch_exceptions=False)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout


def _desk(tmp_path: Path, identity: ReviewerIdentity, name: str) -> Desk:
    root = tmp_path / f"ws-{name}"
    root.mkdir(mode=0o700)
    save_identity(identity, root / "identity.age", PASSPHRASE)
    return Desk(root, identity)


@dataclass
class Network:
    app: Flask
    ids: dict[str, ReviewerIdentity]
    tmp: Path
    tip_id: str = ""
    browser: BrowserLike | None = None
    receipt: str = ""
    canary: str = ""

    def export(self, channel: str) -> Path:
        out = self.tmp / f"{channel}-{os.urandom(4).hex()}.tar"
        run_cli(self.app, "export", "--channel", channel, "--out", str(out))
        return out

    def import_(self, path: Path) -> Result:
        return self.app.test_cli_runner().invoke(args=["dispositions", "import", str(path)])

    def stored(self) -> list[bytes]:
        """Every age file the server holds for the tip: payload, attachments (whole), messages."""
        with self.app.app_context():
            session = db.session()
            tip = session.get(Tip, self.tip_id)
            assert tip is not None and tip.payload is not None
            files = [tip.payload]
            files += [b"".join(storage.iter_chunks(session, tip.id, a.id)) for a in tip.attachments]
            files += [m.payload for m in tip.messages if m.payload is not None]
            return files

    def holders(self) -> list[str]:
        with self.app.app_context():
            return list(db.session().scalars(select(TipChannel.channel_id)
                                             .where(TipChannel.tip_id == self.tip_id).order_by(TipChannel.position)))


@pytest.fixture
def network(app: Flask, reviewer: SavedIdentity, tmp_path: Path) -> Iterator[Network]:
    first = app.test_cli_runner().invoke(args=["channels", "list"])
    assert first.exit_code == 0, (first.output, repr(first.exception))  # says why, if the server cannot start
    yield Network(app, seed_network(app, reviewer.identity), tmp_path)


def _send(net: Network, extra_blitar: ReviewerIdentity | None = None) -> None:
    """A Kota Blitar tip with an attachment, a follow-up with one, and the receipt."""
    net.browser = BrowserLike(net.app.test_client())
    net.canary = "CANARY-HANDOVER-" + os.urandom(6).hex()
    net.receipt = net.browser.submit(
        {"description": f"Anak di kapal. {net.canary}", "province": "35", "regency": "35.72"},
        {"1" * 32: ("a.txt", "text/plain", b"evidence" * 9000)}, channels=ROUTE)
    access = net.browser.status(net.receipt).get_json()["access"]
    assert net.browser.follow_up(access, "lagi", {"2" * 32: ("b.txt", "text/plain", b"more" * 700)}).status_code == 200
    with net.app.app_context():
        net.tip_id = db.session().scalars(select(Tip.id)).one()


def _reply_through_the_server(net: Network, blitar: Desk) -> None:
    """The lead replies to the source, so the tip holds a reply part (sealed to the source too)."""
    message = net.tmp / "balasan.txt"
    message.write_text(REPLY)
    blitar.ok("reply", net.tip_id[:8], "--message-file", str(message))
    out = net.tmp / "reply.json"
    blitar.ok("dispositions", "export", "--out", str(out))
    assert net.import_(out).exit_code == 0


def _no_plaintext_in(root: Path, canary: str) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path


def test_forward_reaches_the_target_and_every_holder_keeps_reading(network: Network, tmp_path: Path) -> None:
    net = network
    _send(net)
    blitar = _desk(tmp_path, net.ids[BLITAR], "blitar")
    blitar.ok("import", str(net.export(BLITAR)))
    _reply_through_the_server(net, blitar)
    imported = blitar.ok("import", str(net.export(BLITAR)))
    assert "1 published reply" in imported
    before = net.stored()
    assert len(before) == 5  # payload, its attachment, the follow-up, its attachment, the reply
    assert not opens_all(net.ids[BENGKULU], before)

    queued = blitar.ok("forward", net.tip_id[:8], "--to", BENGKULU)
    assert f"tip {net.tip_id[:8]} re-sealed to 4 reviewers (5 parts) for channel bengkulu-tengah" in queued
    handovers = blitar.root / "handovers" / net.tip_id
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in handovers.rglob("*.age"))
    _no_plaintext_in(blitar.root, net.canary)
    exported = blitar.ok("dispositions", "export", "--out", str(tmp_path / "disposisi.json"))
    assert f"wrote {tmp_path / 'disposisi.tar'}: 0 dispositions, 0 replies, 1 forward, 0 reseals" in exported
    assert not (tmp_path / "disposisi.json").exists() and not handovers.exists()
    sent = tmp_path / "disposisi.tar"
    with tarfile.open(sent) as tar:
        assert tar.getnames()[0] == "dispositions.json" and len(tar.getnames()) == 6
    assert net.canary.encode() not in sent.read_bytes()

    applied = net.import_(sent)
    assert applied.exit_code == 0 and "1 tip forwarded" in applied.output, applied.output
    assert net.holders() == [*ROUTE, BENGKULU]
    after = net.stored()
    for channel in (*ROUTE, BENGKULU):
        assert opens_all(net.ids[channel], after), channel
    assert not opens_all(net.ids[UMUM], after)  # a channel that does not hold it: every part refused
    # The reply part is the source's too.
    reply = next(m.payload for m in _messages(net) if m.kind == "reply")
    from crypto.receipt_keys import derive

    envelope.open_bytes(reply, [derive(net.receipt).identity])

    bengkulu = _desk(tmp_path, net.ids[BENGKULU], "bengkulu")
    assert "imported 1 new tip" in bengkulu.ok("import", str(net.export(BENGKULU)))
    assert net.canary in bengkulu.ok("show", net.tip_id[:8])
    bengkulu.ok("attachments", net.tip_id[:8], "--out", str(tmp_path / "files"))
    # The holder that forwarded imports the re-sealed tip: same content, accepted.
    again = blitar.ok("import", str(net.export(BLITAR)))
    assert "1 tip re-sealed (same content, checked)" in again
    assert net.canary in blitar.ok("show", net.tip_id[:8])
    meta = json.loads((blitar.root / "tips" / net.tip_id / "meta.json").read_text())
    assert meta["channels"] == [*ROUTE, BENGKULU]
    assert net.browser is not None and net.browser.status(net.receipt).get_json()["status"] == "referred"
    # A replay of the same package applies nothing.
    replayed = net.import_(sent)
    assert replayed.exit_code != 0 and "already imported" in replayed.output
    assert net.stored() == after


def _messages(net: Network) -> list:
    with net.app.app_context():
        tip = db.session().get(Tip, net.tip_id)
        assert tip is not None
        return list(tip.messages)


def test_a_forward_carries_a_note_the_target_reads_and_the_source_never_sees(network: Network, tmp_path: Path) -> None:
    net = network
    _send(net)
    blitar = _desk(tmp_path, net.ids[BLITAR], "blitar")
    blitar.ok("import", str(net.export(BLITAR)))
    note = "Korban di pelabuhan Bengkulu; mohon imigrasi menangani. " + net.canary.lower()
    queued = blitar.ok("forward", net.tip_id[:8], "--to", BENGKULU, "--note", note)
    assert "(5 parts)" in queued  # payload, 2 attachments, the follow-up, and the note
    _no_plaintext_in(blitar.root, net.canary.lower())
    blitar.ok("dispositions", "export", "--out", str(tmp_path / "d.tar"))
    applied = net.import_(tmp_path / "d.tar")
    assert applied.exit_code == 0, applied.output
    (stored,) = [m for m in _messages(net) if m.kind == "note"]
    assert not opens_all(net.ids[UMUM], [stored.payload])
    bengkulu = _desk(tmp_path, net.ids[BENGKULU], "bengkulu")
    assert "1 note from a forwarding team" in bengkulu.ok("import", str(net.export(BENGKULU)))
    shown = bengkulu.ok("show", net.tip_id[:8], "--lang", "en")
    assert "Note from the forwarding team" in shown and "mohon imigrasi menangani" in shown
    assert net.browser is not None
    status = net.browser.status(net.receipt).get_json()
    assert status["replies"] == [] and "imigrasi" not in json.dumps(status)
    refused = blitar("forward", net.tip_id[:8], "--to", UMUM, "--note", "   ")
    assert refused.exit_code != 0 and "the note is empty" in refused.stderr + refused.stdout


def test_a_forward_can_carry_the_referral_packet_in_its_note(network: Network, tmp_path: Path) -> None:
    """--packet builds the packet `refer` would write (in memory) and seals it in the note: the target reads it."""
    net = network
    _send(net)
    blitar = _desk(tmp_path, net.ids[BLITAR], "blitar")
    blitar.ok("import", str(net.export(BLITAR)))
    refused = blitar("forward", net.tip_id[:8], "--to", BENGKULU, "--packet", "IMIGRASI")
    assert refused.exit_code != 0  # no triaged priority yet: the same refusal as `refer`
    blitar.ok("triage", net.tip_id[:8], "--priority", "P1", "--reason", "anak di kapal malam ini", "--region", "35.72",
              "--category", "ANAK-EKO")
    blitar.ok("forward", net.tip_id[:8], "--to", BENGKULU, "--note", "Mohon ditangani.", "--packet", "IMIGRASI")
    assert not list(blitar.root.rglob("*.md"))  # the packet was never written as a file
    blitar.ok("dispositions", "export", "--out", str(tmp_path / "d.tar"))
    assert net.import_(tmp_path / "d.tar").exit_code == 0
    bengkulu = _desk(tmp_path, net.ids[BENGKULU], "bengkulu")
    bengkulu.ok("import", str(net.export(BENGKULU)))
    shown = bengkulu.ok("show", net.tip_id[:8])
    assert "Mohon ditangani." in shown and "RAHASIA" in shown and net.tip_id[:8] in shown


def test_a_forged_package_applies_nothing(network: Network, tmp_path: Path) -> None:
    """The Blitar reviewer's package, signed again by a reviewer whose channel does not hold the tip."""
    net = network
    _send(net)
    blitar = _desk(tmp_path, net.ids[BLITAR], "blitar")
    blitar.ok("import", str(net.export(BLITAR)))
    blitar.ok("forward", net.tip_id[:8], "--to", BENGKULU)
    blitar.ok("dispositions", "export", "--out", str(tmp_path / "d.tar"))
    forged = _resigned(tmp_path / "d.tar", tmp_path / "forged.tar", net.ids[UMUM])
    before = net.stored()
    result = net.import_(forged)
    assert result.exit_code != 0 and "does not hold" in result.output, result.output
    assert net.stored() == before and net.holders() == ROUTE


def _resigned(original: Path, out: Path, signer: ReviewerIdentity) -> Path:
    """The same body and parts under another reviewer's signature (a new file id, so no replay)."""
    body = json.loads(read_package_document(original))["body"]
    body["id"] = os.urandom(16).hex()
    signed = canonical_json(sign_document(body, CONTEXT_DISPOSITIONS, signer.signing_key))
    with tarfile.open(original) as tar, tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as dst:
        for n, member in enumerate(tar.getmembers()):
            if n == 0:
                member.size = len(signed)
                dst.addfile(member, io.BytesIO(signed))
            else:
                dst.addfile(member, tar.extractfile(member))
    return out


def test_forward_refusals_are_one_line_and_write_nothing(network: Network, tmp_path: Path) -> None:
    net = network
    _send(net)
    blitar = _desk(tmp_path, net.ids[BLITAR], "blitar")
    jatim = _desk(tmp_path, net.ids[JATIM], "jatim")
    blitar.ok("import", str(net.export(BLITAR)))
    jatim.ok("import", str(net.export(JATIM)))
    cases = [
        (blitar, ("--to", "papua-barat"), "channel papua-barat is not in the server's channel directory"),
        (blitar, ("--to", NASIONAL), "channel nasional (Koordinator nasional) already holds tip"),
        (jatim, ("--to", BENGKULU, "--lead"), "is led by channel blitar-kota (Satgas PPA Kota Blitar): only its"),
    ]
    for desk, options, expected in cases:
        before = snapshot(desk.root)
        refused = desk("forward", net.tip_id[:8], *options)
        assert refused.exit_code == 1, (options, refused.stdout)
        assert expected in one_line_error(refused), options
        assert snapshot(desk.root) == before
    # A coordinating channel may forward (without the lead); a second queued handover of the tip is refused.
    jatim.ok("forward", net.tip_id[:8], "--to", BENGKULU)
    twice = jatim("forward", net.tip_id[:8], "--to", BENGKULU)
    assert twice.exit_code == 3 and "already has a forward or reseal waiting" in one_line_error(twice)
    # A reviewer whose directory copy was tampered with cannot be made to seal to a stranger's key.
    facts = blitar.root / "reviewers.json"
    record = json.loads(facts.read_text())
    record["directory"]["body"]["channels"][0]["body"]["reviewers"][0]["recipient"] = net.ids[UMUM].recipient
    facts.write_text(json.dumps(record))
    forged = blitar("forward", net.tip_id[:8], "--to", BENGKULU)
    assert forged.exit_code == 2 and "not signed by the pinned server key" in one_line_error(forged)


def test_reseal_after_a_reviewer_leaves_locks_the_key_out(network: Network, tmp_path: Path) -> None:
    net = network
    leaving = add_reviewer(net.app, BLITAR, "r-leaving")
    _send(net)
    blitar = _desk(tmp_path, net.ids[BLITAR], "blitar")
    blitar.ok("import", str(net.export(BLITAR)))
    assert opens_all(leaving, net.stored())
    # Before the removal the bundle's reviewers still list the key: nothing is stale.
    assert "nothing to re-seal: 1 tip of channel blitar-kota already sealed" in blitar.ok("reseal", "--channel", BLITAR)
    refused = blitar("reseal", "--channel", BENGKULU)
    assert refused.exit_code == 1 and "you do not review for channel bengkulu-tengah" in one_line_error(refused)

    run_cli(net.app, "reviewers", "remove", "r-leaving", "--channel", BLITAR)
    assert "still opens 1 stored tip" in run_cli(net.app, "reviewers", "list", "--channel", BLITAR)
    blitar.ok("import", str(net.export(BLITAR)))  # exported after the removal
    assert "re-sealed 1 tip of channel blitar-kota" in blitar.ok("reseal", "--channel", BLITAR)
    exported = blitar.ok("dispositions", "export", "--out", str(tmp_path / "reseal"))
    assert "0 forwards, 1 reseal" in exported
    applied = net.import_(tmp_path / "reseal.tar")
    assert applied.exit_code == 0 and "1 tip re-sealed" in applied.output, applied.output
    after = net.stored()
    assert not opens_all(leaving, after)
    for channel in ROUTE:
        assert opens_all(net.ids[channel], after), channel
    listing = run_cli(net.app, "reviewers", "list", "--channel", BLITAR)
    assert "removed: r-leaving" not in listing and "still opens" not in listing, listing
    # The workspace takes the re-sealed tip back (same content) and has nothing left to re-seal.
    assert "1 tip re-sealed (same content, checked)" in blitar.ok("import", str(net.export(BLITAR)))
    assert "nothing to re-seal" in blitar.ok("reseal", "--channel", BLITAR)
    # The audit log stays clean for an auditor.
    log = tmp_path / "audit.jsonl"
    run_cli(net.app, "audit", "checkpoint")
    run_cli(net.app, "audit", "export", "--out", str(log))
    verified = blitar("audit", "verify", str(log))
    assert verified.exit_code == 0, verified.stdout + verified.stderr


def test_changed_content_under_a_reseal_is_caught_by_the_other_holder(network: Network, tmp_path: Path) -> None:
    """A Blitar reviewer re-seals a payload with other content of the same padded length; the server cannot see
    it and imports the package; East Java's CLI refuses the tip when it imports it again."""
    net = network
    _send(net)
    jatim = _desk(tmp_path, net.ids[JATIM], "jatim")
    jatim.ok("import", str(net.export(JATIM)))
    applied = net.import_(_tampered_package(net, tmp_path))
    assert applied.exit_code == 0 and "1 tip re-sealed" in applied.output, applied.output  # the server cannot tell
    before = snapshot(jatim.root)
    refused = jatim("import", str(net.export(JATIM)))
    assert refused.exit_code == 2
    line = one_line_error(refused)
    assert f"tip {net.tip_id[:8]} was re-sealed with different content" in line and "possible tampering" in line
    assert snapshot(jatim.root) == before
    assert net.canary in jatim.ok("show", net.tip_id[:8])  # what it had stays readable


def _tampered_package(net: Network, tmp_path: Path) -> Path:
    from crypto.bundle import verify_bundle
    from crypto.signing import public_key_b64
    from tipbox.keys import load_server_key

    key = public_key_b64(load_server_key(net.app.extensions["tipbox.config"].server_key_file))
    verified = verify_bundle(net.export(BLITAR), [key])
    (tip,) = verified.manifest.tips
    assert tip.reviewers is not None
    parts = resealed_parts(verified, tip, net.ids[BLITAR], list(tip.reviewers), "reseals", tip.source_recipient)
    old = next(p for p in parts if p.kind == "payload")
    frame = envelope.open_bytes(verified.open_member(tip.payload.path), [net.ids[BLITAR].age_identity])
    document = dict(payload.decode(padding.unpad(frame)))
    answers = dict(document["answers"])  # type: ignore[arg-type]
    answers["description"] = answers["description"].replace("kapal", "darat")  # same length, other content
    changed = padding.pad(canonical_json({**document, "answers": answers}))
    assert len(changed) == len(frame) and changed != frame
    sealed = envelope.seal_bytes(changed, list(tip.reviewers))
    swapped = {**{p: d for p, d in parts.items() if p is not old},
               Part("payload", None, old.path, len(sealed), hashlib.sha256(sealed).hexdigest()): sealed}
    return package(tmp_path / f"tampered-{os.urandom(3).hex()}.tar", net.ids[BLITAR],
                   reseals=[(Handover(tip.id, tuple(swapped)), swapped)])


def test_forward_needs_a_tip_your_channel_holds(run: Run, server: FakeServer, workspace: Path, tmp_path: Path,
                                                reviewer: SavedIdentity) -> None:
    """Stand-in server bundles: a tip from before channels, and one a (forged) export lists as another channel's."""
    old = server.tip()
    assert run("import", str(server.bundle(tmp_path / "old.tar", [old]))).exit_code == 0
    refused = run("forward", old.id[:8], "--to", "nasional")
    assert refused.exit_code == 1 and "no bundle with channels has been imported" in one_line_error(refused)
    others = ReviewerIdentity.generate()
    mine = [reviewer.identity.recipient]
    directory = server.directory([ChannelSpec("blitar-kota", [others.recipient]),
                                  ChannelSpec("jatim-uptd-ppa", mine, regions=("35",), coordinating=True),
                                  ChannelSpec("nasional", [others.recipient], coordinating=True)])
    theirs = server.tip(recipients=mine, channels=["blitar-kota"], tip_reviewers=[*mine, others.recipient])
    bundle = server.bundle(tmp_path / "jatim.tar", [theirs], channel="jatim-uptd-ppa", directory=directory,
                           reviewers=mine, created="2026-11-24T12:00:00Z")
    assert run("import", str(bundle)).exit_code == 0
    before = snapshot(workspace)
    refused = run("forward", theirs.id[:8], "--to", "nasional")
    assert refused.exit_code == 1
    assert "is not held by your channel (jatim-uptd-ppa)" in one_line_error(refused)
    stale = run("forward", old.id[:8], "--to", "nasional")  # still from a bundle without channels
    assert stale.exit_code == 1 and "came in a bundle without channels" in one_line_error(stale)
    assert snapshot(workspace) == before
