from __future__ import annotations

import pytest

from crypto import errors, padding, payload
from tests.support import load_vectors

V = load_vectors("payload")
E = load_vectors("envelope")


@pytest.mark.parametrize("case", V["valid"], ids=["full", "minimal"])
def test_canonical_encoding_matches_vectors(case: dict) -> None:
    encoded = payload.encode(case["document"])
    assert encoded == case["canonical"].encode()
    assert padding.padded_length(len(encoded)) == case["padded_length"]
    assert payload.decode(encoded) == case["document"]


@pytest.mark.parametrize("case", V["invalid"], ids=lambda c: c["json"][:30])
def test_invalid_payloads_raise_their_documented_type(case: dict) -> None:
    expected = getattr(errors, case["expect"])
    with pytest.raises(expected) as info:
        payload.decode(case["json"].encode())
    # UnknownPayloadVersion is a MalformedPayload, but not the other way round.
    if case["expect"] == "MalformedPayload":
        assert not isinstance(info.value, errors.UnknownPayloadVersion)


def test_seal_and_open_round_trip() -> None:
    document = V["valid"][0]["document"]
    sealed = payload.seal_tip(document, E["recipients"])
    assert payload.open_tip(sealed, [E["identities"][1]]) == document


def test_unknown_version_inside_a_sealed_tip() -> None:
    from crypto import envelope

    raw = b'{"v":7,"type":"tipbox-tip"}'
    sealed = envelope.seal_bytes(padding.pad(raw), E["recipients"])
    with pytest.raises(errors.UnknownPayloadVersion):
        payload.open_tip(sealed, [E["identities"][0]])


def test_bad_padding_inside_a_sealed_tip() -> None:
    from crypto import envelope

    sealed = envelope.seal_bytes(payload.encode(V["valid"][1]["document"]), E["recipients"])
    with pytest.raises(errors.MalformedPadding):
        payload.open_tip(sealed, [E["identities"][0]])


def test_build_rejects_bad_attachment_manifest() -> None:
    with pytest.raises(errors.MalformedPayload):
        payload.build({}, lang="id", sealed_by="browser", attachments=[{"id": "x" * 32}])


@pytest.mark.parametrize("field", ["id", "sha256"])
def test_a_trailing_line_break_is_not_part_of_an_id_or_hash(field: str) -> None:
    """``re.match`` with ``$`` accepts "…\\n"; every id and hash pattern ends in ``\\Z`` instead."""
    entry = {"id": "ab" * 16, "name": "a.jpg", "type": "image/jpeg", "size": 1, "sha256": "0" * 64}
    entry[field] += "\n"
    with pytest.raises(errors.MalformedPayload):
        payload.build({}, lang="id", sealed_by="browser", attachments=[entry])


def test_oversized_payload_is_refused() -> None:
    with pytest.raises(errors.MalformedPayload):
        payload.encode(payload.build({"description": "a" * payload.MAX_PAYLOAD_BYTES}, lang="id", sealed_by="server"))
