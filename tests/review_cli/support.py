"""Builders for review CLI tests: a stand-in server that seals tips and signs bundles,
a workspace snapshot to prove a refusal touched nothing, and PDF text extraction."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nacl.signing

from crypto import bundle, envelope, key_manifest, messages, padding, payload
from crypto.attachments import seal_attachment
from crypto.audit import Policy
from crypto.bundle import BundleFile
from crypto.payload import TipDocument
from crypto.signing import canonical_json, key_fingerprint, public_key_b64

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "kata sandi peninjau yang panjang"

ANSWERS: dict[str, Any] = {
    "danger": ["danger_now", "leaving_soon"],
    "category": "ANAK-EKO",
    "description": "Anak-anak bekerja di kapal\nsetiap malam",
    "province": "35",
    "regency": "35.72",
    "place": "pelabuhan",
    "when": "sejak Agustus",
    "ongoing": "yes",
    "victims_count": 4,
    "victims_age_band": "13-17",
    "victims_nationality": "WNI",
    "responsible": "mandor kapal bernama X",
    "online_places": ["https://x.invalid/lowongan", "@perekrut"],
    "how_known": "saw",
    "contact": "Signal +62 812 0000 0000",
    "contact_consent": False,
}


@dataclass(frozen=True)
class ChannelSpec:
    """One channel of a stand-in server's directory (FORMAT.md §7, §14)."""

    id: str
    reviewers: list[str]
    names: tuple[str, str] | None = None  # (Bahasa Indonesia, English)
    regions: tuple[str, ...] = ()
    coordinating: bool = False


@dataclass
class SealedTip:
    id: str
    entry: dict[str, Any]
    files: list[tuple[str, bytes]]
    document: TipDocument


@dataclass
class FakeServer:
    recipients: list[str]
    key: nacl.signing.SigningKey = field(default_factory=nacl.signing.SigningKey.generate)

    @property
    def public_key(self) -> str:
        return public_key_b64(self.key)

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.public_key)

    def tip(
        self,
        answers: dict[str, Any] | None = None,
        *,
        sealed_by: str = "browser",
        manifest_sealed_by: str | None = None,
        files: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
        recipients: list[str] | None = None,
        version: int | None = None,
        leave_out_attachment: bool = False,
        received: str = "2026-11-23T11:00:00Z",
        tip_id: str | None = None,
        source_recipient: str | None = None,
        channels: list[str] | None = None,
        tip_reviewers: list[str] | None = None,
    ) -> SealedTip:
        """A sealed tip and its bundle entry; ``channels`` (lead first) and ``tip_reviewers`` as a server
        with channels lists them (the payload is sealed to ``recipients``, by default the server's)."""
        tip_id = tip_id or os.urandom(16).hex()
        to = recipients or self.recipients
        manifest, sealed_files = [], []
        for name, media_type, content in files:
            attachment_id = os.urandom(16).hex()
            out = io.BytesIO()
            digest = seal_attachment(io.BytesIO(content), out, to)
            manifest.append(
                {"id": attachment_id, "name": name, "type": media_type, "size": digest.size, "sha256": digest.sha256}
            )
            sealed_files.append((attachment_id, out.getvalue()))
        document = payload.build(
            dict(ANSWERS if answers is None else answers), lang="id", sealed_by=sealed_by, attachments=manifest
        )
        if version is None:
            sealed = payload.seal_tip(document, to)
        else:
            raw = canonical_json({**document, "v": version})
            sealed = envelope.seal_bytes(padding.pad(raw), to)
        files_out = [(bundle.payload_path(tip_id), sealed)]
        entries = []
        for n, (attachment_id, data) in enumerate(sealed_files):
            if leave_out_attachment and n == 0:
                continue
            path = bundle.attachment_path(tip_id, attachment_id)
            files_out.append((path, data))
            entries.append(
                {"id": attachment_id, "path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            )
        entry = {
            "id": tip_id,
            "received": received,
            "sealed_by": manifest_sealed_by or sealed_by,
            "key_fingerprint": "TEST",
            "payload": {
                "path": bundle.payload_path(tip_id),
                "size": len(sealed),
                "sha256": hashlib.sha256(sealed).hexdigest(),
            },
            "attachments": entries,
        }
        if source_recipient is not None:
            entry["source_recipient"] = source_recipient
            entry["messages"] = []
        if channels is not None:
            entry["channels"] = channels
        if tip_reviewers is not None:
            entry["reviewers"] = tip_reviewers
        return SealedTip(tip_id, entry, files_out, document)

    def directory(
        self, channels: list[ChannelSpec], key: nacl.signing.SigningKey | None = None
    ) -> dict[str, Any]:
        """The signed channel directory: each channel's signed key manifest, the whole signed too (by ``key``)."""
        signer = key or self.key
        manifests = []
        for channel in channels:
            body = key_manifest.build_body(
                channel.id,
                "2026-11-20T00:00:00Z",
                [{"label": f"r{n}", "recipient": r} for n, r in enumerate(channel.reviewers)],
                names={"id": channel.names[0], "en": channel.names[1]} if channel.names else None,
                scope={"regions": list(channel.regions), "categories": [], "coordinating": channel.coordinating},
            )
            manifests.append(key_manifest.sign(body, signer))
        return key_manifest.sign_directory(key_manifest.build_directory(manifests), signer)

    def _seal_files(
        self, files: list[tuple[str, str, bytes]], to: list[str]
    ) -> tuple[list[dict], list[tuple[str, bytes]]]:
        manifest, sealed_files = [], []
        for name, media_type, content in files:
            attachment_id = os.urandom(16).hex()
            out = io.BytesIO()
            digest = seal_attachment(io.BytesIO(content), out, to)
            manifest.append(
                {"id": attachment_id, "name": name, "type": media_type, "size": digest.size, "sha256": digest.sha256}
            )
            sealed_files.append((attachment_id, out.getvalue()))
        return manifest, sealed_files

    def message(
        self,
        tip: SealedTip,
        kind: str,
        text: str,
        *,
        files: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
        sealed_by: str | None = None,
        entry_sealed_by: str | None = None,
        recipients: list[str] | None = None,
        received: str = "2026-11-24T09:00:00Z",
        sealed: bytes | None = None,
        message_id: str | None = None,
        list_attachments: bool = True,
    ) -> dict[str, Any]:
        """Add a follow-up (sealed to the reviewers) or a published reply to ``tip``'s entry; return its entry.

        A reply must be given ``recipients`` (the source and the reviewers) or ``sealed`` bytes.
        """
        message_id = message_id or os.urandom(16).hex()
        to = recipients or self.recipients
        sealed_by = sealed_by or ("browser" if kind == "followup" else "reviewer")
        manifest, sealed_files = self._seal_files(list(files), to)
        if sealed is None:
            document = messages.build(kind, text, lang="id", sealed_by=sealed_by, attachments=manifest)
            sealed = messages.seal_message(document, to)
        path = bundle.message_path(tip.id, message_id)
        tip.files.append((path, sealed))
        attachment_entries = []
        for attachment_id, data in sealed_files:
            attachment_path = bundle.attachment_path(tip.id, attachment_id)
            tip.files.append((attachment_path, data))
            attachment_entries.append(
                {
                    "id": attachment_id,
                    "path": attachment_path,
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )
        entry = {
            "id": message_id,
            "kind": kind,
            "received": received,
            "sealed_by": entry_sealed_by or sealed_by,
            "path": path,
            "size": len(sealed),
            "sha256": hashlib.sha256(sealed).hexdigest(),
            "attachments": attachment_entries if list_attachments else [],
        }
        tip.entry.setdefault("messages", []).append(entry)
        return entry

    def bundle(
        self,
        path: Path,
        tips: list[SealedTip],
        key: nacl.signing.SigningKey | None = None,
        *,
        reviewers: list[str] | None = None,
        created: str = "2026-11-23T12:00:00Z",
        policy: Policy | None = None,
        channel: str | None = None,
        directory: dict[str, Any] | None = None,
    ) -> Path:
        body: dict[str, Any] = {
            "type": bundle.DOCUMENT_TYPE,
            "v": 1,
            "created": created,
            "since": None,
            "tips": [t.entry for t in tips],
        }
        if reviewers is not None:
            body["reviewers"] = reviewers
        if policy is not None:
            body["policy"] = policy.as_document()
        if channel is not None:
            body["channel"] = channel
        if directory is not None:
            body["directory"] = directory
        listed = {
            e["path"]
            for t in tips
            for e in [
                t.entry["payload"],
                *t.entry["attachments"],
                *t.entry.get("messages", []),
                *(a for m in t.entry.get("messages", []) for a in m["attachments"]),
            ]
        }
        files = [
            BundleFile(p, len(d), hashlib.sha256(d).hexdigest(), lambda d=d: io.BytesIO(d))
            for t in tips
            for p, d in t.files
            if p in listed
        ]
        with path.open("wb") as handle:
            bundle.write_bundle(handle, body, files, key or self.key)
        return path


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (to assert a refusal changed nothing)."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"
    }


def pdf_text(data: bytes) -> str:
    """The text fpdf2 drew, decoded through each font's ToUnicode CMap (or Latin-1 for core fonts).

    A small reader for what fpdf2 writes (objects, Flate streams, ``Tf``/``Tj``),
    enough to assert what a page says without adding a PDF library.
    """
    objects: dict[int, tuple[bytes, bytes | None]] = {}
    for match in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S):
        head, _, rest = match.group(2).partition(b"stream")
        stream = None
        if rest:
            # Exactly /Length bytes after the keyword's end of line: stripping line ends from the other
            # side would eat compressed bytes that happen to be 0x0A or 0x0D (a flaky "truncated stream").
            body = rest[2:] if rest.startswith(b"\r\n") else rest[1:]
            length = re.search(rb"/Length (\d+)", head)
            stream = body[: int(length.group(1))] if length else body.rsplit(b"endstream", 1)[0].rstrip(b"\r\n")
            if b"/FlateDecode" in head:
                stream = zlib.decompress(stream)
        objects[int(match.group(1))] = (head, stream)

    def cmap_of(font_head: bytes) -> dict[int, str] | None:
        ref = re.search(rb"/ToUnicode (\d+) 0 R", font_head)
        if ref is None:
            return None
        mapping: dict[int, str] = {}
        text = objects[int(ref.group(1))][1] or b""
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
            for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                mapping[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
            for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                for n, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                    mapping[code] = chr(int(dst, 16) + n)
        return mapping

    fonts: dict[bytes, dict[int, str] | None] = {}
    for head, _ in objects.values():
        for resources in re.findall(rb"/Font\s*<<(.*?)>>", head, re.S):
            for name, ref in re.findall(rb"/(\w+) (\d+) 0 R", resources):
                font = objects[int(ref)][0]
                descendant = re.search(rb"/DescendantFonts \[(\d+) 0 R\]", font)
                fonts[name] = cmap_of(font) if descendant or b"/ToUnicode" in font else None
    out: list[str] = []
    for head, stream in objects.values():
        if stream is None or b"Tj" not in stream or b"/Length1" in head:
            continue
        current: dict[int, str] | None = None
        pos = 0
        while pos < len(stream):
            byte = stream[pos : pos + 1]
            if byte == b"/":
                match = re.match(rb"/(\w+)\s+[\d.]+\s+Tf", stream[pos:])
                if match:
                    current = fonts.get(match.group(1))
                    pos += match.end()
                    continue
            if byte == b"(":
                raw, pos = _literal(stream, pos + 1)
                if current:
                    out.append(
                        "".join(
                            current.get(int.from_bytes(raw[i : i + 2], "big"), "") for i in range(0, len(raw) - 1, 2)
                        )
                    )
                else:
                    out.append(raw.decode("latin-1"))
                continue
            if stream.startswith(b"ET", pos):
                out.append("\n")
            pos += 1
    return "".join(out)


def _literal(stream: bytes, pos: int) -> tuple[bytes, int]:
    """A PDF literal string starting after its "(": (bytes, position after its ")")."""
    out = bytearray()
    depth = 1
    escapes = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
    while pos < len(stream):
        ch = stream[pos]
        if ch == 0x5C:  # backslash
            nxt = stream[pos + 1]
            octal = re.match(rb"[0-7]{1,3}", stream[pos + 1 : pos + 4])
            if octal:
                out.append(int(octal.group(0), 8) & 0xFF)
                pos += 1 + len(octal.group(0))
                continue
            out.append(escapes.get(nxt, nxt))
            pos += 2
            continue
        if ch == 0x28:
            depth += 1
        elif ch == 0x29:
            depth -= 1
            if depth == 0:
                return bytes(out), pos + 1
        out.append(ch)
        pos += 1
    return bytes(out), pos


def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a ``tipbox-review`` process: its own HOME, a wide terminal, this checkout first."""
    return {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "COLUMNS": "200",
        "PYTHONPATH": str(ROOT),
    }


def run_cli_process(args: list[str], tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``tipbox-review`` as a real process (``python -m review_cli``), the way a reviewer runs it."""
    return subprocess.run(
        [sys.executable, "-m", "review_cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=cli_env(tmp_path),
        timeout=120,
        start_new_session=True,
    )
