// The upload's chunk-list digest and native file hash must agree with crypto/upload_digest.py
// (crypto/vectors/upload.json, FORMAT.md §4.1).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import test from "node:test";
import { chunkListSha256, fileSha256, sealAttachment, sha256Bytes } from "../src/sealer.js";
import { collect, fromHex, loadVectors } from "./support.mjs";

const V = loadVectors("upload");
const hex = (bytes) => Buffer.from(bytes).toString("hex");

test("chunk digests and the chunk-list digest match the vectors", async () => {
  assert.ok(V.cases.length >= 5);
  for (const c of V.cases) {
    const data = fromHex(c.data_hex);
    const digests = [];
    for (let i = 0; i < Math.max(data.length, 1); i += c.chunk_bytes) {
      digests.push(await sha256Bytes(data.subarray(i, i + c.chunk_bytes)));
    }
    assert.deepEqual(digests.map(hex), c.chunk_sha256, `chunks of ${data.length} by ${c.chunk_bytes}`);
    assert.equal(await chunkListSha256(digests), c.chunks_sha256);
    assert.notEqual(c.chunks_sha256, c.sha256, "the list digest is not the whole-file digest");
  }
});

test("the list digest depends on where chunks are cut and on their order", async () => {
  const data = new Uint8Array(4096).map((_, i) => (i * 31 + (i >> 8)) & 0xff); // no two chunks alike
  const cut = async (n) => {
    const d = [];
    for (let i = 0; i < data.length; i += n) d.push(await sha256Bytes(data.subarray(i, i + n)));
    return d;
  };
  const a = await cut(1024);
  assert.notEqual(await chunkListSha256(a), await chunkListSha256(await cut(512)));
  assert.notEqual(await chunkListSha256(a), await chunkListSha256([...a].reverse()));
  await assert.rejects(chunkListSha256([new Uint8Array(31)]), /32 bytes/);
});

test("fileSha256 hashes a Blob natively, and as a stream where the buffer cannot be read", async () => {
  const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
  const want = createHash("sha256").update(data).digest("hex");
  assert.equal(await fileSha256(new Blob([data])), want);
  const unreadable = new Blob([data]);
  unreadable.arrayBuffer = () => Promise.reject(new RangeError("out of memory"));
  assert.equal(await fileSha256(unreadable), want);
});

test("sealAttachment without the JS hash still reports the size, and seals the same way", async () => {
  const data = new Uint8Array(70_000).fill(9);
  const sealed = sealAttachment(new Blob([data]), ["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"],
    { hashContent: false });
  const ciphertext = await collect(sealed.ciphertext);
  assert.deepEqual(await sealed.digest, { size: data.length });
  assert.ok(ciphertext.length > data.length);
});
