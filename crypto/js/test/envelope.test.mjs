// age files: the committed envelope vectors (sealed by crypto/) open or fail as
// "expect" says, and what the JS sealer makes opens again.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import test from "node:test";
import {
  encodePayload, openBytes, paddedLength, randomId, sealAttachment, sealAttachmentBytes, sealTip, unpad,
} from "../src/sealer.js";
import { collect, fromB64, loadVectors, stanzaTypes } from "./support.mjs";

const E = loadVectors("envelope");
const P = loadVectors("payload");
const TIP = P.valid[0].document;
const sha256hex = (bytes) => createHash("sha256").update(bytes).digest("hex");

// age-encryption's error messages, mapped to envelope.json's "expect" values.
function failureKind(err) {
  if (/no identity matched/.test(err.message)) return "no match";
  if (/invalid (version|header|stanza)|non-ASCII/.test(err.message)) return "header failure";
  return "payload failure";
}

for (const file of E.files) {
  test(`envelope vector ${file.name}: ${file.expect}`, async () => {
    const data = fromB64(file.age_b64);
    for (const identity of E.identities) {
      if (file.expect !== "success") {
        const err = await openBytes(data, [identity]).then(() => null, (e) => e);
        assert.ok(err, "must not open");
        assert.equal(failureKind(err), file.expect, err.message);
        continue;
      }
      const plain = unpad(await openBytes(data, [identity]));
      if (file.kind === "tip") {
        assert.deepEqual(JSON.parse(new TextDecoder().decode(plain)), TIP);
        assert.deepEqual(plain, encodePayload(TIP));
      } else {
        assert.deepEqual(plain, fromB64(file.content_b64));
      }
    }
  });
}

test("sealTip round-trips to every recipient, X25519 only, Padmé-sized", async () => {
  const sealed = await sealTip(TIP, E.recipients);
  assert.deepEqual(stanzaTypes(sealed), ["X25519", "X25519"]);
  for (const identity of E.identities) {
    const opened = await openBytes(sealed, [identity]);
    assert.equal(opened.length, P.valid[0].padded_length);
    assert.deepEqual(unpad(opened), encodePayload(TIP));
  }
  await assert.rejects(openBytes(sealed, [E.other_identity]), /no identity matched/);
});

test("sealing refuses bad recipients and invalid documents", async () => {
  await assert.rejects(sealTip(TIP, []), /at least one recipient/);
  await assert.rejects(sealTip(TIP, ["age1pq1" + "q".repeat(100)]), /X25519/);
  await assert.rejects(sealTip(TIP, [E.recipients[0].slice(0, -1) + "q"])); // bad checksum
  await assert.rejects(sealTip({ ...TIP, lang: "fr" }, E.recipients), /language/);
  assert.throws(() => sealAttachment(new Blob(["x"]), ["age1nope"]), /X25519/);
});

test("sealAttachmentBytes matches the vector attachment's digest", async () => {
  const content = fromB64(E.files.find((f) => f.kind === "attachment").content_b64);
  const { sealed, size, sha256 } = await sealAttachmentBytes(content, E.recipients);
  assert.deepEqual({ size, sha256 }, { size: TIP.attachments[0].size, sha256: TIP.attachments[0].sha256 });
  assert.deepEqual(unpad(await openBytes(sealed, [E.identities[1]])), content);
});

// Sizes around age's 64 KiB chunks and Padmé boundaries, fed in odd-sized pieces.
for (const size of [0, 1, 65535, 65536, 65537, 200_003]) {
  test(`sealAttachment streams a ${size}-byte Blob`, async () => {
    const content = new Uint8Array(size).map((_, i) => (i * 7 + 3) & 0xff);
    const progress = [];
    const { ciphertext, digest } = sealAttachment(new Blob([content]), E.recipients, {
      onProgress: (done, total) => progress.push([done, total]),
    });
    const sealed = await collect(ciphertext);
    assert.deepEqual(await digest, { size, sha256: sha256hex(content) });
    assert.deepEqual(stanzaTypes(sealed), ["X25519", "X25519"]);
    const opened = await openBytes(sealed, [E.identities[0]]);
    assert.equal(opened.length, paddedLength(size));
    assert.deepEqual(unpad(opened), content);
    if (size > 0) assert.deepEqual(progress.at(-1), [size, size]);
  });
}

test("sealAttachment accepts a ReadableStream with odd and empty chunks", async () => {
  const pieces = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(70_000).fill(9), new Uint8Array([4])];
  const source = new ReadableStream({
    start(c) {
      for (const p of pieces) c.enqueue(p);
      c.close();
    },
  });
  const { ciphertext, digest } = sealAttachment(source, E.recipients);
  const opened = unpad(await openBytes(await collect(ciphertext), [E.identities[1]]));
  const content = Buffer.concat(pieces);
  assert.deepEqual(opened, new Uint8Array(content));
  assert.deepEqual(await digest, { size: content.length, sha256: sha256hex(content) });
});

test("sealAttachment keeps memory bounded: it reads the file only as ciphertext is consumed", async () => {
  const total = 32 * 1024 * 1024;
  let produced = 0;
  let consumed = 0;
  let maxAhead = 0;
  const source = new ReadableStream({
    pull(c) {
      if (produced >= total) return c.close();
      c.enqueue(new Uint8Array(64 * 1024));
      produced += 64 * 1024;
      maxAhead = Math.max(maxAhead, produced - consumed);
    },
  }, { highWaterMark: 0 });
  const { ciphertext, digest } = sealAttachment(source, E.recipients);
  for await (const chunk of ciphertext) consumed += chunk.length;
  assert.equal((await digest).size, total);
  assert.ok(consumed > paddedLength(total), "ciphertext covers content and padding");
  assert.ok(maxAhead <= 1024 * 1024, `source ran ${maxAhead} bytes ahead of the consumer`);
});

test("a failing source errors the ciphertext and rejects the digest", async () => {
  let sent = false;
  const source = new ReadableStream({
    pull(c) {
      if (sent) return c.error(new Error("disk gone"));
      sent = true;
      c.enqueue(new Uint8Array(10));
    },
  });
  const { ciphertext, digest } = sealAttachment(source, E.recipients);
  await assert.rejects(collect(ciphertext), /disk gone/);
  await assert.rejects(digest, /disk gone/);
});

test("cancelling the upload cancels the file read and rejects the digest", async () => {
  let cancelled = false;
  const source = new ReadableStream({
    pull(c) { c.enqueue(new Uint8Array(64 * 1024)); },
    cancel() { cancelled = true; },
  });
  const { ciphertext, digest } = sealAttachment(source, E.recipients);
  const reader = ciphertext.getReader();
  await reader.read();
  await reader.cancel(new Error("user aborted"));
  await assert.rejects(digest, /user aborted/);
  assert.ok(cancelled);
});

test("randomId is 128 random bits in lowercase hex", () => {
  const ids = new Set(Array.from({ length: 100 }, randomId));
  assert.equal(ids.size, 100);
  for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/);
});
