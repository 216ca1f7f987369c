// Toasts say what went well, and only that: server messages rendered in #toasts, and HTMX
// responses' `HX-Trigger: {"toast": {"message": "..."}}`. Inside an admin App Bridge shows them.
// What failed is a critical banner next to what failed, and it stays until dismissed (Built for
// Shopify 4.2.4): `HX-Trigger: {"failed": {"message": "..."}}` (syncer/htmx.py `failure()`),
// or any error answer without its own message (session-token.js).
(function () {
  "use strict";

  function dismissLater(toast, ms) {
    setTimeout(function () {
      toast.style.opacity = "0";
      setTimeout(function () { toast.remove(); }, 300);
    }, ms);
  }

  function showToast(message) {
    if (window.shopify && window.shopify.toast) {
      window.shopify.toast.show(message);
      return;
    }
    var container = document.getElementById("toasts");
    if (!container) return;
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.setAttribute("role", "status");
    toast.textContent = message;
    container.appendChild(toast);
    dismissLater(toast, 5000);
  }

  // Next to what failed: the top of its card (or form), else the top of the page; `link`
  // ({url, label}) ends it with where to fix it (a boosted link, like the app's own).
  function showFailure(message, element, link) {
    var place = null;
    if (element && element.isConnected && element.closest) {
      place = element.closest("[data-failure-here], .card, form");
    }
    place = place || document.getElementById("page-banners") || document.getElementById("main");
    if (!place) return;
    var old = place.querySelector(":scope > [data-failure]");
    if (old) old.remove();
    var banner = document.createElement("div");
    banner.className = "banner banner-critical";
    banner.setAttribute("role", "alert");
    banner.setAttribute("data-failure", "");
    var text = document.createElement("p");
    text.textContent = message;
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "banner-dismiss";
    dismiss.setAttribute("data-dismiss-banner", "");
    dismiss.setAttribute("aria-label", "Dismiss");
    dismiss.textContent = "\u00d7";
    if (link && link.url) {
      var anchor = document.createElement("a");
      anchor.href = link.url;
      anchor.textContent = link.label || link.url;
      anchor.setAttribute("data-failure-link", "");
      text.appendChild(document.createTextNode(" "));
      text.appendChild(anchor);
    }
    banner.appendChild(text);
    banner.appendChild(dismiss);
    place.insertBefore(banner, place.firstChild);
    if (link && link.url && window.htmx) window.htmx.process(banner);
  }

  window.syncerToast = showToast;
  window.syncerFailure = showFailure;

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(function (toast) {
      if (window.shopify && window.shopify.toast) {
        window.shopify.toast.show(toast.textContent.trim());
        toast.remove();
      } else {
        dismissLater(toast, 5000);
      }
    });
  });

  document.addEventListener("toast", function (event) {
    if (event.detail && event.detail.message) showToast(event.detail.message);
  });
  document.addEventListener("failed", function (event) {
    if (event.detail && event.detail.message) {
      showFailure(event.detail.message, event.target, event.detail.link);
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-dismiss-banner]");
    if (button) button.closest(".banner").remove();
  });
})();

// Copy buttons: <button data-copy="#input-id">
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var field = document.querySelector(button.getAttribute("data-copy"));
  if (!field) return;
  var done = function () { window.syncerToast && window.syncerToast("Store key copied"); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, function () {
      field.select(); document.execCommand("copy"); done();
    });
  } else {
    field.select(); document.execCommand("copy"); done();
  }
});

// Downloads (reports): a plain link would reach the server without a session token inside
// Shopify's iframe, so fetch a fresh one and follow the link with it (?id_token=, valid 60 s;
// the server streams the file as an attachment, the page stays where it is).
document.addEventListener("click", function (event) {
  var link = event.target.closest("a[data-session-download]");
  if (!link || !window.shopify || typeof window.shopify.idToken !== "function") return;
  event.preventDefault();
  window.shopify.idToken().then(function (token) {
    var url = new URL(link.href, window.location.href);
    url.searchParams.set("id_token", token);
    var carrier = document.createElement("a");
    carrier.href = url.toString();
    carrier.setAttribute("download", "");
    carrier.hidden = true;
    document.body.appendChild(carrier);
    carrier.click();
    carrier.remove();
  }, function () {
    window.syncerFailure && window.syncerFailure("Reload the app, then download again.", link);
  });
});

// Bulk selection on an index table (<form data-bulk-form>), as in Shopify admin: the header
// box ticks the page; when more products match the search than the page shows, a banner offers
// all of them, and the form then posts all_matching=on with the tab and search instead of ids
// (the server finds the products again). Actions stay disabled while nothing is selected, and
// their confirmation names the count when they act on every match.
(function () {
  "use strict";

  function refresh(form) {
    var rows = form.querySelectorAll("[data-bulk-row]");
    var allField = form.querySelector("[data-bulk-all]");
    var all = allField.value === "on";
    var ticked = 0;
    rows.forEach(function (box) {
      if (all) box.checked = true;
      if (box.checked) ticked += 1;
    });
    var header = form.querySelector("[data-bulk-page]");
    var wholePage = rows.length > 0 && ticked === rows.length;
    if (header) {
      header.checked = wholePage;
      header.indeterminate = ticked > 0 && !wholePage;
    }
    var banner = form.querySelector("[data-bulk-banner]");
    if (banner) {
      banner.hidden = !wholePage;
      banner.querySelector("[data-bulk-page-note]").hidden = all;
      banner.querySelector("[data-bulk-all-note]").hidden = !all;
    }
    var count = form.querySelector("[data-bulk-count]");
    if (count) {
      count.textContent = all ? "All matching selected" : (ticked ? ticked + " selected" : "");
    }
    form.querySelectorAll("[data-bulk-action]").forEach(function (button) {
      if (!button.hasAttribute("data-confirm-page")) {
        button.setAttribute("data-confirm-page", button.getAttribute("hx-confirm") || "");
      }
      var question = all ? button.getAttribute("data-confirm-all")
                         : button.getAttribute("data-confirm-page");
      if (question) button.setAttribute("hx-confirm", question);
      else button.removeAttribute("hx-confirm");
      button.disabled = !all && ticked === 0;
    });
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest("[data-bulk-form]");
    if (!form) return;
    if (event.target.matches("[data-bulk-page]")) {
      form.querySelector("[data-bulk-all]").value = "";
      form.querySelectorAll("[data-bulk-row]").forEach(function (box) {
        box.checked = event.target.checked;
      });
    } else if (event.target.matches("[data-bulk-row]")) {
      if (!event.target.checked) form.querySelector("[data-bulk-all]").value = "";
    } else {
      return;
    }
    refresh(form);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-bulk-select-all], [data-bulk-clear]");
    if (!button) return;
    var form = button.closest("[data-bulk-form]");
    var selectAll = button.hasAttribute("data-bulk-select-all");
    form.querySelector("[data-bulk-all]").value = selectAll ? "on" : "";
    if (!selectAll) {
      form.querySelectorAll("[data-bulk-row]").forEach(function (box) { box.checked = false; });
    }
    refresh(form);
  });

  // Acting on every match sends the search, not the ticked ids of this page.
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt.closest && event.detail.elt.closest("[data-bulk-form]");
    if (form && form.querySelector("[data-bulk-all]").value === "on") {
      delete event.detail.parameters.product;
    }
  });

  // A row swapped in by its auto-sync switch comes back unticked: keep what was ticked.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.detail.target.closest && event.detail.target.closest("[data-bulk-form]");
    if (!form) return;
    form.bulkTicked = [];
    form.querySelectorAll("[data-bulk-row]:checked").forEach(function (box) {
      form.bulkTicked.push(box.value);
    });
  });
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-bulk-form]").forEach(function (form) {
      (form.bulkTicked || []).forEach(function (value) {
        var box = form.querySelector('[data-bulk-row][value="' + value + '"]');
        if (box) box.checked = true;
      });
      form.bulkTicked = null;
      refresh(form);
    });
  });
})();

// Before an action that sets the store's quantities, its preview (products/_override_preview.html)
// sits in the action's [data-confirm-slot] with Confirm and Cancel. Cancel closes it; so does
// any change to what the action is for (its form's ticks or choices): Confirm posts the form as
// it is then, and must not act on another selection than the one the preview was for.
(function () {
  "use strict";

  // A switch turned on to see its preview goes back off when the preview closes unconfirmed.
  function clear(slot) {
    if (!slot || !slot.firstChild) return;
    slot.querySelectorAll("[data-confirm-revert]").forEach(function (panel) {
      var toggle = document.querySelector(panel.getAttribute("data-confirm-revert"));
      if (toggle) toggle.checked = false;
    });
    slot.replaceChildren();
  }

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest("[data-confirm-cancel]");
    if (cancel) {
      clear(cancel.closest("[data-confirm-slot]"));
      return;
    }
    var selection = event.target.closest && event.target.closest("[data-bulk-select-all], [data-bulk-clear]");
    if (selection) {
      selection.closest("form").querySelectorAll("[data-confirm-slot]").forEach(clear);
    }
  });

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form");
    if (form) form.querySelectorAll("[data-confirm-slot]").forEach(clear);
  });

  // Confirm posts once: a second click while the action runs would start it twice. Refused
  // (the banner says why), it can be confirmed again.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.matches && event.detail.elt.matches("[data-confirm-ok]")) {
      event.detail.elt.disabled = true;
    }
  });
  // Done, the preview closes (a switch's row answers in place, under it), nothing to revert.
  document.addEventListener("htmx:afterRequest", function (event) {
    var ok = event.detail.elt;
    if (!ok.matches || !ok.matches("[data-confirm-ok]")) return;
    ok.disabled = false;
    var slot = ok.closest("[data-confirm-slot]");
    if (event.detail.successful && slot) slot.replaceChildren();
  });
})();
