/* tipbox page safety: the quick exit, one history entry, and a receipt that is not lost by accident.
 *
 * Loaded on every page (base.html). Everything here is an enhancement of
 * plain links, so the page works the same without JavaScript, only less
 * carefully (tipbox/page_safety.py says what each path does):
 *
 * - "Keluar cepat / Quick exit" empties the page and goes to the operator's
 *   neutral site with location.replace(), so Back does not bring this page back.
 * - Links inside tipbox replace the current history entry too: the tab's
 *   history then holds at most one tipbox page, and after a quick exit Back
 *   leads to whatever was open before tipbox, not to another tipbox page.
 * - While a report or message is typed but not sent (a form marked
 *   data-typed-guard), the browser asks before the page is left: the text
 *   would otherwise be gone (a replaced entry cannot be gone back to). The
 *   quick exit never asks.
 * - While a receipt is on screen and the source has not ticked "I have written
 *   down my code", every way off the page asks first: our own dialog for links
 *   (and the quick exit), the browser's beforeunload prompt for Back, reload,
 *   closing the tab or typing an address.
 */
(function () {
  "use strict";

  var guarded = false;
  var pending = null; // { href, quick } while the leave dialog is open
  var dialog = document.getElementById("leave-dialog");

  function holdPage(event) {
    event.preventDefault();
    event.returnValue = ""; // older browsers need a value to prompt
    return "";
  }

  var typed = false;
  function holdTyped(event) { return holdPage(event); } // its own listener: guard() must not remove it

  function keepTyped(on) {
    if (on === typed) return;
    typed = on;
    if (on) window.addEventListener("beforeunload", holdTyped);
    else window.removeEventListener("beforeunload", holdTyped);
  }

  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (form && form.hasAttribute("data-typed-guard")) keepTyped(true);
  });
  document.addEventListener("submit", function () { keepTyped(false); }); // sending is not losing

  function guard(on) {
    if (on === guarded) return;
    guarded = on;
    if (on) window.addEventListener("beforeunload", holdPage);
    else window.removeEventListener("beforeunload", holdPage);
  }

  function go(href, quick) {
    guard(false);
    if (quick) keepTyped(false);
    if (quick) {
      // Nothing of this page stays on screen (or in the tab switcher) while the next one loads.
      document.title = "";
      document.body.textContent = "";
    }
    window.location.replace(href);
  }

  function ask(href, quick) {
    if (!dialog || typeof dialog.showModal !== "function") {
      var words = dialog ? dialog.querySelector("#leave-text") : null;
      if (window.confirm(words ? words.textContent : "")) go(href, quick);
      return;
    }
    pending = { href: href, quick: quick };
    dialog.classList.toggle("quick", quick); // the leave button then says "Leave now"
    dialog.showModal();
  }

  if (dialog) {
    dialog.querySelector("#leave-stay").addEventListener("click", function () { dialog.close(); });
    dialog.querySelector("#leave-go").addEventListener("click", function () {
      var target = pending;
      pending = null;
      dialog.close();
      if (target) go(target.href, target.quick);
    });
    dialog.addEventListener("close", function () { pending = null; });
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey ||
        event.altKey) return; // a new tab or window leaves this page where it is
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link) return;
    var quick = link.hasAttribute("data-quick-exit");
    var url;
    try {
      url = new URL(link.href, window.location.href);
    } catch (e) {
      return;
    }
    if (!quick && url.origin !== window.location.origin) return; // tel: numbers and the like stay plain
    event.preventDefault();
    // The receipt page's own "Leave now" is the confirmation already.
    if (guarded && !link.hasAttribute("data-confirmed-exit")) ask(url.href, quick);
    else go(url.href, quick);
  });

  // A receipt is on screen: keep it until the source says it is written down.
  function protectReceipt(section) {
    if (!section) return;
    var written = section.querySelector("[data-receipt-confirm]");
    var box = written ? written.querySelector("input[type=checkbox]") : null;
    if (box) {
      box.checked = false;
      box.addEventListener("change", function () { guard(!box.checked); });
      written.hidden = false;
    }
    guard(true);
  }

  window.TipboxSafety = { protectReceipt: protectReceipt };

  // The server-made receipt (no JavaScript needed to read it) is guarded at once when scripts do run.
  var shown = document.querySelector("[data-receipt-guard]:not([hidden])");
  if (shown) protectReceipt(shown);
})();
