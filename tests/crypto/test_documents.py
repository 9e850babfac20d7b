"""Parsed documents are frozen dataclasses with vocabulary enums, and encode back to the same bytes.

Payloads (FORMAT.md §3), messages (§13) and the export manifest body (§8) are
typed once, at the parse boundary; the wire format is unchanged, so every
valid vector parses and encodes again byte for byte, and a document still
reads (and compares) as its JSON object for code that wants JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from crypto import bundle, errors, messages, payload
from crypto.audit import Policy
from crypto.bundle import BundleAttachment, BundleManifest, BundleMessage, BundleTip
from crypto.messages import MessageDocument
from crypto.payload import Answers, AttachmentEntry, TipDocument
from crypto.signing import canonical_json
from crypto.vocabulary import Danger, Language, MessageKind, SealedBy
from tests.support import load_vectors

P = load_vectors("payload")
M = load_vectors("messages")
TIP, MESSAGE, ATT = "a" * 32, "b" * 32, "c" * 32


@pytest.mark.parametrize("case", P["valid"], ids=["full", "minimal"])
def test_a_parsed_payload_is_frozen_typed_and_encodes_to_the_same_bytes(case: dict) -> None:
    document = payload.decode(case["canonical"].encode())
    assert isinstance(document, TipDocument) and dataclasses.is_dataclass(document)
    assert type(document.lang) is Language and type(document.sealed_by) is SealedBy
    assert all(isinstance(a, AttachmentEntry) for a in document.attachments)
    assert isinstance(document.attachments, tuple) and isinstance(document.answers, Answers)
    with pytest.raises(dataclasses.FrozenInstanceError):
        document.lang = Language.EN  # type: ignore[misc]
    with pytest.raises(TypeError):
        document.answers.raw["description"] = "changed"  # type: ignore[index]
    assert payload.encode(document) == case["canonical"].encode()
    assert document.as_document() == case["document"] == document  # the JSON view


def test_answers_read_known_keys_typed_and_keep_everything_as_sent() -> None:
    document = payload.decode(P["valid"][0]["canonical"].encode())
    answers = document.answers
    assert answers.category == "ANAK-DARING" and answers.victims_count == 3 and answers.contact is None
    assert answers.danger == ("online_contact",)  # not a Danger code this reader knows: kept, never refused
    assert answers.ongoing is None and answers.raw["ongoing"] is True  # another type than the form's: None
    assert answers.online_places == ("https://example.invalid/profile/123",)
    assert answers.contact_consent is False and answers.unknown() == {}


def test_unknown_answers_and_members_are_kept_shown_and_encoded_again() -> None:
    document = payload.build(
        {"description": "x", "boat_name": "KM Sinar", "crew": ["a", "b"]},
        lang="id",
        sealed_by=SealedBy.BROWSER,
        attachments=[{"id": ATT, "name": "a.jpg", "type": "image/jpeg", "size": 1, "sha256": "0" * 64, "exif": 0}],
        extra={"form": {"version": 3}},
    )
    assert document.answers.unknown() == {"boat_name": "KM Sinar", "crew": ("a", "b")}
    assert document.extra == {"form": {"version": 3}} and document.attachments[0].extra == {"exif": 0}
    again = payload.decode(payload.encode(document))
    assert again == document and payload.encode(again) == payload.encode(document)
    assert canonical_json(document.as_document()) == payload.encode(document)


@pytest.mark.parametrize("case", M["valid"], ids=["reply", "followup"])
def test_a_parsed_message_is_frozen_typed_and_encodes_to_the_same_bytes(case: dict) -> None:
    document = messages.parse(case["document"])
    assert isinstance(document, MessageDocument)
    assert type(document.kind) is MessageKind and type(document.sealed_by) is SealedBy
    assert messages.encode(document) == case["canonical"].encode()
    with pytest.raises(dataclasses.FrozenInstanceError):
        document.text = "changed"  # type: ignore[misc]


def test_builders_accept_codes_as_text_or_as_enums_and_give_the_same_document() -> None:
    as_text = messages.build("followup", "Desa Sukamaju", lang="id", sealed_by="browser")
    as_enum = messages.build(MessageKind.FOLLOWUP, "Desa Sukamaju", lang=Language.ID, sealed_by=SealedBy.BROWSER)
    assert as_text == as_enum and messages.encode(as_text) == messages.encode(as_enum)
    assert as_enum.kind is MessageKind.FOLLOWUP


def _file(path: str, data: bytes) -> dict:
    return {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _body() -> dict:
    message = {
        "id": MESSAGE,
        "kind": "followup",
        "received": "2026-11-24T09:00:00Z",
        "sealed_by": "server",
        **_file(bundle.message_path(TIP, MESSAGE), b"m"),
        "attachments": [{"id": ATT, **_file(bundle.attachment_path(TIP, ATT), b"a")}],
    }
    tip = {
        "id": TIP,
        "received": "2026-11-23T11:00:00Z",
        "sealed_by": "browser",
        "key_fingerprint": "TEST",
        "payload": _file(bundle.payload_path(TIP), b"p"),
        "attachments": [],
        "source_recipient": None,
        "messages": [message],
    }
    return {
        "type": bundle.DOCUMENT_TYPE,
        "v": 1,
        "created": "2026-11-24T12:00:00Z",
        "since": None,
        "tips": [tip],
        "reviewers": [],
        "policy": Policy().as_document(),
    }


def test_a_parsed_manifest_is_typed_down_to_each_file() -> None:
    manifest = bundle.validate_body(_body())
    assert isinstance(manifest, BundleManifest) and manifest.policy == Policy() and manifest.reviewers == ()
    [tip] = manifest.tips
    assert isinstance(tip, BundleTip) and tip.sealed_by is SealedBy.BROWSER and tip.source_recipient is None
    [message] = tip.messages
    assert isinstance(message, BundleMessage) and message.kind is MessageKind.FOLLOWUP
    assert message.sealed_by is SealedBy.SERVER
    sha256 = message.attachments[0].sha256
    assert message.attachments == (BundleAttachment(bundle.attachment_path(TIP, ATT), 1, sha256, ATT),)
    assert [f.path for f in manifest.files()] == [
        bundle.payload_path(TIP),
        bundle.message_path(TIP, MESSAGE),
        bundle.attachment_path(TIP, ATT),
    ]
    assert manifest == _body()  # reads as the signed JSON
    with pytest.raises(dataclasses.FrozenInstanceError):
        tip.id = "b" * 32  # type: ignore[misc]


def test_a_manifest_without_the_newer_members_says_so() -> None:
    body = _body()
    del body["reviewers"], body["policy"]
    manifest = bundle.validate_body(body)
    assert manifest.reviewers is None and manifest.policy is None
    assert "reviewers" not in manifest and "policy" not in manifest


@pytest.mark.parametrize(
    "damage",
    [
        lambda tip: tip["messages"][0]["attachments"][0].update(id="d" * 32),  # path names another id
        lambda tip: tip["messages"][0]["attachments"][0].pop("id"),
        lambda tip: tip["payload"].update(path=bundle.payload_path("e" * 32)),  # another tip's payload
        lambda tip: tip["messages"][0].update(sealed_by="cloud"),
        lambda tip: tip.update(received=None),
        lambda tip: tip["payload"].update(size=True),
    ],
    ids=["attachment-id", "no-attachment-id", "payload-path", "message-sealed-by", "received", "bool-size"],
)
def test_a_manifest_entry_that_cannot_be_typed_is_refused(damage) -> None:
    body = _body()
    damage(body["tips"][0])
    with pytest.raises(errors.MalformedDocument):
        bundle.validate_body(body)


def test_codes_compare_as_the_vocabulary_not_as_bare_strings() -> None:
    document = payload.build({"danger": ["danger_now"], "description": "x"}, lang="id", sealed_by="server")
    assert document.sealed_by == SealedBy.SERVER and Danger.DANGER_NOW in document.answers.danger
    assert messages.REPLY is MessageKind.REPLY and messages.FOLLOWUP is MessageKind.FOLLOWUP
