"""`python -m bench.inventory_worker <celery worker options>`: a Celery worker for the inventory
benchmarks — exactly `celery -A syncer worker`, plus wall-clock timing of the inventory engine's
steps, summed per step over every pool process in a Redis hash (bench.inventory_support
.TIMINGS_KEY: "<step>.s" seconds, "<step>.n" calls).

Nothing in the engine changes: module attributes are wrapped before the pool forks, and every
caller looks them up by name at call time. The sums are kept in the process and written to
Redis every quarter second. Steps (nested ones are included in their parents):

  ingest.delivery            webhooks: one inbox row by id (claim, handler, finish), with
                             the waiting rows it takes along (sweeper, per-row topics)
  ingest.batch               webhooks: a batch topic's task taking a shop's waiting rows
  ingest.source_level_changed   the handler's engine call: record level + targets
  ingest.level_record           upsert of the source level
  ingest.targets_recompute      targets of every linked destination, dirty marks
  ingest.flush_enqueue          scheduling the per-destination flush tasks
  flush.group                inventory_flush_destinations (one task flushing several
                             destinations on threads; its flush.* steps overlap in time)
  flush.call                 inventory_flush_destination (one destination); flush.busy /
                             flush.empty count calls that found the lock taken / nothing to write
  flush.schedule_next        the task's look for rows due later
  flush.batch_form           choosing ≤ 250 dirty rows, creating the batch
  flush.batch_send           the write: API call + done-bookkeeping (below)
  flush.batch_done           rows, links, sync events after a successful write
  api.execute                every Admin API call (budget wait + HTTP + parsing)
  api.throttle_wait          time the shared budget made callers sleep (seconds only)
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time

from bench.inventory_support import TIMINGS_KEY

# Summed in the process and written to Redis a few times a second by a thread of its own: a
# Redis round trip per timed call was a tenth of the worker's CPU at 20 destinations, inside
# the figures it measures. The benches read the timings after a settle of 1.5 s.
FLUSH_EVERY_SECONDS = 0.25
_pending: dict[str, float] = {}
_pending_lock = threading.Lock()
_flusher_pid: list[int] = []


def _record(step: str, seconds: float, calls: int = 1, extra: dict[str, int] | None = None) -> None:
    with _pending_lock:
        _pending[f"{step}.s"] = _pending.get(f"{step}.s", 0.0) + seconds
        _pending[f"{step}.n"] = _pending.get(f"{step}.n", 0) + calls
        for name, count in (extra or {}).items():
            _pending[f"{name}.n"] = _pending.get(f"{name}.n", 0) + count
        if _flusher_pid != [os.getpid()]:  # first record in this (forked) process
            _flusher_pid[:] = [os.getpid()]
            threading.Thread(target=_flush_loop, name="bench-timings", daemon=True).start()


def _flush_loop() -> None:
    from syncer.redis import redis_client

    while True:
        time.sleep(FLUSH_EVERY_SECONDS)
        with _pending_lock:
            taken = dict(_pending)
            _pending.clear()
        if not taken:
            continue
        pipe = redis_client().pipeline(transaction=False)
        for key, value in taken.items():
            if key.endswith(".n"):
                pipe.hincrby(TIMINGS_KEY, key, int(value))
            else:
                pipe.hincrbyfloat(TIMINGS_KEY, key, value)
        pipe.execute()


def _wrap(module, name: str, step: str, *, on_result=None) -> None:
    original = getattr(module, name)

    @functools.wraps(original)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        result = None
        try:
            result = original(*args, **kwargs)
            return result
        finally:
            extra = on_result(result) if on_result is not None and result is not None else None
            _record(step, time.perf_counter() - started, extra=extra)

    setattr(module, name, timed)


def _flush_outcome(result) -> dict[str, int]:
    if result.busy:
        return {"flush.busy": 1}
    return {"flush.empty": 1} if not result.batches else {}


def instrument() -> None:
    import webhooks.inbox as inbox
    from products.inventory import flush, handlers, targets, tasks
    from syncer.shopify import admin_session, budget

    _wrap(inbox, "webhook_delivery_process", "ingest.delivery")
    _wrap(inbox, "webhook_deliveries_take", "ingest.batch")
    # Each function is wrapped where it is looked up: in the module that calls it.
    _wrap(handlers, "source_levels_changed", "ingest.source_level_changed")
    _wrap(targets, "source_levels_record", "ingest.level_record")
    _wrap(targets, "targets_recompute", "ingest.targets_recompute")
    _wrap(handlers, "inventory_flush_on_commit", "ingest.flush_enqueue")
    _wrap(flush, "inventory_flush_destinations", "flush.group")
    _wrap(flush, "inventory_flush_destination", "flush.call", on_result=_flush_outcome)
    _wrap(tasks, "flush_schedule_next", "flush.schedule_next")
    _wrap(flush, "_batch_form", "flush.batch_form")
    _wrap(flush, "_batch_send", "flush.batch_send")
    _wrap(flush, "_batch_done", "flush.batch_done")
    _wrap(admin_session.AdminSession, "execute", "api.execute")

    reserve = budget.ShopBudget.reserve

    @functools.wraps(reserve)
    def reserve_timed(self, **kwargs):
        reservation = reserve(self, **kwargs)
        if reservation.waited_seconds:
            _record("api.throttle_wait", reservation.waited_seconds)
        return reservation

    budget.ShopBudget.reserve = reserve_timed


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "syncer.settings.base")
    import django

    django.setup()
    instrument()
    from syncer.celery import app

    app.worker_main(["worker", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
