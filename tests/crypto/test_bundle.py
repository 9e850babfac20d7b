from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import nacl.signing
import pytest

from crypto import bundle, errors, payload
from crypto.bundle import BundleFile
from crypto.signing import CONTEXT_EXPORT_MANIFEST, canonical_json, public_key_b64, sign_document
from tests.support import load_vectors

E = load_vectors("envelope")
P = load_vectors("payload")
KEY = nacl.signing.SigningKey(bytes(range(32)))
TIP_A, TIP_B = "a" * 32, "b" * 32
ATT = "c" * 32


def _entry(path: str, data: bytes) -> dict:
    return {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _make(tmp_path: Path, key: nacl.signing.SigningKey = KEY) -> tuple[Path, dict[str, bytes]]:
    tip = payload.seal_tip(P["valid"][0]["document"], E["recipients"])
    files = {
        bundle.payload_path(TIP_A): tip,
        bundle.attachment_path(TIP_A, ATT): b"age-bytes-of-attachment",
        bundle.payload_path(TIP_B): tip[::-1],
    }
    body = {
        "type": bundle.DOCUMENT_TYPE,
        "v": bundle.VERSION,
        "created": "2026-11-23T12:00:00Z",
        "since": None,
        "tips": [
            {
                "id": TIP_A,
                "received": "2026-11-23T11:00:00Z",
                "sealed_by": "browser",
                "payload": _entry(bundle.payload_path(TIP_A), files[bundle.payload_path(TIP_A)]),
                "attachments": [
                    {"id": ATT, **_entry(bundle.attachment_path(TIP_A, ATT), files[bundle.attachment_path(TIP_A, ATT)])}
                ],
            },
            {
                "id": TIP_B,
                "received": "2026-11-23T10:00:00Z",
                "sealed_by": "server",
                "payload": _entry(bundle.payload_path(TIP_B), files[bundle.payload_path(TIP_B)]),
                "attachments": [],
            },
        ],
    }
    out = tmp_path / "export.tar"
    with out.open("wb") as handle:
        bundle.write_bundle(
            handle,
            body,
            [BundleFile(p, len(d), hashlib.sha256(d).hexdigest(), lambda d=d: io.BytesIO(d)) for p, d in files.items()],
            key,
        )
    return out, files


def test_round_trip_and_determinism(tmp_path: Path) -> None:
    path, files = _make(tmp_path)
    verified = bundle.verify_bundle(path, [public_key_b64(KEY)])
    assert verified.signer == public_key_b64(KEY)
    assert [t.id for t in verified.manifest.tips] == [TIP_A, TIP_B]
    assert [t["id"] for t in verified.body["tips"]] == [TIP_A, TIP_B]  # the older name reads as JSON too
    assert [a.id for a in verified.manifest.tips[0].attachments] == [ATT]
    assert {f.path for f in verified.manifest.files()} == set(files)
    for member, data in files.items():
        assert verified.open_member(member) == data
    assert (
        payload.open_tip(verified.open_member(bundle.payload_path(TIP_A)), [E["identities"][0]])
        == P["valid"][0]["document"]
    )
    (tmp_path / "again").mkdir()
    again, _ = _make(tmp_path / "again")
    # age output is random, so compare the archive layout, not the sealed bytes
    with tarfile.open(path) as first, tarfile.open(again) as second:
        assert [(m.name, m.mtime, m.uid, m.mode) for m in first] == [(m.name, m.mtime, m.uid, m.mode) for m in second]


def test_other_signer_is_refused(tmp_path: Path) -> None:
    path, _ = _make(tmp_path, nacl.signing.SigningKey.generate())
    with pytest.raises(errors.BadSignature):
        bundle.verify_bundle(path, [public_key_b64(KEY)])


def _rewrite(src: Path, dst: Path, edit) -> Path:
    with tarfile.open(src) as tar_in, tarfile.open(dst, "w", format=tarfile.USTAR_FORMAT) as tar_out:
        members = [(m, tar_in.extractfile(m).read()) for m in tar_in.getmembers()]
        for member, data in edit(members):
            member.size = len(data)
            tar_out.addfile(member, io.BytesIO(data))
    return dst


@pytest.mark.parametrize(
    "edit",
    [
        lambda ms: [(m, d if m.name == "manifest.json" else d[:-1] + b"X") for m, d in ms],
        lambda ms: ms[:-1],
        lambda ms: [*ms, (tarfile.TarInfo("tips/" + "d" * 32 + "/payload.age"), b"extra")],
        lambda ms: [*ms, (tarfile.TarInfo("../../etc/passwd"), b"x")],
        lambda ms: [ms[1], ms[0], *ms[2:]],
    ],
    ids=["modified-member", "missing-member", "unlisted-member", "path-traversal", "manifest-not-first"],
)
def test_tampered_bundles_are_refused(tmp_path: Path, edit) -> None:
    path, _ = _make(tmp_path)
    bad = _rewrite(path, tmp_path / "bad.tar", edit)
    with pytest.raises(errors.BundleInvalid):
        bundle.verify_bundle(bad, [public_key_b64(KEY)])


@pytest.mark.parametrize("cut", [1, 10, 600, 2000])
def test_truncated_bundle(tmp_path: Path, cut: int) -> None:
    path, _ = _make(tmp_path)
    data = path.read_bytes()
    # Cut into the last member's data, not just the archive's zero trailer.
    end_of_content = len(data.rstrip(b"\x00"))
    short = tmp_path / "short.tar"
    short.write_bytes(data[: end_of_content - cut])
    with pytest.raises(errors.TipboxCryptoError):
        bundle.verify_bundle(short, [public_key_b64(KEY)])


def test_manifest_with_traversal_path_is_malformed_even_if_signed(tmp_path: Path) -> None:
    body = {
        "type": bundle.DOCUMENT_TYPE,
        "v": 1,
        "tips": [{"id": TIP_A, "sealed_by": "browser", "payload": {"path": "../x.age", "size": 1, "sha256": "0" * 64}}],
    }
    manifest = canonical_json(
        {"body": body, "signature": sign_document({**body, "tips": []}, CONTEXT_EXPORT_MANIFEST, KEY)["signature"]}
    )
    path = tmp_path / "m.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    with pytest.raises(errors.TipboxCryptoError):
        bundle.verify_bundle(path, None)
    assert json.loads(manifest)["body"]["tips"][0]["payload"]["path"] == "../x.age"


def test_not_a_tar(tmp_path: Path) -> None:
    path = tmp_path / "junk.tar"
    path.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(errors.BundleInvalid):
        bundle.verify_bundle(path, None)


def test_the_urgent_flag_is_read_strictly_and_kept_only_when_set() -> None:
    """FORMAT.md §8: ``"urgent": true`` only when the source asked to alert the team; absent means false."""
    base = {"id": TIP_A, "received": "2026-11-23T11:00:00Z", "sealed_by": "browser",
            "payload": _entry(bundle.payload_path(TIP_A), b"x"), "attachments": []}
    assert bundle.parse_tip(base).urgent is False
    assert "urgent" not in bundle.parse_tip(base).as_document()  # old readers and stored copies unchanged
    flagged = bundle.parse_tip({**base, "urgent": True})
    assert flagged.urgent is True and flagged.as_document()["urgent"] is True
    assert bundle.parse_tip(flagged.as_document()).urgent is True
    for bad in ("yes", 1, None):
        with pytest.raises(errors.MalformedDocument, match="urgent"):
            bundle.parse_tip({**base, "urgent": bad})
