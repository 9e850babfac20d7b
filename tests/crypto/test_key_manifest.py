"""Key manifests' published names and the signed channel directory (FORMAT.md §7, §7.1)."""

from __future__ import annotations

import nacl.signing
import pytest

from crypto import key_manifest
from crypto.errors import BadSignature, MalformedDocument
from crypto.identity import ReviewerIdentity
from crypto.signing import public_key_b64

KEY = nacl.signing.SigningKey.generate()
PUB = public_key_b64(KEY)


def _manifest(channel: str, name: str = "Tim", key: nacl.signing.SigningKey = KEY) -> dict:
    body = key_manifest.build_body(channel, "2026-11-29T12:00:00Z",
                                   [{"label": "r1", "recipient": ReviewerIdentity.generate().recipient}],
                                   names={"id": name, "en": name}, scope={"regions": ["35"]})
    return key_manifest.sign(body, key)


@pytest.mark.parametrize("name", ["Tim\x1b[31m", "Tim \u202egnalaB", "Tim\u200bumum", "Tim\x00", "Tim\ue000"])
def test_a_name_with_control_or_formatting_characters_is_refused(name: str) -> None:
    with pytest.raises(MalformedDocument, match="control or formatting"):
        _manifest("blitar", name)


def test_the_directory_lists_each_channel_once_in_order_and_verifies_every_manifest() -> None:
    manifests = [_manifest("nasional"), _manifest("blitar-kota")]
    signed = key_manifest.sign_directory(key_manifest.build_directory(manifests), KEY)
    body = key_manifest.verify_directory(signed, [PUB])
    assert list(key_manifest.directory_manifests(body)) == ["blitar-kota", "nasional"]
    with pytest.raises(MalformedDocument, match="each channel once"):
        key_manifest.build_directory([_manifest("blitar-kota"), _manifest("blitar-kota")])
    unsorted = {"type": key_manifest.DIRECTORY_TYPE, "v": 1, "channels": list(reversed(body["channels"]))}
    with pytest.raises(MalformedDocument, match="each channel once"):
        key_manifest.validate_directory(unsorted)
    # A manifest signed by another key inside a directory the server signed is refused too.
    other = nacl.signing.SigningKey.generate()
    mixed = key_manifest.sign_directory(key_manifest.build_directory([_manifest("a", key=other), manifests[0]]), KEY)
    with pytest.raises(BadSignature):
        key_manifest.verify_directory(mixed, [PUB])
    with pytest.raises(BadSignature):
        key_manifest.verify_directory(signed, [public_key_b64(other)])
