"""What the browser sealer (crypto/js, and the committed bundle) seals, crypto/ opens.

crypto/js/test/seal_fixture.mjs seals the shared vectors' tip and attachment
contents with the JS sealer; here Python opens them with the reviewers' keys and
runs the same header checks the server applies to browser uploads.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from crypto import header, payload
from crypto.attachments import ContentDigest, open_attachment
from tests.support import ROOT, load_vectors, missing_service

E = load_vectors("envelope")
P = load_vectors("payload")
ATTACHMENT = next(f for f in E["files"] if f["kind"] == "attachment")
LARGE = bytes((i * 7 + 3) & 0xFF for i in range(200_003))  # same pattern as seal_fixture.mjs
CONTENT = base64.b64decode(ATTACHMENT["content_b64"])
ATTACHMENTS = {
    "attachment": CONTENT,
    "attachment_bytes": CONTENT,
    "large": LARGE,
    "empty": b"",
    "bundle_large": LARGE,
}


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    node = shutil.which("node")
    if node is None:
        missing_service("node is not installed (needed to run the JS sealer)")
    if not (ROOT / "node_modules" / "age-encryption").is_dir():
        missing_service("node_modules is missing: run `npm ci`")
    out = tmp_path_factory.mktemp("js-sealed")
    subprocess.run(
        [node, str(ROOT / "crypto" / "js" / "test" / "seal_fixture.mjs"), str(out)],
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    return out


def _check_upload(data: bytes) -> None:
    """The server's checks on a browser upload: strict header, one X25519 stanza
    per reviewer, Padmé-padded plaintext length."""
    parsed = header.parse_header(io.BytesIO(data))
    header.check_x25519_recipients(parsed, len(E["recipients"]))
    header.check_padded_payload(len(data) - parsed.length)


@pytest.mark.parametrize("name", ["tip", "bundle_tip"])
def test_js_sealed_tip_opens_in_python(sealed: Path, name: str) -> None:
    data = (sealed / f"{name}.age").read_bytes()
    _check_upload(data)
    for identity in E["identities"]:
        assert payload.open_tip(data, [identity]) == P["valid"][0]["document"]


@pytest.mark.parametrize("name", sorted(ATTACHMENTS))
def test_js_sealed_attachment_opens_in_python(sealed: Path, name: str) -> None:
    content = ATTACHMENTS[name]
    expected = ContentDigest(len(content), hashlib.sha256(content).hexdigest())
    reported = json.loads((sealed / "digests.json").read_text())[name]
    assert ContentDigest(reported["size"], reported["sha256"]) == expected
    data = (sealed / f"{name}.age").read_bytes()
    _check_upload(data)
    for identity in E["identities"]:
        out = io.BytesIO()
        assert open_attachment(io.BytesIO(data), out, [identity], expected) == expected
        assert out.getvalue() == content
