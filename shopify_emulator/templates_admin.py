"""HTML of the emulated Shopify admin: a page that frames the app like admin.shopify.com does.

The framed app lives on another origin, so it cannot call the admin's JavaScript directly.
Instead of App Bridge it talks to this page with `window.postMessage` (protocol in README.md):

    app → admin   {type: "syncer:idToken:request", id}
    admin → app   {type: "syncer:idToken:response", id, token}      (or {..., error})
    app → admin   {type: "syncer:toast", message, isError}          (optional)
    app → admin   {type: "syncer:navigate", path}                   (optional, address bar only)
"""

from __future__ import annotations

import html
import json

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} · Shopify admin (emulated)</title>
<style>
  html, body {{ margin: 0; height: 100%; font-family: -apple-system, BlinkMacSystemFont,
    "San Francisco", "Segoe UI", Roboto, "Helvetica Neue", sans-serif; background: #f1f1f1; }}
  header {{ height: 48px; background: #1a1a1a; color: #e3e3e3; display: flex;
    align-items: center; gap: 12px; padding: 0 16px; font-size: 13px; }}
  header strong {{ color: #fff; font-size: 14px; }}
  header .path {{ margin-left: auto; color: #b5b5b5; font-family: ui-monospace, monospace; }}
  main {{ position: absolute; top: 48px; left: 0; right: 0; bottom: 0; padding: 8px; }}
  iframe {{ width: 100%; height: 100%; border: 0; border-radius: 12px; background: #fff;
    box-shadow: 0 1px 3px rgba(0,0,0,.15); }}
  #toast {{ position: fixed; bottom: 24px; left: 50%; transform: translateX(-50%);
    background: #303030; color: #fff; padding: 10px 16px; border-radius: 8px; display: none;
    font-size: 13px; }}
  #toast.error {{ background: #8e1f0b; }}
</style>
</head>
<body>
<header>
  <strong>{title}</strong><span>{shop}</span><span class="path" id="path">/</span>
</header>
<main><iframe id="app-frame" name="app-iframe" src="{src}" title="App"
  allow="clipboard-write"></iframe></main>
<div id="toast" role="status"></div>
<script>
(function () {{
  var config = {config};
  var frame = document.getElementById("app-frame");
  var appOrigin = new URL(config.appUrl).origin;
  var toastTimer = null;

  function mintToken() {{
    return fetch(config.sessionTokenUrl, {{method: "POST",
        headers: {{"Content-Type": "application/json"}}, body: "{{}}"}})
      .then(function (r) {{
        if (!r.ok) {{ throw new Error("session token request failed: " + r.status); }}
        return r.json();
      }})
      .then(function (body) {{ return body.token; }});
  }}

  function showToast(message, isError) {{
    var el = document.getElementById("toast");
    el.textContent = message;
    el.className = isError ? "error" : "";
    el.style.display = "block";
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () {{ el.style.display = "none"; }}, 5000);
  }}

  window.addEventListener("message", function (event) {{
    if (event.source !== frame.contentWindow) {{ return; }}
    var data = event.data || {{}};
    if (data.type === "syncer:idToken:request") {{
      mintToken().then(function (token) {{
        frame.contentWindow.postMessage(
          {{type: "syncer:idToken:response", id: data.id, token: token}}, appOrigin);
      }}, function (error) {{
        frame.contentWindow.postMessage(
          {{type: "syncer:idToken:response", id: data.id, token: null,
            error: String(error)}}, appOrigin);
      }});
    }} else if (data.type === "syncer:toast") {{
      showToast(String(data.message || ""), !!data.isError);
    }} else if (data.type === "syncer:navigate") {{
      document.getElementById("path").textContent = String(data.path || "/");
    }}
  }});

  // For scripts and browser tests driving the admin page itself.
  window.shopifyEmulator = {{config: config, idToken: mintToken}};
}})();
</script>
</body>
</html>
"""


def admin_page(
    *, shop: str, title: str, frame_src: str, app_url: str, session_token_url: str
) -> str:
    config = {"shop": shop, "appUrl": app_url, "sessionTokenUrl": session_token_url}
    return _PAGE.format(
        title=html.escape(title),
        shop=html.escape(shop),
        src=html.escape(frame_src, quote=True),
        # JSON inside a <script>: keep "</" from closing the element.
        config=json.dumps(config).replace("</", "<\\/"),
    )


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
