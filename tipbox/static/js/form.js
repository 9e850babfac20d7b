/* tipbox form: seal the tip and its attachments in the browser, upload ciphertext only.
 *
 * Progressive enhancement: without JavaScript (or if the sealer did not load)
 * the form posts normally and the server seals it in memory. With it, nothing
 * readable leaves this page: answers are serialised exactly as the server's
 * no-JS path would (tipbox/intake/fields.py), padded, sealed to every reviewer
 * key, and sent in chunks that can be retried one by one (tipbox/static/js/upload.js).
 * The receipt code is made here too, at the end: the server gets only the
 * source's age recipient and lookup key derived from it, never the code.
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
    province.addEventListener("change", function () {
      // Choosing "no province" means no region: a kabupaten/kota left chosen would still imply its province.
      if (!province.value) regency.value = "";
      filterRegencies();
    });
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
  var Upload = window.TipboxUpload;
  var category = document.getElementById("category");
  var urgentBox = document.getElementById("urgent");
  var readersLine = document.getElementById("readers");

  // Who can read the report, routed here exactly as the server would (crypto/routing.py, FORMAT.md §14)
  // over the published channels; the server is told only the outcome, never the answers behind it.
  var channels = JSON.parse(form.dataset.channels || "[]");
  var knownRegions = new Set();
  Array.prototype.forEach.call(document.querySelectorAll("#province option, #regency option"), function (o) {
    if (o.value) knownRegions.add(o.value);
  });
  function currentRoute() {
    if (!Sealer || !Sealer.route) return null;
    try {
      return Sealer.route(channels, province.value, regency.value, category.value, { knownRegions: knownRegions });
    } catch (error) {
      return null; // NoChannel: nobody could read it; the server refuses such a report too
    }
  }
  // Whom a tip for these readers is sealed to: every reviewer of every one of them, each once.
  function recipientsOf(readers) {
    var all = new Set();
    readers.forEach(function (c) { c.recipients.forEach(function (r) { all.add(r); }); });
    return Array.from(all).sort();
  }
  // The same markup as templates/_macros.html readers_list: one team per line.
  function fillReaders(box, readers) {
    box.textContent = "";
    var title = document.createElement("p");
    title.className = "readers-title";
    title.textContent = form.dataset.msgReaders;
    var list = document.createElement("ul");
    list.className = "reader-names";
    readers.forEach(function (c) {
      var item = document.createElement("li");
      item.textContent = c.name;
      list.appendChild(item);
    });
    box.appendChild(title);
    box.appendChild(list);
  }
  function showReaders() {
    if (!readersLine || !Sealer || !Sealer.route) return;
    var routed = currentRoute();
    if (routed) { fillReaders(readersLine, routed.readers); return; }
    readersLine.textContent = "";
    var none = document.createElement("p");
    none.textContent = form.dataset.msgNoReaders;
    readersLine.appendChild(none);
  }
  [province, regency, category].forEach(function (el) { if (el) el.addEventListener("change", showReaders); });
  showReaders();

  // age-encryption needs WebCrypto, which browsers only offer on https, .onion and
  // localhost pages; elsewhere the plain post (sealed by the server) is the honest fallback.
  if (!Upload || !Upload.capable()) return; // fall back to the server-sealed post

  var d = form.dataset;
  var progress = document.getElementById("progress");
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var retry = document.getElementById("retry");
  var submit = document.getElementById("submit");
  var client = Upload.client(form.querySelector("input[name=csrf_token]").value, d.msgFailed);

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
        // Only this field's own boxes: "alert the team now" sits beside the danger boxes but is no answer.
        answers[name] = Array.prototype.map.call(el.querySelectorAll("input[name='" + name + "']:checked"),
                                                 function (i) { return i.value; });
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

  // The code as the server-rendered receipt shows it (templates/_macros.html code_groups):
  // a line may break after a dash, never inside a group; copying gives the code unchanged.
  function showCode(box, code) {
    box.textContent = "";
    code.split("-").forEach(function (group, i, groups) {
      var span = document.createElement("span");
      span.className = "code-group";
      span.textContent = group + (i < groups.length - 1 ? "-" : "");
      box.appendChild(span);
      if (i < groups.length - 1) box.appendChild(document.createElement("wbr"));
    });
  }

  function send() {
    var answers = collectAnswers();
    if (!answers.description) {
      status(d.msgRequired);
      document.getElementById("description").focus();
      return Promise.resolve();
    }
    var files = Array.prototype.slice.call(document.getElementById("attachments").files || []);
    var checked = Upload.checkFiles(files, d);
    if (checked.error === "tooMany") { status(d.msgTooMany); return Promise.resolve(); }
    if (checked.error === "tooLarge") { status(d.msgTooLarge); return Promise.resolve(); }
    var sent = 0;
    var grandTotal = checked.paddedTotal + 1;
    submit.disabled = true;
    retry.hidden = true;
    status(d.msgSealing, 0);

    var routed = currentRoute();
    if (!routed) { status(d.msgNoReaders); submit.disabled = false; return Promise.resolve(); }
    var readers = routed.readers;
    // Sealed here before anything is sent, to the reviewers the page publishes for these teams
    // (the server refuses the tip if they changed since: keys_changed), so that the first request
    // carries the whole sealed report: one round trip without attachments (FORMAT.md §4.1).
    var recipients = recipientsOf(readers);
    var receipt, opened, base;
    return client.describeFiles(files).then(function (manifest) {
      var doc = Sealer.buildPayload({ answers: answers, lang: d.lang, sealedBy: "browser", attachments: manifest });
      // The receipt is made here, on this device: the server only ever sees the
      // source's public age recipient and the lookup key derived from it (FORMAT.md §12).
      receipt = Sealer.newReceipt();
      return Promise.all([Sealer.sealTip(doc, recipients), Sealer.deriveReceiptKeys(receipt), manifest]);
    }).then(function (parts) {
      var manifest = parts[2];
      var body = { channels: readers.map(function (c) { return c.id; }), recipients: recipients,
                   payload: Upload.toBase64(parts[0]), attachments: manifest.map(function (m) { return m.id; }),
                   source_recipient: parts[1].recipient, lookup: parts[1].lookup,
                   // Told to the server only if the source ticked it (tipbox/notify/).
                   urgent: !!(urgentBox && urgentBox.checked) };
      status(files.length ? d.msgUploading : d.msgFinishing, 100 / grandTotal);
      // Retried as is if the answer is lost: the server recognises the same tip (lookup key and
      // payload) and answers again instead of storing it twice.
      return Upload.withRetries(function () { return client.postJSON(d.api + "/sealed", body); }).then(function (answer) {
        opened = answer;
        if (opened.received) return opened;
        base = d.api + "/" + opened.tip_id;
        return client.uploadFiles(base, opened.token, opened.chunk_bytes, files, manifest, recipients, function (n) {
          sent += n;
          status(d.msgUploading, 100 * sent / grandTotal);
        });
      });
    }).then(function (last) {
      // The last chunk of the last attachment closed it and received the tip; anything else is a bug here.
      if (!last.received) throw new Error("the report was not received");
    }).then(function () {
      status(d.msgFinishing, 100);
      form.reset();
      // Only the receipt stays on screen: nothing of the report remains in the page.
      Array.prototype.forEach.call(document.querySelectorAll("main > .card"), function (el) { el.hidden = true; });
      form.hidden = true;
      var shown = document.getElementById("js-receipt");
      showCode(document.getElementById("js-receipt-code"), receipt);
      var readableBy = document.getElementById("js-readable-by");
      fillReaders(readableBy, readers);
      readableBy.hidden = false;
      receipt = null;
      shown.hidden = false;
      // Leaving now would lose the code for good: safety.js asks first until it is written down.
      if (window.TipboxSafety) window.TipboxSafety.protectReceipt(shown);
      var heading = shown.querySelector("h1");
      heading.focus(); // screen readers start at the receipt, not where the button was
      shown.scrollIntoView();
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
