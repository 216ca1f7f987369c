"""Thin tasks around the inventory engine: ids in, one service call, safe to run twice.

The engine's services never queue work: they return what is to be done (e.g. the destinations
to flush), and whoever started the work (a webhook handler, a settings change, a view, another
task) queues it through the functions here, once its transaction commits. So tasks import
services and never the other way round: the import graph stays one-directional.
"""

import logging
import math
from collections.abc import Iterable
from datetime import timedelta
from functools import partial

from celery import shared_task
from celery.exceptions import CeleryError
from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from products.inventory import effects, flush, reconciliation, relocation, stock_rules
from products.inventory.drift import DRIFT_GRACE
from products.inventory.sql import DIRTY_WAITING
from products.models import (
    DestinationStock,
    InventoryEffect,
    InventoryWriteBatch,
    ReconciliationRun,
)
from stores.models import Connection
from syncer.redis import redis_client
from syncer.shopify.errors import ShopifyRetryable

logger = logging.getLogger(__name__)

# Retried: only what can recover (throttle, 5xx, timeouts, a busy lock), with backoff.
retrying_task = shared_task(ignore_result=True, autoretry_for=(ShopifyRetryable,),
                            retry_backoff=2, retry_backoff_max=120, retry_jitter=True,
                            max_retries=50)


# A flush writes everything dirty at the time it runs, so one queued flush per destination
# serves any burst of changes: 10,000 source changes fanned out to 20 destinations queue a
# handful of flushes, not 200,000 that would each find the lock taken. The marker expires in
# case its task is lost with the broker; the sweeper covers that gap.
FLUSH_QUEUED_SECONDS = 120


def inventory_flush_on_commit(destination_ids: Iterable[int], *,
                              countdown: float | None = None) -> None:
    """Once the transaction commits, flush these destinations: now (one queued flush per
    destination), or after `countdown` seconds (a drift grace)."""
    destination_ids = sorted(set(destination_ids))
    if not destination_ids:
        return
    if countdown:
        for destination_id in destination_ids:
            transaction.on_commit(partial(inventory_flush_destination_task.apply_async,
                                          args=(destination_id,), countdown=countdown))
    else:
        transaction.on_commit(partial(inventory_flush_request, destination_ids=destination_ids))


def inventory_effects_apply_on_commit(effect_ids: Iterable[int]) -> None:
    """Once the transaction commits, move the source's stock for each effect."""
    for effect_id in effect_ids:
        transaction.on_commit(partial(inventory_effect_apply_task.delay, effect_id))


def _flush_queued_key(destination_id: int) -> str:
    return f"syncer:inventory-flush-queued:{destination_id}"


def inventory_flush_request(*, destination_ids: list[int]) -> None:
    """Queues a flush of each destination unless one is already waiting to start: one task per
    INVENTORY_FLUSH_DESTINATIONS_PER_TASK of them, which flushes its destinations at once, and
    no more than INVENTORY_FLUSH_TASKS_MAX tasks (larger ones instead: the worker's processes
    are all busy by then, and each task queued is time the handler spends before it is done)."""
    redis = redis_client()
    pipe = redis.pipeline(transaction=False)
    for destination_id in destination_ids:
        pipe.set(_flush_queued_key(destination_id), 1, nx=True, ex=FLUSH_QUEUED_SECONDS)
    marked = [destination_id for destination_id, was_set
              in zip(destination_ids, pipe.execute(), strict=True) if was_set]
    per_task = max(1, settings.INVENTORY_FLUSH_DESTINATIONS_PER_TASK)
    if per_task > 1 and settings.INVENTORY_FLUSH_TASKS_MAX > 0:
        per_task = max(per_task, math.ceil(len(marked) / settings.INVENTORY_FLUSH_TASKS_MAX))
    for start in range(0, len(marked), per_task):
        group = marked[start:start + per_task]
        try:
            if len(group) == 1:
                inventory_flush_destination_task.delay(group[0])
            else:
                inventory_flush_destinations_task.delay(group)
        except Exception:
            redis.delete(*[_flush_queued_key(destination_id)
                           for destination_id in marked[start:]])
            raise


@retrying_task
def inventory_flush_destination_task(destination_id: int) -> None:
    # Cleared before looking for work: a change committed from here on queues a new flush.
    redis_client().delete(_flush_queued_key(destination_id))
    result = flush.inventory_flush_destination(destination_id=destination_id)
    _flush_follow_up(destination_id, result)


def _flush_follow_up(destination_id: int, result: flush.FlushResult) -> None:
    if not result.busy:  # a busy flush is finished by the worker holding the lock
        flush_schedule_next(destination_id)
    stock_rule_after_write_on_commit(destination_id=destination_id,
                                     stock_ids=result.written_stock_ids)


# A destination whose flush in a shared task was throttled or could not reach Shopify goes on
# alone, in inventory_flush_destination_task with its retries and backoff, from about when
# that task's own first retry would come.
FLUSH_RETRY_FIRST_SECONDS = 2.0


@shared_task(ignore_result=True)
def inventory_flush_destinations_task(destination_ids: list[int]) -> None:
    """Flushes several destinations at once (threads; see flush.inventory_flush_destinations).
    Not retried as a whole: each destination that failed with a recoverable error (throttled,
    5xx, timeout) is retried on its own, so the others are neither held up nor sent again."""
    redis_client().delete(*[_flush_queued_key(destination_id)
                            for destination_id in destination_ids])
    eager = inventory_flush_destinations_task.app.conf.task_always_eager
    outcomes = flush.inventory_flush_destinations(
        destination_ids=destination_ids,
        # Inline tasks (tests) share the caller's database transaction: no other threads.
        threads=1 if eager else settings.INVENTORY_FLUSH_THREADS, after=_flush_follow_up)
    failure: Exception | None = None
    for destination_id, outcome in outcomes.items():
        if isinstance(outcome, ShopifyRetryable):
            logger.info("stock flush of destination %s to be retried: %s", destination_id,
                        outcome)
            inventory_flush_destination_task.apply_async(
                args=(destination_id,),
                countdown=max(FLUSH_RETRY_FIRST_SECONDS, outcome.retry_after or 0.0))
        elif isinstance(outcome, Exception):
            logger.error("stock flush of destination %s failed", destination_id,
                         exc_info=outcome)
            failure = failure or outcome
    if failure is not None:
        # Recorded as this task's failure (health page); the rows stay dirty for the sweeper.
        raise failure


def stock_rule_after_write_on_commit(*, destination_id: int, stock_ids: list[int]) -> None:
    """Once committed, the "below N: draft" rule looks at the products whose stock was just
    written (nothing to queue, after one indexed query, while no source has the rule on)."""
    due = stock_rules.stock_rule_due_after_write(destination_id=destination_id,
                                                 stock_ids=stock_ids)
    for connection_id, product_link_ids in sorted(due.items()):
        for start in range(0, len(product_link_ids), STOCK_RULE_LINKS_PER_TASK):
            transaction.on_commit(partial(
                stock_rule_apply_task.delay, connection_id,
                product_link_ids[start:start + STOCK_RULE_LINKS_PER_TASK]))


def stock_rule_links_on_commit(*, connection: Connection, product_link_ids: list[int]) -> None:
    """Once committed, the "below N: draft" rule looks at newly linked products (imported or
    mapped with their first stock already in them: no stock write follows to look for it)."""
    if connection.draft_below is None or not product_link_ids:
        return
    for start in range(0, len(product_link_ids), STOCK_RULE_LINKS_PER_TASK):
        transaction.on_commit(partial(
            stock_rule_apply_task.delay, connection.pk,
            product_link_ids[start:start + STOCK_RULE_LINKS_PER_TASK]))


def stock_rule_connection_on_commit(*, connection_id: int) -> None:
    """Once committed, the "below N: draft" rule looks at every product of the connection (its
    stock rules were saved: N changed, or the rule was turned on or off)."""
    transaction.on_commit(partial(stock_rule_apply_task.delay, connection_id, None))


def stock_to_clear_on_commit(*, connection: Connection) -> None:
    """Once committed, the synced stock the connection has to clear elsewhere than at its
    receiving location (a location it left) is set to 0 (relocation.py), if there is any."""
    if connection.stock_to_clear:
        transaction.on_commit(partial(stock_to_clear_task.delay, connection.pk))


@retrying_task
def stock_to_clear_task(connection_id: int) -> None:
    relocation.stock_to_clear_apply(connection_id=connection_id)


# Products per stock-rule task: two Admin API calls each at most.
STOCK_RULE_LINKS_PER_TASK = 100


@retrying_task
def stock_rule_apply_task(connection_id: int, product_link_ids: list[int] | None) -> None:
    stock_rules.stock_rule_apply(connection_id=connection_id, product_link_ids=product_link_ids)


def flush_schedule_next(destination_id: int) -> None:
    """If rows are dirty but not yet due (drift grace, failed-write pause), wake up then.
    Rows held back by the zero-stock breaker wait for the merchant, not for a flush."""
    if inventory_flush_destination_task.app.conf.task_always_eager:
        return  # inline tasks cannot wait; the sweeper (or the next change) picks rows up
    now = timezone.now()
    with db_connection.cursor() as cursor:
        cursor.execute(DIRTY_WAITING, {"destination": destination_id, "now": now,
                                       "held": DestinationStock.Hold.HELD})
        due_now, next_due = cursor.fetchone()
    if due_now:
        inventory_flush_request(destination_ids=[destination_id])
    elif next_due is not None:
        inventory_flush_destination_task.apply_async(
            args=(destination_id,), countdown=max((next_due - now).total_seconds(), 0.1))


@retrying_task
def inventory_effect_apply_task(effect_id: int) -> None:
    inventory_flush_on_commit(effects.inventory_effect_apply(effect_id=effect_id))


@retrying_task
def reconciliation_run_task(run_id: int) -> None:
    run = reconciliation.reconciliation_run(run_id=run_id)
    if run.connection.draft_below is not None:
        # A resync brings every product in line, its status under the stock rule too.
        stock_rule_connection_on_commit(connection_id=run.connection_id)


def reconciliation_request(*, connection: Connection, trigger: str) -> ReconciliationRun:
    """Starts a resync of one connection, its task queued once committed. Returns the run as
    it stands then (failed already if the broker refused the task)."""
    run = reconciliation.reconciliation_start(connection=connection, trigger=trigger)
    # robust: an inline task (tests) that fails has ended its run failed; the caller's work
    # stands.
    transaction.on_commit(lambda: _reconciliation_enqueue(run.pk), robust=True)
    run.refresh_from_db()
    return run


def _reconciliation_enqueue(run_id: int) -> None:
    try:
        reconciliation_run_task.delay(run_id)
    except (KombuError, CeleryError, RedisError, OSError) as exc:
        # Nobody would ever run it: say so now rather than show "Checking 0 of N" forever.
        logger.warning("resync %s not queued: %s", run_id, exc)
        reconciliation.reconciliation_fail(run_id=run_id,
                                          reason=reconciliation.RESYNC_NOT_QUEUED)


@shared_task(ignore_result=True)
def reconciliation_schedule_task() -> None:
    for connection in Connection.objects.filter(pk__in=reconciliation.connections_to_reconcile()):
        reconciliation_request(connection=connection, trigger="schedule")


@retrying_task
def reconciliation_incremental_task(shop_id: int) -> None:
    """One shop's incremental check; its findings are queued like their webhooks' would be."""
    check = reconciliation.reconciliation_incremental_run(shop_id=shop_id)
    if check is None:
        return
    inventory_flush_on_commit(check.to_flush)
    inventory_flush_on_commit(check.drift_to_flush, countdown=DRIFT_GRACE.total_seconds() + 0.5)
    if check.overflowed:
        # Too much changed for a paged read: the full one reads everything with a bulk query.
        for connection in reconciliation.connections_reconcilable().filter(
                Q(source_id=shop_id) | Q(destination_id=shop_id)):
            reconciliation_request(connection=connection, trigger="schedule")


@shared_task(ignore_result=True)
def reconciliation_incremental_schedule_task() -> None:
    for shop_id in reconciliation.shops_to_check_incrementally():
        reconciliation_incremental_task.delay(shop_id)


# Work untouched this long has lost its task (a flush in progress renews its lock and finishes
# its rows well within it); the sweep runs every INVENTORY_SWEEP_EVERY_SECONDS.
SWEEP_STALE = timedelta(seconds=15)


@shared_task(ignore_result=True)
def inventory_sweep_task() -> None:
    """Picks up work whose task was lost (broker restart, worker killed mid-task)."""
    reconciliation.reconciliation_runs_end_stuck()
    stale = timezone.now() - SWEEP_STALE
    for connection_id in Connection.objects.exclude(stock_to_clear={}).filter(
            Q(stock_to_clear_since__isnull=True) | Q(stock_to_clear_since__lte=stale),
    ).values_list("pk", flat=True)[:100]:
        # At most one task per sweep window while it waits or retries (it is idempotent).
        Connection.objects.filter(pk=connection_id).update(stock_to_clear_since=timezone.now())
        stock_to_clear_task.delay(connection_id)
    for effect_id in effects.inventory_restocks_release_waiting():
        inventory_effect_apply_task.delay(effect_id)
    for effect_id in InventoryEffect.objects.filter(
            status=InventoryEffect.Status.PENDING, created_at__lte=stale).values_list(
            "pk", flat=True)[:1000]:
        inventory_effect_apply_task.delay(effect_id)
    destinations = set(InventoryWriteBatch.objects.filter(
        status=InventoryWriteBatch.Status.PENDING, created_at__lte=stale).values_list(
        "destination_id", flat=True))
    destinations |= set(DestinationStock.objects.filter(
        Q(due_at__isnull=True) | Q(due_at__lte=timezone.now()), dirty=True,
        changed_at__lte=stale).values_list("destination_id", flat=True).distinct())
    for destination_id in destinations:
        inventory_flush_destination_task.delay(destination_id)
