"""The form's short way (FORMAT.md §4.1): the sealed tip in the first request, chunks that carry
their SHA-256, and an attachment's last chunk closing it (and receiving the tip).

Each guard here is one a lost Tor answer, a damaged chunk or a tampering page would otherwise
get past; the mutation notes in the test names say which line each one keeps honest.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from crypto import payload, receipt_keys, upload_digest
from crypto.attachments import open_attachment
from crypto.identity import ReviewerIdentity
from tests.tipbox.browser_like import BrowserLike
from tests.tipbox.support import run_cli
from tipbox import clock, db
from tipbox.audit.models import AuditEvent
from tipbox.intake.service import cleanup_abandoned
from tipbox.models import TIP_READY, TIP_UPLOADING, Attachment, Tip
from tipbox.receipts import new_receipt

API = "/api/v1/submissions"
SEALED = API + "/sealed"
CHUNK = 64 * 1024
A1, A2 = "a1" * 16, "a2" * 16


@dataclass
class Part:
    """One attachment as the page sends it: the content, its sealed age file, and the file cut in chunks."""

    id: str
    content: bytes
    sealed: bytes = b""
    chunks: list[bytes] = field(default_factory=list)

    @property
    def completion(self) -> str:
        return f"size={len(self.sealed)}, chunks-sha256={upload_digest.chunk_list_sha256(self.chunks)}"


def _digest_header(data: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"


@dataclass
class ShortWay:
    """What form.js does, in Python: seal everything first, then open with the sealed tip."""

    browser: BrowserLike
    parts: list[Part]
    receipt: str = field(default_factory=new_receipt)
    text: str = "anak-anak dijual lewat pelabuhan"

    def __post_init__(self) -> None:
        for part in self.parts:
            part.sealed, digest = self.browser.seal_file(part.content)
            part.chunks = upload_digest.split(part.sealed, CHUNK)
        manifest = [{"id": p.id, "name": f"{p.id[:4]}.bin", "type": "application/octet-stream",
                     "size": len(p.content), "sha256": hashlib.sha256(p.content).hexdigest()} for p in self.parts]
        document = payload.build({"description": self.text}, lang="id", sealed_by="browser", attachments=manifest)
        self.sealed_tip = payload.seal_tip(document, self.browser.recipients)
        keys = receipt_keys.derive(self.receipt)
        self.body = {"recipients": self.browser.recipients, "payload": base64.b64encode(self.sealed_tip).decode(),
                     "attachments": [p.id for p in self.parts], "source_recipient": keys.recipient,
                     "lookup": keys.lookup}

    def open(self, **changes):
        return self.browser.client.post(SEALED, json={**self.body, **changes}, headers=self.browser.headers())

    def put(self, tip: str, token: str, part: Part, seq: int, *, data: bytes | None = None, last: bool = False,
            digest: str | None = None, completion: str | None = None):
        data = part.chunks[seq] if data is None else data
        headers = {**self.browser.headers(token), "Content-Digest": digest or _digest_header(data)}
        if last or completion is not None:
            headers["Tipbox-Complete"] = completion or part.completion
        return self.browser.client.put(f"{API}/{tip}/attachments/{part.id}/chunks/{seq}", data=data, headers=headers,
                                       content_type="application/octet-stream")

    def send_part(self, tip: str, token: str, part: Part):
        for seq in range(len(part.chunks) - 1):
            assert self.put(tip, token, part, seq).status_code == 200
        return self.put(tip, token, part, len(part.chunks) - 1, last=True)


def _tips(app: Flask) -> list[Tip]:
    with app.app_context():
        return list(db.session().scalars(select(Tip)))


def _events(app: Flask, kind: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent).where(AuditEvent.event == kind)))


def _parts(*sizes: int) -> list[Part]:
    ids = [A1, A2, "a3" * 16]
    return [Part(ids[i], bytes((j * 7 + i) & 0xFF for j in range(n))) for i, n in enumerate(sizes)]


def test_a_tip_without_attachments_is_received_by_one_request(app: Flask, client: FlaskClient, reviewers) -> None:
    way = ShortWay(BrowserLike(client), [])
    response = way.open()
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["received"] is True and answer["recipients"] == way.browser.recipients
    [tip] = _tips(app)
    assert tip.id == answer["tip_id"] and tip.state == TIP_READY and tip.sealed_by == "browser"
    assert tip.payload == way.sealed_tip
    assert payload.open_tip(tip.payload, [reviewers[0].secret])["answers"]["description"] == way.text
    assert [e.tip_id for e in _events(app, "tip.received")] == [tip.id]
    # The source comes back with its receipt: the status lookup finds the tip.
    assert way.browser.status(way.receipt).status_code == 200


def test_attachments_close_with_their_last_chunk_and_the_last_one_receives_the_tip(
    app: Flask, client: FlaskClient, reviewers: list[ReviewerIdentity]
) -> None:
    way = ShortWay(BrowserLike(client), _parts(200_000, 5_000))
    opened = way.open().get_json()
    assert opened["received"] is False
    tip, token = opened["tip_id"], opened["token"]
    [pending] = _tips(app)
    assert pending.state == TIP_UPLOADING and _events(app, "tip.received") == []
    assert way.browser.status(way.receipt).get_json()["error"] == "status_not_found"  # not a tip before it is whole

    first = way.send_part(tip, token, way.parts[0])
    assert first.status_code == 200 and first.get_json() == {"ok": True, "completed": True, "received": False}
    assert _tips(app)[0].state == TIP_UPLOADING
    last = way.send_part(tip, token, way.parts[1])
    assert last.get_json() == {"ok": True, "completed": True, "received": True}

    [stored] = _tips(app)
    assert stored.state == TIP_READY
    with app.app_context():
        rows = {a.id: a for a in db.session().scalars(select(Attachment))}
        from tipbox import storage

        for part in way.parts:
            # The whole age file's SHA-256 is still what the server keeps (the export bundle's sha256).
            assert rows[part.id].complete and rows[part.id].sha256 == hashlib.sha256(part.sealed).hexdigest()
            sealed = b"".join(storage.iter_chunks(db.session(), tip, part.id))
            out = io.BytesIO()
            digest = open_attachment(io.BytesIO(sealed), out, [reviewers[0].secret])
            assert out.getvalue() == part.content and digest.sha256 == hashlib.sha256(part.content).hexdigest()
    [event] = _events(app, "tip.received")
    assert json.loads(event.data)["attachments"] == 2


def test_a_lost_answer_to_the_open_is_answered_again_for_the_same_tip(app: Flask, client: FlaskClient) -> None:
    """Mutation: without _opened_before, the retry is a receipt_conflict and the source is told it failed."""
    way = ShortWay(BrowserLike(client), _parts(100_000))
    first = way.open().get_json()
    again = way.open()
    assert again.status_code == 201 and again.get_json()["tip_id"] == first["tip_id"]
    assert again.get_json()["received"] is False and again.get_json()["token"] != first["token"]
    assert len(_tips(app)) == 1
    # Only the newest token opens the upload (the first answer never arrived).
    assert way.put(first["tip_id"], first["token"], way.parts[0], 0).status_code == 404
    assert way.send_part(first["tip_id"], again.get_json()["token"], way.parts[0]).get_json()["received"] is True

    plain = ShortWay(BrowserLike(client), [])
    once = plain.open().get_json()
    twice = plain.open()
    assert twice.status_code == 201 and twice.get_json()["tip_id"] == once["tip_id"]
    assert twice.get_json()["received"] is True
    assert len(_tips(app)) == 2 and len(_events(app, "tip.received")) == 2


def test_the_same_receipt_with_other_content_is_refused(app: Flask, client: FlaskClient) -> None:
    browser = BrowserLike(client)
    way = ShortWay(browser, [])
    assert way.open().status_code == 201
    other = ShortWay(browser, [], receipt=way.receipt, text="isi lain")
    response = other.open()
    assert response.status_code == 409 and response.get_json()["error"] == "receipt_conflict"
    assert len(_tips(app)) == 1


def test_a_tip_sealed_to_other_keys_is_refused_before_anything_is_stored(app: Flask, client: FlaskClient) -> None:
    """Mutation: without the recipients check, a page with stale or forged keys stores a tip nobody can read."""
    browser = BrowserLike(client)
    stranger = ReviewerIdentity.generate().recipient
    for recipients in ([stranger], [*browser.recipients, stranger], browser.recipients[:1], []):
        response = ShortWay(browser, []).open(recipients=recipients)
        assert response.status_code == 409 and response.get_json()["error"] == "keys_changed", recipients
    for recipients in ("age1", None, [1]):
        assert ShortWay(browser, []).open(recipients=recipients).status_code == 400
    assert _tips(app) == []


@pytest.mark.parametrize("change", ["stanzas", "garbage", "not base64", "duplicate ids", "bad id", "no lookup"])
def test_a_malformed_sealed_open_is_refused(app: Flask, client: FlaskClient, change: str) -> None:
    browser = BrowserLike(client)
    way = ShortWay(browser, [])
    changes: dict[str, object] = {
        "stanzas": {"payload": base64.b64encode(payload.seal_tip(
            payload.build({"description": "x"}, lang="id", sealed_by="browser"), browser.recipients[:1])).decode()},
        "garbage": {"payload": base64.b64encode(b"age-encryption.org/v1\n-> nope").decode()},
        "not base64": {"payload": "***"},
        "duplicate ids": {"attachments": [A1, A1]},
        "bad id": {"attachments": ["A1" * 16]},
        "no lookup": {"lookup": None},
    }[change]
    response = way.open(**changes)
    assert response.status_code == 400, response.get_json()
    assert _tips(app) == []


def test_a_chunk_that_does_not_match_its_digest_is_refused(app: Flask, client: FlaskClient) -> None:
    """Mutation: without the Content-Digest check the damaged chunk is stored."""
    way = ShortWay(BrowserLike(client), _parts(100_000))
    opened = way.open().get_json()
    tip, token, part = opened["tip_id"], opened["token"], way.parts[0]
    damaged = bytes([part.chunks[0][0] ^ 1]) + part.chunks[0][1:]
    response = way.put(tip, token, part, 0, data=damaged, digest=_digest_header(part.chunks[0]))
    assert response.status_code == 400 and response.get_json()["error"] == "bad_chunk"
    for header in ("sha-256=abc", "md5=:AAAA:", "sha-256=:" + "A" * 43 + ":"[:0]):
        assert way.put(tip, token, part, 0, digest=header).status_code == 400, header
    # Nothing was stored: the right chunk 0 is accepted, not a conflict.
    assert way.put(tip, token, part, 0).status_code == 200


def test_the_last_chunk_closes_only_a_whole_file_with_the_declared_digest(app: Flask, client: FlaskClient) -> None:
    """Mutation: without the chunk-list comparison in _close, a wrong declaration closes the file."""
    way = ShortWay(BrowserLike(client), _parts(200_000))
    opened = way.open().get_json()
    tip, token, part = opened["tip_id"], opened["token"], way.parts[0]
    last = len(part.chunks) - 1
    assert last >= 3
    # Sent before the others arrived: not yet whole.
    early = way.put(tip, token, part, last, last=True)
    assert early.status_code == 409 and early.get_json()["error"] == "incomplete_upload"
    for seq in range(last):
        assert way.put(tip, token, part, seq).status_code == 200
    wrong = f"size={len(part.sealed)}, chunks-sha256={upload_digest.chunk_list_sha256(reversed(part.chunks))}"
    for completion in (wrong, f"size={len(part.sealed) + 1}, chunks-sha256={'0' * 64}", "size=1"):
        response = way.put(tip, token, part, last, completion=completion)
        assert response.status_code in (400, 409), completion
    assert _tips(app)[0].state == TIP_UPLOADING
    assert way.put(tip, token, part, last, last=True).get_json()["received"] is True


def test_the_last_chunk_retried_after_a_lost_answer_hears_received(app: Flask, client: FlaskClient) -> None:
    way = ShortWay(BrowserLike(client), _parts(100_000))
    opened = way.open().get_json()
    tip, token, part = opened["tip_id"], opened["token"], way.parts[0]
    assert way.send_part(tip, token, part).get_json()["received"] is True
    last = len(part.chunks) - 1
    again = way.put(tip, token, part, last, last=True)
    assert again.status_code == 200 and again.get_json()["received"] is True
    assert len(_events(app, "tip.received")) == 1
    # Anything else after the tip is received is refused as before.
    assert way.put(tip, token, part, 0).status_code == 409
    other = way.put(tip, token, part, last, data=part.chunks[last][:-1] + b"\0", last=True)
    assert other.status_code == 409


def test_a_sealed_open_takes_no_undeclared_attachment_and_no_finalize(app: Flask, client: FlaskClient) -> None:
    """Mutation: if a tip opened with its payload took other attachments, its manifest would not list them."""
    browser = BrowserLike(client)
    way = ShortWay(browser, _parts(10_000))
    opened = way.open().get_json()
    tip, token = opened["tip_id"], opened["token"]
    stray = Part("bb" * 16, b"x" * 100)
    stray.sealed, _ = browser.seal_file(stray.content)
    stray.chunks = [stray.sealed]
    assert way.put(tip, token, stray, 0).status_code == 404
    finalize = browser.finalize(tip, token, way.sealed_tip, [A1], receipt=way.receipt)
    assert finalize.status_code == 409 and finalize.get_json()["error"] == "already_finalized"
    assert way.send_part(tip, token, way.parts[0]).get_json()["received"] is True


def test_complete_takes_a_chunk_list_digest_or_a_whole_file_digest_never_both(app: Flask, client: FlaskClient) -> None:
    browser = BrowserLike(client)
    opened = browser.open().get_json()
    tip, token = opened["tip_id"], opened["token"]
    part = _parts(150_000)[0]
    part.sealed, _ = browser.seal_file(part.content)
    part.chunks = upload_digest.split(part.sealed, CHUNK)
    for seq, data in enumerate(part.chunks):
        assert browser.put(tip, token, part.id, seq, data).status_code == 200
    url = f"{API}/{tip}/attachments/{part.id}/complete"
    listed = upload_digest.chunk_list_sha256(part.chunks)
    whole = hashlib.sha256(part.sealed).hexdigest()
    for body in ({"size": len(part.sealed), "sha256": whole, "chunks_sha256": listed}, {"size": len(part.sealed)},
                 {"size": len(part.sealed), "chunks_sha256": "x" * 64}):
        assert client.post(url, json=body, headers=browser.headers(token)).status_code == 400, body
    bad = client.post(url, json={"size": len(part.sealed), "chunks_sha256": whole}, headers=browser.headers(token))
    assert bad.status_code == 409
    good = client.post(url, json={"size": len(part.sealed), "chunks_sha256": listed}, headers=browser.headers(token))
    assert good.status_code == 200 and good.get_json() == {"ok": True, "completed": True, "received": False}
    # Opened the old way, the tip still needs its finalize.
    document = payload.build({"description": "x"}, lang="id", sealed_by="browser",
                             attachments=[{"id": part.id, "name": "f", "type": "application/octet-stream",
                                           "size": len(part.content),
                                           "sha256": hashlib.sha256(part.content).hexdigest()}])
    response = browser.finalize(tip, token, payload.seal_tip(document, browser.recipients), [part.id])
    assert response.status_code == 200 and _tips(app)[0].state == TIP_READY


def test_an_abandoned_sealed_open_is_cleaned_up_and_frees_nothing_else(app: Flask, client: FlaskClient) -> None:
    way = ShortWay(BrowserLike(client), _parts(10_000))
    assert way.open().status_code == 201
    with app.app_context(), db.transaction() as session:
        assert cleanup_abandoned(session, clock.utcnow().replace(year=clock.utcnow().year + 1)) == 1
    assert _tips(app) == []


def test_keys_that_change_while_attachments_upload_stop_the_tip_at_its_last_chunk(
    app: Flask, client: FlaskClient
) -> None:
    """Mutation: without the fingerprint check in _receive_if_whole, a tip sealed to the old reviewers
    (the new one cannot read it) would be received as if every current reviewer could."""
    way = ShortWay(BrowserLike(client), _parts(10_000))
    opened = way.open().get_json()
    newcomer = ReviewerIdentity.generate()
    run_cli(app, "reviewers", "add", "r-new", newcomer.recipient, "--signing-key", newcomer.signing_public_key)
    response = way.send_part(opened["tip_id"], opened["token"], way.parts[0])
    assert response.status_code == 409 and response.get_json()["error"] == "keys_changed"
    assert _tips(app)[0].state == TIP_UPLOADING and _events(app, "tip.received") == []
