"""propagation_latency: one source stock change → all 20 destinations written, end to end the
way production runs; p50 / p95 / max over 200 trials (goal: p95 < 1 s).

Processes (each its own, as `make run` / docker-compose start them): the emulator sending real
signed webhooks (`serve`, webhooks on, the app's TOML subscriptions installed); Syncer's web
tier (gunicorn, 2 workers × 4 threads, as `make run`) receiving them into the inbox; one Celery
worker (prefork, concurrency 4, all queues, as docker-compose; bench/inventory_worker.py, which
also times the engine's steps) processing deliveries and flushing destinations; Celery beat;
PostgreSQL and Redis.

Setup (not timed): a source with 50 variants (10 products × 5) and 20 destinations with the
same SKUs and stock, installed; in Syncer, as after a first reconciliation (shops, connections,
mirror, links, source levels, destination stock known = target; bench/inventory_support.py).

A trial: the merchant sets a new `available` on one source variant (control API; trials cycle
through the 50 variants). The emulator applies it, sends `inventory_levels/update` to Syncer,
which records it, recomputes the 20 targets and flushes every destination
(`inventorySetQuantities`); each write comes back to Syncer as an echo webhook, recognised and
ignored. Latency = the emulator's own wall-clock times (GET /_emulator/inventory/changes): from
the source level being applied to the 20th destination level set to the new figure. The bench
only polls that log (every 20 ms) to know when a trial is over; the poll does not bound the
figure.

Two series: `isolated` (BENCH_LATENCY_SPACING, 1 s, between one trial's end and the next
change, so echo webhooks and follow-up tasks are done) and `back_to_back` (the next change as
soon as the previous one reached every destination), alternating in blocks of 10 trials so that
both see the same neighbours on a shared machine. 3 warm-up trials are not counted. Per
series: p50 / p95 / max, the phases from Syncer's own timestamps (emulator → inbox row, inbox →
handler done, → last batch formed, → last destination written; medians), worker time per
trial by engine step, API calls per destination per trial.

Run: `python -m bench propagation_latency` (BENCH_LATENCY_TRIALS=200, BENCH_LATENCY_DESTINATIONS
=20, BENCH_LATENCY_VARIANTS=50, BENCH_LATENCY_SPACING=1.0, BENCH_LATENCY_CONCURRENCY=4).
"""

from __future__ import annotations

import json
import math
import os
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
DESTINATIONS = int(os.environ.get("BENCH_LATENCY_DESTINATIONS", "20"))
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
GOAL_P95_S = 1.0
DATABASE = "syncer_bench_latency"
SOURCE = "latency-source.myshopify.com"
LOG_DIR = ROOT / "bench" / "results"


def _destinations() -> list[str]:
    return [f"latency-dest-{n:02d}.myshopify.com" for n in range(1, DESTINATIONS + 1)]


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
    for batch in InventoryWriteBatch.objects.filter(status=InventoryWriteBatch.Status.DONE):
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

    deliveries = timings.get("ingest.delivery", {}).get("calls", 0)
    return {
        "webhooks_processed_per_trial": round(deliveries / trials, 2),
        "flush_tasks_per_trial": round(timings.get("flush.call", {}).get("calls", 0) / trials, 2),
        "webhooks_incl_echoes_other_than_engine": per_trial(
            seconds("ingest.delivery") - seconds("ingest.source_level_changed")
            - seconds("ingest.flush_enqueue")),
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
    return {
        "series": name,
        "trials": len(trials),
        "completed": len(latencies),
        "timed_out": len(trials) - len(latencies),
        "p50_s": round(percentile(latencies, 0.50), 3),
        "p95_s": round(p95, 3),
        "max_s": round(max(latencies), 3) if latencies else None,
        "mean_s": round(statistics.mean(latencies), 3) if latencies else None,
        "ratio_p95_to_goal": round(p95 / GOAL_P95_S, 3) if latencies else None,
        "phases_median_s": _phases(trials, catalogue),
        "api_calls_per_destination_per_trial": round(
            statistics.mean(counters.per_destination("calls")) / len(trials), 3),
        "set_calls_per_destination_per_trial": round(
            statistics.mean(counters.per_destination("set_calls")) / len(trials), 3),
        "throttled": int(sum(counters.per_destination("throttled"))),
        "worker_ms_per_trial": _worker_time(counters.timings, len(trials)),
    }


def child(emulator_url: str) -> dict:
    """Runs inside a process configured for the bench database (see run())."""
    import django

    django.setup()
    from bench.inventory_support import (
        emulator_catalogue,
        syncer_world,
        timings_read,
        timings_reset,
    )

    control = httpx.Client(base_url=emulator_url, timeout=60)
    products = math.ceil(VARIANT_COUNT / VARIANTS_PER_PRODUCT)
    catalogue = emulator_catalogue(control, source=SOURCE, destinations=_destinations(),
                                   products=products, variants=VARIANTS_PER_PRODUCT,
                                   install=True)
    world = syncer_world(catalogue)
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
    while any(len(done) < TRIALS for done in trials.values()):
        for name, spacing in plan:
            block = min(BLOCK, TRIALS - len(trials[name]))
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
    isolated = series["isolated"]
    return {
        "name": "propagation_latency",
        "params": {
            "trials": TRIALS, "warmup": WARMUP, "destinations": DESTINATIONS,
            "variants": products * VARIANTS_PER_PRODUCT, "spacing_s": SPACING,
            "plan": "standard",
            "web": f"gunicorn syncer.wsgi, {WEB_WORKERS} workers × {WEB_THREADS} threads",
            "worker": f"1 Celery worker, prefork, concurrency {CONCURRENCY}, all queues; beat",
            "emulator": "own process, real signed webhooks to the web tier",
            "measure": "emulator wall clock: source level applied → 20th destination level set",
        },
        "world": world,
        "goal": {"p95_s": GOAL_P95_S},
        "p50_s": isolated["p50_s"],
        "p95_s": isolated["p95_s"],
        "max_s": isolated["max_s"],
        "ratio_p95_to_goal": isolated["ratio_p95_to_goal"],
        "series": series,
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
                                timeout=600 + TRIALS * 2 * (TRIAL_TIMEOUT / 10 + SPACING))
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
