"""The webhook inbox's engine: claiming rows, running the topic handlers, recording outcomes,
and the broker markers that keep a row from being queued twice.

It queues no task of its own accord: the two steps that chain (a full batch queues the next
one, the sweeper queues rows whose task was lost) take the task to queue as an argument. So it
imports neither `webhooks.tasks` nor `webhooks.services`, and the graph runs one way: services
import tasks at the top to queue them; tasks import this module inside their bodies.
"""

from __future__ import annotations

import contextlib
import json
import logging
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery.exceptions import CeleryError
from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from syncer.redis import redis_client
from webhooks.metrics import webhook_inbox_lag, webhooks_processed
from webhooks.models import WebhookDelivery
from webhooks.registry import (
    WebhookPayloadInvalid,
    webhook_batch_handler_for,
    webhook_handlers_for,
    webhook_items_one_at_a_time,
    webhook_queue_for,
)

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status

# A RECEIVED row is normally processed within milliseconds; the sweeper only steps in for rows
# whose task never ran (broker down at receipt, worker lost), after this grace period.
RECEIVED_GRACE = timedelta(seconds=60)
def _claim_timeout() -> timedelta:
    """How long a worker's claim on a row lasts before another may take it over (a worker
    killed mid-handler leaves its claim behind). Handlers are short: they record and queue."""
    return timedelta(seconds=settings.WEBHOOK_CLAIM_SECONDS)
MAX_ATTEMPTS = 8


def _retry_delay(attempts: int) -> timedelta:
    # 30 s, 1 min, 2 min, ... capped at 1 h: about the span of Shopify's own retries.
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


# While a row's task waits in the broker, this marker says so (the broker's Redis holds both,
# so they are lost together). Its expiry bounds the wait for a task lost some other way.
QUEUED_MARK_SECONDS = 900


def _queued_key(delivery_id: int) -> str:
    return f"syncer:webhook-queued:{delivery_id}"


def _publish_marked(*, key: str, task: Task, args: tuple[Any, ...],
                    choose_queue: Callable[[], str | None], if_unmarked: bool, what: str) -> None:
    """Marks `key`, then publishes the task (so a fast worker's unmark cannot come first); with
    `if_unmarked`, publishes nothing when the mark is already there. No publish retries: the
    request must answer Shopify at once; if the broker is down the rows wait in the inbox for
    the sweeper."""
    try:
        if not redis_client().set(key, 1, nx=if_unmarked, ex=QUEUED_MARK_SECONDS):
            return
        queue = choose_queue()
        options: dict[str, Any] = {"queue": queue} if queue else {}
        task.apply_async(args=args, retry=False, **options)
    except (KombuError, CeleryError, RedisError, OSError) as exc:
        logger.warning("%s not enqueued (%s); the sweeper will pick it up", what, exc)
        _unmark(key)


def _unmark(key: str) -> None:
    with contextlib.suppress(RedisError, OSError):
        redis_client().delete(key)


def webhook_delivery_publish(*, task: Task, delivery_id: int, queue: str | None = None) -> None:
    """Queues `task` (the delivery's processing task) for one row, marked while it waits."""
    _publish_marked(key=_queued_key(delivery_id), task=task, args=(delivery_id,),
                    choose_queue=lambda: queue, if_unmarked=False,
                    what=f"webhook {delivery_id}")


def webhook_delivery_unmark(delivery_id: int) -> None:
    """The task has left the broker: from now on the row's state is in the database."""
    _unmark(_queued_key(delivery_id))


# A topic with a batch handler queues one task per shop and topic, not one per delivery: the
# task takes whatever of that shop's topic is waiting when it starts. While it waits in the
# broker this marker says so, and deliveries arriving meanwhile queue nothing (in a burst of
# 10,000 stock changes, 10,000 tasks that each found their row already taken were most of the
# inbox's work).
def _batch_queued_key(shop_domain: str, topic: str) -> str:
    return f"syncer:webhook-batch-queued:{shop_domain}:{topic}"


def webhook_deliveries_publish(*, task: Task, shop_domain: str, topic: str) -> None:
    """Queues `task` (the batch task) to take the waiting deliveries of one shop and topic,
    unless one is waiting in the broker already: that one starts after this row was committed,
    so it takes it (called after the rows are committed)."""
    _publish_marked(
        key=_batch_queued_key(shop_domain, topic), task=task,
        args=(shop_domain, topic), if_unmarked=True,
        choose_queue=lambda: webhook_queue_for(shop_domain=shop_domain, topic=topic),
        what=f"{topic} deliveries of {shop_domain}")


def webhook_deliveries_unmark(*, shop_domain: str, topic: str) -> None:
    """The batch task has left the broker: a delivery committed from now on queues another."""
    _unmark(_batch_queued_key(shop_domain, topic))


def _finish(
    *, delivery: WebhookDelivery, status: str, outcome: str, error: str = "",
    due_at: datetime | None = None,
) -> str:
    now = timezone.now()
    failed = status == Status.FAILED
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status, last_error=error, processed_at=None if failed else now,
        due_at=due_at or now, **({"failed_at": now} if failed else {}),
    )
    webhooks_processed.labels(topic=delivery.topic, outcome=outcome).inc()
    if outcome != "failed":
        webhook_inbox_lag.observe((now - delivery.received_at).total_seconds())
    return outcome


# Claimed and read in one round trip: every delivery of every shop passes here.
_CLAIM_FIELDS = ("id", "shop_domain", "topic", "event_id", "raw_body", "attempts", "received_at")
_CLAIM_SQL = f"""
    UPDATE webhooks_webhookdelivery
    SET status = %(processing)s, attempts = attempts + 1, due_at = %(due_at)s
    WHERE id = %(id)s
      AND (status IN (%(received)s, %(failed)s)
           OR (status = %(processing)s AND due_at <= %(now)s))
    RETURNING {", ".join(_CLAIM_FIELDS)}
"""


# How many waiting deliveries of one shop and topic a batch handler takes at once.
BATCH_LIMIT = 250
_CLAIM_WAITING_SQL = f"""
    UPDATE webhooks_webhookdelivery
    SET status = %(processing)s, attempts = attempts + 1, due_at = %(due_at)s
    WHERE id IN (
        SELECT id FROM webhooks_webhookdelivery
        WHERE shop_domain = %(shop)s AND topic = %(topic)s AND status = %(received)s
        ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
    RETURNING {", ".join(_CLAIM_FIELDS)}
"""


def webhook_delivery_process(*, delivery_id: int) -> str:
    """Runs the topic's handlers for one inbox row, at most once successfully. If the topic
    has a batch handler and more of the shop's deliveries of it are waiting, they are claimed
    and handled together with this one (their own tasks then find nothing to do).

    Returns this row's outcome: ok | ignored | duplicate | failed | skipped (not claimable).
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {
            "processing": Status.PROCESSING, "due_at": now + _claim_timeout(), "id": delivery_id,
            "received": Status.RECEIVED, "failed": Status.FAILED, "now": now})
        row = cursor.fetchone()
    if row is None:
        return "skipped"
    delivery = WebhookDelivery(**dict(zip(_CLAIM_FIELDS, row, strict=True)))

    batch_handler = webhook_batch_handler_for(delivery.topic)
    if batch_handler is None and not webhook_handlers_for(delivery.topic):
        return _finish(delivery=delivery, status=Status.IGNORED, outcome="ignored",
                       error=f"No handler for topic {delivery.topic}")
    waiting = (_claim_waiting(shop_domain=delivery.shop_domain, topic=delivery.topic, now=now,
                              limit=BATCH_LIMIT - 1) if batch_handler is not None else [])
    return _process_together(deliveries=[delivery, *waiting], now=now)[delivery.pk]


def _payload_or_fail(*, delivery: WebhookDelivery, now: datetime) -> dict | None:
    try:
        payload = json.loads(delivery.raw_body)
        if not isinstance(payload, dict):
            raise ValueError("the body is JSON but not an object")
    except ValueError as exc:
        # Retrying cannot fix a body; keep it for inspection and stop.
        _finish(delivery=delivery, status=Status.FAILED, outcome="failed",
                error=f"Malformed payload: {exc}", due_at=now + timedelta(days=3650))
        return None
    return payload


def _fail(*, delivery: WebhookDelivery, exc: Exception, now: datetime) -> str:
    if isinstance(exc, WebhookPayloadInvalid):  # retrying cannot fix it either
        logger.warning("webhook %s (%s) malformed: %s", delivery.pk, delivery.topic, exc)
        return _finish(delivery=delivery, status=Status.FAILED, outcome="failed",
                       error=f"Malformed payload: {exc}", due_at=now + timedelta(days=3650))
    logger.error("webhook %s (%s) failed", delivery.pk, delivery.topic, exc_info=exc)
    attempts = delivery.attempts
    due = now + (_retry_delay(attempts) if attempts < MAX_ATTEMPTS else timedelta(days=3650))
    error = "".join(traceback.format_exception_only(exc)).strip()
    return _finish(delivery=delivery, status=Status.FAILED, outcome="failed", error=error,
                   due_at=due)


def _claim_waiting(*, shop_domain: str, topic: str, now: datetime,
                   limit: int) -> list[WebhookDelivery]:
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_WAITING_SQL, {
            "processing": Status.PROCESSING, "due_at": now + _claim_timeout(),
            "shop": shop_domain, "topic": topic, "received": Status.RECEIVED, "limit": limit})
        rows = cursor.fetchall()
    return [WebhookDelivery(**dict(zip(_CLAIM_FIELDS, row, strict=True))) for row in rows]


def webhook_deliveries_take(*, shop_domain: str, topic: str,
                            take_task: Task) -> dict[int, str]:
    """Claims up to BATCH_LIMIT waiting deliveries of one shop and topic and runs them through
    the topic's handlers together. A full claim may have left more waiting: another task is
    queued for them first (`take_task`, the caller), so another worker takes the next batch in
    parallel. Returns each claimed row's outcome."""
    now = timezone.now()
    deliveries = _claim_waiting(shop_domain=shop_domain, topic=topic, now=now,
                                limit=BATCH_LIMIT)
    if not deliveries:
        return {}
    if len(deliveries) == BATCH_LIMIT:
        webhook_deliveries_publish(task=take_task, shop_domain=shop_domain, topic=topic)
    return _process_together(deliveries=deliveries, now=now)


def _process_together(*, deliveries: list[WebhookDelivery], now: datetime) -> dict[int, str]:
    """Claimed deliveries of one shop and topic through the topic's handlers, in delivery
    order; every row gets the outcome it would have had on its own."""
    deliveries = sorted(deliveries, key=lambda d: d.pk)
    first = deliveries[0]
    outcomes: dict[int, str] = {}
    # One merchant action shares its Event-Id across every delivery it produces, so a bulk
    # stock edit sends many inventory_levels/update with one id: only the same body under
    # the same id is the same event again (a second subscription, a redelivery).
    same_event = Q(pk__in=[])
    for delivery in deliveries:
        if delivery.event_id:
            same_event |= Q(event_id=delivery.event_id, raw_body=delivery.raw_body)
    seen = set(WebhookDelivery.objects.filter(
        same_event, shop_domain=first.shop_domain, topic=first.topic, status=Status.PROCESSED,
    ).values_list("event_id", "raw_body"))
    items = []
    for delivery in deliveries:
        key = (delivery.event_id, delivery.raw_body)
        if delivery.event_id and key in seen:
            outcomes[delivery.pk] = _finish(
                delivery=delivery, status=Status.DUPLICATE, outcome="ignored",
                error=f"Event {delivery.event_id} was already processed")
            continue
        seen.add(key)
        payload = _payload_or_fail(delivery=delivery, now=now)
        if payload is None:
            outcomes[delivery.pk] = "failed"
            continue
        items.append((delivery, payload))
    errors = _handle(topic=first.topic, shop_domain=first.shop_domain,
                     items=[(delivery.pk, payload) for delivery, payload in items])
    done = [delivery for delivery, _ in items if delivery.pk not in errors]
    for delivery, _ in items:
        if delivery.pk in errors:
            outcomes[delivery.pk] = _fail(delivery=delivery, exc=errors[delivery.pk], now=now)
    if done:
        finished = timezone.now()
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in done]).update(
            status=Status.PROCESSED, last_error="", processed_at=finished, due_at=finished)
        webhooks_processed.labels(topic=first.topic, outcome="ok").inc(len(done))
        for delivery in done:
            webhook_inbox_lag.observe((finished - delivery.received_at).total_seconds())
            outcomes[delivery.pk] = "ok"
    return outcomes


def _handle(*, topic: str, shop_domain: str,
            items: list[tuple[int, dict]]) -> dict[int, Exception]:
    """The topic's batch handler, then its one-at-a-time handlers for what it did not fail;
    returns the error of each delivery that failed (the inbox records every failure)."""
    errors: dict[int, Exception] = {}
    batch_handler = webhook_batch_handler_for(topic)
    if batch_handler is not None and items:
        try:
            errors = batch_handler(shop_domain=shop_domain, items=items)
        except Exception as exc:
            errors = {delivery_id: exc for delivery_id, _ in items}
    remaining = [(delivery_id, payload) for delivery_id, payload in items
                 if delivery_id not in errors]
    return errors | webhook_items_one_at_a_time(handlers=webhook_handlers_for(topic),
                                                shop_domain=shop_domain, items=remaining)


def _deliveries_due(*, limit: int) -> list[tuple[int, str, str, str]]:
    """(id, shop, topic, status) of the rows the sweeper should (re)enqueue: never picked up,
    failed and due, or abandoned."""
    now = timezone.now()
    grace = timedelta(seconds=settings.WEBHOOK_RECEIVED_GRACE_SECONDS)
    # RECEIVED rows carry received + 60 s as due_at; a shorter configured grace moves it in.
    early = RECEIVED_GRACE - grace
    return list(
        WebhookDelivery.objects.filter(
            Q(status__in=[Status.FAILED, Status.PROCESSING], due_at__lte=now)
            | Q(status=Status.RECEIVED, due_at__lte=now + early)
        ).order_by("due_at").values_list("pk", "shop_domain", "topic", "status")[:limit]
    )


def webhook_deliveries_sweep(*, process_task: Task, limit: int = 500) -> int:
    """Queues the due rows whose task is not waiting in the broker already: a backlog is
    never multiplied by re-queueing (every copy costs a worker a round trip for nothing), and
    a task lost with the broker (restart, flush) loses its marker with it. A received row of
    a batch topic is awaited by its shop's batch task too, when one is queued. Each row is
    queued as `process_task` (the delivery's processing task)."""
    due = _deliveries_due(limit=limit)
    if not due:
        return 0
    marks_of = {delivery_id: [_queued_key(delivery_id)] for delivery_id, *_ in due}
    for delivery_id, shop_domain, topic, status in due:
        if status == Status.RECEIVED and webhook_batch_handler_for(topic) is not None:
            marks_of[delivery_id].append(_batch_queued_key(shop_domain, topic))
    keys = sorted({key for keys in marks_of.values() for key in keys})
    try:
        marked = {key for key, mark in zip(keys, redis_client().mget(keys), strict=True) if mark}
    except RedisError:
        marked = set()
    missing = [delivery_id for delivery_id, keys in marks_of.items()
               if not marked.intersection(keys)]
    for delivery_id in missing:
        webhook_delivery_publish(task=process_task, delivery_id=delivery_id)
    return len(missing)
