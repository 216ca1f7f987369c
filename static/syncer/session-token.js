// Session tokens for every HTMX request.
//
// App Bridge (loaded from Shopify's CDN when embedded in Shopify admin) provides
// `shopify.idToken()` and adds the token to fetch() only; HTMX uses XHR, so we add
// `Authorization: Bearer <fresh token>` to each request ourselves. Outside Shopify (the
// emulator's admin page) a stand-in asks the parent frame for tokens over postMessage:
//   app -> parent {type: "syncer:idToken:request", id}
//   parent -> app {type: "syncer:idToken:response", id, token}
// Only with the admin: the server names its possible origins (<meta name="syncer-admin-origins">,
// the same ones allowed to frame the app); messages from any other window or origin are
// ignored, and ours are addressed to the admin's origin, never "*".
(function () {
  "use strict";

  var pending = {};
  var sequence = 0;
  var meta = document.querySelector('meta[name="syncer-admin-origins"]');
  var adminOrigins = meta ? meta.getAttribute("content").split(/\s+/).filter(Boolean) : [];

  function isAdminOrigin(origin) {
    return adminOrigins.indexOf(origin) !== -1;
  }

  // Where to send: the parent's origin when the browser tells it (Chromium, Safari), if it is
  // an admin origin; otherwise each admin origin (the browser delivers to the matching one only).
  function parentTargets() {
    var ancestors = window.location.ancestorOrigins;
    if (ancestors && ancestors.length) {
      return isAdminOrigin(ancestors[0]) ? [ancestors[0]] : [];
    }
    return adminOrigins.slice();
  }

  function postToAdmin(message) {
    var targets = parentTargets();
    targets.forEach(function (origin) { window.parent.postMessage(message, origin); });
    return targets.length > 0;
  }

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !isAdminOrigin(event.origin)) return;
    var data = event.data;
    if (!data || data.type !== "syncer:idToken:response" || !pending[data.id]) return;
    var waiter = pending[data.id];
    delete pending[data.id];
    if (data.token) waiter.resolve(data.token);
    else waiter.reject(new Error(data.error || "no session token"));
  });

  function parentIdToken() {
    return new Promise(function (resolve, reject) {
      if (window.parent === window) {
        reject(new Error("Syncer is not open inside a Shopify admin"));
        return;
      }
      var id = "t" + (++sequence);
      pending[id] = { resolve: resolve, reject: reject };
      if (!postToAdmin({ type: "syncer:idToken:request", id: id })) {
        delete pending[id];
        reject(new Error("Syncer is not open inside a Shopify admin"));
        return;
      }
      setTimeout(function () {
        if (pending[id]) {
          delete pending[id];
          reject(new Error("timed out waiting for a session token"));
        }
      }, 5000);
    });
  }

  if (!window.shopify || typeof window.shopify.idToken !== "function") {
    window.shopify = window.shopify || {};
    window.shopify.idToken = parentIdToken;
    if (window.parent !== window && !window.shopify.toast) {
      window.shopify.toast = {
        show: function (message, options) {
          postToAdmin(
            { type: "syncer:toast", message: message, isError: !!(options && options.isError) }
          );
        },
      };
    }
  }

  var tokens = new WeakMap();

  // htmx:confirm fires before every request and lets us delay it until the token is here.
  document.addEventListener("htmx:confirm", function (event) {
    event.preventDefault();
    var question = event.detail.question;
    if (question && !window.confirm(question)) return;
    window.shopify.idToken().then(
      function (token) {
        tokens.set(event.detail.elt, token);
        event.detail.issueRequest(true);
      },
      function () {
        event.detail.issueRequest(true); // the server answers 401 and says why
      }
    );
  });

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
    window.shopify.idToken().then(
      function (token) {
        xhr.setRequestHeader("Authorization", "Bearer " + token);
        xhr.send();
      },
      function () { xhr.send(); } // the server answers 401 and says why
    );
  });

  // Let form errors (422) swap in like successes; show a toast for the rest.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    // A page (a boosted link) that is not there: show the app's own 404 page, with its way back.
    var page = event.detail.boosted ||
      (event.detail.requestConfig && event.detail.requestConfig.boosted);
    if (status === 422 || (status === 404 && page)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if (status >= 400 && window.syncerToast &&
               !/"toast"/.test(event.detail.xhr.getResponseHeader("HX-Trigger") || "")) {
      // (a response with its own toast has said what went wrong)
      var message = "Something went wrong (" + status + "). Reload the app and try again.";
      try {
        var body = JSON.parse(event.detail.xhr.responseText);
        if (body && body.error) message = body.error;
      } catch (e) { /* not JSON */ }
      window.syncerToast(message, true);
    }
  });
})();
