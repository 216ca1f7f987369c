"""`python -m bench.inventory_worker <celery worker options>`: a Celery worker for the inventory
benchmarks — exactly `celery -A syncer worker`, plus wall-clock timing of the inventory engine's
steps, summed per step over every pool process in a Redis hash (bench.inventory_support
.TIMINGS_KEY: "<step>.s" seconds, "<step>.n" calls).

Nothing in the engine changes: module attributes are wrapped before the pool forks, and every
caller looks them up by name at call time. One pipelined Redis round trip per timed call is the
cost (~0.1 ms). Steps (nested ones are included in their parents):

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
import time

from bench.inventory_support import TIMINGS_KEY


def _record(step: str, seconds: float, calls: int = 1, extra: dict[str, int] | None = None) -> None:
    from syncer.redis import redis_client

    pipe = redis_client().pipeline(transaction=False)
    pipe.hincrbyfloat(TIMINGS_KEY, f"{step}.s", seconds)
    pipe.hincrby(TIMINGS_KEY, f"{step}.n", calls)
    for name, count in (extra or {}).items():
        pipe.hincrby(TIMINGS_KEY, f"{name}.n", count)
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
