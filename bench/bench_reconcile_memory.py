"""reconcile_memory: the full reconciliation of a large catalogue × 5 destinations, and the
peak memory of the real Celery worker that runs it — at two catalogue sizes, so that any
growth with the catalogue shows.

Setup per size (not timed as part of the figures): the emulator in its own process (webhooks
off), a scratch database; one source with N variants (N / 5 products × 5) and 5 destinations
with the same SKUs and stock, BENCH_RECONCILE_DRIFT (100) of each destination's levels then
changed by hand in the emulator (drift the reconciliation must find); in Syncer, what a first
reconciliation leaves behind (bench/inventory_support.py: shops, connections, source mirror,
5 × N variant links, source levels, destination stock known = target), with bulk inserts.

Measured: one real Celery worker subprocess (prefork, `--concurrency`
BENCH_RECONCILE_CONCURRENCY (1), all queues: docker-compose's worker) after it answers a ping;
a full reconciliation of every connection requested at once (what the 6-hourly beat does), to
the last run finished. Memory is sampled from /proc every 0.2 s for the worker's main process
and each prefork child: VmHWM is the kernel's own high-water mark of a process's resident set,
so a child's peak is exact even between samples. `worker_peak_rss_mb` is the largest child's
VmHWM — one reconciliation runs in one child, and a child is what the OS kills when it grows;
the whole worker's peak (main + children, the largest sum of VmRSS sampled at one instant) is
reported beside it. `idle_child_rss_mb` is a child's VmRSS before the runs: the growth the
reconciliation causes is the difference. Goal: worker_peak_rss_mb < 300 at every size, and the
peak at the larger size not above the smaller's by more than a batch's worth
(growth_mb_per_10k_variants ≈ 0).

Run: `python -m bench reconcile_memory`. Sizes: BENCH_RECONCILE_SIZES (comma-separated
variants per shop, "20000,100000"); BENCH_RECONCILE_DESTINATIONS (5), BENCH_RECONCILE_DRIFT,
BENCH_RECONCILE_CONCURRENCY, BENCH_RECONCILE_TIMEOUT (s per size, 3600).
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from pathlib import Path

import httpx

from bench.support import ROOT, run_child_with_emulator

SIZES = [int(size) for size in
         os.environ.get("BENCH_RECONCILE_SIZES", "20000,100000").split(",") if size.strip()]
DESTINATIONS = int(os.environ.get("BENCH_RECONCILE_DESTINATIONS", "5"))
DRIFT = int(os.environ.get("BENCH_RECONCILE_DRIFT", "100"))
# One pool process by default: every run reads the one source with a bulk query, and a shop
# runs one bulk query at a time (a second would fall back to paged reads of the whole catalogue).
CONCURRENCY = int(os.environ.get("BENCH_RECONCILE_CONCURRENCY", "1"))
TIMEOUT = float(os.environ.get("BENCH_RECONCILE_TIMEOUT", "3600"))
VARIANTS = 5
GOAL_PEAK_MB = 300.0
DATABASE = "syncer_bench_reconcile_memory"
SOURCE = "reconcile-source.myshopify.com"
LOG_DIR = ROOT / "bench" / "results"
SAMPLE_SECONDS = 0.2


def _status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB (empty once it is gone)."""
    figures = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                figures[key] = int(value.split()[0])
    except OSError:
        return {}
    return figures


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found.extend(int(child) for child in text)
    except OSError:
        pass
    return found


class MemorySampler(threading.Thread):
    """The worker's main process and its prefork children, every SAMPLE_SECONDS: each child's
    last VmHWM (kept after it exits, if the pool replaces it) and the largest sum of VmRSS."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.child_hwm_kb: dict[int, int] = {}
        self.main_hwm_kb = 0
        self.peak_total_rss_kb = 0
        self.samples = 0
        self.stopping = threading.Event()

    def sample(self) -> dict[int, dict[str, int]]:
        children = {child: _status_kb(child) for child in _children(self.pid)}
        main = _status_kb(self.pid)
        self.main_hwm_kb = max(self.main_hwm_kb, main.get("VmHWM", 0))
        total = main.get("VmRSS", 0)
        for child, figures in children.items():
            if figures:
                self.child_hwm_kb[child] = max(self.child_hwm_kb.get(child, 0),
                                               figures.get("VmHWM", 0))
                total += figures.get("VmRSS", 0)
        self.peak_total_rss_kb = max(self.peak_total_rss_kb, total)
        self.samples += 1
        return children

    def run(self) -> None:
        while not self.stopping.is_set():
            self.sample()
            self.stopping.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self.stopping.set()
        self.join()
        self.sample()


def _drift(control: httpx.Client, catalogue) -> int:
    """Hand edits at each destination: the first DRIFT items (in SKU order) set 3 above what
    they hold, so the reconciliation finds and heals them."""
    from bench.inventory_support import initial_stock, sku

    edited = 0
    for shop in catalogue.destinations:
        levels = []
        for index in range(min(DRIFT, catalogue.products * catalogue.variants)):
            product, variant = divmod(index, catalogue.variants)
            item = shop.items[sku(product, variant)][2]
            levels.append({"inventory_item_id": item,
                           "available": initial_stock(product, variant) + 3})
        if levels:
            control.post(f"/_emulator/shops/{shop.domain}/inventory/bulk",
                         json={"levels": levels}, timeout=600).raise_for_status()
            edited += len(levels)
    return edited


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


def child(emulator_url: str) -> dict:
    """Runs inside a process configured for the bench database (see run()); the size comes
    from BENCH_RECONCILE_SIZE."""
    import django

    django.setup()
    from django.db import transaction

    from bench.inventory_support import (
        emulator_catalogue,
        syncer_world,
        worker_start,
        worker_wait,
    )
    from products.inventory.tasks import reconciliation_request
    from products.models import ReconciliationRun
    from stores.models import Connection

    size = int(os.environ["BENCH_RECONCILE_SIZE"])
    products = math.ceil(size / VARIANTS)
    control = httpx.Client(base_url=emulator_url, timeout=600)
    started = time.perf_counter()
    catalogue = emulator_catalogue(
        control, source=SOURCE, products=products, variants=VARIANTS,
        destinations=[f"reconcile-dest-{n:02d}.myshopify.com" for n in range(DESTINATIONS)])
    drift_edits = _drift(control, catalogue)
    emulator_s = time.perf_counter() - started
    started = time.perf_counter()
    world = syncer_world(catalogue)
    database_s = time.perf_counter() - started

    hostname = f"reconcile{size}"
    worker = worker_start(env=dict(os.environ), concurrency=CONCURRENCY, hostname=hostname,
                          log=LOG_DIR / f"reconcile_memory.worker{size}.log")
    try:
        worker_wait(hostname)
        sampler = MemorySampler(worker.popen.pid)
        idle_children = sampler.sample()
        idle_child_kb = max((figures.get("VmRSS", 0) for figures in idle_children.values()),
                            default=0)
        sampler.start()
        load_start = os.getloadavg()
        started = time.perf_counter()
        with transaction.atomic():
            runs = [reconciliation_request(connection=connection, trigger="bench").pk
                    for connection in Connection.objects.order_by("pk")]
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if not ReconciliationRun.objects.filter(
                    pk__in=runs, status=ReconciliationRun.Status.RUNNING).exists():
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
        load_end = os.getloadavg()
        sampler.stop()
    finally:
        worker.stop()
    finished = list(ReconciliationRun.objects.filter(pk__in=runs).order_by("pk").values(
        "status", "total", "checked", "drift_found", "drift_fixed", "error"))
    return {
        "variants": size, "products": products,
        "setup_s": {"emulator": round(emulator_s, 1), "database": round(database_s, 1)},
        "world": world, "drift_edits": drift_edits,
        "reconcile_s": round(elapsed, 1),
        "runs": {"done": sum(run["status"] == "done" for run in finished),
                 "failed": sum(run["status"] == "failed" for run in finished),
                 "still_running": sum(run["status"] == "running" for run in finished),
                 "checked": sum(run["checked"] for run in finished),
                 "drift_found": sum(run["drift_found"] for run in finished),
                 "drift_fixed": sum(run["drift_fixed"] for run in finished),
                 "errors": sorted({run["error"] for run in finished if run["error"]})},
        "worker_peak_rss_mb": _mb(max(sampler.child_hwm_kb.values(), default=0)),
        "worker_children_peak_rss_mb": sorted(
            (_mb(kb) for kb in sampler.child_hwm_kb.values()), reverse=True),
        "worker_total_peak_rss_mb": _mb(sampler.peak_total_rss_kb),
        "worker_main_peak_rss_mb": _mb(sampler.main_hwm_kb),
        "idle_child_rss_mb": _mb(idle_child_kb),
        "samples": sampler.samples,
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in load_end],
    }


def run() -> dict:
    by_size = []
    for size in SIZES:
        os.environ["BENCH_RECONCILE_SIZE"] = str(size)  # the child's environment is ours
        by_size.append(run_child_with_emulator(name="reconcile_memory", database=DATABASE,
                                               timeout=1800 + TIMEOUT))
        # Each size's figures as soon as it is done (the larger one can take a while).
        print(json.dumps(by_size[-1]), file=sys.stderr, flush=True)
    peaks = [figures["worker_peak_rss_mb"] for figures in by_size]
    worst = max(peaks)
    growth = None
    if len(by_size) >= 2 and SIZES[-1] != SIZES[0]:
        growth = round((peaks[-1] - peaks[0]) / ((SIZES[-1] - SIZES[0]) / 10000), 2)
    return {
        "name": "reconcile_memory",
        "params": {"sizes": SIZES, "destinations": DESTINATIONS,
                   "variants_per_product": VARIANTS, "drift_per_destination": DRIFT,
                   "worker": f"1 Celery worker subprocess, prefork, concurrency {CONCURRENCY}, "
                             "all queues (docker-compose's)",
                   "peak": "worker_peak_rss_mb = the largest prefork child's VmHWM (not "
                           "summed); worker_total_peak_rss_mb = main + children, summed"},
        "sizes": by_size,
        "worker_peak_rss_mb": worst,
        "growth_mb_per_10k_variants": growth,
        "ratio_peak_to_goal": round(worst / GOAL_PEAK_MB, 3),
        "goal": {"worker_peak_rss_mb": GOAL_PEAK_MB},
        "machine_load": {"cpu_count": os.cpu_count()},
    }


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "child":
        print(json.dumps(child(sys.argv[2])))
    else:
        print(json.dumps(run(), indent=2))
