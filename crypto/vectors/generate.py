"""Write tipbox's test vectors (run: python -m crypto.vectors.generate).

Deterministic parts (padding, payload bytes, signatures, fingerprints, bundle
manifest) are recomputed on every run and must not change; a test fails if the
committed files drift from what this code produces. age files are random by
design (fresh file key and ephemeral share per file), so they are generated
once, committed, and only checked to open as described; pass
``--regenerate-age`` to replace them deliberately.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import nacl.signing

from crypto import envelope, key_manifest, messages, padding, payload, receipt_keys, upload_digest
from crypto.attachments import seal_attachment
from crypto.identity import ReviewerIdentity, encrypt_identity, recipient_fingerprint
from crypto.signing import (
    CONTEXT_DISPOSITIONS,
    CONTEXT_EXPORT_MANIFEST,
    canonical_json,
    key_fingerprint,
    sign_document,
)

HERE = Path(__file__).parent
SOURCES = ["crypto/FORMAT.md", "https://c2sp.org/age", "Nikitin et al., PURBs, PETS 2019 (Padmé)"]

# Test-only keys. Never use them for anything real.
IDENTITIES = [
    "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX",
    "AGE-SECRET-KEY-167MGHK7PT22KJ24WD682XF2Z420RXQ8SE65C3WF7AJ9WN2GEGM9QT3S67S",
]
OTHER_IDENTITY = "AGE-SECRET-KEY-1MP2W50VMZHFGUJW54K8SR786X640R4NE3EEM6JCDPPVTRY0KNLRSUPS33P"
SERVER_SEED = bytes(range(32))
PASSPHRASE = "kuda-benar-baterai-staples"

ATTACHMENT_CONTENT = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3


def _write(name: str, data: dict[str, Any]) -> None:
    (HERE / name).write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def _load(name: str) -> dict[str, Any] | None:
    path = HERE / name
    return json.loads(path.read_text()) if path.exists() else None


def padding_vectors() -> dict[str, Any]:
    lengths = [
        0,
        1,
        2,
        3,
        4,
        5,
        7,
        8,
        9,
        15,
        16,
        17,
        100,
        255,
        256,
        1000,
        4095,
        4096,
        65535,
        65536,
        100_000,
        1_000_000,
        1 << 20,
        10_000_000,
        256 << 20,
    ]
    frames = []
    for content in [b"", b"a", b"\x80", b"\x00", b"tip\x80\x00", bytes(range(40))]:
        frames.append({"content_hex": content.hex(), "framed_hex": padding.pad(content).hex()})
    malformed = [
        {"framed_hex": "", "why": "empty: no marker"},
        {"framed_hex": "00000000", "why": "no marker"},
        {"framed_hex": "61626300", "why": "last non-zero byte is not the marker"},
        {"framed_hex": "61800000", "why": "too many zeros for the Padmé bucket of 1 content byte"},
        {"framed_hex": (b"x" * 100 + b"\x80").hex(), "why": "too few zeros: 101 is not padme(101)"},
    ]
    return {
        "schema": "tipbox-vectors/padding/v1",
        "rationale": "Padmé buckets and the 0x80-marker frame must agree bit for bit between the browser sealer and crypto/.",
        "sources": SOURCES,
        "padme": [[n, padding.padme(n)] for n in lengths],
        "padded_length": [[n, padding.padded_length(n)] for n in lengths],
        "frames": frames,
        "malformed": malformed,
    }


def sample_tip() -> dict[str, Any]:
    return payload.build(
        {
            "category": "ANAK-DARING",
            "description": 'Seorang perekrut menghubungi anak-anak lewat media sosial.\nü ñ 中文 \u2028 "kutip" \\ \t end',
            "province": "18",
            "regency": "18.09",
            "place": "dekat pasar",
            "when": "2026-11",
            "ongoing": True,
            "victims_count": 3,
            "victims_age_band": "13-17",
            "danger": ["online_contact"],
            "online_places": ["https://example.invalid/profile/123"],
            "how_known": "saw",
            "contact": None,
        },
        lang="id",
        sealed_by="browser",
        attachments=[
            {
                "id": "0" * 31 + "1",
                "name": "tangkapan layar.png",
                "type": "image/png",
                "size": len(ATTACHMENT_CONTENT),
                "sha256": hashlib.sha256(ATTACHMENT_CONTENT).hexdigest(),
            }
        ],
    ).as_document()  # vectors hold the JSON object


def payload_vectors() -> dict[str, Any]:
    tip = sample_tip()
    encoded = payload.encode(tip)
    minimal = payload.build({"description": "x"}, lang="en", sealed_by="server").as_document()
    invalid = [
        {"json": '{"v":2,"type":"tipbox-tip"}', "expect": "UnknownPayloadVersion"},
        {"json": '{"type":"tipbox-tip"}', "expect": "MalformedPayload"},
        {"json": "[1,2]", "expect": "MalformedPayload"},
        {
            "json": '{"v":1,"type":"tipbox-tip","lang":"fr","sealed_by":"browser","answers":{},"attachments":[]}',
            "expect": "MalformedPayload",
        },
        {
            "json": '{"v":1,"type":"tipbox-tip","lang":"id","sealed_by":"cloud","answers":{},"attachments":[]}',
            "expect": "MalformedPayload",
        },
        {
            "json": '{"v":1,"type":"tipbox-tip","lang":"id","sealed_by":"server","answers":{"a":{"b":1}},"attachments":[]}',
            "expect": "MalformedPayload",
        },
        {
            "json": '{"v":1,"type":"tipbox-tip","lang":"id","sealed_by":"server","answers":{},"attachments":[{"id":"zz"}]}',
            "expect": "MalformedPayload",
        },
        {"json": "not json", "expect": "MalformedPayload"},
    ]
    return {
        "schema": "tipbox-vectors/payload/v1",
        "rationale": "The browser and the server must produce byte-identical canonical payloads, so padded sizes agree and hashes are reproducible.",
        "sources": SOURCES,
        "valid": [
            {"document": tip, "canonical": encoded.decode(), "padded_length": padding.padded_length(len(encoded))},
            {
                "document": minimal,
                "canonical": payload.encode(minimal).decode(),
                "padded_length": padding.padded_length(len(payload.encode(minimal))),
            },
        ],
        "invalid": invalid,
    }


def signing_vectors() -> dict[str, Any]:
    key = nacl.signing.SigningKey(SERVER_SEED)
    reviewers = [ReviewerIdentity.from_secret(s) for s in IDENTITIES]
    body = key_manifest.build_body(
        "default",
        "2026-11-23T12:00:00Z",
        [
            {"label": f"reviewer-{n + 1}", "recipient": r.recipient, "signing_key": r.signing_public_key}
            for n, r in enumerate(reviewers)
        ],
    )
    disposition_body = {"type": "example", "v": 1, "text": "ü"}
    return {
        "schema": "tipbox-vectors/signing/v1",
        "rationale": "Ed25519 is deterministic: same seed, context and body give the same signature in any implementation.",
        "sources": SOURCES + ["RFC 8032", "RFC 8785"],
        "server_seed_hex": SERVER_SEED.hex(),
        "server_public_key": base64.b64encode(bytes(key.verify_key)).decode(),
        "server_key_fingerprint": key_fingerprint(base64.b64encode(bytes(key.verify_key)).decode()),
        "key_manifest": key_manifest.sign(body, key),
        "recipients_fingerprint": key_manifest.recipients_fingerprint(key_manifest.recipients(body)),
        "other_context": {
            "context": CONTEXT_DISPOSITIONS,
            "document": sign_document(disposition_body, CONTEXT_DISPOSITIONS, key),
            "canonical_body": canonical_json(disposition_body).decode(),
        },
        "reviewers": [
            {
                "secret": r.secret,
                "recipient": r.recipient,
                "recipient_fingerprint": recipient_fingerprint(r.recipient),
                "signing_public_key": r.signing_public_key,
            }
            for r in reviewers
        ],
        "export_context": CONTEXT_EXPORT_MANIFEST,
    }


def envelope_vectors(regenerate: bool) -> dict[str, Any]:
    old = _load("envelope.json")
    recipients = [ReviewerIdentity.from_secret(s).recipient for s in IDENTITIES]
    tip = sample_tip()
    if old is None or regenerate:
        sealed_tip = payload.seal_tip(tip, recipients)
        att = io.BytesIO()
        seal_attachment(io.BytesIO(ATTACHMENT_CONTENT), att, recipients)
        sealed_att = att.getvalue()
        other = envelope.seal_bytes(
            padding.pad(b"not for you"), [ReviewerIdentity.from_secret(OTHER_IDENTITY).recipient]
        )
        files = [
            {
                "name": "tip",
                "age_b64": base64.b64encode(sealed_tip).decode(),
                "expect": "success",
                "kind": "tip",
                "plaintext": "payload.valid[0]",
            },
            {
                "name": "attachment",
                "age_b64": base64.b64encode(sealed_att).decode(),
                "expect": "success",
                "kind": "attachment",
                "content_b64": base64.b64encode(ATTACHMENT_CONTENT).decode(),
            },
            {
                "name": "truncated",
                "age_b64": base64.b64encode(sealed_tip[:-7]).decode(),
                "expect": "payload failure",
                "kind": "tip",
            },
            {
                "name": "tampered",
                "age_b64": base64.b64encode(
                    sealed_tip[:-20] + bytes([sealed_tip[-20] ^ 1]) + sealed_tip[-19:]
                ).decode(),
                "expect": "payload failure",
                "kind": "tip",
            },
            {
                "name": "sealed_to_someone_else",
                "age_b64": base64.b64encode(other).decode(),
                "expect": "no match",
                "kind": "tip",
            },
            {
                "name": "not_age",
                "age_b64": base64.b64encode(b"PK\x03\x04 not an age file\n").decode(),
                "expect": "header failure",
                "kind": "tip",
            },
        ]
    else:
        files = old["files"]
    return {
        "schema": "tipbox-vectors/envelope/v1",
        "rationale": "age files sealed by crypto/ that every implementation must open (or refuse) as 'expect' says, with the test identities below. Random by design: generated once and committed.",
        "sources": SOURCES,
        "identities": IDENTITIES,
        "recipients": recipients,
        "other_identity": OTHER_IDENTITY,
        "files": files,
    }


def identity_vectors(regenerate: bool) -> dict[str, Any]:
    old = _load("identity.json")
    ident = ReviewerIdentity.from_secret(IDENTITIES[0])
    if old is None or regenerate:
        encrypted = base64.b64encode(encrypt_identity(ident, PASSPHRASE)).decode()
    else:
        encrypted = old["identity_file_b64"]
    return {
        "schema": "tipbox-vectors/identity/v1",
        "rationale": "A passphrase-protected reviewer identity file (age scrypt) and what it must load as.",
        "sources": SOURCES,
        "passphrase": PASSPHRASE,
        "identity_file_b64": encrypted,
        "secret": ident.secret,
        "recipient": ident.recipient,
        "signing_public_key": ident.signing_public_key,
    }


def receipt_key_vectors() -> dict[str, Any]:
    """Receipt -> (identity, recipient, lookup); deterministic, recomputed every run."""
    inputs = [
        ("7K3M-Q9XD-2HPA-W4RT-ZB6N", "as shown to the source"),
        ("7k3m-q9xd-2hpa-w4rt-zb6n", "lower case"),
        ("7K3MQ9XD2HPAW4RTZB6N", "canonical form (no separators)"),
        (" 7k3m q9xd 2hpa w4rt zb6n\n", "spaces as separators, surrounding whitespace"),
        ("0000-1111-VVVV-ZZZZ-9999", "digits and V"),
        ("OOOO-IIII-UUUU-ZZZZ-9999", "O, I, U mistyped: same keys as the vector above"),
        ("oooo-llll-uuuu-zzzz-9999", "o, l, u mistyped in lower case: same keys again"),
        ("--ABCD--EFGH-JKMN-PQRS-TVWX--", "extra hyphens are ignored"),
        ("\u3000ABCD-EFGH-JKMN-PQRS-TVWX\x85", "Python str.strip() whitespace (not the same set as JS trim)"),
        ("\u0131bcd-efgh-jkmn-pqrs-tvwx", "U+0131 dotless i upper-cases to I, read as 1 (Unicode upper-casing)"),
    ]
    valid = []
    for text, why in inputs:
        keys = receipt_keys.derive(text)
        valid.append(
            {
                "input": text,
                "why": why,
                "canonical": receipt_keys.normalise(text),
                "identity": keys.identity,
                "recipient": keys.recipient,
                "lookup": keys.lookup,
            }
        )
    invalid = [
        ("", "empty"),
        ("7K3M-Q9XD-2HPA-W4RT-ZB6", "19 characters"),
        ("7K3M-Q9XD-2HPA-W4RT-ZB6NN", "21 characters"),
        ("7K3M-Q9XD-2HPA-W4RT-ZB6*", "not Crockford base32"),
        ("7K3M_Q9XD_2HPA_W4RT_ZB6N", "underscore is not a separator"),
        ("7K3M-Q9XD-2HPA\tW4RT-ZB6N", "tab inside is not a separator"),
        ("\ufeff7K3M-Q9XD-2HPA-W4RT-ZB6N", "BOM: JS trim() would strip it, Python strip() does not"),
        ("7K3M-Q9XD-2HPA-W4RT-ZB6\u0663", "Arabic-Indic digit three"),
        ("7K3M-Q9XD-2HPA-W4RT-ZB6\uff2e", "full-width N"),
    ]
    for text, _why in invalid:
        assert receipt_keys.normalise(text) is None, text
    return {
        "schema": "tipbox-vectors/receipt-keys/v1",
        "rationale": "A receipt must derive the same age identity, recipient and lookup key in the browser and in crypto/; mistyped receipts that normalise derive the same keys, others are refused.",
        "sources": SOURCES + ["RFC 5869 (HKDF)", "BIP 173 (Bech32)"],
        "kdf": {
            "hash": "SHA-256",
            "ikm": "ASCII(canonical receipt)",
            "salt": receipt_keys.SALT.decode(),
            "info_identity": receipt_keys.INFO_IDENTITY.decode(),
            "info_lookup": receipt_keys.INFO_LOOKUP.decode(),
            "length": 32,
        },
        "valid": valid,
        "invalid": [{"input": text, "why": why} for text, why in invalid],
    }


REPLY_RECEIPT = "7K3M-Q9XD-2HPA-W4RT-ZB6N"


def message_vectors(regenerate: bool) -> dict[str, Any]:
    """Replies and follow-ups (FORMAT.md §13): canonical documents, and sealed replies the
    receipt-derived identity must open (random: generated once, committed)."""
    old = _load("messages.json")
    reply = messages.build("reply", "Terima kasih. Di desa mana kejadiannya?\nApakah anak itu masih di sana?",
                           lang="id", sealed_by="reviewer").as_document()
    followup = messages.build(
        "followup",
        "Desa Sukamaju. Anak itu masih di sana kemarin.",
        lang="id",
        sealed_by="browser",
        attachments=[{"id": "ab" * 16, "name": "foto.jpg", "type": "image/jpeg", "size": 1234,
                      "sha256": hashlib.sha256(b"foto").hexdigest()}],
    ).as_document()
    source = receipt_keys.derive(REPLY_RECEIPT)
    reviewers = [ReviewerIdentity.from_secret(s).recipient for s in IDENTITIES]
    if old is None or regenerate:
        sealed_reply = messages.seal_message(reply, [source.recipient, *reviewers])
        sealed_followup = messages.seal_message(followup, reviewers)
        files = {
            "reply": base64.b64encode(sealed_reply).decode(),
            "reply_tampered": base64.b64encode(
                sealed_reply[:-20] + bytes([sealed_reply[-20] ^ 1]) + sealed_reply[-19:]
            ).decode(),
            "followup": base64.b64encode(sealed_followup).decode(),
        }
    else:
        files = old["sealed"]
    invalid = [
        ({**reply, "v": 2}, "UnknownPayloadVersion"),
        ({**reply, "kind": "memo"}, "MalformedPayload"),
        ({**reply, "sealed_by": "browser"}, "MalformedPayload"),
        ({**followup, "sealed_by": "reviewer"}, "MalformedPayload"),
        ({**reply, "text": "   "}, "MalformedPayload"),
        ({**reply, "attachments": followup["attachments"]}, "MalformedPayload"),
        ({**reply, "lang": "fr"}, "MalformedPayload"),
    ]
    return {
        "schema": "tipbox-vectors/messages/v1",
        "rationale": "A reviewer's reply is sealed to the source's receipt-derived recipient and the reviewers; the browser opens it with deriveReceiptKeys(receipt).identity. Follow-ups are sealed to the reviewers like a tip.",
        "sources": SOURCES,
        "receipt": REPLY_RECEIPT,
        "source_recipient": source.recipient,
        "reviewer_identities": IDENTITIES,
        "valid": [
            {"document": doc, "canonical": canonical_json(doc).decode(),
             "padded_length": padding.padded_length(len(canonical_json(doc)))}
            for doc in (reply, followup)
        ],
        "invalid": [{"document": doc, "error": error} for doc, error in invalid],
        "sealed": files,
        "sealed_expect": {"reply": "the valid[0] document, for the receipt's identity and each reviewer",
                          "reply_tampered": "payload failure", "followup": "the valid[1] document, for each reviewer only"},
    }


def _channel(cid: str, regions: tuple[str, ...] = (), categories: tuple[str, ...] = (), coordinating: bool = False
             ) -> dict[str, Any]:
    return {"id": cid, "regions": list(regions), "categories": list(categories), "coordinating": coordinating}


def routing_vectors() -> dict[str, Any]:
    """Routing (FORMAT.md §14): channel sets and tips, with the lead and readers worked out by hand.

    The expected outcomes are written here, not computed by crypto/routing.py, so
    the vectors check the rule and not just that the code agrees with itself.
    """
    from crypto.vocabulary import Category, codes

    blitar = _channel("blitar-kota", ("35.72",))
    jatim = _channel("jatim-uptd-ppa", ("35",), coordinating=True)
    benteng = _channel("bengkulu-tengah", ("17.09",))
    national = _channel("nasional", coordinating=True)
    catch_all = _channel("umum")
    online = _channel("anak-daring", categories=("ANAK-DARING",))
    seed = [blitar, jatim, benteng, national, catch_all, online]

    def ok(name: str, tip: tuple[str | None, str | None, str | None], lead: str, readers: list[str],
           channels: str | list[dict[str, Any]] = "seed") -> dict[str, Any]:
        province, regency, category = tip
        return {"name": name, "channels": channels, "province": province, "regency": regency,
                "category": category, "lead": lead, "readers": readers}

    def refused(name: str, tip: tuple[str | None, str | None, str | None], error: str,
                channels: str | list[dict[str, Any]] = "seed") -> dict[str, Any]:
        province, regency, category = tip
        return {"name": name, "channels": channels, "province": province, "regency": regency,
                "category": category, "error": error}

    cases = [
        ok("Kota Blitar: the task force leads, East Java and the national desk coordinate",
           ("35", "35.72", "ANAK-KS"), "blitar-kota", ["blitar-kota", "jatim-uptd-ppa", "nasional"]),
        ok("Kota Surabaya: no city channel, the provincial UPTD PPA leads",
           ("35", "35.78", "ANAK-KS"), "jatim-uptd-ppa", ["jatim-uptd-ppa", "nasional"]),
        ok("East Java without a regency: the province matches",
           ("35", None, None), "jatim-uptd-ppa", ["jatim-uptd-ppa", "nasional"]),
        ok("Bengkulu Tengah: its channel leads, only the national desk coordinates",
           ("17", "17.09", "TPPO-KERJA"), "bengkulu-tengah", ["bengkulu-tengah", "nasional"]),
        ok("no region, no category: the catch-all leads", (None, None, None), "umum", ["umum", "nasional"]),
        ok("no region, a category no channel takes: the catch-all leads",
           (None, None, "TPPO-PMI"), "umum", ["umum", "nasional"]),
        ok("empty strings mean not said", ("", "", ""), "umum", ["umum", "nasional"]),
        ok("no region + ANAK-DARING: the online-content desk leads",
           (None, None, "ANAK-DARING"), "anak-daring", ["anak-daring", "nasional"]),
        ok("a region outranks a category: Kota Blitar + ANAK-DARING",
           ("35", "35.72", "ANAK-DARING"), "blitar-kota", ["blitar-kota", "jatim-uptd-ppa", "nasional"]),
        ok("a province outranks a category, and a non-coordinating channel that matches is not a reader",
           ("35", "35.78", "ANAK-DARING"), "jatim-uptd-ppa", ["jatim-uptd-ppa", "nasional"]),
        ok("another province, no channel: the catch-all leads",
           ("11", "11.01", None), "umum", ["umum", "nasional"]),
        ok("regency without province: the province is its code prefix",
           (None, "35.72", None), "blitar-kota", ["blitar-kota", "jatim-uptd-ppa", "nasional"]),
        refused("regency outside the given province", ("17", "35.72", None), "RoutingError"),
        refused("a regency code given as the province", ("35.72", None, None), "RoutingError"),
        refused("unknown province", ("99", None, None), "RoutingError"),
        refused("unknown regency", ("35", "35.99", None), "RoutingError"),
        refused("unknown category", (None, None, "ANAK-XYZ"), "RoutingError"),
        refused("no catch-all and nothing matching", ("35", "35.78", None), "NoChannel", [blitar, benteng]),
        refused("no channels at all", (None, None, None), "NoChannel", []),
        ok("no catch-all: the matching coordinating channel with the lowest id leads",
           (None, None, None), "nasional", ["nasional", "pusat"], [_channel("pusat", coordinating=True), national, jatim]),
        ok("a tie is broken by the lowest id, whatever the listed order",
           ("35", "35.72", None), "blitar-a", ["blitar-a", "jatim-uptd-ppa", "nasional"],
           [_channel("blitar-b", ("35.72",)), jatim, national, _channel("blitar-a", ("35.72",))]),
        ok("region and category together outrank the region alone",
           ("35", "35.78", "ANAK-DARING"), "jatim-daring", ["jatim-daring", "jatim-uptd-ppa", "nasional"],
           [*seed, _channel("jatim-daring", ("35",), ("ANAK-DARING",))]),
        ok("a coordinating channel with a scope leads over the catch-all but never over a more specific one",
           ("35", "35.01", "ANAK-KS"), "jatim-uptd-ppa", ["jatim-uptd-ppa", "nasional"]),
        refused("two catch-alls", (None, None, None), "RoutingError", [*seed, _channel("umum-2")]),
        refused("two channels with one id", ("35", None, None), "RoutingError", [*seed, _channel("umum", ("35",))]),
        refused("unknown region in a channel's scope", ("35", None, None), "RoutingError",
                [*seed, _channel("x", ("35.99",))]),
        refused("unknown category in a channel's scope", ("35", None, None), "RoutingError",
                [*seed, _channel("x", categories=("ANAK-XYZ",))]),
        refused("a channel id that is not ASCII", ("35", None, None), "RoutingError",
                [*seed, _channel("jatim-\u00e9")]),
    ]
    return {"source": "crypto/FORMAT.md §14", "categories": list(codes(Category)), "channels": {"seed": seed},
            "cases": cases}


def upload_vectors() -> dict[str, Any]:
    """The chunk-list digest a browser upload declares (FORMAT.md §4.1): data, cut, per-chunk and list digests."""
    cases = []
    for length, chunk_bytes in [(1, 64), (64, 64), (200, 64), (256, 128), (1000, 300), (4096, 1024)]:
        data = (bytes(range(256)) * (length // 256 + 1))[:length]
        chunks = upload_digest.split(data, chunk_bytes)
        cases.append({
            "data_hex": data.hex(),
            "chunk_bytes": chunk_bytes,
            "chunk_sha256": [hashlib.sha256(c).hexdigest() for c in chunks],
            "chunks_sha256": upload_digest.chunk_list_sha256(chunks),
            "sha256": hashlib.sha256(data).hexdigest(),
        })
    return {"source": "crypto/FORMAT.md §4.1", "cases": cases}


def main(argv: list[str]) -> None:
    regenerate = "--regenerate-age" in argv
    _write("padding.json", padding_vectors())
    _write("payload.json", payload_vectors())
    _write("signing.json", signing_vectors())
    _write("envelope.json", envelope_vectors(regenerate))
    _write("identity.json", identity_vectors(regenerate))
    _write("receipt_keys.json", receipt_key_vectors())
    _write("messages.json", message_vectors(regenerate))
    _write("routing.json", routing_vectors())
    _write("upload.json", upload_vectors())


if __name__ == "__main__":
    main(sys.argv[1:])
