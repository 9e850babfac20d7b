// Receipt-derived keys (FORMAT.md §12): the source module and the committed
// bundle derive exactly what crypto/receipt_keys.py wrote to the shared vectors,
// refuse what it refuses, and the derived identity opens what is sealed to the
// derived recipient. The bundle cases re-run under `node --jitless` (no JIT, no
// WebAssembly), as Tor Browser "Safer" would run them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import test from "node:test";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { deriveReceiptKeys, normaliseReceipt, openBytes, sealAttachmentBytes, TipboxError, unpad } from "../src/sealer.js";
import { BUNDLE, loadVectors } from "./support.mjs";

const R = loadVectors("receipt_keys");
const expected = ({ identity, recipient, lookup }) => ({ identity, recipient, lookup });

function loadBundle() {
  const context = vm.createContext({ crypto, TextEncoder, TextDecoder, ReadableStream, TransformStream, WritableStream, Blob, DOMException });
  vm.runInContext("delete globalThis.WebAssembly;", context);
  vm.runInContext(readFileSync(BUNDLE, "utf8"), context, { filename: BUNDLE });
  return context.TipboxSealer;
}

test("the vectors cover mistypes that derive the same keys", () => {
  const byCanonical = new Map();
  for (const v of R.valid) byCanonical.set(v.canonical, (byCanonical.get(v.canonical) ?? 0) + 1);
  assert.ok([...byCanonical.values()].some((n) => n >= 3));
  assert.ok(R.invalid.length >= 5);
});

for (const [label, load] of [["source", async () => ({ deriveReceiptKeys, normaliseReceipt })], ["bundle", async () => loadBundle()]]) {
  test(`${label}: valid receipt vectors derive the expected keys`, async () => {
    const sealer = await load();
    for (const v of R.valid) {
      assert.equal(sealer.normaliseReceipt(v.input), v.canonical, v.why);
      // JSON round trip: objects from the bundle's realm have another Object.prototype.
      assert.deepEqual(JSON.parse(JSON.stringify(await sealer.deriveReceiptKeys(v.input))), expected(v), v.why);
    }
  });

  test(`${label}: invalid receipts are refused`, async () => {
    const sealer = await load();
    for (const v of [...R.invalid, { input: null, why: "null" }, { input: 12345, why: "number" }]) {
      assert.equal(sealer.normaliseReceipt(v.input), null, v.why);
      await assert.rejects(sealer.deriveReceiptKeys(v.input), (err) => err.name === "TipboxError" && !err.message.includes(String(v.input || "\u0000")), v.why);
    }
  });
}

test("the refusal is a TipboxError that does not echo the receipt", async () => {
  const err = await deriveReceiptKeys("7K3M-Q9XD-2HPA-W4RT-ZB6*").then(() => null, (e) => e);
  assert.ok(err instanceof TipboxError);
  assert.doesNotMatch(err.message, /7K3M/);
});

test("what is sealed to a derived recipient opens with the derived identity only", async () => {
  const [a, b] = [R.valid[0], R.valid.find((v) => v.canonical !== R.valid[0].canonical)];
  const keys = await deriveReceiptKeys(a.input.toLowerCase());
  const { sealed } = await sealAttachmentBytes(new TextEncoder().encode("balasan untuk sumber"), [keys.recipient]);
  assert.equal(new TextDecoder().decode(unpad(await openBytes(sealed, [keys.identity]))), "balasan untuk sumber");
  await assert.rejects(openBytes(sealed, [b.identity]), /no identity matched/);
});

test("the bundle derives the vectors under node --jitless", { skip: process.execArgv.includes("--jitless") }, () => {
  const script = `
    import { readFileSync } from "node:fs";
    import vm from "node:vm";
    const R = JSON.parse(readFileSync(${JSON.stringify(fileURLToPath(new URL("../../vectors/receipt_keys.json", import.meta.url)))}, "utf8"));
    const context = vm.createContext({ crypto, TextEncoder, TextDecoder, ReadableStream, TransformStream, WritableStream, Blob, DOMException });
    vm.runInContext("delete globalThis.WebAssembly;", context);
    vm.runInContext(readFileSync(${JSON.stringify(BUNDLE)}, "utf8"), context);
    for (const v of R.valid) {
      const k = await context.TipboxSealer.deriveReceiptKeys(v.input);
      if (k.identity !== v.identity || k.recipient !== v.recipient || k.lookup !== v.lookup) throw new Error("mismatch: " + v.why);
    }
    console.log("ok " + R.valid.length);
  `;
  const run = spawnSync(process.execPath, ["--jitless", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), `ok ${R.valid.length}`);
});
