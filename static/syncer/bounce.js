// The bounce page: a document load came without a valid session token. Fetch one (App Bridge
// or the emulator's stand-in) and reload the same URL with it — at most once per 10 s, so a
// token the server keeps refusing cannot loop.
(function () {
  "use strict";
  var waiting = document.getElementById("bounce-waiting");
  var outside = document.getElementById("bounce-outside");
  function showOutside() {
    waiting.hidden = true;
    outside.hidden = false;
  }
  var recently = false;
  try {
    recently = Date.now() - Number(sessionStorage.getItem("syncer:bounced") || 0) < 10000;
    sessionStorage.setItem("syncer:bounced", String(Date.now()));
  } catch (e) { /* storage blocked: rely on the token working */ }
  if (recently || !window.shopify || !window.shopify.idToken) {
    showOutside();
    return;
  }
  window.shopify.idToken().then(function (token) {
    var url = new URL(window.location.href);
    url.searchParams.set("id_token", token);
    window.location.replace(url.toString());
  }, showOutside);
})();
