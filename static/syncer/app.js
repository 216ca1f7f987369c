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
