// Toasts: server messages rendered in #toasts fade out; HTMX responses can raise more with
// an `HX-Trigger: {"toast": {"message": "...", "error": false}}` header.
(function () {
  "use strict";

  function dismissLater(toast, ms) {
    setTimeout(function () {
      toast.style.opacity = "0";
      setTimeout(function () { toast.remove(); }, 300);
    }, ms);
  }

  function showToast(message, isError) {
    if (window.shopify && window.shopify.toast) {
      window.shopify.toast.show(message, { isError: !!isError });
      return;
    }
    var container = document.getElementById("toasts");
    if (!container) return;
    var toast = document.createElement("div");
    toast.className = "toast" + (isError ? " toast-error" : "");
    toast.setAttribute("role", "status");
    toast.textContent = message;
    container.appendChild(toast);
    dismissLater(toast, 5000);
  }

  window.syncerToast = showToast;

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(function (toast) {
      dismissLater(toast, 5000);
    });
  });

  document.addEventListener("toast", function (event) {
    if (event.detail && event.detail.message) showToast(event.detail.message, event.detail.error);
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
    window.syncerToast && window.syncerToast("Reload the app, then download again.", true);
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
