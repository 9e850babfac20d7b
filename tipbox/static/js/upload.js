/* tipbox upload: the JSON API client and the sealed, chunked, retried upload
 * shared by the tip form (form.js) and the status page's follow-up form (status.js).
 *
 * Loaded after sealer.js and before the page's own script. Defines
 * window.TipboxUpload; does nothing by itself.
 */
(function () {
  "use strict";

  var CHUNK_RETRIES = 4;

  /** A client for one page: every call carries the CSRF token; failures carry `status` and `fatal`. */
  function client(csrf, failedMessage) {
    function api(method, url, body, token, contentType) {
      var headers = { "X-CSRFToken": csrf };
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

    // Read a ciphertext stream and PUT it in fixed-size chunks; return its size and SHA-256.
    function uploadStream(stream, url, token, chunkBytes, onBytes) {
      var Sealer = window.TipboxSealer;
      var reader = stream.getReader();
      var hasher = Sealer.createSha256();
      var buffer = new Uint8Array(chunkBytes);
      var filled = 0, seq = 0, total = 0;
      function flush() {
        if (filled === 0 && seq > 0) return Promise.resolve();
        var piece = buffer.slice(0, filled);
        var n = seq++;
        filled = 0;
        return withRetries(function () {
          return api("PUT", url + "/chunks/" + n, piece, token, "application/octet-stream");
        }).then(function () { onBytes(piece.length); });
      }
      function pump() {
        return reader.read().then(function (result) {
          if (result.done) return flush();
          hasher.update(result.value);
          total += result.value.length;
          return pumpBytes(result.value).then(pump);
        });
      }
      function pumpBytes(data) {
        var offset = 0;
        while (offset < data.length) {
          var take = Math.min(chunkBytes - filled, data.length - offset);
          buffer.set(data.subarray(offset, offset + take), filled);
          filled += take;
          offset += take;
          if (filled === chunkBytes) {
            var rest = data.subarray(offset);
            return flush().then(function () { return pumpBytes(rest); });
          }
        }
        return Promise.resolve();
      }
      return pump().then(function () { return { size: total, sha256: hasher.hex() }; }, function (error) {
        reader.cancel(error).catch(function () {});
        throw error;
      });
    }

    /**
     * Seal each file to `recipients` and upload it under `base` (".../<upload id>"),
     * one after the other; resolves to the manifest entries for the sealed document.
     */
    function uploadFiles(base, upload, files, recipients, onBytes) {
      var Sealer = window.TipboxSealer;
      var manifest = [];
      return files.reduce(function (chain, file) {
        return chain.then(function () {
          var id = Sealer.randomId();
          var sealed = Sealer.sealAttachment(file, recipients);
          var url = base + "/attachments/" + id;
          return uploadStream(sealed.ciphertext, url, upload.token, upload.chunk_bytes, onBytes).then(function (cipher) {
            return postJSON(url + "/complete", cipher, upload.token);
          }).then(function () { return sealed.digest; }).then(function (digest) {
            manifest.push({ id: id, name: file.name, type: file.type || "application/octet-stream",
                            size: digest.size, sha256: digest.sha256 });
          });
        });
      }, Promise.resolve()).then(function () { return manifest; });
    }

    return { api: api, postJSON: postJSON, uploadStream: uploadStream, uploadFiles: uploadFiles };
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
