"""web_vitals: LCP, CLS and INP of the main pages, in a real browser, inside the emulator's admin.

Processes, as `make run` starts them: the emulator (`serve`, real signed webhooks), Syncer's web
tier (gunicorn, 2 workers × 4 threads), a Celery worker (concurrency 2, every queue) and beat,
on PostgreSQL and Redis; static files collected as `make run` does. The world is `make run`'s
demo, seeded by the same script (scripts/seed_demo.py): demo-source, demo-dest-1 and demo-dest-2
connected, the catalogue imported and mapped, demo-dest-1's orders in every tab.

Measured (Playwright driving Debian's Chromium, headless, 1280 × 800, one browser context so the
cache stays warm as a merchant's does): each page is loaded WEB_VITALS_WARMUP times uncounted,
then WEB_VITALS_SAMPLES times, each a fresh load in a new tab of the emulator's admin page with
the app framed at that page. Inside the app's frame (an init script, PerformanceObserver with
`buffered: true`) it records:

* LCP: the last `largest-contentful-paint` entry (Chromium stops reporting at the first input);
* CLS: `layout-shift` entries without recent input, summed by session window (web-vitals'
  definition: a window ends after a 1 s gap or 5 s in all; CLS is the largest window);
* INP: after the page settled (network idle), one real click (page.mouse at the centre of the
  page's main control: a tab, a date range, a switch, a link), then the longest `event` entry
  (durationThreshold 16 ms) of that interaction; `first-input` covers clicks under 16 ms.

Per page: the p75 (nearest rank) of each over the samples, and for context the frame's TTFB,
when the frame's document started after the admin page's (the admin's part of the wait) and the
LCP counted from the admin page's start. Goal, twice as good as Built for Shopify:
LCP ≤ 1.0 s, CLS ≤ 0.02, INP ≤ 100 ms, at p75 on every page.

Run: `python -m bench web_vitals` (WEB_VITALS_SAMPLES=20, WEB_VITALS_WARMUP=2).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.support import (
    BIN,
    ROOT,
    Process,
    bench_env,
    child_figures,
    database_fresh,
    free_port,
    wait_http,
)
from scripts.run_demo import DESTINATIONS, SOURCE, ready_checks_pass

SAMPLES = int(os.environ.get("WEB_VITALS_SAMPLES", "20"))
WARMUP = int(os.environ.get("WEB_VITALS_WARMUP", "2"))
GOAL = {"lcp_ms": 1000.0, "cls": 0.02, "inp_ms": 100.0}
DATABASE = "syncer_bench_web_vitals"
LOG_DIR = ROOT / "bench" / "results"
DESTINATION = DESTINATIONS[0]  # demo-dest-1: the destination the demo gives orders
WIDTH, HEIGHT = 1280, 800  # as the browser tests' page (tests/e2e/conftest.py)
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# The browser tests' flags (tests/conftest.py), so the bench sees the browser they see.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# web-vitals' CLS session windows and INP's event threshold.
SESSION_GAP_MS = 1000.0
SESSION_SPAN_MS = 5000.0
EVENT_THRESHOLD_MS = 16
SETTLE_TIMEOUT_MS = 5000  # network idle after the load; the page polls nothing by then
INTERACTION_WAIT_S = 2.0


# -- the figures ---------------------------------------------------------------------------------


def p75(values: Sequence[float]) -> float | None:
    """The 75th percentile by nearest rank: the smallest sample that at least 75 % of the samples
    are at or below (as CrUX and Built for Shopify state a p75). None without samples."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.75 * len(ordered)) - 1]


def cls_of(shifts: Sequence[dict[str, Any]]) -> float:
    """Cumulative Layout Shift as web-vitals computes it: shifts right after an input do not
    count; the rest are grouped in session windows (a shift joins the current window when it
    comes less than 1 s after the previous one and less than 5 s after the window's first);
    CLS is the largest window's sum. `shifts`: {startTime (ms), value, hadRecentInput}."""
    largest = 0.0
    window = 0.0
    first_at = previous_at = -math.inf
    for shift in sorted(shifts, key=lambda entry: entry["startTime"]):
        if shift["hadRecentInput"]:
            continue
        at = shift["startTime"]
        if at - previous_at < SESSION_GAP_MS and at - first_at < SESSION_SPAN_MS:
            window += shift["value"]
        else:
            window, first_at = shift["value"], at
        previous_at = at
        largest = max(largest, window)
    return largest


def inp_of(events: Sequence[dict[str, Any]], first_input: dict[str, Any] | None) -> float | None:
    """The interaction's latency: the longest event of any interaction (below 50 interactions
    INP is the worst one). Events under the 16 ms threshold are not reported, so a quick click
    shows only as `first-input`. None when the browser reported neither."""
    durations = [event["duration"] for event in events if event.get("interactionId")]
    if first_input is not None:
        durations.append(first_input["duration"])
    return max(durations) if durations else None


# -- the pages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    shop: str
    path: str
    # The page's main control: CSS selectors in the app's frame, the first visible one clicked.
    controls: tuple[str, ...]


TAB = '[role="tab"][aria-selected="false"]'
RANGE = (
    'label:has(> input[name="range"]:not(:checked):not([value="custom"]))',
    'input[name="range"]:not(:checked):not([value="custom"])',
)


def pages(*, order_id: int) -> list[Page]:
    return [
        # A source's home is its store key, to copy and share.
        Page("source_home", SOURCE, "/", (".store-key-value", 'main a[href$="/stores/"]')),
        Page(
            "destination_home",
            DESTINATION,
            "/",
            ('main a[href$="/dashboard/"]', 'main a[href$="/sources/"]'),
        ),
        Page("source_dashboard", SOURCE, "/dashboard/", RANGE),
        Page("destination_dashboard", DESTINATION, "/dashboard/", RANGE),
        Page("store_list", SOURCE, "/stores/", (TAB,)),
        Page("products", DESTINATION, "/products/", (TAB, 'input[role="switch"]')),
        Page("orders", DESTINATION, "/orders/", (TAB,)),
        # What a push sends (its main control, Push, would push the order at the first
        # sample). Not the shipping fee field: headless Chromium reports no event timing at all
        # for a click into an editable text field (no frame is presented for it).
        Page(
            "order_page",
            DESTINATION,
            f"/orders/{order_id}/",
            ('main a[href$="/orders/help"]', "main .data-table tbody td"),
        ),
        Page(
            "settings",
            DESTINATION,
            "/orders/settings",
            (
                'label:has(input[name="notify_customer"])',
                'input[name="notify_customer"]',
                'main input[type="checkbox"]',
            ),
        ),
    ]


def order_for_page() -> int:
    """A demo-dest-1 order with the most on its page: pushed to one source and ready to push to
    another (the demo's partially pushed order), else any pushed one, else the first."""
    from django.db.models import Count, Q

    from orders.models import DestinationOrder, OrderPush

    orders = (
        DestinationOrder.objects.filter(shop__domain=DESTINATION)
        .annotate(
            pushed=Count("pushes", filter=Q(pushes__status=OrderPush.Status.PUSHED), distinct=True),
            sources=Count("lines__source", distinct=True),
        )
        .order_by("pk")
    )
    chosen = (
        orders.filter(pushed__gte=1, sources__gt=1).first()
        or orders.filter(pushed__gte=1).first()
        or orders.first()
    )
    if chosen is None:
        raise RuntimeError(f"The demo seeded no orders on {DESTINATION}")
    return chosen.pk


# -- in the browser ------------------------------------------------------------------------------

# Runs in every frame before its scripts (context.add_init_script); records in the app's frame.
OBSERVER = """(appOrigin, threshold) => {
  if (location.origin !== appOrigin || window.__syncerVitals) return;
  const vitals = {lcp: [], shifts: [], events: [], firstInput: null, errors: []};
  Object.defineProperty(window, "__syncerVitals", {value: vitals});
  const describe = (el) => el ? el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.classList && el.classList.length ? "." + [...el.classList].join(".") : "") : null;
  const observe = (type, options, record) => {
    try {
      new PerformanceObserver((list) => list.getEntries().forEach(record))
        .observe({type, buffered: true, ...options});
    } catch (error) { vitals.errors.push(type + ": " + error); }
  };
  observe("largest-contentful-paint", {}, (e) => vitals.lcp.push(
    {startTime: e.startTime, size: e.size, element: describe(e.element)}));
  observe("layout-shift", {}, (e) => vitals.shifts.push(
    {startTime: e.startTime, value: e.value, hadRecentInput: e.hadRecentInput}));
  observe("event", {durationThreshold: threshold}, (e) => vitals.events.push(
    {name: e.name, interactionId: e.interactionId, duration: e.duration,
     startTime: e.startTime, processingStart: e.processingStart,
     processingEnd: e.processingEnd}));
  observe("first-input", {}, (e) => { vitals.firstInput = {name: e.name, duration: e.duration}; });
}"""

READ = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  return {...window.__syncerVitals, timeOrigin: performance.timeOrigin,
          ttfb: nav ? nav.responseStart : null, load: nav ? nav.loadEventEnd : null};
}"""


def _app_frame(page, app_url: str):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for frame in page.frames:
            if frame.url.startswith(app_url):
                return frame
        page.wait_for_timeout(50)
    raise RuntimeError(f"no frame of {app_url} in {page.url}")


def _control(frame, selectors: Sequence[str]):
    for selector in selectors:
        candidates = frame.locator(selector)
        for index in range(candidates.count()):
            if candidates.nth(index).is_visible():
                return selector, candidates.nth(index)
    raise RuntimeError(f"none of {list(selectors)} is visible on {frame.url}")


def _click(page, frame, selectors: Sequence[str]) -> str:
    """A real click (mouse events at the element's centre, in the admin page's viewport)."""
    selector, control = _control(frame, selectors)
    control.scroll_into_view_if_needed()
    # The scroll's frame is presented before the click, so the click's next paint is its own.
    frame.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    box = control.bounding_box()
    if box is None:
        raise RuntimeError(f"{selector} has no box on {frame.url}")
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    deadline = time.monotonic() + INTERACTION_WAIT_S
    while time.monotonic() < deadline:
        seen = frame.evaluate("() => !!window.__syncerVitals.firstInput")
        if seen:
            break
        page.wait_for_timeout(20)
    # The interaction's other events (pointerup, click) are reported with or just after it.
    page.wait_for_timeout(250)
    return selector


def load_once(context, *, admin_url: str, app_url: str, page_spec: Page) -> dict:
    """One fresh load of the admin with the app at the page, one click; the raw figures."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = context.new_page()
    try:
        page.goto(admin_url, wait_until="load")
        top_origin = page.evaluate("() => performance.timeOrigin")
        frame = _app_frame(page, app_url)
        frame.wait_for_load_state("load")
        with contextlib.suppress(PlaywrightTimeout):  # a page that keeps polling: as it is
            page.wait_for_load_state("networkidle", timeout=SETTLE_TIMEOUT_MS)
        selector = _click(page, frame, page_spec.controls)
        raw = frame.evaluate(READ)
    finally:
        page.close()
    lcp = raw["lcp"][-1] if raw["lcp"] else None
    frame_start = raw["timeOrigin"] - top_origin
    return {
        "lcp_ms": lcp["startTime"] if lcp else None,
        "lcp_element": lcp["element"] if lcp else None,
        "cls": cls_of(raw["shifts"]),
        "inp_ms": inp_of(raw["events"], raw["firstInput"]),
        "ttfb_ms": raw["ttfb"],
        "frame_start_ms": frame_start,
        "lcp_from_admin_ms": frame_start + lcp["startTime"] if lcp else None,
        "control": selector,
        "observer_errors": raw["errors"],
    }


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def page_figures(loads: list[dict]) -> dict:
    def column(key: str) -> list[float]:
        return [load[key] for load in loads if load.get(key) is not None]

    elements = Counter(load["lcp_element"] for load in loads if load.get("lcp_element"))
    return {
        "samples": len(loads),
        "lcp_ms_p75": _rounded(p75(column("lcp_ms")), 1),
        "cls_p75": _rounded(p75(column("cls")), 4),
        "inp_ms_p75": _rounded(p75(column("inp_ms")), 1),
        "lcp_samples": len(column("lcp_ms")),
        "inp_samples": len(column("inp_ms")),
        "ttfb_ms_p75": _rounded(p75(column("ttfb_ms")), 1),
        "frame_start_ms_p75": _rounded(p75(column("frame_start_ms")), 1),
        "lcp_from_admin_ms_p75": _rounded(p75(column("lcp_from_admin_ms")), 1),
        "lcp_element": elements.most_common(1)[0][0] if elements else None,
        "control": sorted({load["control"] for load in loads}),
        "observer_errors": sorted({error for load in loads for error in load["observer_errors"]}),
    }


def worst_of(figures: dict[str, dict]) -> dict:
    worst: dict[str, float | None] = {}
    for key in ("lcp_ms_p75", "cls_p75", "inp_ms_p75"):
        values = [page[key] for page in figures.values() if page.get(key) is not None]
        worst[key] = max(values) if values else None
    return worst


def goal_met(figures: dict[str, dict], worst: dict) -> dict:
    """Met when every page has the figure and the worst is within the goal."""
    met = {}
    for metric, key in (("lcp_ms", "lcp_ms_p75"), ("cls", "cls_p75"), ("inp_ms", "inp_ms_p75")):
        complete = all(page.get(key) is not None for page in figures.values())
        met[metric] = complete and worst[key] is not None and worst[key] <= GOAL[metric]
    met["all"] = all(met.values())
    return met


def admin_route(emulator_url: str) -> str:
    """The admin page's address for an app path: the reload-safe
    /admin/<shop>/apps/syncer/<path> where the emulator has it, else /admin/<shop>?path=."""
    probe = httpx.get(f"{emulator_url}/admin/{SOURCE}/apps/syncer/", timeout=30)
    return "apps" if probe.status_code == 200 else "query"


def admin_url_for(emulator_url: str, route: str, page_spec: Page) -> str:
    if route == "apps":
        return f"{emulator_url}/admin/{page_spec.shop}/apps/syncer{page_spec.path}"
    return f"{emulator_url}/admin/{page_spec.shop}?path={page_spec.path}"


def child(emulator_url: str, app_url: str) -> dict:
    """Runs inside a process configured for the bench database (see run())."""
    import django

    django.setup()
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    order_id = order_for_page()  # the ORM before Playwright's event loop runs in this thread
    route = admin_route(emulator_url)
    specs = pages(order_id=order_id)
    figures: dict[str, dict] = {}
    failures: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        context.add_init_script(script=f"({OBSERVER})({json.dumps(app_url)}, {EVENT_THRESHOLD_MS})")
        for spec in specs:
            url = admin_url_for(emulator_url, route, spec)
            loads = []
            for index in range(WARMUP + SAMPLES):
                try:
                    load = load_once(context, admin_url=url, app_url=app_url, page_spec=spec)
                except (PlaywrightError, RuntimeError) as exc:  # reported; the others count
                    failures.setdefault(spec.name, []).append(f"{type(exc).__name__}: {exc}"[:300])
                    continue
                if index >= WARMUP:
                    loads.append(load)
            figures[spec.name] = {"shop": spec.shop, "path": spec.path, **page_figures(loads)}
            print(
                f"web_vitals {spec.name}: {json.dumps(figures[spec.name])}",
                file=sys.stderr,
                flush=True,
            )
        context.close()
        browser.close()
    worst = worst_of(figures)
    return {
        "name": "web_vitals",
        "params": {
            "samples_per_page": SAMPLES,
            "warmup_loads_per_page": WARMUP,
            "browser": f"Chromium ({CHROMIUM}), headless, {WIDTH}×{HEIGHT}, one context "
            "(warm cache), a new tab per load",
            "admin_page": (
                "/admin/<shop>/apps/syncer/<path>"
                if route == "apps"
                else "/admin/<shop>?path=<path>"
            ),
            "measure": "PerformanceObserver in the app's frame (buffered): last LCP entry; "
            "CLS = largest session window (1 s gap, 5 s span) of shifts without "
            "recent input; INP = longest event of one real click (page.mouse) on "
            "the page's main control, event threshold 16 ms, first-input below it",
            "p75": "nearest rank",
            "web": "gunicorn syncer.wsgi, 2 workers × 4 threads",
            "worker": "1 Celery worker, concurrency 2, all queues; beat",
            "world": "make run's demo (scripts/seed_demo.py)",
        },
        "pages": figures,
        "worst": worst,
        "goal": GOAL,
        "goal_met": goal_met(figures, worst),
        "ratio_to_goal": {
            metric: (None if worst[key] is None else round(worst[key] / GOAL[metric], 3))
            for metric, key in (
                ("lcp_ms", "lcp_ms_p75"),
                ("cls", "cls_p75"),
                ("inp_ms", "inp_ms_p75"),
            )
        },
        "failed_loads": failures,
    }


# -- the stack -----------------------------------------------------------------------------------


def _seed(env: dict) -> None:
    """`make run`'s seed, as `make run` runs it."""
    log = LOG_DIR / "web_vitals.seed.log"
    with log.open("w") as output:
        result = subprocess.run(
            [str(BIN / "python"), "scripts/seed_demo.py"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=900,
        )
    if result.returncode != 0:
        raise RuntimeError(
            f"seeding the demo failed (exit {result.returncode}); see {log}:\n"
            + log.read_text()[-2000:]
        )


def _ready_wait(health_url: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready_checks_pass(health_url):
            return
        time.sleep(0.5)
    raise RuntimeError(f"{health_url}: database, broker and worker not ready in {timeout} s")


@dataclass
class Stack:
    emulator_url: str
    app_url: str
    env: dict
    seed_seconds: float


def _commands(*, emulator_port: int, web_port: int, app_url: str, env: dict, beat: Path) -> dict:
    """`make run`'s processes (scripts/run_demo.py), on the bench's ports."""
    emulator = ["-m", "shopify_emulator", "serve", "--port", str(emulator_port), "--quiet"]
    emulator += ["--app-url", app_url, "--api-key", env["SHOPIFY_API_KEY"]]
    emulator += ["--app-config", str(ROOT / "shopify.app.toml")]
    web = ["syncer.wsgi", "--bind", f"127.0.0.1:{web_port}", "--workers", "2", "--threads", "4"]
    worker = ["-A", "syncer", "worker", "--loglevel", "WARNING", "--concurrency", "2"]
    worker += ["-Q", "webhooks,sync,default,webhooks_later,bulk", "--hostname", "web-vitals@%h"]
    scheduler = ["-A", "syncer", "beat", "--loglevel", "WARNING", "--schedule", str(beat)]
    return {
        "emulator": [str(BIN / "python"), *emulator],
        "web": [str(BIN / "gunicorn"), *web, "--log-level", "warning"],
        "worker": [str(BIN / "celery"), *worker],
        "beat": [str(BIN / "celery"), *scheduler],
    }


@contextlib.contextmanager
def demo_stack() -> Iterator[Stack]:
    """A scratch database with `make run`'s demo world, served as `make run` serves it; every
    process stopped and the Redis database emptied on the way out."""
    import redis

    database_fresh(DATABASE)
    emulator_port, web_port = free_port(), free_port()
    while web_port == emulator_port:
        web_port = free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    app_url = f"http://127.0.0.1:{web_port}"
    # As `make run` frames the app (scripts/run_demo.py, demo_env): in the emulator's admin,
    # whose page stands in for App Bridge.
    env = bench_env(
        database=DATABASE,
        APP_URL=app_url,
        EMULATOR_PORT=str(emulator_port),
        SHOPIFY_ADMIN_BASE_URL=f"{emulator_url}/shops/{{shop}}",
        SHOPIFY_APP_BRIDGE_URL="",
        SHOPIFY_FRAME_ANCESTORS_EXTRA=emulator_url,
        SHOPIFY_HTTP_TIMEOUT="30",
    )
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    subprocess.run(
        [str(BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    processes = []
    scratch = tempfile.mkdtemp(prefix="bench-web-vitals-")
    commands = _commands(
        emulator_port=emulator_port,
        web_port=web_port,
        app_url=app_url,
        env=env,
        beat=Path(scratch) / "beat-schedule",
    )
    try:
        for name, command in commands.items():
            processes.append(Process(command, env=env, log=LOG_DIR / f"web_vitals.{name}.log"))
        wait_http(f"{emulator_url}/_emulator/health", timeout=60)
        _ready_wait(f"{app_url}/healthz", timeout=120)
        started = time.perf_counter()
        _seed(env)
        yield Stack(
            emulator_url=emulator_url,
            app_url=app_url,
            env=env,
            seed_seconds=time.perf_counter() - started,
        )
    finally:
        for process in reversed(processes):
            process.stop()
        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
        shutil.rmtree(scratch, ignore_errors=True)


def run() -> dict:
    with demo_stack() as stack:
        load_before = os.getloadavg()
        figures = child_figures(
            "bench.bench_web_vitals",
            stack.emulator_url,
            stack.app_url,
            env=stack.env,
            timeout=600 + (WARMUP + SAMPLES) * 9 * 30,
        )
    figures["seed_seconds"] = round(stack.seed_seconds, 1)
    # The machine is shared: its load during the run says how far to trust the figures.
    figures["load_average_before"] = [round(x, 2) for x in load_before]
    figures["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return figures


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "child":
        print(json.dumps(child(sys.argv[2], sys.argv[3])))
    else:
        print(json.dumps(run(), indent=2))
