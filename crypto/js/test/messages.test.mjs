// Conversation messages v1 (FORMAT.md §13) and receipts made in the browser:
// the source module and the committed bundle encode, pad, seal and open exactly
// as crypto/messages.py does (vectors/messages.json). The whole file re-runs
// under `node --jitless` with the bundle in a realm without WebAssembly, as Tor
// Browser "Safer" would run it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import test from "node:test";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import * as source from "../src/sealer.js";
import { BUNDLE, fromB64, loadVectors, stanzaTypes } from "./support.mjs";

const M = loadVectors("messages");
const E = loadVectors("envelope");
const [REPLY, FOLLOWUP] = M.valid.map((v) => v.document);
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const clone = (v) => JSON.parse(JSON.stringify(v)); // also moves objects out of (or into) the bundle's realm

function loadBundle() {
  const context = vm.createContext({ crypto, TextEncoder, TextDecoder, ReadableStream, TransformStream, WritableStream, Blob, DOMException });
  vm.runInContext("delete globalThis.WebAssembly;", context);
  vm.runInContext(readFileSync(BUNDLE, "utf8"), context, { filename: BUNDLE });
  assert.equal(vm.runInContext("typeof WebAssembly", context), "undefined");
  return context.TipboxSealer;
}

const isTipboxError = (err) => err && err.name === "TipboxError";

test("the vectors cover a reply, a follow-up and every refusal", () => {
  assert.deepEqual(M.valid.map((v) => v.document.kind), ["reply", "followup"]);
  assert.ok(M.invalid.length >= 7);
  assert.ok(FOLLOWUP.attachments.length > 0);
});

for (const [label, load] of [["source", async () => source], ["bundle", async () => loadBundle()]]) {
  test(`${label}: canonical bytes and padded lengths match the vectors`, async () => {
    const sealer = await load();
    for (const { document, canonical, padded_length } of M.valid) {
      const bytes = sealer.encodeMessage(clone(document));
      assert.equal(Buffer.from(bytes).toString("utf8"), canonical);
      assert.equal(sealer.paddedLength(bytes.length), padded_length);
      assert.equal(sealer.canonicalJSON(clone(document)), canonical);
    }
  });

  test(`${label}: buildMessage assembles what crypto.messages.build does`, async () => {
    const sealer = await load();
    for (const { document } of M.valid) {
      // The form's text: CRLF line ends and surrounding whitespace, normalised away.
      const typed = `\r\n  ${document.text.replace(/\n/g, "\r\n")} \u3000\n`;
      const built = sealer.buildMessage(document.kind, typed, {
        lang: document.lang, sealedBy: document.sealed_by, attachments: clone(document.attachments),
      });
      assert.deepEqual(clone(built), document);
    }
  });

  test(`${label}: invalid documents are refused`, async () => {
    const sealer = await load();
    for (const { document, error } of M.invalid) {
      assert.throws(() => sealer.validateMessage(clone(document)), isTipboxError, `${error}: ${JSON.stringify(document)}`);
      assert.throws(() => sealer.encodeMessage(clone(document)), isTipboxError);
      if (error === "UnknownPayloadVersion") assert.throws(() => sealer.validateMessage(clone(document)), /version/);
    }
    const cases = [
      { ...REPLY, text: "x".repeat(20001) },
      { ...REPLY, text: "" },
      { ...REPLY, text: "\u00a0\u2028\t" }, // only Python whitespace
      { ...REPLY, v: true },
      { ...REPLY, v: "1" },
      { ...REPLY, type: "tipbox-tip" },
      { ...FOLLOWUP, attachments: [FOLLOWUP.attachments[0], FOLLOWUP.attachments[0]] },
      { ...FOLLOWUP, attachments: [{ ...FOLLOWUP.attachments[0], id: "AB".repeat(16) }] },
      { ...FOLLOWUP, kind: "__proto__" },
      null, [], "reply",
    ];
    for (const bad of cases) assert.throws(() => sealer.validateMessage(clone(bad)), isTipboxError, JSON.stringify(bad));
    assert.throws(() => sealer.buildMessage("followup", " \n ", { lang: "id", sealedBy: "browser" }), isTipboxError);
    // 20,000 code points is the limit, not 20,000 UTF-16 units.
    const emoji = "😀".repeat(20000);
    assert.equal(sealer.validateMessage(clone({ ...REPLY, text: emoji })).text, emoji);
  });

  test(`${label}: the sealed reply opens with the receipt's identity and each reviewer's`, async () => {
    const sealer = await load();
    const keys = await sealer.deriveReceiptKeys(M.receipt);
    assert.equal(keys.recipient, M.source_recipient);
    const sealed = fromB64(M.sealed.reply);
    assert.deepEqual(clone(await sealer.openMessage(sealed, keys.identity, "reply")), REPLY);
    assert.deepEqual(clone(await sealer.openMessage(sealed, keys.identity)), REPLY);
    for (const identity of M.reviewer_identities) {
      assert.deepEqual(clone(await sealer.openMessage(sealed, identity, "reply")), REPLY);
    }
    // Typed by hand: lower case, O for 0, spaces for dashes derive the same identity.
    const typed = await sealer.deriveReceiptKeys(M.receipt.toLowerCase().replace(/-/g, " "));
    assert.deepEqual(clone(await sealer.openMessage(sealed, typed.identity, "reply")), REPLY);
    await assert.rejects(sealer.openMessage(sealed, keys.identity, "followup"), isTipboxError);
  });

  test(`${label}: a tampered reply and a wrong receipt fail with TipboxError`, async () => {
    const sealer = await load();
    const keys = await sealer.deriveReceiptKeys(M.receipt);
    await assert.rejects(sealer.openMessage(fromB64(M.sealed.reply_tampered), keys.identity, "reply"), isTipboxError);
    const other = await sealer.deriveReceiptKeys(sealer.newReceipt());
    await assert.rejects(sealer.openMessage(fromB64(M.sealed.reply), other.identity, "reply"), isTipboxError);
    await assert.rejects(sealer.openMessage(fromB64(M.sealed.reply), "AGE-SECRET-KEY-1NOTAKEY", "reply"), isTipboxError);
    await assert.rejects(sealer.openMessage(new Uint8Array(10), keys.identity), isTipboxError);
  });

  test(`${label}: the follow-up opens for the reviewers only, never with the source's identity`, async () => {
    const sealer = await load();
    const sealed = fromB64(M.sealed.followup);
    for (const identity of M.reviewer_identities) {
      assert.deepEqual(clone(await sealer.openMessage(sealed, identity, "followup")), FOLLOWUP);
    }
    const keys = await sealer.deriveReceiptKeys(M.receipt);
    await assert.rejects(sealer.openMessage(sealed, keys.identity), isTipboxError);
    await assert.rejects(sealer.openMessage(sealed, M.reviewer_identities[0], "reply"), isTipboxError);
  });

  test(`${label}: sealMessage makes a Padmé-sized age file that opens again`, async () => {
    const sealer = await load();
    const sealed = new Uint8Array(await sealer.sealMessage(clone(FOLLOWUP), E.recipients));
    assert.deepEqual(stanzaTypes(sealed), ["X25519", "X25519"]);
    const framed = await source.openBytes(sealed, [E.identities[0]]);
    assert.equal(framed.length, M.valid[1].padded_length);
    assert.deepEqual(clone(await sealer.openMessage(sealed, E.identities[1], "followup")), FOLLOWUP);
    await assert.rejects(sealer.sealMessage(clone({ ...FOLLOWUP, sealed_by: "reviewer" }), E.recipients), isTipboxError);
    await assert.rejects(sealer.sealMessage(clone(FOLLOWUP), []), isTipboxError);
    // A reply sealed here to a receipt's recipient and the reviewers opens with the receipt.
    const receipt = sealer.newReceipt();
    const keys = await sealer.deriveReceiptKeys(receipt);
    const reply = await sealer.sealMessage(clone(REPLY), [keys.recipient, ...E.recipients]);
    assert.deepEqual(clone(await sealer.openMessage(reply, keys.identity, "reply")), REPLY);
  });

  test(`${label}: newReceipt makes well-formed, distinct receipts over the whole alphabet`, async () => {
    const sealer = await load();
    const seen = new Set();
    const counts = new Map();
    for (let i = 0; i < 2000; i++) {
      const r = sealer.newReceipt();
      assert.match(r, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$/);
      assert.equal(sealer.normaliseReceipt(r), r.replace(/-/g, ""));
      seen.add(r);
      for (const c of r.replace(/-/g, "")) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    assert.equal(seen.size, 2000);
    assert.deepEqual([...counts.keys()].sort().join(""), ALPHABET);
    // 40,000 draws over 32 symbols: 1,250 expected each; 5 standard deviations is about ±170.
    for (const [c, n] of counts) assert.ok(Math.abs(n - 1250) < 250, `${c}: ${n}`);
  });
}

test("the bundle passes under node --jitless (no JIT, no WebAssembly)", { skip: process.env.TIPBOX_JITLESS === "1" }, () => {
  const env = { ...process.env, TIPBOX_JITLESS: "1" };
  delete env.NODE_TEST_CONTEXT; // run as a plain script, not as a child of this runner
  const run = spawnSync(process.execPath, ["--jitless", fileURLToPath(import.meta.url)], { env, encoding: "utf8", timeout: 300_000 });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /# fail 0/);
});
