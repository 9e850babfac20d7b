// Seal the shared vectors with the JS sealer for tests/crypto/test_js_interop.py,
// which opens them with crypto/ (Python):
//
//   node crypto/js/test/seal_fixture.mjs OUTDIR
//
// Writes OUTDIR/<name>.age for each case below and OUTDIR/digests.json with the
// {size, sha256} the sealer reported for each attachment.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import vm from "node:vm";
import * as sealer from "../src/sealer.js";
import { BUNDLE, collect, fromB64, loadVectors } from "./support.mjs";

const outDir = process.argv[2];
if (!outDir) {
  // node --test runs every .mjs under test/: nothing to do there.
  if (process.env.NODE_TEST_CONTEXT) process.exit(0);
  console.error("usage: node crypto/js/test/seal_fixture.mjs OUTDIR");
  process.exit(2);
}

const E = loadVectors("envelope");
const P = loadVectors("payload");
const tip = P.valid[0].document;
const content = fromB64(E.files.find((f) => f.kind === "attachment").content_b64);
// Same pattern as the Python test: crosses age's 64 KiB chunks several times.
const large = new Uint8Array(200_003).map((_, i) => (i * 7 + 3) & 0xff);

function loadBundle() {
  const context = vm.createContext({ crypto, TextEncoder, TextDecoder, ReadableStream, TransformStream, WritableStream, Blob, DOMException });
  vm.runInContext("delete globalThis.WebAssembly;", context);
  vm.runInContext(readFileSync(BUNDLE, "utf8"), context);
  return context.TipboxSealer;
}

async function streamed(api, bytes) {
  const { ciphertext, digest } = api.sealAttachment(new Blob([bytes]), E.recipients);
  return { sealed: await collect(ciphertext), ...(await digest) };
}

const bundle = loadBundle();
const digests = {};
const write = (name, data) => writeFileSync(join(outDir, `${name}.age`), data);

write("tip", await sealer.sealTip(tip, E.recipients));
write("bundle_tip", await bundle.sealTip(JSON.parse(JSON.stringify(tip)), E.recipients));
for (const [name, result] of [
  ["attachment", await streamed(sealer, content)],
  ["attachment_bytes", await sealer.sealAttachmentBytes(content, E.recipients)],
  ["large", await streamed(sealer, large)],
  ["empty", await streamed(sealer, new Uint8Array(0))],
  ["bundle_large", await streamed(bundle, large)],
]) {
  write(name, result.sealed);
  digests[name] = { size: result.size, sha256: result.sha256 };
}
writeFileSync(join(outDir, "digests.json"), JSON.stringify(digests, null, 2));
