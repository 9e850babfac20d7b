// Shared by the *.test.mjs files (node --test also runs this file: it only exports).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const BUNDLE = join(ROOT, "tipbox", "static", "js", "sealer.js");

export const loadVectors = (name) => JSON.parse(readFileSync(join(ROOT, "crypto", "vectors", `${name}.json`), "utf8"));
export const fromHex = (hex) => Uint8Array.from(Buffer.from(hex, "hex"));
export const fromB64 = (b64) => Uint8Array.from(Buffer.from(b64, "base64"));

/** Read a ReadableStream to the end; returns the concatenated bytes. */
export async function collect(stream) {
  const parts = [];
  for await (const chunk of stream) parts.push(chunk);
  return new Uint8Array(Buffer.concat(parts));
}

/** Stanza types of an age file's header, e.g. ["X25519", "X25519"]. */
export function stanzaTypes(ageFile) {
  const text = Buffer.from(ageFile.subarray(0, 4096)).toString("latin1");
  const header = text.slice(0, text.indexOf("\n--- "));
  return header.split("\n").filter((l) => l.startsWith("-> ")).map((l) => l.split(" ")[1]);
}
