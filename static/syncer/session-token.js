// Session tokens for every HTMX request, and what a failed request shows.
//
// App Bridge (Shopify's, or the stand-in in app-bridge-standin.js inside the emulator's admin)
// provides `shopify.idToken()` and adds the token to fetch() only; HTMX uses XHR, so we add
// `Authorization: Bearer <fresh token>` to each request ourselves.
(function () {
  "use strict";

  function noAppBridge() {
    return Promise.reject(new Error("Syncer is not open inside a Shopify admin"));
  }

  function idToken() {
    return window.shopify && typeof window.shopify.idToken === "function"
      ? window.shopify.idToken() : noAppBridge();
  }

  // A navigation away (a link, a tab: a GET from outside the form being edited) first asks
  // App Bridge, which holds it while the save bar shows until the merchant chooses to leave.
  function leaving(detail) {
    var saveBar = window.shopify && window.shopify.saveBar;
    var verb = (detail.verb || (detail.requestConfig && detail.requestConfig.verb) || "").toLowerCase();
    if (!saveBar || typeof saveBar.leaveConfirmation !== "function" || verb !== "get") {
      return Promise.resolve();
    }
    var form = detail.elt && detail.elt.closest && detail.elt.closest("form[data-save-bar]");
    return form ? Promise.resolve() : saveBar.leaveConfirmation();
  }

  // The words on the button that asked (a form's: the button that submitted it).
  function actionLabel(detail) {
    var elt = detail.elt;
    var submitter = detail.triggeringEvent && detail.triggeringEvent.submitter;
    var button = elt && elt.tagName === "BUTTON" ? elt : submitter;
    return button ? { text: button.textContent.trim(),
                      critical: button.classList.contains("button-critical") } : null;
  }

  // A question before an action (hx-confirm), asked in the admin's modal (App Bridge's
  // <ui-modal> in base.html: Shopify admin draws it, Built for Shopify 4.1.6), titled with the
  // question and its explanation below, the action's own words on the button that goes ahead.
  // Outside the admin (no such modal) the browser asks. Resolves true to go ahead.
  function confirmed(question, detail) {
    var modal = document.getElementById("syncer-confirm");
    if (!modal || typeof modal.show !== "function") {
      return Promise.resolve(window.confirm(question));
    }
    var split = question.indexOf("? ");
    var yes = modal.querySelector("[data-modal-yes]");
    var no = modal.querySelector("[data-modal-no]");
    var action = actionLabel(detail);
    modal.querySelector("ui-title-bar").setAttribute(
      "title", split === -1 ? question : question.slice(0, split + 1));
    modal.querySelector("[data-modal-text]").textContent =
      split === -1 ? "" : question.slice(split + 2);
    yes.textContent = action && action.text ? action.text : "Confirm";
    if (action && action.critical) yes.setAttribute("tone", "critical");
    else yes.removeAttribute("tone");
    return new Promise(function (resolve) {
      var answered = false;
      function answer(value) {
        if (answered) return;
        answered = true;
        yes.onclick = null;
        no.onclick = null;
        modal.removeEventListener("hide", closed);
        resolve(value);
      }
      function closed() { answer(false); } // closed without a choice (Escape, ×)
      yes.onclick = function () { answer(true); modal.hide(); };
      no.onclick = function () { answer(false); modal.hide(); };
      modal.addEventListener("hide", closed);
      modal.show();
    });
  }

  var tokens = new WeakMap();

  // htmx:confirm fires before every request and lets us delay it until the token is here.
  document.addEventListener("htmx:confirm", function (event) {
    event.preventDefault();
    var question = event.detail.question;
    var asked = question ? confirmed(question, event.detail) : Promise.resolve(true);
    asked.then(function (yes) {
      if (yes) go(event);
    });
  });

  function go(event) {
    leaving(event.detail).then(function () {
      idToken().then(
        function (token) {
          tokens.set(event.detail.elt, token);
          event.detail.issueRequest(true);
        },
        function () {
          event.detail.issueRequest(true); // the server answers 401 and says why
        }
      );
    });
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var token = tokens.get(event.detail.elt);
    if (token) {
      event.detail.headers["Authorization"] = "Bearer " + token;
      tokens.delete(event.detail.elt);
    }
  });

  // Back to a page htmx does not keep (it keeps none: see base.html) reloads it from the
  // server with its own XHR, which htmx:confirm never sees; hold it until its token is here.
  document.addEventListener("htmx:historyCacheMiss", function (event) {
    event.preventDefault();
    var xhr = event.detail.xhr;
    idToken().then(
      function (token) {
        xhr.setRequestHeader("Authorization", "Bearer " + token);
        xhr.send();
      },
      function () { xhr.send(); } // the server answers 401 and says why
    );
  });

  // Let form errors (422) swap in like successes; the rest show a banner where they failed.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    // A page (a boosted link) that is not there: show the app's own 404 page, with its way back.
    var page = event.detail.boosted ||
      (event.detail.requestConfig && event.detail.requestConfig.boosted);
    if (status === 422 || (status === 404 && page)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if (status >= 400 && window.syncerFailure &&
               !/"failed"/.test(event.detail.xhr.getResponseHeader("HX-Trigger") || "")) {
      // (a response with its own "failed" event has said what went wrong)
      var message = "Something went wrong (" + status + "). Reload the app and try again.";
      try {
        var body = JSON.parse(event.detail.xhr.responseText);
        if (body && body.error) message = body.error;
      } catch (e) { /* not JSON */ }
      window.syncerFailure(message, event.detail.elt);
    }
  });
})();
