// The committed bundle tipbox/static/js/sealer.js, loaded the way a page loads it
// (a classic script defining the global TipboxSealer) in a fresh realm without
// WebAssembly. The whole file also re-runs under `node --jitless`, the closest
// node gets to Tor Browser "Safer" (no JIT, no WebAssembly).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import test from "node:test";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import * as source from "../src/sealer.js";
import { BUNDLE, collect, loadVectors, stanzaTypes } from "./support.mjs";

const E = loadVectors("envelope");
const P = loadVectors("payload");
const TIP = P.valid[0].document;
const bytes = (u8) => new Uint8Array(u8); // copy out of the bundle's realm

function loadBundle(crypto = globalThis.crypto) {
  // Only what a browser window provides and the sealer uses (not even fetch's Response).
  const context = vm.createContext({
    crypto, TextEncoder, TextDecoder, ReadableStream, TransformStream, WritableStream,
    Blob, DOMException,
  });
  vm.runInContext("delete globalThis.WebAssembly;", context);
  vm.runInContext(readFileSync(BUNDLE, "utf8"), context, { filename: BUNDLE });
  assert.equal(vm.runInContext("typeof WebAssembly", context), "undefined");
  return context.TipboxSealer;
}

test("the bundle defines TipboxSealer with the source module's API", () => {
  const sealer = loadBundle();
  assert.deepEqual(Object.keys(sealer).sort(), Object.keys(source).sort());
  for (const [name, value] of Object.entries(source)) assert.equal(typeof sealer[name], typeof value, name);
});

test("the bundle encodes payloads byte for byte like crypto/", () => {
  const sealer = loadBundle();
  for (const { document, canonical } of P.valid) {
    assert.equal(Buffer.from(sealer.encodePayload(JSON.parse(JSON.stringify(document)))).toString(), canonical);
  }
});

test("the bundle seals a tip and an attachment that open", async () => {
  const sealer = loadBundle();
  const tip = bytes(await sealer.sealTip(JSON.parse(JSON.stringify(TIP)), E.recipients));
  assert.deepEqual(stanzaTypes(tip), ["X25519", "X25519"]);
  assert.deepEqual(source.unpad(await source.openBytes(tip, [E.identities[1]])), source.encodePayload(TIP));

  const content = new Uint8Array(100_000).map((_, i) => i % 251);
  const { ciphertext, digest } = sealer.sealAttachment(new Blob([content]), E.recipients);
  const sealed = await collect(ciphertext);
  assert.equal((await digest).size, content.length);
  assert.deepEqual(source.unpad(await source.openBytes(sealed, [E.identities[0]])), content);
});

test("the bundle falls back to pure-JS X25519 where WebCrypto lacks it (Firefox ESR 115)", async () => {
  const unsupported = () => Promise.reject(new DOMException("X25519 is not supported", "NotSupportedError"));
  const sealer = loadBundle({
    getRandomValues: (array) => globalThis.crypto.getRandomValues(array),
    subtle: { importKey: unsupported, deriveBits: unsupported },
  });
  const tip = bytes(await sealer.sealTip(JSON.parse(JSON.stringify(TIP)), E.recipients));
  assert.deepEqual(bytes(sealer.unpad(await sealer.openBytes(tip, [E.identities[0]]))), source.encodePayload(TIP));
});

test("the bundle opens the envelope vectors", async () => {
  const sealer = loadBundle();
  const tip = Uint8Array.from(Buffer.from(E.files.find((f) => f.name === "tip").age_b64, "base64"));
  const opened = bytes(sealer.unpad(await sealer.openBytes(tip, [E.identities[0]])));
  assert.deepEqual(JSON.parse(Buffer.from(opened).toString()), TIP);
});

test("the bundle passes under node --jitless (no JIT, no WebAssembly)", { skip: process.env.TIPBOX_JITLESS === "1" }, () => {
  const env = { ...process.env, TIPBOX_JITLESS: "1" };
  delete env.NODE_TEST_CONTEXT; // run as a plain script, not as a child of this runner
  const run = spawnSync(process.execPath, ["--jitless", fileURLToPath(import.meta.url)], { env, encoding: "utf8" });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /# fail 0/);
});
