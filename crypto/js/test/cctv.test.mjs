// The official C2SP CCTV age vectors (npm cctv-age) against age-encryption's
// Decrypter, the library inside the bundle, and against the sealer's openBytes.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import test from "node:test";
import { inflateSync } from "node:zlib";
import { Decrypter, armor } from "age-encryption";
import * as vectors from "cctv-age";
import { readFileSync } from "node:fs";
import vm from "node:vm";
import { openBytes } from "../src/sealer.js";
import { BUNDLE } from "./support.mjs";

// The committed bundle, which leaves out age-encryption's post-quantum and P-256 code
// (crypto/js/build.mjs): it must open every X25519 vector exactly as the library does.
const bundleContext = vm.createContext({ crypto: globalThis.crypto, TextEncoder, TextDecoder, ReadableStream,
  TransformStream, WritableStream, Blob, DOMException });
vm.runInContext(readFileSync(BUNDLE, "utf8"), bundleContext, { filename: BUNDLE });
const bundled = bundleContext.TipboxSealer;

/** Split a vector into its header fields (repeatable keys as arrays) and its age file. */
function parseVector(file) {
  const split = Buffer.from(file).indexOf("\n\n");
  const fields = { identity: [], passphrase: [] };
  for (const line of Buffer.from(file.subarray(0, split)).toString("utf8").split("\n")) {
    const [key, value] = [line.slice(0, line.indexOf(": ")), line.slice(line.indexOf(": ") + 2)];
    if (key === "identity" || key === "passphrase") fields[key].push(value);
    else fields[key] = value;
  }
  let body = file.subarray(split + 2);
  if (fields.compressed === "zlib") body = new Uint8Array(inflateSync(body));
  else if (fields.compressed) throw new Error(`unknown compression ${fields.compressed}`);
  return { ...fields, body };
}

const streamOf = (bytes) => new ReadableStream({ start(c) { c.enqueue(bytes); c.close(); } });
const sha256hex = (bytes) => createHash("sha256").update(bytes).digest("hex");

// Decrypt as a stream, keeping what the API released before any error: CCTV
// requires even a failing file to release only plaintext matching `payload`.
async function decryptReleased(v) {
  const released = [];
  try {
    const decrypter = new Decrypter();
    for (const id of v.identity) decrypter.addIdentity(id);
    for (const pass of v.passphrase) decrypter.addPassphrase(pass);
    const file = v.armored === "yes" ? armor.decode(Buffer.from(v.body).toString("latin1")) : v.body;
    for await (const chunk of await decrypter.decrypt(streamOf(file))) released.push(chunk);
    return { released: Buffer.concat(released), error: null };
  } catch (error) {
    return { released: Buffer.concat(released), error };
  }
}

// age-encryption 0.3.1 decrypts a full 64 KiB chunk only when the next bytes
// arrive, so when the file then fails it has released one chunk *less* than the
// CCTV payload hash allows (never more, never unauthenticated data).
const CHUNK = 64 * 1024;
const HOLDS_BACK_A_CHUNK = new Set([
  "armor_garbage_encoded", "stream_no_final_full", "stream_no_final_two_chunks_full",
  "stream_trailing_garbage_long", "stream_trailing_garbage_short", "stream_two_final_chunks",
  "stream_two_final_chunks_full", "stream_two_final_chunks_second",
]);

const names = Object.keys(vectors).sort();
test("the CCTV age vectors are all there", () => assert.equal(names.length, 143));

for (const name of names) {
  const v = parseVector(vectors[name]);
  test(`cctv ${name}: ${v.expect}`, async () => {
    const { released, error } = await decryptReleased(v);
    if (v.expect === "success") assert.equal(error, null, error?.message);
    else assert.ok(error, "must fail");
    // Vectors without `payload` fail before any plaintext can exist.
    const want = v.payload ?? sha256hex(new Uint8Array(0));
    if (HOLDS_BACK_A_CHUNK.has(name)) {
      // Safe deviation: typage only releases a full chunk once it sees more input.
      assert.ok(released.length % CHUNK === 0 && sha256hex(released) !== want, "update HOLDS_BACK_A_CHUNK");
    } else {
      assert.equal(sha256hex(released), want, "released plaintext must match the payload hash");
    }

    // openBytes (binary X25519/hybrid files only) releases everything or nothing.
    if (v.armored === "yes" || v.identity.length === 0) return;
    const opened = await openBytes(v.body, v.identity).then((p) => p, (e) => e);
    if (v.expect === "success") assert.equal(sha256hex(opened), v.payload);
    else assert.ok(opened instanceof Error, "openBytes must reject");

    const fromBundle = await bundled.openBytes(new Uint8Array(v.body), v.identity).then((p) => p, (e) => e);
    if (v.identity.every((id) => id.startsWith("AGE-SECRET-KEY-1"))) {
      if (v.expect === "success") assert.equal(sha256hex(new Uint8Array(fromBundle)), v.payload);
      else assert.ok(fromBundle instanceof Error || fromBundle?.name, "the bundle must reject");
    } else if (v.expect === "success") {
      // A post-quantum identity: left out of the bundle, refused, never half-opened.
      assert.match(String(fromBundle?.message), /not in tipbox's sealer: it seals to X25519 recipients only/);
    } else {
      assert.ok(fromBundle instanceof Error || fromBundle?.name, "the bundle must reject");
    }
  });
}
