// Padmé padding must agree bit for bit with crypto/padding.py (crypto/vectors/padding.json).
import assert from "node:assert/strict";
import test from "node:test";
import { pad, paddedLength, padme, unpad } from "../src/sealer.js";
import { fromHex, loadVectors } from "./support.mjs";

const V = loadVectors("padding");

test("padme and paddedLength tables", () => {
  for (const [n, want] of V.padme) assert.equal(padme(n), want, `padme(${n})`);
  for (const [n, want] of V.padded_length) assert.equal(paddedLength(n), want, `paddedLength(${n})`);
});

test("padme stays exact beyond 32-bit lengths", () => {
  // 2^32 + 1: exponent 32, 6 mantissa bits -> 26 low bits rounded up.
  assert.equal(padme(2 ** 32 + 1), 2 ** 32 + 2 ** 26);
  assert.throws(() => padme(-1), RangeError);
  assert.throws(() => padme(1.5), RangeError);
});

test("frames", () => {
  for (const { content_hex, framed_hex } of V.frames) {
    assert.deepEqual(pad(fromHex(content_hex)), fromHex(framed_hex), content_hex);
    assert.deepEqual(unpad(fromHex(framed_hex)), fromHex(content_hex), framed_hex);
  }
});

test("malformed frames are refused", () => {
  for (const { framed_hex, why } of V.malformed) {
    assert.throws(() => unpad(fromHex(framed_hex)), /malformed padding/, why);
  }
});
