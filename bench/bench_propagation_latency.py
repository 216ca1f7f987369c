"""propagation_latency: one source stock change → every destination written, end to end the
way production runs, at 1, 5, 20, 50 and 100 destinations in one run; p50 / p95 / max per size
(goals: p95 < 0.25 s at 20 destinations, p95 < 1 s at 100).

Processes (each its own, as `make run` / docker-compose start them): the emulator sending real
signed webhooks (`serve`, webhooks on, the app's TOML subscriptions installed); Syncer's web
tier (gunicorn, 2 workers × 4 threads, as `make run`) receiving them into the inbox; one Celery
worker (prefork, concurrency 4, all queues, as docker-compose; bench/inventory_worker.py, which
also times the engine's steps) processing deliveries and flushing destinations; Celery beat;
PostgreSQL and Redis.

Setup (not timed), once per size: a source with 50 variants (10 products × 5) and that many
destinations with the same SKUs and stock, installed; in Syncer, as after a first reconciliation
(shops, connections, mirror, links, source levels, destination stock known = target;
bench/inventory_support.py). Every size's world lives in the same emulator and database, and the
sizes are measured one after the other (smallest first), each with its own source.

A trial: the merchant sets a new `available` on one source variant (control API; trials cycle
through the 50 variants). The emulator applies it, sends `inventory_levels/update` to Syncer,
which records it, recomputes the 20 targets and flushes every destination
(`inventorySetQuantities`); each write comes back to Syncer as an echo webhook, recognised and
ignored. Latency = the emulator's own wall-clock times (GET /_emulator/inventory/changes): from
the source level being applied to the last destination level set to the new figure. The bench
only polls that log (every 20 ms) to know when a trial is over; the poll does not bound the
figure.

Two series: `isolated` (BENCH_LATENCY_SPACING, 1 s, between one trial's end and the next
change, so echo webhooks and follow-up tasks are done) and `back_to_back` (the next change as
soon as the previous one reached every destination), alternating in blocks of 10 trials so that
both see the same neighbours on a shared machine. 3 warm-up trials are not counted. Per
series: p50 / p95 / max, the phases from Syncer's own timestamps (emulator → inbox row, inbox →
handler done, → last batch formed, → last destination written; medians), worker time per
trial by engine step, API calls per destination per trial.

Figures: `by_destinations: {"<n>": {...}}` for every size (both series' p50 / p95 / max, the
isolated series' phases and worker time, the load average before and after that size), ratios
to goal at 20 and 100, and machine info. The top-level p50_s / p95_s / max_s / series keys are the
20-destination size's (the figures this bench reported before it measured several sizes).

Run: `python -m bench propagation_latency` (BENCH_LATENCY_DESTINATIONS=1,5,20,50,100;
BENCH_LATENCY_TRIALS=200 per series for sizes below 50, BENCH_LATENCY_TRIALS_LARGE=50 per series
for 50 and more: each trial of a large size costs more of the shared machine;
BENCH_LATENCY_VARIANTS=50, BENCH_LATENCY_SPACING=1.0, BENCH_LATENCY_CONCURRENCY=4;
BENCH_LATENCY_DATABASE=syncer_bench_latency names the scratch database).
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.inventory_support import beat_start, worker_start
from bench.support import (
    BIN,
    ROOT,
    Process,
    bench_env,
    child_figures,
    database_fresh,
    free_port,
    percentile,
    wait_http,
)

TRIALS = int(os.environ.get("BENCH_LATENCY_TRIALS", "200"))
TRIALS_LARGE = int(os.environ.get("BENCH_LATENCY_TRIALS_LARGE", "50"))
LARGE_FROM = 50  # sizes from this many destinations run TRIALS_LARGE trials per series
SIZES = sorted({int(n) for n in os.environ.get(
    "BENCH_LATENCY_DESTINATIONS", "1,5,20,50,100").split(",") if n.strip()})
VARIANT_COUNT = int(os.environ.get("BENCH_LATENCY_VARIANTS", "50"))
SPACING = float(os.environ.get("BENCH_LATENCY_SPACING", "1.0"))
CONCURRENCY = int(os.environ.get("BENCH_LATENCY_CONCURRENCY", "4"))
WEB_WORKERS = 2
WEB_THREADS = 4
WARMUP = 3
BLOCK = 10  # trials per block; the series alternate block by block
SETTLE = 1.5  # seconds after a block before its counters are read
VARIANTS_PER_PRODUCT = 5
TRIAL_TIMEOUT = 60.0
POLL_SECONDS = 0.02
# p95 goals by number of destinations (issue 22); the top-level figures are LEGACY_SIZE's.
GOALS_P95_S = {20: 0.25, 100: 1.0}
LEGACY_SIZE = 20
DATABASE = os.environ.get("BENCH_LATENCY_DATABASE", "syncer_bench_latency")
LOG_DIR = ROOT / "bench" / "results"


def _trials_for(size: int) -> int:
    return TRIALS_LARGE if size >= LARGE_FROM else TRIALS


def _source(size: int) -> str:
    return f"latency-{size}-source.myshopify.com"


def _destinations(size: int) -> list[str]:
    return [f"latency-{size}-dest-{n:03d}.myshopify.com" for n in range(1, size + 1)]


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Trials:
    def __init__(self, control: httpx.Client, catalogue) -> None:
        self.control = control
        self.catalogue = catalogue
        self.skus = catalogue.skus
        source = catalogue.source
        self.current = {sku: None for sku in self.skus}
        snapshot = control.get(f"/_emulator/shops/{source.domain}").json()
        for level in snapshot["inventory_levels"]:
            if level["location_id"] == source.primary_location_id:
                self.current[level["sku"]] = level["available"]
        self.count = 0

    def one(self) -> dict:
        """Changes one source variant and waits until every destination shows the figure."""
        catalogue = self.catalogue
        sku = self.skus[self.count % len(self.skus)]
        new = self.current[sku] + 1 + self.count % 5
        self.count += 1
        self.current[sku] = new
        source_item = catalogue.source.items[sku][2]
        wanted = {d.domain: d.items[sku][2] for d in catalogue.destinations}
        since = time.time() - 0.5  # the emulator stamps with its own clock (same machine)
        self.control.post(f"/_emulator/shops/{catalogue.source.domain}/inventory",
                          json={"sku": sku, "available": new}).raise_for_status()
        deadline = time.monotonic() + TRIAL_TIMEOUT
        source_at = None
        written: dict[str, float] = {}
        while time.monotonic() < deadline:
            changes = self.control.get("/_emulator/inventory/changes",
                                       params={"since": since}).json()["changes"]
            for change in changes:
                if change["available"] != new:
                    continue
                if change["shop"] == catalogue.source.domain and (
                        change["inventory_item_id"] == source_item):
                    source_at = change["at"]
                elif wanted.get(change["shop"]) == change["inventory_item_id"]:
                    written.setdefault(change["shop"], change["at"])
            if source_at is not None and len(written) == len(wanted):
                break
            time.sleep(POLL_SECONDS)
        done = source_at is not None and len(written) == len(wanted)
        return {"sku": sku, "available": new, "source_item": source_item, "source_at": source_at,
                "last_write_at": max(written.values()) if written else None,
                "destinations_written": len(written), "done": done,
                "latency_s": (max(written.values()) - source_at) if done else None}


def _phases(trials: list[dict], catalogue) -> dict:
    """Medians of where the time went, from Syncer's own timestamps."""
    from products.models import InventoryWriteBatch
    from webhooks.models import WebhookDelivery

    deliveries = {}
    for delivery in WebhookDelivery.objects.filter(shop_domain=catalogue.source.domain,
                                                   topic="inventory_levels/update"):
        body = json.loads(delivery.raw_body)
        deliveries[(body.get("inventory_item_id"), body.get("available"))] = delivery
    formed: dict[tuple[int, int], list[float]] = {}
    for batch in InventoryWriteBatch.objects.filter(
            status=InventoryWriteBatch.Status.DONE,
            destination__domain__in=[d.domain for d in catalogue.destinations]):
        for item in batch.items:
            formed.setdefault((item["item"], item["quantity"]), []).append(
                batch.created_at.timestamp())
    phases: dict[str, list[float]] = {"emulator_to_inbox": [], "inbox_to_handler_done": [],
                                      "handler_done_to_last_batch_formed": [],
                                      "last_batch_formed_to_last_write": []}
    for trial in trials:
        delivery = deliveries.get((trial["source_item"], trial["available"]))
        if not trial["done"] or delivery is None or delivery.processed_at is None:
            continue
        received = delivery.received_at.timestamp()
        processed = delivery.processed_at.timestamp()
        batch_times = [t for d in catalogue.destinations
                       for t in formed.get((d.items[trial["sku"]][2], trial["available"]), [])]
        phases["emulator_to_inbox"].append(received - trial["source_at"])
        phases["inbox_to_handler_done"].append(processed - received)
        if batch_times:
            phases["handler_done_to_last_batch_formed"].append(max(batch_times) - processed)
            phases["last_batch_formed_to_last_write"].append(trial["last_write_at"]
                                                             - max(batch_times))
    return {name: round(statistics.median(values), 3) if values else None
            for name, values in phases.items()}


def _worker_time(timings: dict, trials: int) -> dict:
    """Worker milliseconds per trial by step (summed over the pool's processes; nested steps
    taken out of their parents), and how many of each per trial."""

    def seconds(step: str) -> float:
        return timings.get(step, {}).get("seconds", 0.0)

    def per_trial(value: float) -> float:
        return round(1000 * value / trials, 1)

    # A level webhook is taken by a batch task (ingest.batch), other topics one row at a time.
    webhook_tasks = sum(timings.get(step, {}).get("calls", 0)
                        for step in ("ingest.delivery", "ingest.batch"))
    return {
        "webhook_tasks_per_trial": round(webhook_tasks / trials, 2),
        "flush_group_tasks_per_trial": round(
            timings.get("flush.group", {}).get("calls", 0) / trials, 2),
        "destination_flushes_per_trial": round(
            timings.get("flush.call", {}).get("calls", 0) / trials, 2),
        "webhooks_incl_echoes_other_than_engine": per_trial(
            seconds("ingest.delivery") + seconds("ingest.batch")
            - seconds("ingest.source_level_changed") - seconds("ingest.flush_enqueue")),
        "target_recompute": per_trial(seconds("ingest.targets_recompute")),
        "flush_task_enqueue": per_trial(seconds("ingest.flush_enqueue")),
        "flush_overhead": per_trial(seconds("flush.call") - seconds("flush.batch_form")
                                    - seconds("flush.batch_send")
                                    + seconds("flush.schedule_next")),
        "batch_forming": per_trial(seconds("flush.batch_form")),
        "send_api_call": per_trial(seconds("flush.batch_send") - seconds("flush.batch_done")),
        "done_bookkeeping": per_trial(seconds("flush.batch_done")),
    }


class Counters:
    """Emulator counters and worker timings summed over the blocks of one series."""

    def __init__(self) -> None:
        self.calls: dict[str, float] = {}
        self.timings: dict[str, dict[str, float]] = {}

    def add(self, before: dict, after: dict, timings_before: dict, timings_after: dict,
            catalogue) -> None:
        for destination in catalogue.destinations:
            domain = destination.domain
            for key, counted in (("calls", lambda s, d: s["shops"].get(d, {}).get(
                    "graphql_requests", 0)), ("set_calls", lambda s, d: s["root_fields"].get(
                    d, {}).get("inventorySetQuantities", 0)), ("throttled", lambda s, d: s[
                    "shops"].get(d, {}).get("throttled", 0))):
                self.calls[f"{key}:{domain}"] = (self.calls.get(f"{key}:{domain}", 0)
                                                 + counted(after, domain)
                                                 - counted(before, domain))
        for step, value in timings_after.items():
            old = timings_before.get(step, {"calls": 0, "seconds": 0.0})
            entry = self.timings.setdefault(step, {"calls": 0, "seconds": 0.0})
            entry["calls"] += value["calls"] - old["calls"]
            entry["seconds"] += value["seconds"] - old["seconds"]

    def per_destination(self, key: str) -> list[float]:
        return [value for name, value in self.calls.items() if name.startswith(f"{key}:")]


def _series(name: str, trials: list[dict], counters: Counters, catalogue) -> dict:
    latencies = [t["latency_s"] for t in trials if t["done"]]
    p95 = percentile(latencies, 0.95)
    goal = GOALS_P95_S.get(len(catalogue.destinations))
    return {
        "series": name,
        "trials": len(trials),
        "completed": len(latencies),
        "timed_out": len(trials) - len(latencies),
        "p50_s": round(percentile(latencies, 0.50), 3),
        "p95_s": round(p95, 3),
        "max_s": round(max(latencies), 3) if latencies else None,
        "mean_s": round(statistics.mean(latencies), 3) if latencies else None,
        "ratio_p95_to_goal": round(p95 / goal, 3) if latencies and goal else None,
        "phases_median_s": _phases(trials, catalogue),
        "api_calls_per_destination_per_trial": round(
            statistics.mean(counters.per_destination("calls")) / len(trials), 3),
        "set_calls_per_destination_per_trial": round(
            statistics.mean(counters.per_destination("set_calls")) / len(trials), 3),
        "throttled": int(sum(counters.per_destination("throttled"))),
        "worker_ms_per_trial": _worker_time(counters.timings, len(trials)),
    }


def _size_measure(control: httpx.Client, catalogue, size: int) -> dict:
    """Both series for one world (see the module docstring)."""
    from bench.inventory_support import timings_read, timings_reset

    trials_wanted = _trials_for(size)
    load_before = _load()
    runner = Trials(control, catalogue)
    for _ in range(WARMUP):
        runner.one()
        time.sleep(SPACING)
    # The two series alternate in blocks, so both see the same neighbours on this shared
    # machine (one series after the other measured the neighbours as much as Syncer).
    plan = (("isolated", SPACING), ("back_to_back", 0.0))
    trials: dict[str, list[dict]] = {name: [] for name, _ in plan}
    counters = {name: Counters() for name, _ in plan}
    timings_reset()
    while any(len(done) < trials_wanted for done in trials.values()):
        for name, spacing in plan:
            block = min(BLOCK, trials_wanted - len(trials[name]))
            if block <= 0:
                continue
            before, timings_before = control.get("/_emulator/stats").json(), timings_read()
            for _ in range(block):
                trials[name].append(runner.one())
                if spacing:
                    time.sleep(spacing)
            time.sleep(SETTLE)  # the last echoes land before the counters are read
            counters[name].add(before, control.get("/_emulator/stats").json(),
                               timings_before, timings_read(), catalogue)
    series = {name: _series(name, trials[name], counters[name], catalogue)
              for name, _ in plan}
    return {"destinations": size, "trials_per_series": trials_wanted,
            "load_average_before": load_before, "load_average_after": _load(),
            "series": series}


def _size_summary(measured: dict) -> dict:
    isolated, back_to_back = measured["series"]["isolated"], measured["series"]["back_to_back"]
    goal = GOALS_P95_S.get(measured["destinations"])
    return {
        "trials_per_series": measured["trials_per_series"],
        "p50_s": isolated["p50_s"], "p95_s": isolated["p95_s"], "max_s": isolated["max_s"],
        "timed_out": isolated["timed_out"],
        "back_to_back_p50_s": back_to_back["p50_s"], "back_to_back_p95_s": back_to_back["p95_s"],
        "back_to_back_max_s": back_to_back["max_s"],
        "goal_p95_s": goal,
        "ratio_p95_to_goal": isolated["ratio_p95_to_goal"],
        "back_to_back_ratio_p95_to_goal": back_to_back["ratio_p95_to_goal"],
        "phases_median_s": isolated["phases_median_s"],
        "worker_ms_per_trial": isolated["worker_ms_per_trial"],
        "api_calls_per_destination_per_trial": isolated["api_calls_per_destination_per_trial"],
        "throttled": isolated["throttled"] + back_to_back["throttled"],
        "load_average_before": measured["load_average_before"],
        "load_average_after": measured["load_average_after"],
    }


def child(emulator_url: str) -> dict:
    """Runs inside a process configured for the bench database (see run())."""
    import django

    django.setup()
    from bench.inventory_support import emulator_catalogue, syncer_world

    control = httpx.Client(base_url=emulator_url, timeout=60)
    products = math.ceil(VARIANT_COUNT / VARIANTS_PER_PRODUCT)
    worlds = {}
    for size in SIZES:
        catalogue = emulator_catalogue(control, source=_source(size),
                                       destinations=_destinations(size), products=products,
                                       variants=VARIANTS_PER_PRODUCT, install=True)
        worlds[size] = (catalogue, syncer_world(catalogue))
    load_start = _load()
    measured = {size: _size_measure(control, worlds[size][0], size) for size in SIZES}
    by_destinations = {str(size): _size_summary(measured[size]) for size in SIZES}
    legacy = measured.get(LEGACY_SIZE) or measured[max(SIZES)]
    isolated = legacy["series"]["isolated"]
    return {
        "name": "propagation_latency",
        "params": {
            "destinations": SIZES, "legacy_destinations": legacy["destinations"],
            "trials_per_series": {str(size): _trials_for(size) for size in SIZES},
            "trials_note": (f"sizes of {LARGE_FROM}+ destinations run BENCH_LATENCY_TRIALS_LARGE"
                            " trials per series (each trial costs more of the shared machine)"),
            "warmup": WARMUP,
            "variants": products * VARIANTS_PER_PRODUCT, "spacing_s": SPACING,
            "plan": "standard",
            "web": f"gunicorn syncer.wsgi, {WEB_WORKERS} workers × {WEB_THREADS} threads",
            "worker": f"1 Celery worker, prefork, concurrency {CONCURRENCY}, all queues; beat",
            "emulator": "own process, real signed webhooks to the web tier",
            "measure": "emulator wall clock: source level applied → last destination level set",
        },
        "machine_load": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                         "load_average_start": load_start, "load_average_end": _load()},
        "world": {str(size): world for size, (_, world) in worlds.items()},
        "goal": {"p95_s_by_destinations": {str(n): g for n, g in GOALS_P95_S.items()}},
        "ratios_to_goal": {str(n): by_destinations[str(n)]["ratio_p95_to_goal"]
                           for n in GOALS_P95_S if str(n) in by_destinations},
        "by_destinations": by_destinations,
        "p50_s": isolated["p50_s"],
        "p95_s": isolated["p95_s"],
        "max_s": isolated["max_s"],
        "ratio_p95_to_goal": isolated["ratio_p95_to_goal"],
        "series": legacy["series"],
    }


def run() -> dict:
    database_fresh(DATABASE)
    emulator_port, web_port = free_port(), free_port()
    while web_port == emulator_port:
        web_port = free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    app_url = f"http://127.0.0.1:{web_port}"
    env = bench_env(database=DATABASE, APP_URL=app_url,
                    SHOPIFY_ADMIN_BASE_URL=f"{emulator_url}/shops/{{shop}}",
                    SHOPIFY_HTTP_TIMEOUT="30")
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    processes = []
    scratch = tempfile.mkdtemp(prefix="bench-latency-")
    try:
        processes.append(Process([
            str(BIN / "python"), "-m", "shopify_emulator", "serve", "--port", str(emulator_port),
            "--quiet", "--app-url", app_url, "--api-key", env["SHOPIFY_API_KEY"],
            "--app-config", str(ROOT / "shopify.app.toml"),
        ], env=env, log=LOG_DIR / "propagation_latency.emulator.log"))
        processes.append(Process([
            str(BIN / "gunicorn"), "syncer.wsgi", "--bind", f"127.0.0.1:{web_port}",
            "--workers", str(WEB_WORKERS), "--threads", str(WEB_THREADS),
            "--log-level", "warning",
        ], env=env, log=LOG_DIR / "propagation_latency.web.log"))
        processes.append(worker_start(env=env, concurrency=CONCURRENCY, hostname="latency",
                                      log=LOG_DIR / "propagation_latency.worker.log"))
        processes.append(beat_start(env=env, log=LOG_DIR / "propagation_latency.beat.log",
                                    schedule=Path(scratch) / "beat-schedule"))
        wait_http(f"{emulator_url}/_emulator/health")
        wait_http(f"{app_url}/healthz", timeout=60)
        load_before = os.getloadavg()
        figures = child_figures("bench.bench_propagation_latency", emulator_url, env=env,
                                timeout=600 + sum(
                                    _trials_for(size) * 2 * (TRIAL_TIMEOUT / 10 + SPACING)
                                    for size in SIZES))
    finally:
        for process in reversed(processes):
            process.stop()
        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
        shutil.rmtree(scratch, ignore_errors=True)
    figures["load_average_before"] = [round(x, 2) for x in load_before]
    return figures


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "child":
        print(json.dumps(child(sys.argv[2])))
    else:
        print(json.dumps(run(), indent=2))
