"""inventory_fanout: 10,000 source stock changes fanned out to 20 destinations on a Standard
plan (restore 100 points/s, bucket 2,000), through Syncer's own webhook and inventory path.

Setup (not timed): the emulator in its own process (webhooks off), a scratch database; one
source with 10,000 variants (2,000 products × 5) and 20 destinations with the same SKUs and the
same stock; in Syncer, everything a first reconciliation leaves behind (shops, connections,
source mirror, 200,000 variant links, source levels, destination stock known = target), written
with bulk_create (bench/inventory_support.py).

Measured — what production does. The source's 10,000 levels change in the emulator (one bulk
control call; its reply holds the exact `inventory_levels/update` payloads Shopify would send).
Each payload goes into Syncer's inbox with `webhook_delivery_receive` (what the web tier does
with a verified webhook: insert, enqueue on commit) from BENCH_FANOUT_FEEDERS threads (4), each
with its own database connection, as fast as they can — the web tier answers Shopify from
several processes and threads at once (docker-compose: gunicorn 3 workers × 4 threads). One
real Celery worker subprocess (prefork, `--concurrency 4`, all queues: docker-compose's worker)
takes the deliveries (one queued task per shop and topic takes up to 250 waiting ones) through
the registered `inventory_levels/update` batch handler (source_levels_changed → one statement
recording the levels → targets_recompute → dirty marks → one queued flush per destination) and
runs the per-destination flushes in parallel (≤ 250 quantities per inventorySetQuantities,
changeFromQuantity, idempotency keys; the budget shared in Redis). Celery beat runs too, as in
production (its inventory sweeper re-queues flushes for rows dirty > 30 s, e.g. after a task hit
its time limit). The worker is bench/inventory_worker.py: `celery worker` plus timing of the
engine's steps, for the breakdown.

Two rounds on the same world (BENCH_FANOUT_MODE=both, the default; or one of them):
* `concurrent`: deliveries, handlers and flushes all at once, as in production;
* `phased`: every variant changes again; the worker consumes only the webhook queue until all
  deliveries are processed, then the queued flush tasks are purged and one flush per
  destination is queued (what the sweeper would do): the flush phase alone — everything dirty
  at once, the best case for batching.

Figures per round: elapsed from the first delivery fed to the last destination write (and to
the end of the check), the phases, per-destination API calls (all, and inventorySetQuantities,
from the emulator's counters) against the floor ⌈changes/250⌉, cost and throttled replies, the
throttle bound = a destination's cost / restore rate (and the same after the 2,000-point head
start), the ratios to the goals (calls/floor ≤ 1.05, elapsed/bound ≤ 1.2), the breakdown of
worker time by step (summed over the pool's processes: it can exceed the wall time), and the
check: every linked destination level in the emulator equals the source's (mismatches).

CPU per write (goal ≤ 0.3 CPU-seconds per 10,000 destination levels written): user + system
time over the round, from the first delivery fed until quiet (bench.support.CpuSampler, sampled
every 0.2 s), of Syncer's own processes — `worker` (the Celery worker and its prefork pool),
`web` (the feeder threads' own CPU time: webhook_delivery_receive's insert and enqueue, as the
web tier runs it, plus the publishing thread's), `postgres` (the backends and autovacuum
workers of the bench's database, by pg_stat_activity.datname, less the bench's own polling
connection: the server is shared, so not the postmaster's whole tree) and `beat` — divided by
the levels written in the round. The emulator's tree is reported apart and not counted; Redis
(shared) is not counted either. After the rounds, `postgres_floor` times PostgreSQL alone on
one UPDATE per written level, on a copy of the stock rows: the least any engine storing its
per-level belief there pays; `client_floor` times the worker's Python alone sending one
destination's levels through the flush's client, nothing stored: the least any engine in this
stack pays to send them.

Echoes: the round runs the emulator with its webhooks off, so the level webhook Shopify sends
back for every level written is not in it; after the concurrent round, bench/inventory_echoes.py
delivers them through the web tier's door and measures what they cost, as Syncer answers them
now and the long way (`echoes`, `syncer_cpu_s_per_10k_writes_with_echoes[_the_long_way]`;
BENCH_FANOUT_ECHOES=0 leaves the phase out).

Run: `python -m bench inventory_fanout`. Size: BENCH_FANOUT_CHANGES (10000),
BENCH_FANOUT_DESTINATIONS (20), BENCH_FANOUT_VARIANTS per product (5), worker
BENCH_FANOUT_CONCURRENCY (4), BENCH_FANOUT_FEEDERS (4), BENCH_FANOUT_MODE,
BENCH_FANOUT_TIMEOUT (s per round, 7200), BENCH_FANOUT_DATABASE (syncer_bench_fanout).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.inventory_echoes import echo_phase
from bench.support import (
    PG_ADMIN_URL,
    ROOT,
    CpuSampler,
    feed_in_threads,
    proc_cpu_s,
    run_child_with_emulator,
)

CHANGES = int(os.environ.get("BENCH_FANOUT_CHANGES", "10000"))
DESTINATIONS = int(os.environ.get("BENCH_FANOUT_DESTINATIONS", "20"))
VARIANTS = int(os.environ.get("BENCH_FANOUT_VARIANTS", "5"))
CONCURRENCY = int(os.environ.get("BENCH_FANOUT_CONCURRENCY", "4"))
FEEDERS = int(os.environ.get("BENCH_FANOUT_FEEDERS", "4"))
MODE = os.environ.get("BENCH_FANOUT_MODE", "both")
# The echo phase after the concurrent round (bench/inventory_echoes.py); 0 leaves it out.
ECHOES = os.environ.get("BENCH_FANOUT_ECHOES", "1") != "0"
ROUND_TIMEOUT = float(os.environ.get("BENCH_FANOUT_TIMEOUT", "7200"))
STALL_SECONDS = 600.0
# Its own name, so two people benchmarking on one server do not drop each other's database.
DATABASE = os.environ.get("BENCH_FANOUT_DATABASE", "syncer_bench_fanout")
RESTORE_RATE = 100.0
BUCKET = 2000.0
BATCH = 250
GOAL_CALLS_TO_FLOOR = 1.05
GOAL_ELAPSED_TO_BOUND = 1.2
GOAL_CPU_S_PER_10K_WRITES = 0.3
# Syncer's own processes, whose CPU the per-write figure counts (the emulator's is reported
# apart): see Round.cpu_sampler and the "web" feeders in Round.run.
SYNCER_PROCESSES = ("worker", "web", "postgres", "beat")
SOURCE = "fanout-source.myshopify.com"
LOG_DIR = ROOT / "bench" / "results"


def _destinations() -> list[str]:
    return [f"fanout-dest-{n:02d}.myshopify.com" for n in range(1, DESTINATIONS + 1)]


def _spread(values: list[float]) -> dict:
    if not values:
        return {}
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


class Round:
    """One measured round: change every variant at the source once, wait until quiet."""

    def __init__(self, control: httpx.Client, catalogue, *, mode: str, number: int,
                 beat_pid: int | None = None) -> None:
        self.control = control
        self.catalogue = catalogue
        self.mode = mode
        self.number = number
        self.beat_pid = beat_pid
        self.stalled: str | None = None

    def cpu_sampler(self, *, worker_pid: int) -> CpuSampler:
        """Syncer's processes (worker tree, beat, the bench database's PostgreSQL backends but
        the bench's own polling connection), and the emulator's tree apart."""
        from django.db import connection as db_connection

        with db_connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (polling_backend,) = cursor.fetchone()
        sampler = CpuSampler()
        sampler.watch("worker", worker_pid)
        if self.beat_pid:
            sampler.watch("beat", self.beat_pid)
        if os.environ.get("BENCH_EMULATOR_PID"):
            sampler.watch("emulator", int(os.environ["BENCH_EMULATOR_PID"]))
        sampler.postgres_backends("postgres", admin_url=PG_ADMIN_URL, database=DATABASE,
                                  exclude_pids=(polling_backend,))
        return sampler

    # -- the world -------------------------------------------------------------------------

    def new_levels(self, current: dict[int, int]) -> list[dict]:
        source = self.catalogue.source
        changes = []
        for index, sku in enumerate(self.catalogue.skus[:CHANGES]):
            item = source.items[sku][2]
            changes.append({"inventory_item_id": item,
                            "available": current[item] + 1 + (index + self.number) % 9})
        return changes

    def stats(self) -> dict:
        return self.control.get("/_emulator/stats").json()

    # -- waiting ---------------------------------------------------------------------------

    @staticmethod
    def deliveries_open() -> int:
        from webhooks.models import WebhookDelivery

        done = [WebhookDelivery.Status.PROCESSED, WebhookDelivery.Status.IGNORED,
                WebhookDelivery.Status.DUPLICATE, WebhookDelivery.Status.FAILED]
        return WebhookDelivery.objects.exclude(status__in=done).count()

    @staticmethod
    def writes_open() -> tuple[int, int]:
        from products.models import DestinationStock, InventoryWriteBatch

        dirty = DestinationStock.objects.filter(dirty=True)
        if hasattr(DestinationStock, "Hold"):  # held back by the zero-stock breaker: not ours
            dirty = dirty.exclude(hold=DestinationStock.Hold.HELD)
        dirty = dirty.count()
        pending = InventoryWriteBatch.objects.filter(
            status=InventoryWriteBatch.Status.PENDING).count()
        return dirty, pending

    def wait(self, condition, *, what: str, deadline: float) -> None:
        """Polls until `condition()`; gives up (self.stalled) at the deadline or when nothing
        has moved for STALL_SECONDS (the figures then show what was left undone)."""
        last, moved = None, time.monotonic()
        while not condition():
            state = (self.deliveries_open(), *self.writes_open())
            if state != last:
                last, moved = state, time.monotonic()
            if time.monotonic() > deadline or time.monotonic() - moved > STALL_SECONDS:
                self.stalled = f"{what}: not reached; left (open deliveries, dirty, pending) " \
                               f"= {last}"
                return
            time.sleep(0.5)

    # -- the run ---------------------------------------------------------------------------

    def run(self, env: dict) -> dict:
        from django.db import connection as db_connection
        from django.utils import timezone

        from bench.inventory_support import (
            API_VERSION,
            levels_of,
            timings_read,
            timings_reset,
            worker_start,
            worker_wait,
        )
        from products.inventory.tasks import inventory_flush_destination_task
        from products.models import InventoryWriteBatch
        from stores.models import Shop
        from syncer.celery import app
        from syncer.redis import redis_client
        from webhooks.models import WebhookDelivery
        from webhooks.services import webhook_delivery_receive

        source = self.catalogue.source
        queues = ("webhooks,sync,default,webhooks_later,bulk" if self.mode == "concurrent"
                  else "webhooks,default,webhooks_later")
        hostname = f"fanout{self.number}a"
        worker = worker_start(env=env, concurrency=CONCURRENCY, hostname=hostname, queues=queues,
                              log=LOG_DIR / f"inventory_fanout.worker{self.number}a.log")
        workers = [worker]
        purged = None
        sampler: CpuSampler | None = None
        cpu: dict[str, float] = {}
        feeder_cpu: list[float] = []
        try:
            worker_wait(hostname)
            timings_reset()
            before = self.stats()
            batches_before = InventoryWriteBatch.objects.order_by("-pk").values_list(
                "pk", flat=True).first() or 0
            deliveries_before = WebhookDelivery.objects.order_by("-pk").values_list(
                "pk", flat=True).first() or 0

            # the merchant's change at the source (not Syncer's work, not in elapsed)
            started = time.perf_counter()
            current = levels_of(self.control, source)
            changed = self.control.post(f"/_emulator/shops/{source.domain}/inventory/bulk",
                                        json={"levels": self.new_levels(current)}, timeout=600)
            changed.raise_for_status()
            payloads = changed.json()["levels"]
            source_change_s = time.perf_counter() - started

            # measured: the webhooks arrive, Syncer does the rest
            deadline = time.monotonic() + ROUND_TIMEOUT
            def feed(share: list[dict]) -> None:
                # the web tier's share of the CPU: this thread's own time (inbox insert,
                # enqueue on commit, and its database client side), not its waits
                started_cpu = time.thread_time()
                try:
                    for payload in share:
                        # enqueue_soon, as the web tier's door calls it: the process's
                        # publishing thread checks the shop's queued-task marker once per
                        # pass, not once per delivery (its CPU is added below)
                        webhook_delivery_receive(
                            shop_domain=source.domain, topic="inventory_levels/update",
                            webhook_id=str(uuid.uuid4()), event_id=str(uuid.uuid4()),
                            triggered_at=timezone.now(), api_version=API_VERSION,
                            raw_body=json.dumps(payload, separators=(",", ":")),
                            enqueue_soon=True)
                finally:
                    db_connection.close()
                    feeder_cpu.append(time.thread_time() - started_cpu)

            sampler = self.cpu_sampler(worker_pid=worker.popen.pid)
            load_start = os.getloadavg()
            sampler.start()
            first_fed, fed_s, publisher_cpu = feed_in_threads(feed, payloads, threads=FEEDERS)
            feeder_cpu.append(publisher_cpu)
            flush_started = None
            if self.mode == "phased":
                self.wait(lambda: self.deliveries_open() == 0, what="all deliveries processed",
                          deadline=deadline)
                sampler.sample()  # its last seconds, before it is stopped
                worker.stop()
                purged = app.control.purge()
                hostname = f"fanout{self.number}b"
                worker = worker_start(env=env, concurrency=CONCURRENCY, hostname=hostname,
                                      log=LOG_DIR / f"inventory_fanout.worker{self.number}b.log")
                workers.append(worker)
                worker_wait(hostname)
                sampler.watch("worker", worker.popen.pid)  # its start-up is not the round's
                flush_started = time.time()
                for destination_id in Shop.objects.filter(role="destination").values_list(
                        "pk", flat=True):
                    inventory_flush_destination_task.delay(destination_id)
            self.wait(lambda: self.deliveries_open() == 0 and self.writes_open() == (0, 0),
                      what="quiet (all processed, nothing dirty, no pending batch)",
                      deadline=deadline)
            quiet_at = time.time()
            cpu = sampler.stop()
            backends_seen = sampler.backends_seen
            sampler = None
            load_end = os.getloadavg()
            left_queued = {queue: redis_client().llen(queue) for queue in ("webhooks", "sync")}
            after = self.stats()
            timings = timings_read()
            # The round's own rows end here: the echo phase below stores deliveries of its own
            # (the long way), which must not count as the round's nor move its phase times.
            batches_last = InventoryWriteBatch.objects.order_by("-pk").values_list(
                "pk", flat=True).first() or 0
            deliveries_last = WebhookDelivery.objects.order_by("-pk").values_list(
                "pk", flat=True).first() or 0
            echoes = (echo_phase(self, worker_pid=worker.popen.pid, since=first_fed,
                                 feeders=FEEDERS, deadline=deadline, api_version=API_VERSION)
                      if self.mode == "concurrent" and ECHOES else None)
        finally:
            if sampler is not None:
                sampler.stop()
            for process in workers:
                process.stop()

        batches = InventoryWriteBatch.objects.filter(pk__gt=batches_before,
                                                     pk__lte=batches_last)
        deliveries = WebhookDelivery.objects.filter(pk__gt=deliveries_before,
                                                    pk__lte=deliveries_last)
        last_write = max((b.completed_at for b in batches.filter(
            status=InventoryWriteBatch.Status.DONE)), default=None)
        last_processed = max((d.processed_at for d in deliveries if d.processed_at),
                             default=None)
        last_write_t = last_write.timestamp() if last_write else quiet_at
        ingest_end_t = last_processed.timestamp() if last_processed else quiet_at

        # the check: every destination level equals the source's
        started = time.perf_counter()
        source_levels = levels_of(self.control, source)
        mismatches = checked = 0
        for destination in self.catalogue.destinations:
            levels = levels_of(self.control, destination)
            for sku in self.catalogue.skus:
                checked += 1
                if levels.get(destination.items[sku][2]) != source_levels.get(
                        source.items[sku][2]):
                    mismatches += 1
        verify_s = time.perf_counter() - started
        elapsed = last_write_t - first_fed
        return self.figures(
            before=before, after=after, timings=timings, batches=batches,
            deliveries=deliveries, elapsed=elapsed, fed_s=fed_s,
            ingest_s=ingest_end_t - first_fed, last_write_t=last_write_t,
            ingest_end_t=ingest_end_t, flush_started=flush_started, verify_s=verify_s,
            source_change_s=source_change_s, mismatches=mismatches, checked=checked,
            purged=purged, left_queued=left_queued,
            cpu={**cpu, "web": sum(feeder_cpu)}, backends_seen=backends_seen, echoes=echoes,
            load=[[round(x, 2) for x in load_start], [round(x, 2) for x in load_end]])

    def figures(self, *, before, after, timings, batches, deliveries, elapsed, fed_s, ingest_s,
                last_write_t, ingest_end_t, flush_started, verify_s, source_change_s,
                mismatches, checked, purged, left_queued, cpu, load,
                backends_seen, echoes=None) -> dict:
        from bench.inventory_support import log_problems
        from products.models import InventoryWriteBatch

        def delta(shop: str, key: str) -> float:
            return (after["shops"].get(shop, {}).get(key, 0)
                    - before["shops"].get(shop, {}).get(key, 0))

        def field_delta(shop: str, name: str) -> int:
            return (after["root_fields"].get(shop, {}).get(name, 0)
                    - before["root_fields"].get(shop, {}).get(name, 0))

        floor = math.ceil(CHANGES / BATCH)
        per_destination = []
        for destination in self.catalogue.destinations:
            domain = destination.domain
            per_destination.append({
                "calls": int(delta(domain, "graphql_requests")),
                "set_calls": field_delta(domain, "inventorySetQuantities"),
                "cost": round(delta(domain, "cost_consumed"), 1),
                "throttled": int(delta(domain, "throttled")),
            })
        costs = [d["cost"] for d in per_destination]
        bound = max(costs) / RESTORE_RATE if costs else 0.0
        bound_after_bucket = max(max(costs) - BUCKET, 0.0) / RESTORE_RATE if costs else 0.0
        set_calls = [d["set_calls"] for d in per_destination]
        calls = [d["calls"] for d in per_destination]
        flush_s = last_write_t - (flush_started or ingest_end_t)
        by_status = {status: batches.filter(status=status).count()
                     for status in InventoryWriteBatch.Status.values}
        written = sum(len(b.items) for b in batches.filter(
            status=InventoryWriteBatch.Status.DONE).only("items"))
        delivery_status: dict[str, int] = {}
        for status in deliveries.values_list("status", flat=True):
            delivery_status[status] = delivery_status.get(status, 0) + 1
        breakdown = self.breakdown(timings)
        syncer_cpu = sum(cpu.get(group, 0.0) for group in SYNCER_PROCESSES)
        dominant = ("API budget" if bound >= 0.5 * elapsed else
                    "our processing (ingest + flush work), not the API budget")
        return {
            "mode": self.mode,
            "elapsed_s": round(elapsed, 2),
            "elapsed_with_check_s": round(elapsed + verify_s, 2),
            "phases_s": {
                "feed_inbox": round(fed_s, 2),
                "ingest_first_fed_to_last_processed": round(ingest_s, 2),
                ("flush_alone" if self.mode == "phased" else "flush_tail_after_ingest"):
                    round(flush_s, 2),
                "check": round(verify_s, 2),
                "source_bulk_change_not_timed": round(source_change_s, 2),
            },
            "changes_per_s": round(CHANGES / elapsed, 1) if elapsed > 0 else None,
            "floor_calls_per_destination": floor,
            "set_calls_per_destination": _spread(set_calls),
            "calls_per_destination": _spread(calls),
            "ratio_set_calls_to_floor": round(max(set_calls) / floor, 3) if set_calls else None,
            "ratio_calls_to_floor": round(max(calls) / floor, 3) if calls else None,
            "cost_per_destination": _spread(costs),
            "throttle_bound_s": round(bound, 2),
            "throttle_bound_after_bucket_s": round(bound_after_bucket, 2),
            "ratio_elapsed_to_throttle_bound": round(elapsed / bound, 2) if bound else None,
            "ratio_flush_to_throttle_bound": round(flush_s / bound, 2) if bound else None,
            "throttled": {"destinations": sum(d["throttled"] for d in per_destination),
                          "source": int(delta(SOURCE, "throttled"))},
            "source_api_calls": int(delta(SOURCE, "graphql_requests")),
            "batches": by_status, "quantities_written": written,
            "deliveries": delivery_status,
            "purged_flush_tasks": purged,
            # tasks still queued when everything was written (no-op flushes, run later)
            "tasks_left_queued_at_quiet": left_queued,
            "ingest_changes_per_s": round(CHANGES / ingest_s, 1) if ingest_s > 0 else None,
            "mismatches": mismatches, "levels_checked": checked,
            "stalled": self.stalled,
            "syncer_cpu_s": round(syncer_cpu, 2),
            "syncer_cpu_s_per_10k_writes": (round(syncer_cpu * 10_000 / written, 3)
                                            if written else None),
            "cpu_s_by_process": {group: round(cpu.get(group, 0.0), 2)
                                 for group in (*SYNCER_PROCESSES, "emulator")},
            **_with_echoes(echoes, syncer_cpu=syncer_cpu, written=written),
            "load_average_start_end": load,
            "postgres_backends_seen": backends_seen,
            "worker_log": {name: log_problems(LOG_DIR / f"inventory_fanout.worker{name}.log")
                           for name in (f"{self.number}a", f"{self.number}b")
                           if (LOG_DIR / f"inventory_fanout.worker{name}.log").exists()},
            "dominant": dominant,
            "breakdown": breakdown,
            "per_destination": per_destination,
        }

    @staticmethod
    def breakdown(timings: dict) -> dict:
        """Worker seconds by step, with the nested steps taken out of their parents."""

        def seconds(step: str) -> float:
            return timings.get(step, {}).get("seconds", 0.0)

        def calls(step: str) -> int:
            return int(timings.get(step, {}).get("calls", 0))

        send_api = seconds("flush.batch_send") - seconds("flush.batch_done")
        flush_other = (seconds("flush.call") - seconds("flush.batch_form")
                       - seconds("flush.batch_send"))
        return {
            "worker_seconds": {
                "ingest_inbox_and_handler": round(seconds("ingest.delivery")
                                                  + seconds("ingest.batch")
                                                  - seconds("ingest.source_level_changed")
                                                  - seconds("ingest.flush_enqueue"), 2),
                "ingest_level_record": round(seconds("ingest.level_record"), 2),
                "target_recompute": round(seconds("ingest.targets_recompute"), 2),
                "flush_task_enqueue": round(seconds("ingest.flush_enqueue"), 2),
                "flush_overhead_lock_and_empty_looks": round(flush_other
                                                             + seconds("flush.schedule_next"), 2),
                "batch_forming": round(seconds("flush.batch_form"), 2),
                "send_api_call": round(send_api, 2),
                "of_which_throttle_wait": round(seconds("api.throttle_wait"), 2),
                "done_bookkeeping": round(seconds("flush.batch_done"), 2),
            },
            "calls": {
                "delivery_tasks": calls("ingest.delivery"),
                "batch_tasks": calls("ingest.batch"),
                "targets_recompute": calls("ingest.targets_recompute"),
                "flush_tasks": calls("flush.call"),
                "flush_busy": calls("flush.busy"),
                "flush_empty": calls("flush.empty"),
                "batches_formed": calls("flush.batch_form"),
                "batches_sent": calls("flush.batch_send"),
                "api_calls": calls("api.execute"),
                "throttle_waits": calls("api.throttle_wait"),
            },
            "per_call_ms": {
                "delivery_task": _ms(seconds("ingest.delivery"), calls("ingest.delivery")),
                "batch_task": _ms(seconds("ingest.batch"), calls("ingest.batch")),
                "targets_recompute": _ms(seconds("ingest.targets_recompute"),
                                         calls("ingest.targets_recompute")),
                "flush_task": _ms(seconds("flush.call"), calls("flush.call")),
                "batch_form": _ms(seconds("flush.batch_form"), calls("flush.batch_form")),
                "api_call": _ms(seconds("api.execute"), calls("api.execute")),
                "batch_done": _ms(seconds("flush.batch_done"), calls("flush.batch_done")),
            },
        }


def _ms(seconds: float, calls: int) -> float | None:
    return round(1000 * seconds / calls, 2) if calls else None


def _with_echoes(echoes: dict | None, *, syncer_cpu: float, written: int) -> dict:
    """The echo phase's figures, and CPU per write counting one echo per level written: as
    Syncer answers them now, and as every echo was handled before (scaled from its sample)."""
    if not echoes or not written:
        return {}

    def per_delivery(figures: dict) -> float:
        return figures["syncer_cpu_s"] / max(figures["deliveries"], 1)

    return {
        "echoes": echoes,
        "syncer_cpu_s_per_10k_writes_with_echoes": round(
            (syncer_cpu + per_delivery(echoes["at_the_door"]) * written) * 10_000 / written, 3),
        "syncer_cpu_s_per_10k_writes_with_echoes_the_long_way": round(
            (syncer_cpu + per_delivery(echoes["the_long_way"]) * written) * 10_000 / written,
            3),
    }


def postgres_floor() -> dict:
    """What PostgreSQL alone spends per write on the least any engine keeping its belief of
    each destination level in PostgreSQL must do: one UPDATE per written level, 250 rows per
    statement by primary key, on a copy of the round's destination stock table (same columns,
    indexes and fill factor). `in_place`: only the known quantity changes (no indexed column:
    a HOT update, like the written statement's own row update); `moving_in_index`: the row
    enters the dirty-rows partial index, as a new target does (the recompute's row update).
    Measured as the backend's CPU from /proc, over one pass of every row."""
    from django.db import connection

    passes: dict[str, float] = {}
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor_stock")
        cursor.execute("CREATE TABLE bench_floor_stock (LIKE products_destinationstock "
                       "INCLUDING ALL) WITH (fillfactor = 70)")
        cursor.execute("INSERT INTO bench_floor_stock SELECT * FROM products_destinationstock "
                       "WHERE NOT dirty")
        cursor.execute("VACUUM ANALYZE bench_floor_stock")
        cursor.execute("SELECT pg_backend_pid(), array_agg(id ORDER BY id) FROM bench_floor_stock")
        pid, ids = cursor.fetchone()
        statements = {
            "in_place": "UPDATE bench_floor_stock AS s SET known_quantity = s.known_quantity + 1"
                        " FROM unnest(%s::bigint[]) AS v(id) WHERE s.id = v.id",
            "moving_in_index": "UPDATE bench_floor_stock AS s SET target = s.target + 1,"
                               " dirty = true, changed_at = now()"
                               " FROM unnest(%s::bigint[]) AS v(id) WHERE s.id = v.id",
        }
        for name, statement in statements.items():
            before = proc_cpu_s(pid)
            for start in range(0, len(ids), BATCH):
                cursor.execute(statement, [ids[start:start + BATCH]])
            passes[name] = proc_cpu_s(pid) - before
        cursor.execute("DROP TABLE bench_floor_stock")
    rows = max(len(ids), 1)
    return {"rows": len(ids), **{f"{name}_cpu_s_per_10k_writes": round(seconds * 10_000 / rows, 3)
                                 for name, seconds in passes.items()}}


def client_floor() -> dict:
    """What Python alone spends sending one destination's levels to the Admin API, the least
    any engine in this stack pays per write in its worker whatever it stores: the client the
    flush uses (`inventory_quantities_set`: the document, its variables, the JSON, httpx, the
    reply and the shared budget), ⌈levels/250⌉ calls, each level set one above what it holds
    with its changeFromQuantity. No database, no audit, no echo marks. Measured as this
    process's CPU (nothing else runs in it then), after the rounds' check, on the first
    destination."""
    from products.models import DestinationStock
    from stores.services import shop_admin_session
    from syncer.shopify.operations.inventory import QuantitySet, inventory_quantities_set

    destination = _destinations()[0]
    levels = [QuantitySet(inventory_item_id=item, location_id=location, quantity=known + 1,
                          change_from_quantity=known)
              for item, location, known in DestinationStock.objects.filter(
                  destination__domain=destination, known_quantity__isnull=False,
              ).values_list("variant_link__destination_inventory_item_id", "location_id",
                            "known_quantity")]
    session = shop_admin_session(shop_domain=destination)
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(levels), BATCH):
        inventory_quantities_set(
            session=session, quantities=levels[start:start + BATCH], reason="correction",
            reference_document_uri=f"gid://syncer/BenchFloor/{start}",
            idempotency_key=f"bench-floor-{uuid.uuid4()}")
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    writes = max(len(levels), 1)
    return {"writes": len(levels), "calls": math.ceil(len(levels) / BATCH),
            "elapsed_s": round(wall, 2), "cpu_s_per_10k_writes": round(cpu * 10_000 / writes, 3)}


def child(emulator_url: str) -> dict:
    """Runs inside a process configured for the bench database (see run())."""
    import django

    django.setup()
    from bench.inventory_support import beat_start, emulator_catalogue, syncer_world

    control = httpx.Client(base_url=emulator_url, timeout=120)
    products = math.ceil(CHANGES / VARIANTS)
    started = time.perf_counter()
    catalogue = emulator_catalogue(control, source=SOURCE, destinations=_destinations(),
                                   products=products, variants=VARIANTS)
    emulator_s = time.perf_counter() - started
    started = time.perf_counter()
    world = syncer_world(catalogue)
    database_s = time.perf_counter() - started

    env = dict(os.environ)
    modes = ["concurrent", "phased"] if MODE == "both" else [MODE]
    rounds = {}
    with tempfile.TemporaryDirectory() as scratch:
        beat = beat_start(env=env, log=LOG_DIR / "inventory_fanout.beat.log",
                          schedule=Path(scratch) / "beat-schedule")
        try:
            for number, mode in enumerate(modes, start=1):
                rounds[mode] = Round(control, catalogue, mode=mode, number=number,
                                     beat_pid=beat.popen.pid).run(env)
        finally:
            beat.stop()
    main = rounds.get("concurrent") or rounds[modes[0]]
    flush = rounds.get("phased")
    return {
        "name": "inventory_fanout",
        "params": {
            "changes": CHANGES, "destinations": DESTINATIONS, "products": products,
            "variants_per_product": VARIANTS, "plan": "standard", "restore_rate": RESTORE_RATE,
            "bucket": BUCKET, "batch_size": BATCH, "modes": modes,
            "worker": f"1 Celery worker subprocess, prefork, concurrency {CONCURRENCY}, "
                      "queues webhooks,sync,default,webhooks_later,bulk (docker-compose's), "
                      "taken in that order; celery beat",
            "ingest": f"emulator's inventory_levels/update payloads → webhook_delivery_receive "
                      f"from {FEEDERS} threads (inbox + enqueue, as the web tier) → the "
                      "registered handler in the worker",
        },
        "setup_s": {"emulator": round(emulator_s, 2), "database": round(database_s, 2)},
        "world": world,
        "goal": {"calls_to_floor": GOAL_CALLS_TO_FLOOR, "elapsed_to_bound": GOAL_ELAPSED_TO_BOUND,
                 "syncer_cpu_s_per_10k_writes": GOAL_CPU_S_PER_10K_WRITES},
        "cpu_count": os.cpu_count(),
        # headline figures: production (concurrent) round; flush alone from the phased round
        "elapsed_s": main["elapsed_s"],
        "ratio_set_calls_to_floor": main["ratio_set_calls_to_floor"],
        "ratio_elapsed_to_throttle_bound": main["ratio_elapsed_to_throttle_bound"],
        "flush_alone_s": flush["phases_s"]["flush_alone"] if flush else None,
        "flush_alone_ratio_to_throttle_bound": (flush["ratio_flush_to_throttle_bound"]
                                                if flush else None),
        "flush_alone_ratio_set_calls_to_floor": (flush["ratio_set_calls_to_floor"]
                                                 if flush else None),
        "syncer_cpu_s_per_10k_writes": main["syncer_cpu_s_per_10k_writes"],
        "cpu_s_by_process": main["cpu_s_by_process"],
        "syncer_cpu_s_per_10k_writes_with_echoes": main.get(
            "syncer_cpu_s_per_10k_writes_with_echoes"),
        "syncer_cpu_s_per_10k_writes_with_echoes_the_long_way": main.get(
            "syncer_cpu_s_per_10k_writes_with_echoes_the_long_way"),
        "load_average_start_end": main["load_average_start_end"],
        "flush_alone_syncer_cpu_s_per_10k_writes": (flush["syncer_cpu_s_per_10k_writes"]
                                                    if flush else None),
        "mismatches": sum(r["mismatches"] for r in rounds.values()),
        # One UPDATE per written level, alone: how far below the goal PostgreSQL's share
        # of any design can go (see postgres_floor).
        "postgres_floor": postgres_floor(),
        # Sending them alone, from Python, through the flush's client (see client_floor).
        "client_floor": client_floor(),
        "rounds": rounds,
    }


def run() -> dict:
    return run_child_with_emulator(name="inventory_fanout", database=DATABASE,
                                   timeout=3600 + 2 * ROUND_TIMEOUT)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "child":
        print(json.dumps(child(sys.argv[2])))
    else:
        print(json.dumps(run(), indent=2))
