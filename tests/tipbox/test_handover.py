"""Forwards and reseals imported from a dispositions package (issue #15), on SQLite and PostgreSQL.

The packages are made as a reviewer's CLI makes them (tests/tipbox/handovers.py):
every part opened from a verified export and sealed again. Every "can open" and
"cannot open" below is a real decrypt of what the server stores afterwards.
"""

from __future__ import annotations

import io
import os
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from crypto import bundle, envelope, messages
from crypto.audit import verify as verify_audit
from crypto.dispositions import Handover
from crypto.errors import NoMatchingIdentity
from crypto.identity import ReviewerIdentity
from crypto.signing import public_key_b64
from tests.support import opens_all
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.handovers import package, resealed_parts, sealed_note
from tests.tipbox.network import BENGKULU, BLITAR, JATIM, NASIONAL, UMUM, add_reviewer, seed_network
from tests.tipbox.support import run_cli
from tipbox import clock, db, storage
from tipbox.audit.models import AuditEvent
from tipbox.keys import load_server_key
from tipbox.models import Message, Tip, TipChannel

BLITAR_ROUTE = [BLITAR, JATIM, NASIONAL]


@pytest.fixture
def reviewers() -> list[ReviewerIdentity]:
    return [ReviewerIdentity.generate()]


@pytest.fixture
def network(app: Flask, reviewers: list[ReviewerIdentity]) -> dict[str, ReviewerIdentity]:
    return seed_network(app, reviewers[0])


def _server_key(app: Flask) -> str:
    return public_key_b64(load_server_key(app.extensions["tipbox.config"].server_key_file))


def _blitar_tip(client: FlaskClient) -> tuple[BrowserLike, str]:
    """A Kota Blitar tip with an attachment, a follow-up with one, and the receipt."""
    browser = BrowserLike(client)
    receipt = browser.submit({"description": "canary-forward"}, {"1" * 32: ("a.txt", "text/plain", b"evidence" * 900)},
                             channels=BLITAR_ROUTE)
    access = browser.status(receipt).get_json()["access"]
    assert browser.follow_up(access, "more", {"2" * 32: ("b.txt", "text/plain", b"more" * 700)}).status_code == 200
    return browser, receipt


def _export(app: Flask, tmp_path: Path, channel: str) -> bundle.VerifiedBundle:
    out = tmp_path / f"{channel}-{os.urandom(4).hex()}.tar"
    run_cli(app, "export", "--channel", channel, "--out", str(out))
    return bundle.verify_bundle(out, [_server_key(app)])


def _stored(app: Flask, tip_id: str) -> list[bytes]:
    """Every age file the server holds for the tip: payload, attachments (whole), messages."""
    with app.app_context():
        session = db.session()
        tip = session.get(Tip, tip_id)
        assert tip is not None and tip.payload is not None
        files = [tip.payload]
        files += [b"".join(storage.iter_chunks(session, tip_id, a.id)) for a in tip.attachments]
        files += [m.payload for m in tip.messages if m.payload is not None]
        return files


def _import(app: Flask, path: Path):
    return app.test_cli_runner().invoke(args=["dispositions", "import", str(path)])


def _holders(app: Flask, tip_id: str) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(
            select(TipChannel.channel_id).where(TipChannel.tip_id == tip_id).order_by(TipChannel.position)))


def _forward(app: Flask, tmp_path: Path, network: dict[str, ReviewerIdentity], tip_id: str, to: str, *,
             lead: bool = False, signer: str = BLITAR, recipients: list[str] | None = None,
             leave_out: str | None = None) -> Path:
    verified = _export(app, tmp_path, signer)
    (tip,) = [t for t in verified.manifest.tips if t.id == tip_id]
    assert tip.reviewers is not None
    to_keys = recipients if recipients is not None else sorted({*tip.reviewers, network[to].recipient})
    parts = resealed_parts(verified, tip, network[signer], to_keys, "forwards", tip.source_recipient)
    handover = Handover(tip_id, tuple(parts), to, lead)
    return package(tmp_path / f"forward-{os.urandom(4).hex()}.tar", network[signer], [(handover, parts)],
                   leave_out=leave_out)


def test_a_forward_reaches_the_target_keeps_the_holders_and_no_one_else(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity], tmp_path: Path
) -> None:
    browser, receipt = _blitar_tip(client)
    with app.app_context():
        tip_id = db.session().scalars(select(Tip.id)).one()
    before = _stored(app, tip_id)
    assert not opens_all(network[BENGKULU], before)
    result = _import(app, _forward(app, tmp_path, network, tip_id, BENGKULU))
    assert result.exit_code == 0, result.output
    assert "1 tip forwarded" in result.output
    after = _stored(app, tip_id)
    assert len(after) == len(before) == 4  # the payload, its attachment, the follow-up and its attachment
    for channel in (BLITAR, JATIM, NASIONAL, BENGKULU):
        assert opens_all(network[channel], after), channel
    assert not opens_all(network[UMUM], after)
    assert _holders(app, tip_id) == [*BLITAR_ROUTE, BENGKULU]
    # The target's next export holds it, with everything; the source is told it was referred.
    (exported,) = _export(app, tmp_path, BENGKULU).manifest.tips
    assert exported.id == tip_id and exported.channels == (BLITAR, JATIM, NASIONAL, BENGKULU)
    assert browser.status(receipt).get_json()["status"] == "referred"
    with app.app_context():
        events = {e.event: e for e in db.session().scalars(select(AuditEvent))}
    assert "tip.forwarded" in events and '"to":"bengkulu-tengah"' in events["tip.forwarded"].data.replace(" ", "")
    # Later messages reach the target too.
    access = browser.status(receipt).get_json()["access"]
    assert browser.follow_up(access, "after the forward").status_code == 200
    assert opens_all(network[BENGKULU], _stored(app, tip_id))


def test_a_forward_with_the_lead_hands_status_to_the_target(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity], tmp_path: Path
) -> None:
    _blitar_tip(client)
    with app.app_context():
        tip_id = db.session().scalars(select(Tip.id)).one()
    assert _import(app, _forward(app, tmp_path, network, tip_id, BENGKULU, lead=True)).exit_code == 0
    assert _holders(app, tip_id) == [BENGKULU, *BLITAR_ROUTE]
    with app.app_context():
        assert db.session().get(Tip, tip_id).channel_id == BENGKULU


@pytest.mark.parametrize("fault", ["not-a-holder", "replay", "partial", "part-left-out", "lead-only-keys",
                                    "other-content", "already-holds", "lead-by-reader"])
def test_a_bad_forward_applies_nothing(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity], tmp_path: Path, fault: str
) -> None:
    _blitar_tip(client)
    with app.app_context():
        tip_id = db.session().scalars(select(Tip.id)).one()
    before = _stored(app, tip_id)
    good = _forward(app, tmp_path, network, tip_id, BENGKULU)
    if fault == "not-a-holder":
        path = _forward_as(app, tmp_path, network, tip_id, signer=UMUM, reader=BLITAR)
        expected = "does not hold"
    elif fault == "replay":
        assert _import(app, good).exit_code == 0
        before = _stored(app, tip_id)
        path, expected = good, "already imported"
    elif fault == "partial":
        verified = _export(app, tmp_path, BLITAR)
        (tip,) = verified.manifest.tips
        path = _forward(app, tmp_path, network, tip_id, BENGKULU, leave_out=f"forwards/{tip_id}/payload.age")
        expected = "missing files"
        assert tip.attachments  # the package lists them all; only the payload is left out
    elif fault == "part-left-out":
        path = _forward_without_an_attachment(app, tmp_path, network, tip_id)
        expected = "must carry every stored part of it (4), and only those (3 sent)"
    elif fault == "lead-only-keys":
        path = _forward(app, tmp_path, network, tip_id, BENGKULU, recipients=[network[BENGKULU].recipient])
        expected = "not sealed the tipbox way to the 4 recipients"
    elif fault == "other-content":
        path = _forward_other_content(app, tmp_path, network, tip_id)
        expected = "not the same length"
    elif fault == "already-holds":
        path = _forward(app, tmp_path, network, tip_id, NASIONAL,
                        recipients=sorted(network[c].recipient for c in BLITAR_ROUTE))
        expected = "already holds"
    else:
        path = _forward(app, tmp_path, network, tip_id, BENGKULU, lead=True, signer=JATIM)
        expected = "only its reviewers hand over the lead"
    result = _import(app, path)
    assert result.exit_code != 0 and expected in result.output, result.output
    assert _stored(app, tip_id) == before
    assert _holders(app, tip_id) == ([*BLITAR_ROUTE, BENGKULU] if fault == "replay" else BLITAR_ROUTE)


def _forward_as(app: Flask, tmp_path: Path, network: dict[str, ReviewerIdentity], tip_id: str, *,
                signer: str, reader: str) -> Path:
    """A forward made with ``reader``'s access but signed by ``signer`` (a channel that does not hold the tip)."""
    verified = _export(app, tmp_path, reader)
    (tip,) = verified.manifest.tips
    assert tip.reviewers is not None
    keys = sorted({*tip.reviewers, network[BENGKULU].recipient})
    parts = resealed_parts(verified, tip, network[reader], keys, "forwards", tip.source_recipient)
    return package(tmp_path / "forged.tar", network[signer], [(Handover(tip_id, tuple(parts), BENGKULU), parts)])


def _forward_without_an_attachment(app: Flask, tmp_path: Path, network: dict[str, ReviewerIdentity],
                                   tip_id: str) -> Path:
    """A well-formed package whose forward leaves one stored attachment out (it would stay sealed to the old keys)."""
    verified = _export(app, tmp_path, BLITAR)
    (tip,) = verified.manifest.tips
    assert tip.reviewers is not None
    keys = sorted({*tip.reviewers, network[BENGKULU].recipient})
    parts = resealed_parts(verified, tip, network[BLITAR], keys, "forwards", tip.source_recipient)
    kept = dict(list(parts.items())[:1] + list(parts.items())[2:])  # drop the tip's own attachment
    return package(tmp_path / "short.tar", network[BLITAR], [(Handover(tip_id, tuple(kept), BENGKULU), kept)])


def _forward_other_content(app: Flask, tmp_path: Path, network: dict[str, ReviewerIdentity], tip_id: str) -> Path:
    """A forward whose payload is a different (longer) plaintext: not a re-seal of what is stored."""
    verified = _export(app, tmp_path, BLITAR)
    (tip,) = verified.manifest.tips
    assert tip.reviewers is not None
    keys = sorted({*tip.reviewers, network[BENGKULU].recipient})
    parts = resealed_parts(verified, tip, network[BLITAR], keys, "forwards", tip.source_recipient)
    from crypto import padding
    from crypto.dispositions import Part

    payload = next(p for p in parts if p.kind == "payload")
    other = envelope.seal_bytes(padding.pad(b"x" * 5000), keys)
    import hashlib

    swapped = {**{p: d for p, d in parts.items() if p is not payload},
               Part("payload", None, payload.path, len(other), hashlib.sha256(other).hexdigest()): other}
    return package(tmp_path / "other.tar", network[BLITAR], [(Handover(tip_id, tuple(swapped), BENGKULU), swapped)])


def test_a_reseal_after_a_reviewer_leaves_locks_their_key_out_of_everything_stored(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity], tmp_path: Path
) -> None:
    leaving = add_reviewer(app, BLITAR, "r-leaving")
    _blitar_tip(client)
    with app.app_context():
        tip_id = db.session().scalars(select(Tip.id)).one()
    assert opens_all(leaving, _stored(app, tip_id))
    run_cli(app, "reviewers", "remove", "r-leaving", "--channel", BLITAR)
    listing = run_cli(app, "reviewers", "list", "--channel", BLITAR)
    assert "removed: r-leaving" in listing and "still opens 1 stored tip" in listing
    verified = _export(app, tmp_path, BLITAR)
    (tip,) = verified.manifest.tips
    assert tip.reviewers is not None and leaving.recipient not in tip.reviewers  # the bundle names today's keys
    parts = resealed_parts(verified, tip, network[BLITAR], list(tip.reviewers), "reseals", tip.source_recipient)
    path = package(tmp_path / "reseal.tar", network[BLITAR], reseals=[(Handover(tip_id, tuple(parts)), parts)])
    result = _import(app, path)
    assert result.exit_code == 0 and "1 tip re-sealed" in result.output, result.output
    after = _stored(app, tip_id)
    assert not opens_all(leaving, after)
    for channel in BLITAR_ROUTE:
        assert opens_all(network[channel], after)
    assert "removed: r-leaving" not in run_cli(app, "reviewers", "list", "--channel", BLITAR)
    # The replaced ciphertext is gone from the database file too (SQLite: the import scrubs, as purge does).
    url = app.extensions["tipbox.config"].database_url
    if url.startswith("sqlite:///"):
        assert _old_bytes_absent(Path(url[len("sqlite:///"):]), verified.open_member(tip.payload.path))
    # Purge and audit verification stay clean afterwards.
    audit_out = tmp_path / "audit.jsonl"
    run_cli(app, "audit", "export", "--out", str(audit_out))
    report = verify_audit(io.StringIO(audit_out.read_text()), [_server_key(app)])
    assert report.ok, report.violations
    assert report.counts_by_channel()[BLITAR] == {"kept": 1}


def _old_bytes_absent(database: Path, old: bytes) -> bool:
    """No 64-byte run of the old ciphertext's body is left in the database files (main and WAL)."""
    body = old[-2048:]
    files = [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
    return all(body[i:i + 64] not in f.read_bytes() for f in files for i in range(0, len(body) - 64, 256))


def test_a_package_needs_the_package_not_just_its_signed_file(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity], tmp_path: Path
) -> None:
    _blitar_tip(client)
    with app.app_context():
        tip_id = db.session().scalars(select(Tip.id)).one()
    path = _forward(app, tmp_path, network, tip_id, BENGKULU)
    from crypto.dispositions import read_package_document

    bare = tmp_path / "bare.json"
    bare.write_bytes(read_package_document(path))
    result = _import(app, bare)
    assert result.exit_code != 0 and "import the whole dispositions package" in result.output


def test_a_forward_reaches_a_forward_only_agency_desk(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity], tmp_path: Path
) -> None:
    run_cli(app, "channels", "add", "bp2mi", "--name-id", "Meja BP2MI", "--name-en", "BP2MI desk", "--forward-only")
    desk = ReviewerIdentity.generate()
    run_cli(app, "reviewers", "add", "desk-bp2mi", desk.recipient, "--channel", "bp2mi")
    _blitar_tip(client)
    with app.app_context():
        tip_id = db.session().scalars(select(Tip.id)).one()
    assert not opens_all(desk, _stored(app, tip_id))
    assert _import(app, _forward(app, tmp_path, {**network, "bp2mi": desk}, tip_id, "bp2mi")).exit_code == 0
    assert opens_all(desk, _stored(app, tip_id))
    assert _holders(app, tip_id) == [*BLITAR_ROUTE, "bp2mi"]


def test_a_forwarded_tip_is_purged_on_time_and_the_audit_stays_clean(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _blitar_tip(client)
    with app.app_context():
        tip_id = db.session().scalars(select(Tip.id)).one()
    assert _import(app, _forward(app, tmp_path, network, tip_id, BENGKULU)).exit_code == 0
    later = clock.utcnow() + timedelta(days=180, hours=2)  # just past the exported-tip limit, within the grace
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    assert run_cli(app, "purge").startswith("purged 1 of 1 due tip")
    with app.app_context():
        assert db.session().scalars(select(TipChannel).where(TipChannel.tip_id == tip_id)).first() is None
    audit_out = tmp_path / "audit.jsonl"
    run_cli(app, "audit", "export", "--out", str(audit_out))
    report = verify_audit(io.StringIO(audit_out.read_text()), [_server_key(app)], at=later.replace(tzinfo=UTC))
    assert report.ok, report.violations
    assert report.counts_by_channel()[BENGKULU] == {"purged": 1}


def test_a_forward_carries_a_note_for_the_readers_that_the_source_never_sees(
    app: Flask, client: FlaskClient, network: dict[str, ReviewerIdentity], tmp_path: Path
) -> None:
    browser, receipt = _blitar_tip(client)
    with app.app_context():
        tip_id = db.session().scalars(select(Tip.id)).one()
    verified = _export(app, tmp_path, BLITAR)
    (tip,) = verified.manifest.tips
    assert tip.reviewers is not None
    keys = sorted({*tip.reviewers, network[BENGKULU].recipient})
    parts = resealed_parts(verified, tip, network[BLITAR], keys, "forwards", tip.source_recipient)
    # A note sealed to the target alone would leave the other readers out: refused, nothing applied.
    short = {**parts, **sealed_note(tip_id, "hanya untuk imigrasi", [network[BENGKULU].recipient])}
    refused = _import(app, package(tmp_path / "short-note.tar", network[BLITAR],
                                   [(Handover(tip_id, tuple(short), BENGKULU), short)]))
    assert refused.exit_code != 0 and "note forwarded with tip" in refused.output, refused.output
    assert _holders(app, tip_id) == BLITAR_ROUTE
    parts.update(sealed_note(tip_id, "Korban di pelabuhan; mohon imigrasi menangani.", keys))
    path = package(tmp_path / "note.tar", network[BLITAR], [(Handover(tip_id, tuple(parts), BENGKULU), parts)])
    result = _import(app, path)
    assert result.exit_code == 0, result.output
    (exported,) = _export(app, tmp_path, BENGKULU).manifest.tips
    (note,) = [m for m in exported.messages if m.kind.value == "note"]
    with app.app_context():
        stored = db.session().get(Message, note.id)
        assert stored is not None and stored.payload is not None and stored.kind == "note"
        for channel in (BENGKULU, BLITAR, JATIM, NASIONAL):
            opened = messages.open_message(stored.payload, [network[channel].age_identity], "note")
            assert opened.text == "Korban di pelabuhan; mohon imigrasi menangani."
        with pytest.raises(NoMatchingIdentity):
            messages.open_message(stored.payload, [network[UMUM].age_identity], "note")
        events = [e.event for e in db.session().scalars(select(AuditEvent))]
    assert "tip.note" in events
    status = browser.status(receipt).get_json()
    assert status["replies"] == [] and len(status["followups"]) == 1  # the note is not the source's to see
