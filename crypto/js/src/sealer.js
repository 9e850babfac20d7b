// tipbox browser sealer: the JS twin of crypto/padding.py, crypto/payload.py,
// crypto/attachments.py, crypto/receipt_keys.py and crypto/messages.py (see
// crypto/FORMAT.md). Everything sealed here is a
// plain age v1 file made by npm age-encryption, which is pure JS on @noble: it
// must keep working with WebAssembly and the JIT disabled (Tor Browser "Safer"),
// so nothing in this bundle may use WebAssembly (build.mjs --check enforces it).

import { Decrypter, Encrypter, identityToRecipient } from "age-encryption";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { bech32 } from "@scure/base";
export { NoChannel, RoutingError, route } from "./routing.js"; // crypto/routing.py, FORMAT.md §14

export const PAYLOAD_VERSION = 1;
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
const MARKER = 0x80;
const PIECE = 64 * 1024; // age's STREAM chunk: a natural unit for reads and padding

export class TipboxError extends Error {
  constructor(message) {
    super(message);
    this.name = "TipboxError";
  }
}

// --- Padmé padding (crypto/padding.py) --------------------------------------

function checkLength(n) {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError("length must be a non-negative safe integer");
}

// Bit length without 32-bit operators, so lengths above 4 GiB stay exact.
const bitLength = (n) => (n === 0 ? 0 : n.toString(2).length);

export function padme(n) {
  checkLength(n);
  if (n < 2) return n;
  const exponent = bitLength(n) - 1;
  const step = 2 ** (exponent - bitLength(exponent)); // a power of two: division stays exact
  return Math.ceil(n / step) * step;
}

export const paddedLength = (n) => padme(n + 1);

export function pad(content) {
  const out = new Uint8Array(paddedLength(content.length)); // zero-filled
  out.set(content);
  out[content.length] = MARKER;
  return out;
}

export function unpad(framed) {
  let end = framed.length;
  while (end > 0 && framed[end - 1] === 0) end--;
  if (end === 0 || framed[end - 1] !== MARKER) throw new TipboxError("malformed padding: marker missing");
  if (framed.length !== paddedLength(end - 1)) {
    throw new TipboxError("malformed padding: not a Padmé bucket of the content");
  }
  return framed.slice(0, end - 1);
}

// --- Canonical JSON (crypto/signing.py canonical_json) ----------------------

// Plain objects from any realm (or Object.create(null)); not Dates, Maps, class instances.
const isPlainObject = (v) => {
  const proto = v !== null && typeof v === "object" && !Array.isArray(v) ? Object.getPrototypeOf(v) : undefined;
  return proto === null || (proto !== undefined && Object.getPrototypeOf(proto) === null);
};

// With the u flag this matches only *unpaired* surrogates, which Python cannot
// encode to UTF-8 (and JSON.stringify would escape instead): refuse them.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Byte-for-byte json.dumps(v, sort_keys=True, separators=(",",":"), ensure_ascii=False). */
export function canonicalJSON(value) {
  if (value === null || typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TipboxError("only safe integers are allowed in canonical JSON");
    return String(value); // -0 prints as 0, like Python's int 0
  }
  if (typeof value === "string") {
    if (LONE_SURROGATE.test(value)) throw new TipboxError("string has an unpaired surrogate");
    // JSON.stringify escapes exactly what Python does with ensure_ascii=False:
    // " \ \b \f \n \r \t and other C0 controls as lowercase \u00xx; U+2028/9 raw.
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJSON).join(",")}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort(); // ASCII only, so UTF-16 order = code point order
    for (const key of keys) {
      if (!/^[\x00-\x7f]*$/.test(key)) throw new TipboxError("object keys must be ASCII");
    }
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJSON(value[k])}`).join(",")}}`;
  }
  throw new TipboxError(`${typeof value} is not allowed in canonical JSON`);
}

// --- Tip payload v1 (crypto/payload.py) -------------------------------------

const isInt = (v) => Number.isSafeInteger(v);
const isAnswer = (v) =>
  v === null || ["boolean", "string"].includes(typeof v) || isInt(v) ||
  (Array.isArray(v) && v.every((s) => typeof s === "string"));

function checkAttachment(a) {
  if (a === null || typeof a !== "object" || Array.isArray(a)) throw new TipboxError("attachment entry is not an object");
  if (typeof a.id !== "string" || !/^[0-9a-f]{32}$/.test(a.id)) throw new TipboxError("attachment id must be 32 lowercase hex digits");
  if (typeof a.name !== "string" || typeof a.type !== "string") throw new TipboxError("attachment name and type must be strings");
  if (!isInt(a.size) || a.size < 0) throw new TipboxError("attachment size must be a non-negative integer");
  if (typeof a.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(a.sha256)) throw new TipboxError("attachment sha256 must be 64 lowercase hex digits");
}

/** Check a document against payload v1, as crypto.payload.validate does. */
export function validatePayload(doc) {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new TipboxError("payload is not a JSON object");
  if (doc.v !== PAYLOAD_VERSION) throw new TipboxError("unsupported payload version");
  if (doc.type !== "tipbox-tip") throw new TipboxError("payload is not a tipbox tip");
  if (!["id", "en"].includes(doc.lang)) throw new TipboxError("payload language must be 'id' or 'en'");
  if (!["browser", "server"].includes(doc.sealed_by)) throw new TipboxError("payload sealed_by must be 'browser' or 'server'");
  const { answers, attachments } = doc;
  if (answers === null || typeof answers !== "object" || Array.isArray(answers) || !Object.values(answers).every(isAnswer)) {
    throw new TipboxError("payload answers must map names to strings, integers, booleans, lists of strings or null");
  }
  if (!Array.isArray(attachments)) throw new TipboxError("payload attachments must be a list");
  attachments.forEach(checkAttachment);
  if (new Set(attachments.map((a) => a.id)).size !== attachments.length) throw new TipboxError("attachment ids must be unique");
  return doc;
}

export function buildPayload({ answers, lang, sealedBy = "browser", attachments = [] }) {
  return validatePayload({
    v: PAYLOAD_VERSION,
    type: "tipbox-tip",
    lang,
    sealed_by: sealedBy,
    answers: { ...answers },
    attachments: attachments.map((a) => ({ ...a })),
  });
}

export function encodePayload(doc) {
  const data = new TextEncoder().encode(canonicalJSON(validatePayload(doc)));
  if (data.length > MAX_PAYLOAD_BYTES) throw new TipboxError("payload too large");
  return data;
}

// --- Sealing and opening (age) ----------------------------------------------

// tipbox seals to X25519 reviewers only (the server refuses other stanzas), so
// refuse post-quantum, tag or plugin recipients here rather than at upload.
function encrypterFor(recipients) {
  if (!Array.isArray(recipients) || recipients.length === 0) throw new TipboxError("at least one recipient is required");
  const encrypter = new Encrypter();
  for (const r of recipients) {
    if (typeof r !== "string" || !/^age1[02-9ac-hj-np-z]{58}$/.test(r)) throw new TipboxError("not an age X25519 recipient");
    encrypter.addRecipient(r); // checks the Bech32 checksum
  }
  return encrypter;
}

// Whole-buffer helpers go through age's stream API and collect by hand: its
// Uint8Array API needs the Fetch API's Response, which this bundle avoids.
const streamOf = (bytes) => new ReadableStream({ start(c) { c.enqueue(bytes); c.close(); } });

async function collect(stream) {
  const parts = [];
  let length = 0;
  for (const reader = stream.getReader(); ;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    length += value.length;
  }
  const out = new Uint8Array(length);
  parts.reduce((offset, part) => (out.set(part, offset), offset + part.length), 0);
  return out;
}

const seal = async (bytes, recipients) => collect(await encrypterFor(recipients).encrypt(streamOf(bytes)));

export async function sealTip(doc, recipients) {
  return seal(pad(encodePayload(doc)), recipients);
}

const toBytes = (chunk) =>
  chunk instanceof Uint8Array ? chunk
    : ArrayBuffer.isView(chunk) ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      : new Uint8Array(chunk);

/**
 * Stream-seal an attachment (a Blob/File or a ReadableStream of bytes).
 *
 * Returns at once: `ciphertext` is the age file as a stream (pull-driven, so
 * only a few 64 KiB chunks are ever in memory), `digest` resolves to the
 * content's {size, sha256} once the source is exhausted, for the tip manifest.
 * With `hashContent: false` the digest carries only `size`: the page hashes a
 * File natively with fileSha256 instead, because this hash runs in
 * interpreted JS, which without a JIT costs as much as the encryption.
 */
export function sealAttachment(source, recipients, { onProgress, hashContent = true } = {}) {
  const encrypter = encrypterFor(recipients); // bad recipients throw before any read
  const total = typeof source.size === "number" ? source.size : null;
  const reader = (typeof source.stream === "function" ? source.stream() : source).getReader();
  const hash = hashContent ? sha256.create() : null;
  let size = 0;
  let zeros = -1; // padding bytes still to emit; -1 while content is flowing
  let settle;
  const digest = new Promise((resolve, reject) => (settle = { resolve, reject }));
  digest.catch(() => {}); // the ciphertext stream reports the error; don't crash on unawaited digests
  const fail = (err) => {
    settle.reject(err); // no-op if the digest already settled
    reader.cancel(err).catch(() => {});
  };

  const padded = new ReadableStream({
    async pull(controller) {
      try {
        while (zeros < 0) {
          const { done, value } = await reader.read();
          if (done) {
            zeros = paddedLength(size) - size - 1;
            settle.resolve(hash ? { size, sha256: bytesToHex(hash.digest()) } : { size });
            controller.enqueue(Uint8Array.of(MARKER));
            return;
          }
          const bytes = toBytes(value);
          if (bytes.length === 0) continue; // an empty enqueue would stall the pull loop
          size += bytes.length;
          hash?.update(bytes);
          controller.enqueue(bytes);
          if (onProgress) onProgress(size, total);
          return;
        }
        if (zeros === 0) return controller.close();
        const n = Math.min(zeros, PIECE); // padding also flows one piece per pull
        zeros -= n;
        controller.enqueue(new Uint8Array(n));
      } catch (err) {
        fail(err);
        throw err;
      }
    },
    cancel(reason) {
      fail(reason ?? new TipboxError("attachment sealing cancelled"));
    },
  }, { highWaterMark: 0 }); // read the file only when the consumer asks

  // Encrypter.encrypt is async (key wrapping) but we hand back a stream now.
  let sealed = null;
  const ciphertext = new ReadableStream({
    async pull(controller) {
      try {
        sealed ??= (await encrypter.encrypt(padded)).getReader();
        const { done, value } = await sealed.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        fail(err);
        throw err;
      }
    },
    cancel(reason) {
      fail(reason ?? new TipboxError("attachment sealing cancelled"));
      return sealed?.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return { ciphertext, digest };
}

/** In-memory variant for small inputs: same age file format as sealAttachment. */
export async function sealAttachmentBytes(bytes, recipients) {
  const sealed = await seal(pad(bytes), recipients);
  return { sealed, size: bytes.length, sha256: bytesToHex(sha256(bytes)) };
}

/** Decrypt a whole age file; resolves only if every chunk authenticated. */
export async function openBytes(ageFile, identities) {
  if (!Array.isArray(identities) || identities.length === 0) throw new TipboxError("at least one identity is required");
  const decrypter = new Decrypter();
  for (const identity of identities) decrypter.addIdentity(identity);
  return collect(await decrypter.decrypt(streamOf(ageFile)));
}

/** 128 random bits as 32 lowercase hex digits (attachment and upload ids). */
/** Incremental SHA-256 (hex digest), e.g. of ciphertext as it is uploaded. */
export function createSha256() {
  const hash = sha256.create();
  return {
    update(bytes) { hash.update(bytes); return this; },
    hex() { return bytesToHex(hash.digest()); },
  };
}

// --- Native digests (WebCrypto) and the upload's chunk-list digest (crypto/upload_digest.py, FORMAT.md §4.1) --

const subtle = () => globalThis.crypto?.subtle;

/** SHA-256 of a buffer, natively (WebCrypto); resolves to the 32 bytes. */
export async function sha256Bytes(bytes) {
  return new Uint8Array(await subtle().digest("SHA-256", bytes));
}

/**
 * SHA-256 (hex) of a whole File or Blob, for the tip manifest. WebCrypto only
 * hashes whole buffers, so the file is read into memory once (at most the
 * attachment limit) and released; where that fails, or WebCrypto is missing,
 * the file is hashed as a stream in JS: slower, never wrong.
 */
export async function fileSha256(blob) {
  if (subtle()) {
    let buffer = null;
    try {
      buffer = await blob.arrayBuffer();
    } catch {
      buffer = null; // too large for this device's memory: stream it instead
    }
    if (buffer !== null) return bytesToHex(await sha256Bytes(buffer));
  }
  const hash = sha256.create();
  for (const reader = blob.stream().getReader(); ;) {
    const { done, value } = await reader.read();
    if (done) return bytesToHex(hash.digest());
    hash.update(toBytes(value));
  }
}

/** The digest an upload declares: SHA-256 over its chunks' SHA-256 digests, in order (hex). */
export async function chunkListSha256(chunkDigests) {
  const joined = new Uint8Array(32 * chunkDigests.length);
  chunkDigests.forEach((d, i) => {
    if (!(d instanceof Uint8Array) || d.length !== 32) throw new TipboxError("a chunk digest is 32 bytes");
    joined.set(d, 32 * i);
  });
  return bytesToHex(await sha256Bytes(joined));
}

export function randomId() {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
}

// --- Receipt-derived keys (crypto/receipt_keys.py, FORMAT.md §12) -----------

const RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RECEIPT_LENGTH = 20;
const RECEIPT_MISTYPES = { O: "0", I: "1", L: "1", U: "V", "-": "", " ": "" };
const RECEIPT_SALT = new TextEncoder().encode("tipbox/receipt/v1");
// Python's str.strip() set (str.isspace), which differs from String.prototype.trim's.
const PY_STRIP = /^[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** Canonical form of a typed receipt (tipbox/receipts.py normalise), or null. */
export function normaliseReceipt(receipt) {
  if (typeof receipt !== "string") return null;
  // Python's str.strip(), then str.upper() (both full Unicode case mappings).
  const cleaned = [...receipt.replace(PY_STRIP, "").toUpperCase()].map((c) => RECEIPT_MISTYPES[c] ?? c).join("");
  if (cleaned.length !== RECEIPT_LENGTH || [...cleaned].some((c) => !RECEIPT_ALPHABET.includes(c))) return null;
  return cleaned;
}

/**
 * The source's age identity and recipient and the lookup key, from a receipt.
 * Resolves to {identity, recipient, lookup}; rejects with TipboxError for a
 * string that is not a receipt. Pure JS (HKDF-SHA256 from @noble/hashes).
 */
export async function deriveReceiptKeys(receipt) {
  const canonical = normaliseReceipt(receipt);
  if (canonical === null) throw new TipboxError("not a valid receipt code");
  const ikm = new TextEncoder().encode(canonical);
  const derive = (info) => hkdf(sha256, ikm, RECEIPT_SALT, new TextEncoder().encode(info), 32);
  const identity = bech32.encodeFromBytes("AGE-SECRET-KEY-", derive("source-identity")).toUpperCase();
  return { identity, recipient: await identityToRecipient(identity), lookup: bytesToHex(derive("lookup")) };
}

/**
 * A new receipt code, made on this device: 20 Crockford base32 characters
 * (100 random bits) from crypto.getRandomValues, as XXXX-XXXX-XXXX-XXXX-XXXX.
 * Uniform: 256 is a multiple of 32, so the low five bits of a byte are unbiased.
 */
export function newReceipt() {
  const bytes = crypto.getRandomValues(new Uint8Array(RECEIPT_LENGTH));
  const chars = Array.from(bytes, (b) => RECEIPT_ALPHABET[b & 31]).join("");
  bytes.fill(0);
  return chars.match(/.{4}/g).join("-");
}

// --- Conversation messages v1 (crypto/messages.py, FORMAT.md §13) -----------

export const MESSAGE_VERSION = 1;
export const MAX_MESSAGE_TEXT_CHARS = 20000;
const MESSAGE_SEALED_BY = { reply: ["reviewer"], followup: ["browser", "server"] };

/** Check a document against message v1, as crypto.messages.validate does. */
export function validateMessage(doc) {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new TipboxError("message is not a JSON object");
  if (!isInt(doc.v)) throw new TipboxError("message has no integer version");
  if (doc.v !== MESSAGE_VERSION) throw new TipboxError("unsupported message version");
  if (doc.type !== "tipbox-message") throw new TipboxError("not a tipbox message");
  const allowed = Object.prototype.hasOwnProperty.call(MESSAGE_SEALED_BY, doc.kind) ? MESSAGE_SEALED_BY[doc.kind] : null;
  if (allowed === null) throw new TipboxError("message kind must be 'reply' or 'followup'");
  if (!allowed.includes(doc.sealed_by)) throw new TipboxError(`a ${doc.kind} cannot be sealed by that sealer`);
  if (!["id", "en"].includes(doc.lang)) throw new TipboxError("message language must be 'id' or 'en'");
  const { text, attachments } = doc;
  // Python counts code points (len) and strips its own whitespace set (str.isspace).
  if (typeof text !== "string" || text.replace(PY_STRIP, "") === "" || [...text].length > MAX_MESSAGE_TEXT_CHARS) {
    throw new TipboxError(`message text must be 1 to ${MAX_MESSAGE_TEXT_CHARS} characters`);
  }
  if (!Array.isArray(attachments)) throw new TipboxError("message attachments must be a list");
  attachments.forEach(checkAttachment);
  if (new Set(attachments.map((a) => a.id)).size !== attachments.length) throw new TipboxError("attachment ids must be unique");
  if (doc.kind === "reply" && attachments.length) throw new TipboxError("replies carry no attachments");
  return doc;
}

/** Assemble and validate a message; the text is normalised as crypto.messages.build does (LF, stripped). */
export function buildMessage(kind, text, { lang, sealedBy, attachments = [] } = {}) {
  return validateMessage({
    v: MESSAGE_VERSION,
    type: "tipbox-message",
    kind,
    lang,
    sealed_by: sealedBy,
    text: typeof text === "string" ? text.replace(/\r\n/g, "\n").replace(PY_STRIP, "") : text,
    attachments: attachments.map((a) => ({ ...a })),
  });
}

export function encodeMessage(doc) {
  const data = new TextEncoder().encode(canonicalJSON(validateMessage(doc)));
  if (data.length > MAX_PAYLOAD_BYTES) throw new TipboxError("message too large");
  return data;
}

/** Canonical JSON, Padmé padding, one age file: exactly like sealTip. */
export async function sealMessage(doc, recipients) {
  return seal(pad(encodeMessage(doc)), recipients);
}

/**
 * Open a sealed message with an age identity string (e.g. deriveReceiptKeys(receipt).identity),
 * unpad and validate it; with `kind`, refuse any other kind. Rejects with TipboxError
 * (wrong key, tampering, bad padding or an invalid document).
 */
export async function openMessage(sealed, identity, kind) {
  let framed;
  try {
    framed = await openBytes(toBytes(sealed), Array.isArray(identity) ? identity : [identity]);
  } catch (err) {
    throw err instanceof TipboxError ? err : new TipboxError(`message could not be opened: ${err && err.message}`);
  }
  const data = unpad(framed);
  if (data.length > MAX_PAYLOAD_BYTES) throw new TipboxError("message too large");
  let doc;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch {
    throw new TipboxError("message is not UTF-8 JSON");
  }
  validateMessage(doc);
  if (kind !== undefined && kind !== null && doc.kind !== kind) throw new TipboxError(`expected a ${kind}, found a ${doc.kind}`);
  return doc;
}
