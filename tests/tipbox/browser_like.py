"""A Python stand-in for the browser sealer: drives the upload API with crypto/.

Used by API tests that need many precise variations (bad chunks, replays);
the real browser path is covered by tests/browser/.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field

from flask.testing import FlaskClient

from crypto import key_manifest, messages, payload, receipt_keys
from crypto.attachments import seal_attachment
from tests.tipbox.conftest import csrf_token
from tipbox.receipts import new_receipt


@dataclass
class BrowserLike:
    client: FlaskClient
    csrf: str = ""
    recipients: list[str] = field(default_factory=list)
    fingerprint: str = ""

    def __post_init__(self) -> None:
        self.csrf = csrf_token(self.client)
        directory = self.client.get("/api/v1/keys").get_json()["directory"]["body"]
        # What a tip that names no channel is sealed to while the server has one channel (its reviewers).
        self.recipients = sorted({r["recipient"] for m in directory["channels"] for r in m["body"]["reviewers"]})
        self.fingerprint = key_manifest.recipients_fingerprint(self.recipients)

    def headers(self, token: str | None = None) -> dict[str, str]:
        h = {"X-CSRFToken": self.csrf}
        if token:
            h["X-Upload-Token"] = token
        return h

    def open(self, channels: list[str] | None = None):
        """Open a tip's upload; ``channels``, as the page routed them, or none (the route of "nothing said")."""
        if channels is None:
            return self.client.post("/api/v1/submissions", headers=self.headers())
        return self.client.post("/api/v1/submissions", headers=self.headers(), json={"channels": channels})

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

    def finalize(
        self,
        tip: str,
        token: str,
        sealed: bytes,
        attachments: list[str],
        fingerprint: str | None = None,
        receipt: str | None = None,
        base: str = "/api/v1/submissions",
    ):
        """Finalize a tip (the source's keys derived from ``receipt``, made here as the browser does) or,
        with ``base="/api/v1/followups"``, a follow-up (no keys)."""
        body = {
            "payload": base64.b64encode(sealed).decode(),
            "attachments": attachments,
            "key_fingerprint": fingerprint or self.fingerprint,
        }
        if base == "/api/v1/submissions":
            keys = receipt_keys.derive(receipt or new_receipt())
            body.update(source_recipient=keys.recipient, lookup=keys.lookup)
        return self.client.post(f"{base}/{tip}/finalize", headers=self.headers(token), json=body)

    def seal_file(self, content: bytes) -> tuple[bytes, dict]:
        out = io.BytesIO()
        digest = seal_attachment(io.BytesIO(content), out, self.recipients)
        return out.getvalue(), {"size": digest.size, "sha256": digest.sha256}

    def _upload_files(
        self, base: str, upload: str, token: str, files: dict[str, tuple[str, str, bytes]] | None, chunk: int
    ) -> list[dict]:
        import hashlib

        manifest = []
        for att_id, (name, media_type, content) in (files or {}).items():
            sealed, digest = self.seal_file(content)
            url = f"{base}/{upload}/attachments/{att_id}"
            for seq, start in enumerate(range(0, len(sealed), chunk)):
                piece = sealed[start : start + chunk]
                response = self.client.put(
                    f"{url}/chunks/{seq}", data=piece, headers=self.headers(token), content_type="application/octet-stream"
                )
                assert response.status_code == 200, response.get_json()
            response = self.client.post(
                f"{url}/complete",
                json={"size": len(sealed), "sha256": hashlib.sha256(sealed).hexdigest()},
                headers=self.headers(token),
            )
            assert response.status_code == 200, response.get_json()
            manifest.append({"id": att_id, "name": name, "type": media_type, **digest})
        return manifest

    def submit(
        self,
        answers: dict,
        files: dict[str, tuple[str, str, bytes]] | None = None,
        chunk: int = 64 * 1024,
        receipt: str | None = None,
        channels: list[str] | None = None,
    ) -> str:
        """Full happy path; ``files`` maps attachment id -> (name, type, content). Returns the receipt,
        made here as the browser makes it (the server never sees it). Sealed, as the page does, to
        the recipients the open answer names (every reviewer of ``channels``)."""
        receipt = receipt or new_receipt()
        opened = self.open(channels).get_json()
        tip, token = opened["tip_id"], opened["token"]
        self.recipients, self.fingerprint = opened["recipients"], opened["key_fingerprint"]
        manifest = self._upload_files("/api/v1/submissions", tip, token, files, chunk)
        document = payload.build(answers, lang="id", sealed_by="browser", attachments=manifest)
        response = self.finalize(
            tip, token, payload.seal_tip(document, self.recipients), list(files or {}), receipt=receipt
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json() == {"ok": True}
        return receipt

    def status(self, receipt: str):
        """What status.js does: derive the lookup key and ask for the status."""
        lookup = receipt_keys.derive(receipt).lookup
        return self.client.post("/api/v1/status", json={"lookup": lookup}, headers=self.headers())

    def follow_up(
        self, access: str, text: str, files: dict[str, tuple[str, str, bytes]] | None = None, chunk: int = 64 * 1024
    ):
        """Send a browser-sealed follow-up with the status page's ``access``; returns the finalize response."""
        opened = self.client.post("/api/v1/followups", json={"access": access}, headers=self.headers())
        assert opened.status_code == 201, opened.get_json()
        upload, token = opened.get_json()["upload_id"], opened.get_json()["token"]
        self.recipients, self.fingerprint = opened.get_json()["recipients"], opened.get_json()["key_fingerprint"]
        manifest = self._upload_files("/api/v1/followups", upload, token, files, chunk)
        document = messages.build("followup", text, lang="id", sealed_by="browser", attachments=manifest)
        sealed = messages.seal_message(document, self.recipients)
        return self.finalize(upload, token, sealed, list(files or {}), base="/api/v1/followups")
