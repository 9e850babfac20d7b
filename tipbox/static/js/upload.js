/* tipbox upload: the JSON API client and the sealed, chunked, retried upload
 * shared by the tip form (form.js) and the status page's follow-up form (status.js).
 *
 * Loaded after sealer.js and before the page's own script. Defines
 * window.TipboxUpload; does nothing by itself.
 */
(function () {
  "use strict";

  var CHUNK_RETRIES = 4;
  // Chunks on the wire at once while the next is sealed: enough to hide a Tor round trip
  // behind the upload, few enough to keep memory at a few MiB.
  var WINDOW = 2;

  /** A client for one page: every call carries the CSRF token; failures carry `status` and `fatal`. */
  function client(csrf, failedMessage) {
    function api(method, url, body, token, contentType, extraHeaders) {
      var headers = Object.assign({ "X-CSRFToken": csrf }, extraHeaders || {});
      if (token) headers["X-Upload-Token"] = token;
      if (contentType) headers["Content-Type"] = contentType;
      return fetch(url, { method: method, headers: headers, body: body, credentials: "same-origin",
                          cache: "no-store", referrerPolicy: "no-referrer" })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (data) {
            if (!response.ok) {
              var error = new Error(data.message || failedMessage);
              error.status = response.status;
              error.code = data.error;
              error.fatal = response.status >= 400 && response.status < 500 && response.status !== 408 &&
                response.status !== 429;
              throw error;
            }
            return data;
          });
        });
    }

    function postJSON(url, value, token) {
      return api("POST", url, JSON.stringify(value), token, "application/json");
    }

    /**
     * Read a ciphertext stream and PUT it in chunks of `chunkBytes`, sealing ahead: while up to
     * WINDOW chunks are on the wire the next one is sealed, so memory stays at a few chunks.
     * Each chunk carries its SHA-256 (WebCrypto, Content-Digest); the last one waits for the
     * others' answers and closes the attachment (Tipbox-Complete: size and the chunk-list
     * digest, FORMAT.md §4.1). Resolves to the last chunk's answer ({completed, received}).
     */
    function uploadStream(stream, url, token, chunkBytes, onBytes) {
      var Sealer = window.TipboxSealer;
      var reader = stream.getReader();
      var carry = null;
      var digests = [];
      var inFlight = [];
      var seq = 0, total = 0;

      // The next chunk, and whether it is the last: one more piece is peeked to know.
      function readChunk() {
        var out = new Uint8Array(chunkBytes);
        var filled = 0;
        function fill() {
          if (carry && carry.length) {
            var take = Math.min(chunkBytes - filled, carry.length);
            out.set(carry.subarray(0, take), filled);
            filled += take;
            carry = carry.subarray(take);
          }
          if (filled === chunkBytes && carry && carry.length) return Promise.resolve({ bytes: out, last: false });
          return reader.read().then(function (result) {
            if (result.done) return { bytes: out.subarray(0, filled), last: true };
            carry = result.value;
            return fill();
          });
        }
        return fill();
      }
      function put(n, bytes, headers) {
        return withRetries(function () {
          return api("PUT", url + "/chunks/" + n, bytes, token, "application/octet-stream", headers);
        });
      }
      function settle(promise) {
        var entry = promise.then(function () { inFlight.splice(inFlight.indexOf(entry), 1); });
        entry.catch(function () {}); // reported once, through the race or the last chunk's wait
        inFlight.push(entry);
      }
      function next() {
        return readChunk().then(function (chunk) {
          var bytes = chunk.bytes;
          var n = seq++;
          total += bytes.length;
          return Sealer.sha256Bytes(bytes).then(function (digest) {
            digests.push(digest);
            var headers = { "Content-Digest": "sha-256=:" + toBase64(digest) + ":" };
            if (chunk.last) {
              // Every earlier chunk must be stored before the last one can close the attachment.
              return Promise.all(inFlight).then(function () { return Sealer.chunkListSha256(digests); })
                .then(function (listed) {
                  headers["Tipbox-Complete"] = "size=" + total + ", chunks-sha256=" + listed;
                  return put(n, bytes, headers);
                }).then(function (answer) { onBytes(bytes.length); return answer; });
            }
            settle(put(n, bytes, headers).then(function () { onBytes(bytes.length); }));
            // A failed chunk rejects the race, and so the whole upload, as soon as it is noticed.
            return (inFlight.length >= WINDOW ? Promise.race(inFlight) : Promise.resolve()).then(next);
          });
        });
      }
      return next().catch(function (error) {
        reader.cancel(error).catch(function () {});
        throw error;
      });
    }

    /** The manifest entries of `files` (ids chosen here), hashed natively, before anything is sealed. */
    function describeFiles(files) {
      var Sealer = window.TipboxSealer;
      return files.reduce(function (chain, file) {
        return chain.then(function (entries) {
          return Sealer.fileSha256(file).then(function (sha256) {
            return entries.concat([{ id: Sealer.randomId(), name: file.name, type: file.type || "application/octet-stream",
                                     size: file.size, sha256: sha256 }]);
          });
        });
      }, Promise.resolve([]));
    }

    /**
     * Seal each file to `recipients` and upload it under `base` (".../<upload id>") as the
     * attachment `entries[i].id`, one after the other; resolves to the last answer.
     */
    function uploadFiles(base, token, chunkBytes, files, entries, recipients, onBytes) {
      var Sealer = window.TipboxSealer;
      return files.reduce(function (chain, file, i) {
        return chain.then(function () {
          var sealed = Sealer.sealAttachment(file, recipients, { hashContent: false });
          var url = base + "/attachments/" + entries[i].id;
          return uploadStream(sealed.ciphertext, url, token, chunkBytes, onBytes).then(function (answer) {
            return sealed.digest.then(function (digest) {
              // The file must not have changed between hashing and sealing.
              if (digest.size !== entries[i].size) throw new Error("file changed while it was being sent");
              return answer;
            });
          });
        });
      }, Promise.resolve({ received: false }));
    }

    return { api: api, postJSON: postJSON, uploadStream: uploadStream, describeFiles: describeFiles,
             uploadFiles: uploadFiles };
  }

  function withRetries(attempt) {
    var tries = 0;
    function run() {
      return attempt().catch(function (error) {
        tries += 1;
        if (error.fatal || tries >= CHUNK_RETRIES) throw error;
        return new Promise(function (resolve) { setTimeout(resolve, 1000 * tries); }).then(run);
      });
    }
    return run();
  }

  function toBase64(bytes) {
    var parts = [];
    for (var i = 0; i < bytes.length; i += 0x8000) {
      parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)));
    }
    return btoa(parts.join(""));
  }

  function fromBase64(text) {
    var binary = atob(text);
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }

  /** Check chosen files against the page's limits; returns an error key or null, and the padded total. */
  function checkFiles(files, limits) {
    if (files.length > Number(limits.maxAttachments)) return { error: "tooMany" };
    var total = 0;
    for (var i = 0; i < files.length; i++) {
      if (files[i].size > Number(limits.maxAttachmentBytes)) return { error: "tooLarge" };
      total += window.TipboxSealer.paddedLength(files[i].size);
    }
    return { error: null, paddedTotal: total };
  }

  /** Whether this browser can seal: the sealer loaded and WebCrypto is there (secure context). */
  function capable() {
    return !!(window.TipboxSealer && window.fetch && window.ReadableStream && window.crypto &&
      window.crypto.getRandomValues && window.crypto.subtle);
  }

  window.TipboxUpload = {
    client: client, withRetries: withRetries, toBase64: toBase64, fromBase64: fromBase64,
    checkFiles: checkFiles, capable: capable,
  };
})();
