"""A Python stand-in for the browser sealer: drives the upload API with crypto/.

Used by API tests that need many precise variations (bad chunks, replays);
the real browser path is covered by tests/browser/.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field

from flask.testing import FlaskClient

from crypto import payload
from crypto.attachments import seal_attachment
from tests.tipbox.conftest import csrf_token


@dataclass
class BrowserLike:
    client: FlaskClient
    csrf: str = ""
    recipients: list[str] = field(default_factory=list)
    fingerprint: str = ""

    def __post_init__(self) -> None:
        self.csrf = csrf_token(self.client)
        keys = self.client.get("/api/v1/keys").get_json()
        self.recipients = [r["recipient"] for r in keys["manifest"]["body"]["reviewers"]]
        self.fingerprint = keys["fingerprint"]

    def headers(self, token: str | None = None) -> dict[str, str]:
        h = {"X-CSRFToken": self.csrf}
        if token:
            h["X-Upload-Token"] = token
        return h

    def open(self):
        return self.client.post("/api/v1/submissions", headers=self.headers())

    def put(self, tip: str, token: str, att: str, seq: int, data: bytes):
        return self.client.put(
            f"/api/v1/submissions/{tip}/attachments/{att}/chunks/{seq}",
            data=data,
            headers=self.headers(token),
            content_type="application/octet-stream",
        )

    def complete(self, tip: str, token: str, att: str, size: int, sha256: str):
        return self.client.post(
            f"/api/v1/submissions/{tip}/attachments/{att}/complete",
            json={"size": size, "sha256": sha256},
            headers=self.headers(token),
        )

    def finalize(self, tip: str, token: str, sealed: bytes, attachments: list[str], fingerprint: str | None = None):
        return self.client.post(
            f"/api/v1/submissions/{tip}/finalize",
            headers=self.headers(token),
            json={
                "payload": base64.b64encode(sealed).decode(),
                "attachments": attachments,
                "key_fingerprint": fingerprint or self.fingerprint,
            },
        )

    def seal_file(self, content: bytes) -> tuple[bytes, dict]:
        out = io.BytesIO()
        digest = seal_attachment(io.BytesIO(content), out, self.recipients)
        return out.getvalue(), {"size": digest.size, "sha256": digest.sha256}

    def submit(
        self, answers: dict, files: dict[str, tuple[str, str, bytes]] | None = None, chunk: int = 64 * 1024
    ) -> str:
        """Full happy path; ``files`` maps attachment id -> (name, type, content). Returns the receipt."""
        import hashlib

        opened = self.open().get_json()
        tip, token = opened["tip_id"], opened["token"]
        manifest = []
        for att_id, (name, media_type, content) in (files or {}).items():
            sealed, digest = self.seal_file(content)
            for seq, start in enumerate(range(0, len(sealed), chunk)):
                assert self.put(tip, token, att_id, seq, sealed[start : start + chunk]).status_code == 200
            assert self.complete(tip, token, att_id, len(sealed), hashlib.sha256(sealed).hexdigest()).status_code == 200
            manifest.append({"id": att_id, "name": name, "type": media_type, **digest})
        document = payload.build(answers, lang="id", sealed_by="browser", attachments=manifest)
        response = self.finalize(tip, token, payload.seal_tip(document, self.recipients), list(files or {}))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["receipt"]
