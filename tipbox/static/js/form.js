/* tipbox form: seal the tip and its attachments in the browser, upload ciphertext only.
 *
 * Progressive enhancement: without JavaScript (or if the sealer did not load)
 * the form posts normally and the server seals it in memory. With it, nothing
 * readable leaves this page: answers are serialised exactly as the server's
 * no-JS path would (tipbox/intake/fields.py), padded, sealed to every reviewer
 * key, and sent in chunks that can be retried one by one.
 */
(function () {
  "use strict";

  var form = document.getElementById("tip-form");
  if (!form) return;
  var province = document.getElementById("province");
  var regency = document.getElementById("regency");

  // Show only the regencies of the chosen province (the no-JS form lists all, grouped).
  function filterRegencies() {
    var code = province.value;
    Array.prototype.forEach.call(regency.querySelectorAll("optgroup"), function (group) {
      var show = !code || group.getAttribute("data-province") === code;
      group.hidden = !show;
      group.disabled = !show;
    });
    var chosen = regency.selectedOptions[0];
    if (chosen && chosen.parentNode.disabled) regency.value = "";
  }
  if (province && regency) {
    province.addEventListener("change", filterRegencies);
    regency.addEventListener("change", function () {
      var chosen = regency.selectedOptions[0];
      if (chosen && chosen.parentNode.tagName === "OPTGROUP" && !province.value) {
        province.value = chosen.parentNode.getAttribute("data-province");
        filterRegencies();
      }
    });
    filterRegencies();
  }

  var Sealer = window.TipboxSealer;
  // age-encryption needs WebCrypto, which browsers only offer on https, .onion and
  // localhost pages; elsewhere the plain post (sealed by the server) is the honest fallback.
  var capable = Sealer && window.fetch && window.ReadableStream && window.crypto &&
    window.crypto.getRandomValues && window.crypto.subtle;
  if (!capable) return; // fall back to the server-sealed post

  var d = form.dataset;
  var progress = document.getElementById("progress");
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var retry = document.getElementById("retry");
  var submit = document.getElementById("submit");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var CHUNK_RETRIES = 4;

  function status(message, percent) {
    progress.hidden = false;
    text.textContent = message;
    if (percent !== undefined) bar.value = Math.max(0, Math.min(100, percent));
  }

  function clean(value) {
    var v = value.replace(/\r\n/g, "\n").trim();
    return v === "" ? null : v;
  }

  // Mirror of tipbox/intake/fields.py parse_answers().
  function collectAnswers() {
    var answers = {};
    Array.prototype.forEach.call(form.querySelectorAll("[data-field]"), function (el) {
      var name = el.getAttribute("data-field");
      var kind = el.getAttribute("data-kind");
      if (kind === "multi") {
        answers[name] = Array.prototype.map.call(el.querySelectorAll("input:checked"), function (i) { return i.value; });
      } else if (kind === "choice" && el.tagName === "FIELDSET") {
        var picked = el.querySelector("input:checked");
        answers[name] = picked ? picked.value : null;
      } else if (kind === "choice") {
        answers[name] = el.value || null;
      } else if (kind === "int") {
        answers[name] = el.value.trim() === "" ? null : parseInt(el.value, 10);
      } else if (kind === "lines") {
        answers[name] = (clean(el.value) || "").split("\n").map(function (l) { return l.trim(); })
          .filter(function (l) { return l !== ""; });
      } else if (kind === "bool") {
        answers[name] = el.checked;
      } else {
        answers[name] = clean(el.value);
      }
    });
    return answers;
  }

  function api(method, url, body, token, contentType) {
    var headers = { "X-CSRFToken": csrf };
    if (token) headers["X-Upload-Token"] = token;
    if (contentType) headers["Content-Type"] = contentType;
    return fetch(url, { method: method, headers: headers, body: body, credentials: "same-origin",
                        cache: "no-store", referrerPolicy: "no-referrer" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) {
            var error = new Error(data.message || d.msgFailed);
            error.status = response.status;
            error.fatal = response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
            throw error;
          }
          return data;
        });
      });
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

  // Read a ciphertext stream and PUT it in fixed-size chunks; return its size and SHA-256.
  function uploadStream(stream, url, token, chunkBytes, onBytes) {
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
    return pump().then(function () { return { size: total, sha256: hasher.hex() }; });
  }

  function send() {
    var answers = collectAnswers();
    if (!answers.description) {
      status(d.msgRequired);
      document.getElementById("description").focus();
      return Promise.resolve();
    }
    var files = Array.prototype.slice.call(document.getElementById("attachments").files || []);
    if (files.length > Number(d.maxAttachments)) { status(d.msgTooMany); return Promise.resolve(); }
    var totalBytes = 0;
    for (var i = 0; i < files.length; i++) {
      if (files[i].size > Number(d.maxAttachmentBytes)) { status(d.msgTooLarge); return Promise.resolve(); }
      totalBytes += Sealer.paddedLength(files[i].size);
    }
    var sent = 0;
    var grandTotal = totalBytes + 1;
    submit.disabled = true;
    retry.hidden = true;
    status(d.msgSealing, 0);

    var recipients, fingerprint, upload;
    return api("GET", d.keys).then(function (keys) {
      recipients = keys.manifest.body.reviewers.map(function (r) { return r.recipient; });
      fingerprint = keys.fingerprint;
      return api("POST", d.api, null);
    }).then(function (opened) {
      upload = opened;
      var base = d.api + "/" + upload.tip_id;
      var manifest = [];
      return files.reduce(function (chain, file) {
        return chain.then(function () {
          var id = Sealer.randomId();
          var sealed = Sealer.sealAttachment(file, recipients);
          var url = base + "/attachments/" + id;
          return uploadStream(sealed.ciphertext, url, upload.token, upload.chunk_bytes, function (n) {
            sent += n;
            status(d.msgUploading, 100 * sent / grandTotal);
          }).then(function (cipher) {
            return api("POST", url + "/complete", JSON.stringify(cipher), upload.token, "application/json");
          }).then(function () { return sealed.digest; }).then(function (digest) {
            manifest.push({ id: id, name: file.name, type: file.type || "application/octet-stream",
                            size: digest.size, sha256: digest.sha256 });
          });
        });
      }, Promise.resolve()).then(function () {
        status(d.msgFinishing, 100 * sent / grandTotal);
        var doc = Sealer.buildPayload({ answers: answers, lang: d.lang, sealedBy: "browser", attachments: manifest });
        return Sealer.sealTip(doc, recipients);
      }).then(function (sealedTip) {
        var body = JSON.stringify({ payload: toBase64(sealedTip), attachments: manifest.map(function (m) { return m.id; }),
                                    key_fingerprint: fingerprint });
        return api("POST", base + "/finalize", body, upload.token, "application/json");
      });
    }).then(function (done) {
      if (!done) return;
      status(d.msgFinishing, 100);
      form.reset();
      // Only the receipt stays on screen: nothing of the report remains in the page.
      Array.prototype.forEach.call(document.querySelectorAll("main > .card"), function (el) { el.hidden = true; });
      form.hidden = true;
      var receipt = document.getElementById("js-receipt");
      document.getElementById("js-receipt-code").textContent = done.receipt;
      receipt.hidden = false;
      receipt.scrollIntoView();
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send().catch(function (error) {
      // Server errors carry a translated message; anything else (network, sealing) gets ours.
      status(error.status ? error.message : d.msgFailed);
      retry.hidden = false;
      submit.disabled = false;
    });
  });
  retry.addEventListener("click", function () {
    form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
  });
})();
