"""Every screen a merchant can reach, opened in Chromium inside the emulator's admin as the
merchant opens it, each checked for what a merchant must never meet: an error answer, a console
error, a control left in the browser's default look, an unfilled placeholder, a raw enum value,
an amount not in the shop's money format, or a serious or critical accessibility failure (axe).
Screenshots go to the folder given.

The walk follows the app's own links (the menu first, then every link on each page), so a page
added later is walked without a change here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tests.e2e.admin import FOLLOW

# Run in the app's frame: what the page shows, its links and its controls' looks.
PAGE_FACTS = """() => {
  const main = document.querySelector("main") || document.body;
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const unstyled = [];
  const controls = "button, select, textarea, "
    + "input:not([type=hidden]):not([type=checkbox]):not([type=radio])";
  for (const el of document.querySelectorAll(controls)) {
    if (!visible(el)) continue;
    const style = getComputedStyle(el);
    const borders = [style.borderTopStyle, style.borderBottomStyle];
    // Chromium's own look for controls: 13.3333px text, inset/outset or grey (118) borders.
    if (style.fontSize === "13.3333px" || borders.includes("inset")
        || borders.includes("outset") || style.borderTopColor === "rgb(118, 118, 118)") {
      unstyled.push(el.outerHTML.slice(0, 160));
    }
  }
  const links = [];
  for (const a of main.querySelectorAll("a[href]")) {
    const href = a.getAttribute("href");
    if (a.hasAttribute("download") || a.target === "_blank") continue;
    links.push(new URL(href, location.href).toString());
  }
  // The menu and the title bar's links (App Bridge draws them in the admin; the standalone
  // shell in the page): the menu first.
  const declared = "ui-title-bar > a[href], nav.shell-nav a[href], ui-nav-menu > a[href]";
  for (const a of document.querySelectorAll(declared)) {
    links.unshift(new URL(a.getAttribute("href"), location.href).toString());
  }
  return {text: document.body.innerText, title: document.title, links, unstyled,
          path: location.pathname + location.search};
}"""

PLACEHOLDERS = re.compile(r"\{\{|\{%|%\(\w+\)|%[sd]\b|\bNone\b|\bundefined\b|\bNaN\b|\[object ")
RAW_ENUM = re.compile(r"\b[A-Za-z]+(?:_[A-Za-z]+)+\b")
# An amount shown with a currency: a symbol before it or a code after it.
MONEY = re.compile(r"(?:[$€£¥]\s?-?\d+(?:,\d{3})*(?:\.\d+)?|-?\d+(?:,\d{3})*(?:\.\d+)?\s?"
                   r"(?:USD|EUR|GBP|CAD|AUD)\b)")
MONEY_WELL_FORMED = re.compile(
    r"^(?:[$€£¥]-?\d{1,3}(?:,\d{3})*\.\d{2}(?: [A-Z]{3})?|-?\d{1,3}(?:,\d{3})*\.\d{2} [A-Z]{3})$")
SKIPPED_PATHS = ("/auth/", "/webhooks/", "/admin/", "/healthz", "/metrics", "/static/")

# axe-core (from npm, vendored by `make assets`): the accessibility rules, run in the app's frame.
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_RUN = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                          targets: v.nodes.map((n) => n.target)}));
}"""
# What keeps a merchant out (WCAG A/AA failures axe calls serious or critical); axe's minor and
# moderate findings are best practice, not barriers.
AXE_BLOCKING = ("serious", "critical")


@dataclass
class Walk:
    """What one walk saw: the pages, and the problems found on them."""

    pages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def page_problems(*, path: str, facts: dict) -> list[str]:
    text = facts["text"]
    problems = [f"{path}: unstyled control {html}" for html in facts["unstyled"]]
    problems += [f"{path}: placeholder {found!r}" for found in
                 sorted(set(m.group(0) for m in PLACEHOLDERS.finditer(text)))]
    problems += [f"{path}: raw value {found!r}" for found in
                 sorted(set(m.group(0) for m in RAW_ENUM.finditer(text)))]
    problems += [f"{path}: amount {found!r} not in the shop's money format" for found in
                 sorted(set(m.group(0).strip() for m in MONEY.finditer(text)))
                 if not MONEY_WELL_FORMED.match(found)]
    return problems


def axe_problems(*, path: str, violations: list[dict]) -> list[str]:
    """One line per serious or critical axe violation: its rule, the first element it found
    (axe's selector: a frame's parts joined by " >> ", a shadow root's by " >>> ") and what to
    do."""
    problems = []
    for violation in violations:
        if violation["impact"] not in AXE_BLOCKING:
            continue
        first = violation["targets"][0] if violation["targets"] else []
        target = " >> ".join(
            " >>> ".join(part) if isinstance(part, list) else part for part in first
        )
        rule, impact = violation["id"], violation["impact"]
        problems.append(f"{path}: axe {rule} ({impact}) {target} — {violation['help']}")
    return problems


def accessibility_problems(frame, *, path: str) -> list[str]:
    """Runs axe in `frame` (its document as shown now) and says what blocks a merchant."""
    if not frame.evaluate("() => typeof window.axe === 'object'"):
        # once per document: a boosted navigation keeps it, a full load starts afresh
        frame.add_script_tag(path=str(AXE))
    return axe_problems(path=path, violations=frame.evaluate(AXE_RUN))


def walk_app(page, *, admin_url: str, app_origin: str, shop: str, out: Path,
             max_pages: int = 80) -> Walk:
    """Opens `shop`'s admin at `admin_url`, then every app page reachable by links."""
    walk = Walk()
    answers: list[str] = []
    console: list[str] = []

    def answered(response) -> None:
        if response.url.startswith(app_origin) and response.status >= 400:
            answers.append(f"{response.status} {response.request.method} {response.url}")

    page.on("response", answered)
    def logged(message) -> None:
        # The app frame's errors (the emulator's own admin page is not the app)
        if message.type == "error" and message.location.get("url", "").startswith(app_origin):
            console.append(message.text)

    page.on("console", logged)
    page.on("pageerror", lambda error: console.append(str(error)))
    page.goto(f"{admin_url}/admin/{shop}")
    frame = page.frame_locator("iframe")
    frame.locator("h1.page-title").wait_for(state="attached")
    app = page.frames[1]
    seen: set[str] = set()
    queue: list[str] = []
    shapes: dict[str, int] = {}
    current = ""
    while True:
        app.wait_for_load_state()
        page.wait_for_timeout(150)  # htmx settles (and polls once) after the swap
        facts = app.evaluate(PAGE_FACTS)
        current = re.sub(r"\?.*\bid_token=.*", "", facts["path"])  # the admin's first load
        if current not in seen:
            seen.add(current)
            walk.pages.append(current)
            name = f"{shop.split('.')[0]}-{len(walk.pages):02d}-{_slug(current)}.png"
            page.screenshot(path=str(out / name), full_page=True)
            walk.problems += page_problems(path=current, facts=facts)
            walk.problems += accessibility_problems(app, path=current)
            walk.problems += [f"{current}: {line}" for line in answers + console]
        answers.clear()
        console.clear()
        for link in facts["links"]:
            parts = urlsplit(link)
            if not link.startswith(app_origin) or parts.path.startswith(SKIPPED_PATHS):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            shape = _shape(target)
            if target not in seen and target not in queue and shapes.get(shape, 0) < 2:
                # two of a kind (two orders, two histories) say what the others would
                shapes[shape] = shapes.get(shape, 0) + 1
                queue.append(target)
        queue = [target for target in queue if target not in seen]
        if not queue or len(walk.pages) >= max_pages:
            break
        target = queue.pop(0)
        app.evaluate(FOLLOW, app_origin + target)
        try:
            app.wait_for_function("(t) => location.href.endsWith(t)", arg=target,
                                  timeout=15000)
        except Exception:  # noqa: BLE001 - the problem is what the merchant saw, said below
            walk.problems.append(f"{target}: did not open from {current} (now {app.url})")
            seen.add(target)
    page.remove_listener("response", answered)
    return walk


def _shape(target: str) -> str:
    """/orders/12/ and /orders/31/ are one kind of page; so are ?page=2 and ?page=3."""
    return re.sub(r"\d+", "N", target.replace("&q=", ""))


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")[:60] or "home"


DEMO_SHOPS = ("demo-source.myshopify.com", "demo-dest-1.myshopify.com",
              "demo-dest-2.myshopify.com")


def walk_demo(browser, *, admin_url: str, app_origin: str, out: Path) -> Walk:
    """Walks the demo world as each of its merchants: the source and both destinations."""
    out.mkdir(parents=True, exist_ok=True)
    walk = Walk()
    for shop in DEMO_SHOPS:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            one = walk_app(context.new_page(), admin_url=admin_url, app_origin=app_origin,
                           shop=shop, out=out)
        finally:
            context.close()
        walk.pages += [f"{shop} {path}" for path in one.pages]
        walk.problems += [f"{shop} {problem}" for problem in one.problems]
    return walk
