"""HTML of the emulated Shopify admin: a page that frames the app like admin.shopify.com does.

The framed app lives on another origin, so it cannot call the admin's JavaScript directly.
Instead of App Bridge it talks to this page with `window.postMessage` (protocol in README.md):

    app → admin   {type: "syncer:idToken:request", id}
    admin → app   {type: "syncer:idToken:response", id, token}      (or {..., error})
    app → admin   {type: "syncer:toast", message, isError}          (optional)
    app → admin   {type: "syncer:appBridge:state", path, nav, titleBar}  (what App Bridge reads
                  from <ui-nav-menu> and <ui-title-bar>: the left column, the title bar, the URL)
    admin → app   {type: "syncer:appBridge:navigate", href}          (a left-column link)
    admin → app   {type: "syncer:appBridge:titleBarAction", index}   (a title-bar button or link)
    app → admin   {type: "syncer:saveBar", visible, discardConfirmation}  (<form data-save-bar>)
    admin → app   {type: "syncer:saveBar:save"} / {type: "syncer:saveBar:discard"}
    app → admin   {type: "syncer:saveBar:leaveConfirmation", id}  (saveBar.leaveConfirmation())
    admin → app   {type: "syncer:saveBar:leaveConfirmation:response", id, leave}
    app → admin   {type: "syncer:modal:show", id, title, text, buttons}  (<ui-modal>.show():
                  its title bar's title, its text, its title bar's buttons)
    admin → app   {type: "syncer:modal:action", id, index}   (one of its buttons, clicked)
    admin → app   {type: "syncer:modal:hide", id}            (closed: Escape or ×)
    app → admin   {type: "syncer:modal:hide", id}            (<ui-modal>.hide())

The app's stand-in is static/syncer/app-bridge-standin.js; with Shopify's real App Bridge the
same page works in the real admin, as both read the same elements.
"""

from __future__ import annotations

import html
import json

# Placeholders are __NAME__ (the page is mostly CSS and JavaScript, full of braces).
_PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>__TITLE__ · Shopify admin (emulated)</title>
<style>
  * { box-sizing: border-box; }
  html, body { margin: 0; height: 100%; font-family: -apple-system, BlinkMacSystemFont,
    "San Francisco", "Segoe UI", Roboto, "Helvetica Neue", sans-serif; font-size: 13px;
    background: #f1f1f1; color: #303030; }
  .topbar { position: fixed; top: 0; left: 0; right: 0; height: 56px; background: #1a1a1a;
    color: #e3e3e3; display: flex; align-items: center; gap: 12px; padding: 0 16px; z-index: 5; }
  .topbar strong { color: #fff; font-size: 14px; }
  .topbar .path { margin-left: auto; color: #b5b5b5; font-family: ui-monospace, monospace;
    max-width: 50%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .savebar { position: fixed; top: 0; left: 0; right: 0; height: 56px; background: #1a1a1a;
    color: #fff; display: none; align-items: center; gap: 8px; padding: 0 16px; z-index: 6; }
  .savebar.visible { display: flex; }
  .savebar .message { margin-right: auto; font-weight: 600; display: flex; gap: 8px;
    align-items: center; }
  .savebar.shake { animation: shake .35s; }
  @keyframes shake { 0%, 100% { transform: translateX(0); } 25% { transform: translateX(-6px); }
    75% { transform: translateX(6px); } }
  .savebar button, .titlebar button, dialog button { font: inherit; font-weight: 600;
    border-radius: 8px; padding: 6px 12px; cursor: pointer; border: 0; }
  .savebar .discard { background: #404040; color: #fff; }
  .savebar .save { background: #fff; color: #1a1a1a; }
  .sidebar { position: fixed; top: 56px; left: 0; bottom: 0; width: 240px; padding: 12px 8px;
    background: #ebebeb; overflow-y: auto; }
  .sidebar h2 { font-size: 12px; color: #616161; font-weight: 600; margin: 16px 8px 4px; }
  .sidebar a { display: block; padding: 6px 8px; border-radius: 8px; color: #303030;
    text-decoration: none; font-weight: 600; }
  .sidebar a.sub { padding-left: 28px; font-weight: 500; }
  .sidebar a:hover { background: rgba(0,0,0,.05); }
  .sidebar a[aria-current="page"] { background: #fff; }
  .content { position: fixed; top: 56px; left: 240px; right: 0; bottom: 0; display: flex;
    flex-direction: column; padding: 0 8px 8px; }
  .titlebar { min-height: 52px; display: flex; align-items: center; gap: 8px; padding: 8px 16px; }
  .titlebar .crumb { color: #303030; text-decoration: none; font-weight: 600; padding: 4px 8px;
    border-radius: 8px; }
  .titlebar .crumb:hover { background: rgba(0,0,0,.06); }
  .titlebar h1 { font-size: 20px; margin: 0 auto 0 0; font-weight: 700; }
  .titlebar .secondary { background: #fff; color: #303030;
    box-shadow: inset 0 -1px 0 #b5b5b5, inset 0 0 0 1px #e3e3e3; }
  .titlebar .primary { background: #303030; color: #fff; }
  .titlebar .critical { color: #8e1f0b; }
  iframe { flex: 1; width: 100%; border: 0; border-radius: 12px; background: #f1f1f1; }
  #toast { position: fixed; bottom: 24px; left: 50%; transform: translateX(-50%);
    background: #303030; color: #fff; padding: 10px 16px; border-radius: 8px; display: none;
    font-size: 13px; z-index: 7; }
  #toast.error { background: #8e1f0b; }
  dialog { border: 0; border-radius: 12px; padding: 20px; max-width: 420px;
    box-shadow: 0 8px 24px rgba(0,0,0,.3); }
  dialog h2 { font-size: 16px; margin: 0 0 8px; }
  dialog .actions { display: flex; justify-content: flex-end; gap: 8px; margin-top: 16px; }
  dialog .secondary { background: #f1f1f1; color: #303030; }
  dialog .critical { background: #c70a24; color: #fff; }
  dialog .primary { background: #303030; color: #fff; }
  #app-modal { min-width: 380px; }
  #app-modal header { display: flex; align-items: flex-start; gap: 8px; }
  #app-modal header h2 { margin-right: auto; }
  #app-modal .close { background: none; font-size: 18px; line-height: 1; padding: 2px 6px; }
  #app-modal p:empty { display: none; }
</style>
</head>
<body>
<header class="topbar" id="topbar">
  <strong>__TITLE__</strong><span>__SHOP__</span><span class="path" id="path">/</span>
  <a href="/admin/mail" id="admin-mail" style="color: #e3e3e3; font-weight: 600;">Mail</a>
</header>
<div class="savebar" id="savebar" role="region" aria-label="Save bar">
  <span class="message">Unsaved changes</span>
  <button type="button" class="discard" id="savebar-discard">Discard</button>
  <button type="button" class="save" id="savebar-save">Save</button>
</div>
<nav class="sidebar" aria-label="Admin">
  <h2>Apps</h2>
  <a href="__APP_BASE__" id="app-home" data-app-href="/">__APP_NAME__</a>
  <div id="app-nav"></div>
</nav>
<main class="content">
  <div class="titlebar" id="titlebar" role="region" aria-label="Title bar">
    <h1 id="app-title">__APP_NAME__</h1>
  </div>
  <iframe id="app-frame" name="app-iframe" src="__SRC__" title="__APP_NAME__"
    allow="clipboard-write"></iframe>
</main>
<div id="toast" role="status" aria-live="polite"></div>
<dialog id="leave-dialog" aria-labelledby="leave-title">
  <h2 id="leave-title">Leave page with unsaved changes?</h2>
  <p>Leaving this page will delete all unsaved changes.</p>
  <div class="actions">
    <button type="button" class="secondary" value="stay">Stay</button>
    <button type="button" class="critical" value="leave">Leave page</button>
  </div>
</dialog>
<dialog id="discard-dialog" aria-labelledby="discard-title">
  <h2 id="discard-title">Discard all unsaved changes?</h2>
  <p>If you discard changes, you'll delete any edits you made since you last saved.</p>
  <div class="actions">
    <button type="button" class="secondary" value="stay">Continue editing</button>
    <button type="button" class="critical" value="discard">Discard changes</button>
  </div>
</dialog>
<dialog id="app-modal" aria-labelledby="app-modal-title">
  <header><h2 id="app-modal-title"></h2>
    <button type="button" class="close" id="app-modal-close" aria-label="Close">×</button></header>
  <p id="app-modal-text"></p>
  <div class="actions" id="app-modal-actions"></div>
</dialog>
<script>
(function () {
  "use strict";
  var config = __CONFIG__;
  var frame = document.getElementById("app-frame");
  var appOrigin = new URL(config.appUrl).origin;
  var toastTimer = null;
  var saveBar = { visible: false, discardConfirmation: false };
  var state = { path: "/", nav: [], titleBar: null };
  // What Shopify adds to the app's address; the admin's own address leaves it out.
  var SHOPIFY_PARAMS = ["embedded", "host", "id_token", "locale", "session", "shop",
                        "timestamp", "hmac"];

  function toApp(message) { frame.contentWindow.postMessage(message, appOrigin); }

  function mintToken() {
    return fetch(config.sessionTokenUrl, {method: "POST",
        headers: {"Content-Type": "application/json"}, body: "{}"})
      .then(function (r) {
        if (!r.ok) { throw new Error("session token request failed: " + r.status); }
        return r.json();
      })
      .then(function (body) { return body.token; });
  }

  function showToast(message, isError, duration) {
    var el = document.getElementById("toast");
    el.textContent = message;
    el.className = isError ? "error" : "";
    el.style.display = "block";
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.style.display = "none"; }, duration || 5000);
  }

  function appPath(path) {
    var url = new URL(path || "/", "http://app.invalid");
    SHOPIFY_PARAMS.forEach(function (name) { url.searchParams.delete(name); });
    return url.pathname + url.search;
  }

  function adminAddress(path) {
    return config.appBase + (path === "/" ? "" : path.replace(/^\/\?/, "?"));
  }

  // The menu item of the page: the longest item address the page's path starts with.
  function activeHref(path, items) {
    var pathname = path.split("?")[0];
    var best = null;
    items.forEach(function (item) {
      if (item.home) return;
      var href = item.href.split("?")[0];
      var inside = pathname === href ||
        (pathname.indexOf(href.replace(/\/?$/, "/")) === 0);
      if (inside && (!best || href.length > best.length)) best = href;
    });
    return best;
  }

  function navLink(label, href, className) {
    var link = document.createElement("a");
    link.href = adminAddress(href);
    link.textContent = label;
    link.setAttribute("data-app-href", href);
    if (className) link.className = className;
    return link;
  }

  function renderNav() {
    var holder = document.getElementById("app-nav");
    holder.textContent = "";
    var home = state.nav.filter(function (item) { return item.home; })[0];
    var homeLink = document.getElementById("app-home");
    homeLink.setAttribute("data-app-href", home ? home.href : "/");
    homeLink.href = adminAddress(home ? home.href : "/");
    var active = activeHref(state.path, state.nav);
    homeLink.removeAttribute("aria-current");
    if (!active && state.path.split("?")[0] === (home ? home.href : "/")) {
      homeLink.setAttribute("aria-current", "page");
    }
    state.nav.forEach(function (item) {
      if (item.home) return;
      var link = navLink(item.label, item.href, "sub");
      if (item.href.split("?")[0] === active) link.setAttribute("aria-current", "page");
      holder.appendChild(link);
    });
  }

  function renderTitleBar() {
    var bar = document.getElementById("titlebar");
    bar.textContent = "";
    var title = document.createElement("h1");
    title.id = "app-title";
    var info = state.titleBar || { title: config.appName, items: [] };
    title.textContent = info.title || config.appName;
    document.title = title.textContent + " · " + config.appName + " · " + config.title;
    var crumbs = info.items.filter(function (item) { return item.variant === "breadcrumb"; });
    crumbs.forEach(function (item) {
      var link = document.createElement("a");
      link.className = "crumb";
      link.textContent = "\u2039 " + item.label;
      link.setAttribute("aria-label", "Back to " + item.label);
      link.href = item.href ? adminAddress(item.href) : "#";
      link.setAttribute("data-action", item.index);
      bar.appendChild(link);
    });
    bar.appendChild(title);
    var actions = info.items.filter(function (item) { return item.variant !== "breadcrumb"; });
    // Secondary actions first, the primary one last (rightmost), as Shopify lays them out.
    actions.sort(function (a, b) {
      return (a.variant === "primary") - (b.variant === "primary");
    });
    actions.forEach(function (item) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = item.label;
      button.className = (item.variant === "primary" ? "primary" : "secondary") +
        (item.tone === "critical" ? " critical" : "");
      button.disabled = !!item.disabled;
      button.setAttribute("data-action", item.index);
      if (item.href) button.setAttribute("data-href", item.href);
      bar.appendChild(button);
    });
  }

  function shakeSaveBar() {
    var bar = document.getElementById("savebar");
    bar.classList.remove("shake");
    void bar.offsetWidth;
    bar.classList.add("shake");
  }

  function renderSaveBar() {
    document.getElementById("savebar").classList.toggle("visible", saveBar.visible);
  }

  function ask(dialogId) {
    return new Promise(function (resolve) {
      var dialog = document.getElementById(dialogId);
      var buttons = dialog.querySelectorAll("button");
      function done(value) {
        buttons.forEach(function (b) { b.onclick = null; });
        dialog.close();
        resolve(value);
      }
      buttons.forEach(function (b) { b.onclick = function () { done(b.value); }; });
      dialog.oncancel = function (event) { event.preventDefault(); done("stay"); };
      dialog.showModal();
    });
  }

  // The app's modal (<ui-modal>), drawn over the whole admin: secondary buttons first, the
  // primary one last (red when its tone is critical). It stays until the app hides it (its
  // buttons' handlers do) or the merchant closes it, which the app is told.
  var appModal = document.getElementById("app-modal");
  var appModalId = null;

  function showAppModal(data) {
    appModalId = String(data.id || "");
    document.getElementById("app-modal-title").textContent = String(data.title || "");
    document.getElementById("app-modal-text").textContent = String(data.text || "");
    var actions = document.getElementById("app-modal-actions");
    actions.textContent = "";
    var buttons = (data.buttons || []).slice().sort(function (a, b) {
      return (a.variant === "primary") - (b.variant === "primary");
    });
    buttons.forEach(function (item) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = item.label;
      button.disabled = !!item.disabled;
      button.className = item.variant === "primary"
        ? (item.tone === "critical" ? "critical" : "primary") : "secondary";
      button.onclick = function () {
        toApp({type: "syncer:modal:action", id: appModalId, index: item.index});
      };
      actions.appendChild(button);
    });
    if (!appModal.open) appModal.showModal();
  }

  function closeAppModal(tellApp) {
    if (appModalId === null) return;
    var id = appModalId;
    appModalId = null;
    if (appModal.open) appModal.close();
    if (tellApp) toApp({type: "syncer:modal:hide", id: id});
  }

  appModal.oncancel = function (event) { event.preventDefault(); closeAppModal(true); };
  document.getElementById("app-modal-close").onclick = function () { closeAppModal(true); };

  // The admin's own links to the app's pages: the app goes there (no reload), unless a save
  // bar shows; then, as in Shopify admin, nothing happens but the bar asking for a choice.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-app-href]");
    var action = event.target.closest("[data-action]");
    if (!link && !action) return;
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    var navigates = link || action.tagName === "A" || action.hasAttribute("data-href");
    if (saveBar.visible && navigates) {
      shakeSaveBar();
      return;
    }
    if (link) {
      toApp({type: "syncer:appBridge:navigate", href: link.getAttribute("data-app-href")});
    } else {
      toApp({type: "syncer:appBridge:titleBarAction", index: action.getAttribute("data-action")});
    }
  });

  document.getElementById("savebar-save").addEventListener("click", function () {
    toApp({type: "syncer:saveBar:save"});
  });
  document.getElementById("savebar-discard").addEventListener("click", function () {
    var confirmed = saveBar.discardConfirmation ? ask("discard-dialog")
                                                : Promise.resolve("discard");
    confirmed.then(function (choice) {
      if (choice === "discard") toApp({type: "syncer:saveBar:discard"});
    });
  });

  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || event.origin !== appOrigin) { return; }
    var data = event.data || {};
    if (data.type === "syncer:idToken:request") {
      mintToken().then(function (token) {
        toApp({type: "syncer:idToken:response", id: data.id, token: token});
      }, function (error) {
        toApp({type: "syncer:idToken:response", id: data.id, token: null, error: String(error)});
      });
    } else if (data.type === "syncer:toast") {
      showToast(String(data.message || ""), !!data.isError, Number(data.duration) || 5000);
    } else if (data.type === "syncer:appBridge:state") {
      state = {path: appPath(String(data.path || "/")), nav: data.nav || [],
               titleBar: data.titleBar || null};
      document.getElementById("path").textContent = state.path;
      history.replaceState(history.state, "", adminAddress(state.path));
      renderNav();
      renderTitleBar();
    } else if (data.type === "syncer:navigate") {  // older apps: the address bar only
      document.getElementById("path").textContent = appPath(String(data.path || "/"));
    } else if (data.type === "syncer:saveBar") {
      saveBar = {visible: !!data.visible, discardConfirmation: !!data.discardConfirmation};
      renderSaveBar();
    } else if (data.type === "syncer:modal:show") {
      showAppModal(data);
    } else if (data.type === "syncer:modal:hide") {
      if (String(data.id || "") === appModalId) closeAppModal(false);
    } else if (data.type === "syncer:saveBar:leaveConfirmation") {
      if (!saveBar.visible) {
        toApp({type: "syncer:saveBar:leaveConfirmation:response", id: data.id, leave: true});
        return;
      }
      ask("leave-dialog").then(function (choice) {
        var leave = choice === "leave";
        if (leave) { saveBar.visible = false; renderSaveBar(); }
        toApp({type: "syncer:saveBar:leaveConfirmation:response", id: data.id, leave: leave});
      });
    }
  });

  // Leaving the admin (reload, closing) while the save bar shows: the browser asks first.
  window.addEventListener("beforeunload", function (event) {
    if (saveBar.visible) { event.preventDefault(); event.returnValue = ""; }
  });

  // For scripts and browser tests driving the admin page itself.
  window.shopifyEmulator = {config: config, idToken: mintToken,
                            state: function () { return {app: state, saveBar: saveBar}; }};
})();
</script>
</body>
</html>
"""


def admin_page(
    *,
    shop: str,
    title: str,
    frame_src: str,
    app_url: str,
    session_token_url: str,
    app_base: str,
    app_name: str = "Syncer",
) -> str:
    config = {
        "shop": shop,
        "title": title,
        "appUrl": app_url,
        "appBase": app_base,
        "appName": app_name,
        "sessionTokenUrl": session_token_url,
    }
    replacements = {
        "__TITLE__": html.escape(title),
        "__SHOP__": html.escape(shop),
        "__APP_NAME__": html.escape(app_name),
        "__APP_BASE__": html.escape(app_base, quote=True),
        "__SRC__": html.escape(frame_src, quote=True),
        # JSON inside a <script>: keep "</" from closing the element.
        "__CONFIG__": json.dumps(config).replace("</", "<\\/"),
    }
    page = _PAGE
    for placeholder, value in replacements.items():
        page = page.replace(placeholder, value)
    return page


_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shopify emulator</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 32px; color: #303030; }}
code {{ background: #f1f1f1; padding: 1px 4px; border-radius: 4px; }}</style></head>
<body><h1>Shopify emulator</h1>
<p>App: <code>{app_url}</code> · client id <code>{api_key}</code></p>
<h2>Shops</h2><ul>{shops}</ul>
<p>Control API under <code>/_emulator/</code>; see shopify_emulator/README.md.</p>
</body></html>
"""


def index_page(*, app_url: str, api_key: str, shops: list[tuple[str, str]]) -> str:
    items = (
        "".join(
            f'<li><a href="/admin/{html.escape(domain)}">{html.escape(name)}</a> '
            f"<code>{html.escape(domain)}</code></li>"
            for domain, name in shops
        )
        or "<li>No shops yet: <code>python -m shopify_emulator shop create demo</code></li>"
    )
    return _INDEX.format(app_url=html.escape(app_url), api_key=html.escape(api_key), shops=items)
