// tipbox/static/js/upload.js, the page's upload client, run in Node against a fake fetch:
// sealing runs ahead of a bounded number of chunks in flight, every chunk carries its SHA-256,
// the last one waits for the others and closes the attachment with the chunk-list digest.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import test from "node:test";
import vm from "node:vm";
import * as sealer from "../src/sealer.js";
import { loadVectors, ROOT } from "./support.mjs";

const SOURCE = readFileSync(join(ROOT, "tipbox", "static", "js", "upload.js"), "utf8");
const E = loadVectors("envelope");
const RECIPIENT = E.recipients[0];
const sha = (bytes) => createHash("sha256").update(bytes).digest();

/** Load upload.js in a window whose fetch is `fetch`; returns window.TipboxUpload. */
function load(fetch) {
  const window = { TipboxSealer: sealer, fetch };
  vm.runInNewContext(SOURCE, { window, fetch, setTimeout, btoa, atob });
  return window.TipboxUpload;
}

/** A fake server: records PUTs, answers after `delay` ms, fails the first try of chunk `failOnce`. */
function fakeServer({ delay = 5, failOnce = -1 } = {}) {
  const state = { puts: [], stored: [], inFlight: 0, maxInFlight: 0, failed: false };
  state.fetch = async (url, init) => {
    const earlier = [...state.stored]; // what the server had stored when this request went out
    state.inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    await new Promise((r) => setTimeout(r, delay));
    state.inFlight -= 1;
    const seq = Number(url.split("/").pop());
    if (seq === failOnce && !state.failed) {
      state.failed = true;
      throw new TypeError("network error"); // a dropped circuit: retried
    }
    state.puts.push({ seq, body: new Uint8Array(init.body), headers: init.headers, earlier });
    state.stored.push(seq);
    const last = "Tipbox-Complete" in init.headers;
    return { ok: true, status: 200, json: async () => ({ ok: true, completed: last, received: last }) };
  };
  return state;
}

async function sendFile(server, size, chunkBytes) {
  const upload = load(server.fetch);
  const client = upload.client("csrf", "failed");
  const content = new Uint8Array(size).map((_, i) => (i * 131 + (i >> 10)) & 0xff);
  const file = new Blob([content]);
  const [entry] = await client.describeFiles([file]);
  let sent = 0;
  const answer = await client.uploadFiles("/api/v1/submissions/t", "token", chunkBytes, [file], [entry], [RECIPIENT],
    (n) => { sent += n; });
  return { content, entry, answer, sent };
}

test("chunks carry their SHA-256, the last closes the file with the chunk-list digest", async () => {
  const server = fakeServer({ delay: 40 }); // slow enough that chunks are still in flight at the end
  const { content, entry, answer, sent } = await sendFile(server, 600_000, 65_536);
  assert.equal(entry.sha256, createHash("sha256").update(content).digest("hex"));
  assert.equal(entry.size, content.length);
  assert.deepEqual(answer, { ok: true, completed: true, received: true });
  const puts = [...server.puts].sort((a, b) => a.seq - b.seq);
  assert.deepEqual(puts.map((p) => p.seq), puts.map((_, i) => i));
  const ciphertext = Buffer.concat(puts.map((p) => p.body));
  assert.equal(sent, ciphertext.length);
  for (const p of puts) {
    assert.equal(p.headers["Content-Digest"], `sha-256=:${sha(p.body).toString("base64")}:`);
    assert.equal(p.headers["X-Upload-Token"], "token");
    assert.ok(p.seq === puts.length - 1 || p.body.length === 65_536, "only the last chunk is short");
  }
  const last = puts.at(-1);
  const listed = createHash("sha256").update(Buffer.concat(puts.map((p) => sha(p.body)))).digest("hex");
  assert.equal(last.headers["Tipbox-Complete"], `size=${ciphertext.length}, chunks-sha256=${listed}`);
  assert.ok(puts.slice(0, -1).every((p) => !("Tipbox-Complete" in p.headers)));
  // The last chunk went out only once every other chunk was stored.
  assert.deepEqual([...last.earlier].sort((a, b) => a - b), puts.slice(0, -1).map((p) => p.seq));
  // And the age file opens to the content.
  const framed = await sealer.openBytes(new Uint8Array(ciphertext), [E.identities[0]]);
  assert.deepEqual(sealer.unpad(framed), content);
});

test("sealing runs ahead of a bounded number of chunks in flight", async () => {
  const server = fakeServer({ delay: 40 });
  await sendFile(server, 900_000, 65_536);
  assert.ok(server.puts.length >= 12);
  assert.ok(server.maxInFlight >= 2, `chunks overlapped: at most ${server.maxInFlight} in flight`);
  assert.ok(server.maxInFlight <= 2, `window exceeded: ${server.maxInFlight} in flight`);
});

test("a chunk lost on the way is sent again, and the upload completes", async () => {
  const server = fakeServer({ failOnce: 2 });
  const { answer } = await sendFile(server, 300_000, 65_536);
  assert.equal(answer.received, true);
  assert.ok(server.failed);
  assert.equal(server.puts.filter((p) => p.seq === 2).length, 1);
});

test("a refused chunk fails the upload with the server's message", async () => {
  const upload = load(async (url) => ({
    ok: !url.endsWith("/1"), status: url.endsWith("/1") ? 400 : 200,
    json: async () => (url.endsWith("/1") ? { error: "bad_chunk", message: "rusak" } : { ok: true }),
  }));
  const client = upload.client("csrf", "failed");
  const file = new Blob([new Uint8Array(300_000)]);
  const [entry] = await client.describeFiles([file]);
  await assert.rejects(
    client.uploadFiles("/x", "t", 65_536, [file], [entry], [RECIPIENT], () => {}),
    (e) => e.message === "rusak" && e.status === 400 && e.fatal === true,
  );
});
