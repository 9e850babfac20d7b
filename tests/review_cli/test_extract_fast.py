"""review_cli.extract.decrypt_to on a sealed file's path (what `tipbox-review attachments` uses)."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from crypto import errors
from crypto.attachments import ContentDigest, seal_attachment
from crypto.identity import ReviewerIdentity
from review_cli.extract import decrypt_to
from review_cli.workspace import Keys


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys.of(ReviewerIdentity.generate())


def _sealed(tmp_path: Path, keys: Keys, content: bytes) -> tuple[Path, ContentDigest]:
    path = tmp_path / "sealed.age"
    with path.open("wb") as dst:
        digest = seal_attachment(io.BytesIO(content), dst, [keys.recipient])
    return path, digest


def test_path_and_stream_give_the_same_file_and_progress(keys: Keys, tmp_path: Path) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)
    sealed, digest = _sealed(tmp_path, keys, content)
    for name, source in (("fast", sealed), ("stream", None)):
        seen: list[int] = []
        out = tmp_path / name
        if source is None:
            with sealed.open("rb") as src:
                decrypt_to(src, out, keys, digest, seen.append)
        else:
            decrypt_to(source, out, keys, digest, seen.append)
        assert out.read_bytes() == content
        assert (out.stat().st_mode & 0o777) == 0o600
        assert sum(seen) == sealed.stat().st_size
        assert len([n for n in seen if n]) >= 3  # reported as it goes, about once per MiB


@pytest.mark.parametrize("damage", ["truncate", "flip", "wrong manifest"])
def test_failure_leaves_no_file(damage: str, keys: Keys, tmp_path: Path) -> None:
    content = os.urandom(300_000)
    sealed, digest = _sealed(tmp_path, keys, content)
    data = sealed.read_bytes()
    if damage == "truncate":
        sealed.write_bytes(data[:-1000])
    elif damage == "flip":
        sealed.write_bytes(data[:-500] + bytes([data[-500] ^ 1]) + data[-499:])
    else:
        digest = ContentDigest(digest.size, hashlib.sha256(b"other").hexdigest())
    out = tmp_path / ".tipbox-test.partial"
    with pytest.raises(errors.CiphertextCorrupted):
        decrypt_to(sealed, out, keys, digest, lambda n: None)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sealed.age"]
