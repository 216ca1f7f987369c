"""dashboard: the source dashboard and the store report at 1,000,000 destination orders.

Setup (not timed as part of the figures): a scratch database seeded with set-based SQL
(bench/dashboard_seed.py) — one source, DASHBOARD_STORES connected stores, DASHBOARD_ORDERS
orders spread over the last DASHBOARD_DAYS days, each paid with two lines (each a sale of the
source's), a push and its lines, 60 % fulfilled with tracking — then the roll-ups of every
finished day built once (timed separately: a live source builds them a day at a time).

Measured, in one process through Django's test client with a real session token (the whole
stack: auth, middleware, selectors, templates): the source dashboard over All time (its
default: every day since the first push or sale, the year read from month rows) and over the
last two months (60 days), today included in both (today's pushes and sales read live), as a
full page and as the HTMX fragment, for all stores and for one store, DASHBOARD_REQUESTS times
each after warm-up: p50, p95 and max in ms, goal p95 < 50 ms (each case's ratio to it, and the
worst's), with the queries of one request and the time they took. Then the CSV report of the
busiest store over the whole span, streamed to the end: rows per second and time to the first
row. The machine: cpu_count and the load average when the timed requests start and end (other
work on the box shows there).

Run: `python -m bench dashboard` (DASHBOARD_ORDERS=20000 for a quick one). DASHBOARD_REUSE=1
keeps the database of the last run when it holds the same world (same orders, stores, days),
skipping the seed and the first roll-up (minutes at a million orders): for before/after
comparisons of the dashboard itself. Its newest orders are then as old as that seed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta

from bench.dashboard_seed import SOURCE_DOMAIN, seed
from bench.support import BIN, ROOT, bench_env, child_figures, database_fresh, percentile

ORDERS = int(os.environ.get("DASHBOARD_ORDERS", "1000000"))
STORES = int(os.environ.get("DASHBOARD_STORES", "100"))
DAYS = int(os.environ.get("DASHBOARD_DAYS", "365"))
REQUESTS = int(os.environ.get("DASHBOARD_REQUESTS", "50"))
WARMUP = 3
GOAL_P95_MS = 50.0
REUSE = os.environ.get("DASHBOARD_REUSE", "") == "1"
DATABASE = "syncer_bench_dashboard"


def _session_header(domain: str) -> str:
    import jwt
    from django.conf import settings

    now = int(time.time())
    token = jwt.encode({
        "iss": f"https://{domain}/admin", "dest": f"https://{domain}",
        "aud": settings.SHOPIFY_API_KEY, "sub": "1", "exp": now + 60, "nbf": now - 5,
        "iat": now - 5, "jti": f"bench-{now}", "sid": "bench",
    }, settings.SHOPIFY_API_SECRET, algorithm="HS256")
    return f"Bearer {token}"


def _timed_requests(client, path: str, params: dict, *, htmx: bool) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings = []
    queries = 0
    query_ms = 0.0
    for index in range(WARMUP + REQUESTS):
        headers = {"Authorization": _session_header(SOURCE_DOMAIN)}
        if htmx:
            headers["HX-Request"] = "true"
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path, params, headers=headers)
            elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{path} {params}: {response.status_code}")
        if index >= WARMUP:
            timings.append(elapsed * 1000)
            queries = len(captured)
            query_ms = sum(float(query["time"]) for query in captured.captured_queries) * 1000
    p95 = percentile(timings, 0.95)
    return {"p50_ms": round(percentile(timings, 0.50), 2), "p95_ms": round(p95, 2),
            "max_ms": round(max(timings), 2), "ratio_p95_to_goal": round(p95 / GOAL_P95_MS, 3),
            "queries": queries, "query_ms_last": round(query_ms, 2),
            "bytes": len(response.content)}


def child() -> dict:
    """Runs inside a process configured for the bench database (see run())."""
    import django

    django.setup()
    from django.test import Client
    from django.utils import timezone

    from orders.models import OrderPush, SourceDayStat, SourceProductDayStat
    from orders.stats import source_stats_close
    from products.models import DestinationSale
    from stores.models import Connection, Shop

    source = Shop.objects.get(domain=SOURCE_DOMAIN)
    started = time.perf_counter()
    closed_through = source_stats_close(source=source)
    rollup_seconds = time.perf_counter() - started
    from django.db import connection

    with connection.cursor() as cursor:  # what autovacuum does soon after on a live database
        cursor.execute("VACUUM ANALYZE orders_sourcedaystat, orders_sourceproductdaystat")
    busiest = Connection.objects.filter(source=source).order_by("pk").first()
    client = Client()
    dashboard = "/dashboard/"
    load_start = os.getloadavg()
    figures = {}
    for name, params in (("all_time", {}), ("", {"range": "60d"})):
        prefix = f"{name}_" if name else ""
        one_store = {**params, "store": busiest.pk}
        figures.update({
            f"{prefix}all_stores_page": _timed_requests(client, dashboard, params, htmx=False),
            f"{prefix}all_stores_fragment": _timed_requests(client, dashboard, params,
                                                            htmx=True),
            f"{prefix}one_store_page": _timed_requests(client, dashboard, one_store,
                                                       htmx=False),
            f"{prefix}one_store_fragment": _timed_requests(client, dashboard, one_store,
                                                           htmx=True),
        })
    load_end = os.getloadavg()
    in_range = OrderPush.objects.filter(source=source, status="pushed").count()
    sales = DestinationSale.objects.filter(source=source).count()

    # the CSV of one store over the whole span, streamed to the end
    today = timezone.now().date()
    span = {"range": "custom", "start": f"{today - timedelta(days=DAYS + 1):%Y-%m-%d}",
            "end": f"{today + timedelta(days=1):%Y-%m-%d}"}
    started = time.perf_counter()
    response = client.get(f"/stores/{busiest.pk}/report.csv", span,
                          headers={"Authorization": _session_header(SOURCE_DOMAIN)})
    first_row_at, rows, size = None, 0, 0
    for chunk in response.streaming_content:
        if first_row_at is None:
            first_row_at = time.perf_counter() - started
        rows += chunk.count(b"\n")
        size += len(chunk)
    csv_seconds = time.perf_counter() - started
    data_rows = rows - 1
    worst_p95 = max(f["p95_ms"] for f in figures.values())
    return {
        "name": "dashboard",
        "params": {"orders": ORDERS, "stores": STORES, "days": DAYS, "lines_per_order": 2,
                   "ranges": "all time (the default: the first push or sale through today; "
                             "all_time_*) and the last two months (60 days, today included)",
                   "requests_per_case": REQUESTS, "warmup": WARMUP,
                   "client": "django.test.Client in one process, real session token"},
        "orders_received": in_range,
        "sales_lines": sales,
        "rollup": {"seconds": round(rollup_seconds, 2), "closed_through": str(closed_through),
                   "day_rows": SourceDayStat.objects.filter(source=source).count(),
                   "product_day_rows": SourceProductDayStat.objects.filter(
                       source=source).count(),
                   "product_month_rows": SourceProductDayStat.objects.filter(
                       source=source, span="month").count()},
        "dashboard": figures,
        "worst_p95_ms": worst_p95,
        "ratio_p95_to_goal": round(worst_p95 / GOAL_P95_MS, 3),
        "goal": {"p95_ms": GOAL_P95_MS},
        "machine_load": {"cpu_count": os.cpu_count(),
                         "load_average_start": [round(x, 2) for x in load_start],
                         "load_average_end": [round(x, 2) for x in load_end]},
        "csv_report": {"store_rows": data_rows, "bytes": size,
                       "seconds": round(csv_seconds, 3),
                       "rows_per_s": round(data_rows / csv_seconds, 1),
                       "first_row_ms": round((first_row_at or 0) * 1000, 1)},
    }


def _seeded_world() -> str:
    """What the seed wrote, as it is noted on the database (see run())."""
    # "sales": seeded with products.DestinationSale (issue 23); an older seed is not reused.
    return f"dashboard seed orders={ORDERS} stores={STORES} days={DAYS} sales"


def _reusable(admin_url: str) -> str | None:
    """The note of the bench database when it exists and holds this run's world, else None."""
    import psycopg2

    connection = psycopg2.connect(admin_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database"
                           " WHERE datname = %s", [DATABASE])
            row = cursor.fetchone()
    finally:
        connection.close()
    note = row[0] if row else None
    return note if note and note.startswith(_seeded_world() + " at=") else None


def run() -> dict:
    import psycopg2

    from bench.support import PG_ADMIN_URL

    env = bench_env(database=DATABASE, ALLOWED_HOSTS="127.0.0.1,localhost,testserver")
    reused = _reusable(PG_ADMIN_URL) if REUSE else None
    seed_figures: dict = {"reused": reused}
    if reused is None:
        database_fresh(DATABASE)
        started = time.perf_counter()
        connection = psycopg2.connect(env["DATABASE_URL"])
        with connection, connection.cursor() as cursor:
            steps = seed(cursor, orders=ORDERS, stores=STORES, days=DAYS,
                         log=lambda line: print(line, file=sys.stderr, flush=True))
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
            # Noted only once the seed is whole: DASHBOARD_REUSE trusts this note.
            seeded_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            cursor.execute(f'COMMENT ON DATABASE "{DATABASE}" IS %s',
                           [f"{_seeded_world()} at={seeded_at}"])
        connection.close()
        seed_figures.update(seconds=round(time.perf_counter() - started, 1), steps_s=steps)
    # The pages are rendered with the production settings: hashed static names from the
    # manifest collectstatic writes (var/staticfiles, not in the repository).
    subprocess.run([str(BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v", "0"],
                   cwd=ROOT, env=env, check=True)
    load_before = os.getloadavg()
    figures = child_figures("bench.bench_dashboard", env=env, timeout=7200)
    figures["seed"] = seed_figures
    figures["load_average_before"] = [round(x, 2) for x in load_before]
    return figures


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "child":
        print(json.dumps(child()))
    else:
        print(json.dumps(run(), indent=2))
