/* tipbox status page: open the thread on this device, send follow-ups sealed here.
 *
 * Progressive enhancement of status/lookup.html. Without JavaScript, or if the
 * sealer or WebCrypto is missing, the plain form posts the receipt and the
 * server opens the replies in memory (and says so). With it, the receipt never
 * leaves this page: the browser derives the source's age identity and the
 * lookup key (FORMAT.md §12), sends only the lookup key, opens the replies
 * itself (openMessage), and seals follow-ups and their files to the reviewers
 * like a report (upload.js). Decrypted text only ever goes into the page as
 * text (textContent), never as HTML.
 *
 * The identity and the lookup key live only for the duration of one lookup;
 * "Forget this page" empties the page, the receipt field and every variable
 * that still refers to the thread.
 */
(function () {
  "use strict";

  var form = document.getElementById("status-lookup-form");
  if (!form) return;
  var Sealer = window.TipboxSealer;
  var Upload = window.TipboxUpload;
  if (!Upload || !Upload.capable()) return; // the plain post: the server opens the thread

  var d = form.dataset;
  var lookupSection = document.getElementById("status-lookup");
  var threadBox = document.getElementById("status-thread");
  var input = document.getElementById("receipt");
  var submit = document.getElementById("lookup-submit");
  var progress = document.getElementById("lookup-progress");
  var errorBox = document.getElementById("status-error");
  var errorText = document.getElementById("status-error-text");
  var notice = document.getElementById("status-notice");
  var kept = document.getElementById("kept-message");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var client = Upload.client(csrf, d.msgFailed);

  // Everything about the open thread; forget() drops it all.
  var state = null;

  function showError(message) {
    errorText.textContent = message;
    errorBox.hidden = !message;
  }

  // The server's own words for "no such report" and "too many attempts" (the same
  // as the page without JavaScript gives); ours only if the answer had none.
  function lookupMessage(error) {
    if (error && error.status === 404) return error.code === "status_not_found" && error.message ? error.message : d.msgNotFound;
    if (error && error.status === 429) return error.code === "rate_limited" && error.message ? error.message : d.msgRateLimited;
    return d.msgFailed;
  }

  var hourFormat = null;
  function hour(value) {
    if (!value) return "";
    var when = new Date(value);
    if (isNaN(when.getTime())) return "";
    try {
      // The date in the page's language; the time as HH:MM like the server-rendered page
      // (id-ID would write 16.00, the server writes 16:00).
      hourFormat = hourFormat || new Intl.DateTimeFormat(d.lang === "en" ? "en-GB" : "id-ID", {
        day: "numeric", month: "short", year: "numeric", timeZone: "UTC",
      });
      return hourFormat.format(when) + ", " + when.toISOString().slice(11, 16) + " UTC";
    } catch (e) {
      return when.toISOString().slice(0, 16).replace("T", " ") + " UTC";
    }
  }

  function slot(root, name) {
    return root.querySelector("[data-slot='" + name + "']");
  }

  function fromTemplate(id) {
    return document.getElementById(id).content.cloneNode(true);
  }

  function replyItem(reply) {
    var item = fromTemplate("status-reply-template");
    slot(item, "sent").textContent = hour(reply.sent);
    if (reply.sent) slot(item, "sent").setAttribute("datetime", reply.sent);
    var text = slot(item, "text");
    if (typeof reply.text === "string") {
      text.textContent = reply.text; // text, never HTML
      text.hidden = false;
      slot(item, "unreadable").hidden = true;
    } else {
      text.hidden = true;
      slot(item, "unreadable").hidden = false;
    }
    return item;
  }

  function followupItem(followup) {
    var item = fromTemplate("status-followup-template");
    slot(item, "sent").textContent = followup.sent ? hour(followup.sent) : d.msgNow;
    if (followup.sent) slot(item, "sent").setAttribute("datetime", followup.sent);
    slot(item, "attachments").textContent = String(followup.attachments || 0);
    return item;
  }

  function render(data, replies) {
    var page = fromTemplate("status-thread-template");
    slot(page, "received").textContent = hour(data.received);
    slot(page, "status_text").textContent = data.status_text || "";
    var agency = slot(page, "agency");
    agency.hidden = !data.agency_text;
    slot(page, "agency_text").textContent = data.agency_text || "";
    var replyList = slot(page, "replies");
    replies.forEach(function (reply) { replyList.appendChild(replyItem(reply)); });
    slot(page, "no-replies").hidden = replies.length > 0;
    var followups = data.followups || [];
    var followupList = slot(page, "followups");
    followups.forEach(function (f) { followupList.appendChild(followupItem(f)); });
    slot(page, "followups-section").hidden = followups.length === 0;
    slot(page, "access").value = data.access || "";
    threadBox.textContent = "";
    threadBox.appendChild(page);
    threadBox.hidden = false;
    lookupSection.hidden = true;
    var message = document.getElementById("message");
    if (kept && kept.value) {
      message.value = kept.value; // the follow-up that was not sent because the page had expired
      kept.value = "";
      document.getElementById("kept").hidden = true;
    }
    enhanceFollowup(document.getElementById("followup-form"));
    threadBox.querySelector("[data-forget]").addEventListener("submit", function (event) {
      event.preventDefault();
      forget();
    });
    document.getElementById("status-summary").scrollIntoView();
  }

  function lookup() {
    var typed = input.value;
    showError("");
    notice.hidden = true;
    submit.disabled = true;
    progress.textContent = d.msgOpening;
    progress.hidden = false;
    var keys = null;
    // A code that cannot be a receipt is looked up like any other, with a random
    // key: the same request, the same answer and the same rate limit as a wrong code.
    var derive = Sealer.normaliseReceipt(typed) === null
      ? Promise.resolve({ identity: null, lookup: Sealer.randomId() + Sealer.randomId() })
      : Sealer.deriveReceiptKeys(typed);
    return derive.then(function (derived) {
      keys = derived;
      typed = null;
      return client.postJSON(d.apiStatus, { lookup: keys.lookup });
    }).then(function (data) {
      if (!keys.identity) throw Object.assign(new Error(d.msgNotFound), { status: 404 });
      var replies = data.replies || [];
      return Promise.all(replies.map(function (reply) {
        return Sealer.openMessage(Upload.fromBase64(reply.message), keys.identity, "reply").then(function (doc) {
          return { id: reply.id, sent: reply.sent, text: doc.text };
        }, function () {
          return { id: reply.id, sent: reply.sent, text: null };
        });
      })).then(function (opened) {
        keys = null; // the identity is not needed once the replies are open
        input.value = "";
        state = { access: data.access };
        render(data, opened);
      });
    }).catch(function (error) {
      keys = null;
      typed = null;
      showError(lookupMessage(error));
    }).then(function () {
      submit.disabled = false;
      progress.hidden = true;
      progress.textContent = "";
    });
  }

  function forget() {
    state = null;
    threadBox.hidden = true;
    threadBox.textContent = ""; // the replies, the status, the follow-up text
    input.value = "";
    if (kept) kept.value = "";
    showError("");
    form.reset();
    lookupSection.hidden = false;
    notice.hidden = false;
    input.focus();
    // Best effort: the server's answer also asks the browser to drop its cache (Clear-Site-Data).
    var body = new FormData();
    body.append("csrf_token", csrf);
    fetch(d.forget, { method: "POST", body: body, credentials: "same-origin", cache: "no-store",
                      referrerPolicy: "no-referrer" }).catch(function () {});
  }

  // --- follow-ups, sealed here -----------------------------------------------

  function enhanceFollowup(followup) {
    var fd = followup.dataset;
    var message = document.getElementById("message");
    var fileInput = document.getElementById("followup-attachments");
    var button = document.getElementById("followup-submit");
    var box = document.getElementById("followup-progress");
    var bar = document.getElementById("followup-progress-bar");
    var text = document.getElementById("followup-progress-text");
    var retry = document.getElementById("followup-retry");
    var sentNotice = document.getElementById("followup-sent");

    function say(words, percent) {
      box.hidden = false;
      text.textContent = words;
      if (percent !== undefined) bar.value = Math.max(0, Math.min(100, percent));
    }

    function tooBig(files, limits) {
      var checked = Upload.checkFiles(files, limits);
      if (checked.error === "tooMany") return d.msgTooMany;
      if (checked.error === "tooLarge") return d.msgTooLarge;
      return null;
    }

    function send() {
      if (!state) return Promise.resolve();
      var files = Array.prototype.slice.call(fileInput.files || []);
      var doc;
      try {
        // Validates as crypto/messages.py does: 1 to 20,000 characters, not only spaces.
        doc = Sealer.buildMessage("followup", message.value, { lang: d.lang, sealedBy: "browser" });
      } catch (e) {
        say(message.value.trim() ? d.msgTooLong : d.msgRequired);
        message.focus();
        return Promise.resolve();
      }
      if (fd.maxAttachments) {
        var problem = tooBig(files, fd);
        if (problem) { say(problem); return Promise.resolve(); }
      }
      var totalBytes = 1;
      files.forEach(function (f) { totalBytes += Sealer.paddedLength(f.size); });
      var sent = 0;
      button.disabled = true;
      retry.hidden = true;
      sentNotice.hidden = true;
      say(d.msgSealing, 0);
      var upload, base;
      // Opening the upload also says whom to seal to: every reviewer of every team holding the report.
      return client.postJSON(d.apiFollowups, { access: state.access }).then(function (opened) {
        upload = opened;
        var problem = tooBig(files, { maxAttachments: upload.max_attachments, maxAttachmentBytes: upload.max_attachment_bytes });
        if (problem) {
          var error = new Error(problem);
          error.local = true;
          throw error;
        }
        base = d.apiFollowups + "/" + upload.upload_id;
        return client.describeFiles(files);
      }).then(function (manifest) {
        return client.uploadFiles(base, upload.token, upload.chunk_bytes, files, manifest, upload.recipients, function (n) {
          sent += n;
          say(d.msgUploading, 100 * sent / totalBytes);
        }).then(function () { return manifest; });
      }).then(function (manifest) {
        say(d.msgFinishing, 100 * sent / totalBytes);
        var sealedDoc = Sealer.buildMessage("followup", doc.text, { lang: d.lang, sealedBy: "browser", attachments: manifest });
        return Sealer.sealMessage(sealedDoc, upload.recipients).then(function (sealed) {
          var body = {
            payload: Upload.toBase64(sealed),
            attachments: manifest.map(function (m) { return m.id; }),
            key_fingerprint: upload.key_fingerprint,
          };
          // Same body on a retry: the server confirms a finalize it already stored.
          return Upload.withRetries(function () { return client.postJSON(base + "/finalize", body, upload.token); });
        });
      }).then(function () {
        doc = null;
        message.value = "";
        fileInput.value = "";
        box.hidden = true;
        button.disabled = false;
        var list = threadBox.querySelector("[data-slot='followups']");
        list.appendChild(followupItem({ sent: null, attachments: files.length }));
        threadBox.querySelector("[data-slot='followups-section']").hidden = false;
        sentNotice.querySelector("p").textContent = d.msgSent;
        sentNotice.hidden = false;
        sentNotice.scrollIntoView();
      });
    }

    followup.addEventListener("submit", function (event) {
      event.preventDefault();
      send().catch(function (error) {
        var words = error.local ? error.message
          : error.status === 403 ? d.msgExpired
            : error.status === 429 ? d.msgRateLimited
              : error.status ? error.message : d.msgSendFailed;
        say(words);
        retry.hidden = error.status === 403 || !!error.local;
        button.disabled = false;
      });
    });
    retry.addEventListener("click", function () {
      followup.requestSubmit ? followup.requestSubmit() : followup.dispatchEvent(new Event("submit", { cancelable: true }));
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    lookup();
  });
})();
