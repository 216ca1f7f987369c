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
