// Tip payload v1 and canonical JSON must be byte-identical to crypto/payload.py and
// crypto/signing.py (crypto/vectors/payload.json, signing.json).
import assert from "node:assert/strict";
import test from "node:test";
import {
  buildPayload, canonicalJSON, encodePayload, paddedLength, validatePayload,
} from "../src/sealer.js";
import { loadVectors } from "./support.mjs";

const P = loadVectors("payload");
const S = loadVectors("signing");

test("canonical payload bytes and padded lengths match the vectors", () => {
  assert.ok(P.valid[0].canonical.includes("\u2028"), "the vector exercises U+2028");
  for (const { document, canonical, padded_length } of P.valid) {
    const bytes = encodePayload(document);
    assert.equal(Buffer.from(bytes).toString("utf8"), canonical);
    assert.deepEqual(bytes, new TextEncoder().encode(canonical));
    assert.equal(paddedLength(bytes.length), padded_length);
  }
});

test("buildPayload assembles the same document as crypto.payload.build", () => {
  for (const { document } of P.valid) {
    const built = buildPayload({
      answers: document.answers, lang: document.lang, sealedBy: document.sealed_by, attachments: document.attachments,
    });
    assert.deepEqual(built, document);
    assert.equal(canonicalJSON(built), canonicalJSON(document));
  }
});

test("canonicalJSON matches signing.json's canonical body", () => {
  assert.equal(canonicalJSON(S.other_context.document.body), S.other_context.canonical_body);
});

test("canonicalJSON escapes exactly like Python json.dumps(ensure_ascii=False)", () => {
  // Expected strings produced by CPython 3 json.dumps(..., ensure_ascii=False).
  const cases = [
    ["\u0000\u0001\u001f\u007f", '"\\u0000\\u0001\\u001f\u007f"'],
    ["\b\f\n\r\t\"\\/", '"\\b\\f\\n\\r\\t\\"\\\\/"'],
    ["\u2028\u2029\ufeff", '"\u2028\u2029\ufeff"'],
    ["😀 é", '"😀 é"'],
    [{ b: [1, -2, true, false, null], a: {}, "": [] }, '{"":[],"a":{},"b":[1,-2,true,false,null]}'],
    [{ Z: 1, a: 2, _: 3 }, '{"Z":1,"_":3,"a":2}'],
  ];
  for (const [value, want] of cases) assert.equal(canonicalJSON(value), want);
});

test("canonicalJSON refuses what Python's canonical_json cannot produce", () => {
  for (const bad of [1.5, NaN, Infinity, 2 ** 53, "\ud800", "a\udc00b", { "é": 1 }, undefined, 1n, new Date(0), [() => 1]]) {
    assert.throws(() => canonicalJSON(bad), undefined, String(bad));
  }
});

test("invalid payload vectors are refused", () => {
  for (const { json, expect } of P.invalid) {
    assert.throws(() => validatePayload(JSON.parse(json)), undefined, `${expect}: ${json}`);
  }
  assert.throws(() => encodePayload({ ...P.valid[1].document, answers: { big: "x".repeat(1024 * 1024) } }), /too large/);
});
