"""The webhook inbox's engine: claiming rows, running the topic handlers, recording outcomes
(the broker markers that keep a row from being queued twice are in webhooks.broker_marks).

It queues no task of its own accord: the two steps that chain (a full batch queues the next
one, the sweeper queues rows whose task was lost) take the task to queue as an argument. So it
imports neither `webhooks.tasks` nor `webhooks.services`, and the graph runs one way: services
import tasks at the top to queue them; tasks import this module inside their bodies.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from webhooks.metrics import webhook_inbox_lag, webhooks_processed
from webhooks.models import WebhookDelivery, webhook_body_sha256
from webhooks.registry import (
    WebhookPayloadInvalid,
    webhook_batch_handler_for,
    webhook_error_is_permanent,
    webhook_handlers_for,
    webhook_items_one_at_a_time,
    webhook_payload_parse,
)

if TYPE_CHECKING:
    from celery import Task

from webhooks.broker_marks import (
    batch_queued_key,
    delivery_queued_key,
    marks_waiting,
    webhook_deliveries_publish,
    webhook_delivery_publish,
)

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status

# A RECEIVED row is normally processed within milliseconds; the sweeper only steps in for rows
# whose task never ran (broker down at receipt, worker lost), after this grace period.
RECEIVED_GRACE = timedelta(seconds=10)


def _claim_timeout() -> timedelta:
    """How long a worker's claim on a row lasts before another may take it over (a worker
    killed mid-handler leaves its claim behind). Short, and renewed while the handlers run
    (`_claims_kept`), so a killed worker's rows wait seconds, not minutes."""
    return timedelta(seconds=settings.WEBHOOK_CLAIM_SECONDS)


# Skips rows locked by the batch finishing them: the renewal never waits, so never deadlocks.
_CLAIM_RENEW_SQL = """
    UPDATE webhooks_webhookdelivery SET due_at = %(due_at)s
    WHERE id IN (SELECT id FROM webhooks_webhookdelivery
                 WHERE id = ANY(%(ids)s) AND status = %(processing)s
                 ORDER BY id FOR UPDATE SKIP LOCKED)
"""


@contextlib.contextmanager
def _claims_kept(ids: list[int]) -> Iterator[None]:
    """Renews the claim on `ids` every third of its life while the block runs. Handlers are
    short (they record and queue), but a batch held up by a slow database must not be taken
    over by another worker while it is still being handled. The renewal runs in its own thread
    with its own connection; it touches only rows still claimed."""
    stop = threading.Event()
    interval = _claim_timeout().total_seconds() / 3

    def renew() -> None:
        try:
            while not stop.wait(interval):
                with connection.cursor() as cursor:
                    cursor.execute(_CLAIM_RENEW_SQL, {
                        "ids": ids, "processing": Status.PROCESSING,
                        "due_at": timezone.now() + _claim_timeout()})
        except Exception:  # a lost renewal only shortens the claim; never fail the batch
            logger.warning("webhook claim renewal failed", exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=renew, name="webhook-claim-renewal", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


MAX_ATTEMPTS = 8


def _retry_delay(attempts: int) -> timedelta:
    # 30 s, 1 min, 2 min, ... capped at 1 h: about the span of Shopify's own retries.
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


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


# Every delivery handled without error ends here (the ORM's update cost several times the
# statement's own time, on the path of every echo of our own stock writes).
_PROCESSED_SQL = """
    UPDATE webhooks_webhookdelivery
    SET status = %(processed)s, last_error = '', processed_at = %(now)s, due_at = %(now)s
    WHERE id = ANY(%(ids)s)
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
    deliveries = [delivery, *waiting]
    with _claims_kept([d.pk for d in deliveries]):
        return _process_together(deliveries=deliveries, now=now)[delivery.pk]


def _payload_or_fail(*, delivery: WebhookDelivery, now: datetime) -> dict | None:
    try:
        return webhook_payload_parse(delivery.raw_body)
    except WebhookPayloadInvalid as exc:
        _fail(delivery=delivery, exc=exc, now=now)
        return None


# How long a delivery failed for good waits: never, unless the merchant's Try again asks.
GIVEN_UP = timedelta(days=3650)


def _fail(*, delivery: WebhookDelivery, exc: Exception, now: datetime) -> str:
    if isinstance(exc, WebhookPayloadInvalid):  # retrying cannot fix a body
        logger.warning("webhook %s (%s) malformed: %s", delivery.pk, delivery.topic, exc)
        error, due = f"Malformed payload: {exc}", now + GIVEN_UP
    elif webhook_error_is_permanent(exc):  # nor a payload its handler can never take
        logger.warning("webhook %s (%s) cannot be processed", delivery.pk, delivery.topic,
                       exc_info=exc)
        error, due = f"Cannot be processed: {_error_line(exc)}", now + GIVEN_UP
    else:
        logger.error("webhook %s (%s) failed", delivery.pk, delivery.topic, exc_info=exc)
        attempts = delivery.attempts
        error = "".join(traceback.format_exception_only(exc)).strip()
        due = now + (_retry_delay(attempts) if attempts < MAX_ATTEMPTS else GIVEN_UP)
    return _finish(delivery=delivery, status=Status.FAILED, outcome="failed",
                   error=error.replace("\x00", "\\x00"), due_at=due)


def _error_line(exc: Exception) -> str:
    """`Type: message`, first line only (a database error adds its SQL context below)."""
    message = str(exc).strip().split("\n", 1)[0]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _claim_waiting(*, shop_domain: str, topic: str, now: datetime,
                   limit: int) -> list[WebhookDelivery]:
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_WAITING_SQL, {
            "processing": Status.PROCESSING, "due_at": now + _claim_timeout(),
            "shop": shop_domain, "topic": topic, "received": Status.RECEIVED, "limit": limit})
        rows = cursor.fetchall()
    return [WebhookDelivery(**dict(zip(_CLAIM_FIELDS, row, strict=True))) for row in rows]


# A topic handled one delivery at a time takes fewer at once: its handlers do a delivery's
# whole work each, so a burst is spread over the workers rather than left to one.
TAKE_ONE_AT_A_TIME_LIMIT = 25


def webhook_deliveries_take(*, shop_domain: str, topic: str,
                            take_task: Task) -> dict[int, str]:
    """Claims the waiting deliveries of one shop and topic (up to BATCH_LIMIT, or
    TAKE_ONE_AT_A_TIME_LIMIT for a topic without a batch handler) and runs them through the
    topic's handlers together. A full claim may have left more waiting: another task is
    queued for them first (`take_task`, the caller), so another worker takes the next batch in
    parallel. Returns each claimed row's outcome."""
    now = timezone.now()
    batch_handler = webhook_batch_handler_for(topic)
    limit = BATCH_LIMIT if batch_handler is not None else TAKE_ONE_AT_A_TIME_LIMIT
    deliveries = _claim_waiting(shop_domain=shop_domain, topic=topic, now=now, limit=limit)
    if not deliveries:
        return {}
    if len(deliveries) == limit:
        webhook_deliveries_publish(task=take_task, shop_domain=shop_domain, topic=topic)
    if batch_handler is None and not webhook_handlers_for(topic):
        return {delivery.pk: _finish(delivery=delivery, status=Status.IGNORED,
                                     outcome="ignored", error=f"No handler for topic {topic}")
                for delivery in deliveries}
    with _claims_kept([d.pk for d in deliveries]):
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
    # Bodies compare by their hash: a processed row's body is dropped after a while
    # (webhooks.retention); a row received before the hash was kept compares its body.
    digests = {delivery.pk: webhook_body_sha256(delivery.raw_body) for delivery in deliveries}
    seen = _events_processed(shop_domain=first.shop_domain, topic=first.topic,
                             event_ids=[d.event_id for d in deliveries if d.event_id])
    items = []
    for delivery in deliveries:
        key = (delivery.event_id, digests[delivery.pk])
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
        with connection.cursor() as cursor:
            cursor.execute(_PROCESSED_SQL, {"ids": [d.pk for d in done], "now": finished,
                                            "processed": Status.PROCESSED})
        webhooks_processed.labels(topic=first.topic, outcome="ok").inc(len(done))
        for delivery in done:
            webhook_inbox_lag.observe((finished - delivery.received_at).total_seconds())
            outcomes[delivery.pk] = "ok"
    return outcomes


# The processed deliveries of one shop and topic with these event ids (its index), as
# (event id, body digest); a body is read only where its digest was not kept.
_EVENTS_PROCESSED_SQL = """
    SELECT event_id, body_sha256, CASE WHEN body_sha256 = '' THEN raw_body ELSE '' END
    FROM webhooks_webhookdelivery
    WHERE shop_domain = %(shop)s AND topic = %(topic)s AND event_id = ANY(%(events)s)
      AND status = %(processed)s
"""


def _events_processed(*, shop_domain: str, topic: str,
                      event_ids: list[str]) -> set[tuple[str, str]]:
    if not event_ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(_EVENTS_PROCESSED_SQL, {
            "shop": shop_domain, "topic": topic, "events": sorted(set(event_ids)),
            "processed": Status.PROCESSED})
        return {(event_id, digest or webhook_body_sha256(body))
                for event_id, digest, body in cursor.fetchall()}


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
            if len(items) > 1 and webhook_error_is_permanent(exc):
                # One delivery no retry can pass (a value the database refuses, a wrong
                # shape) must not fail the others taken with it: each goes again alone, so
                # only it fails. An error that may pass (database, Shopify) fails the batch
                # for its retry: running it item by item would only repeat it.
                errors = webhook_items_one_at_a_time(
                    handlers=[_batch_handler_alone(batch_handler)], shop_domain=shop_domain,
                    items=items)
            else:
                errors = {delivery_id: exc for delivery_id, _ in items}
    remaining = [(delivery_id, payload) for delivery_id, payload in items
                 if delivery_id not in errors]
    return errors | webhook_items_one_at_a_time(handlers=webhook_handlers_for(topic),
                                                shop_domain=shop_domain, items=remaining)


def _batch_handler_alone(
        batch_handler: Callable[..., dict[int, Exception]]) -> Callable[..., None]:
    """The batch handler as a one-at-a-time handler (it raises the error it returns)."""

    def handler(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
        errors = batch_handler(shop_domain=shop_domain, items=[(delivery_id, payload)])
        if delivery_id in errors:
            raise errors[delivery_id]

    return handler


def _claims_abandoned_fail(*, now: datetime) -> int:
    """A delivery whose worker was lost MAX_ATTEMPTS times while handling it (it kills its
    worker: out of memory, a crash) is failed for good, not handed to the next worker."""
    return WebhookDelivery.objects.filter(
        status=Status.PROCESSING, due_at__lte=now, attempts__gte=MAX_ATTEMPTS,
    ).update(status=Status.FAILED, failed_at=now, due_at=now + GIVEN_UP,
             last_error=f"Cannot be processed: its worker was lost {MAX_ATTEMPTS} times "
                        f"while handling it")


def _deliveries_due(*, limit: int) -> list[tuple[int, str, str, str]]:
    """(id, shop, topic, status) of the rows the sweeper should (re)enqueue: never picked up,
    failed and due, or abandoned."""
    now = timezone.now()
    _claims_abandoned_fail(now=now)
    grace = timedelta(seconds=settings.WEBHOOK_RECEIVED_GRACE_SECONDS)
    # RECEIVED rows carry received + 60 s as due_at; a shorter configured grace moves it in.
    early = RECEIVED_GRACE - grace
    return list(
        WebhookDelivery.objects.filter(
            Q(status__in=[Status.FAILED, Status.PROCESSING], due_at__lte=now)
            | Q(status=Status.RECEIVED, due_at__lte=now + early)
        ).order_by("due_at").values_list("pk", "shop_domain", "topic", "status")[:limit]
    )


def webhook_deliveries_sweep(*, process_task: Task, take_task: Task, limit: int = 500) -> int:
    """Queues the due rows whose task is not waiting in the broker: a backlog is never
    multiplied by re-queueing (every copy costs a worker a round trip for nothing), while a task
    lost with the broker (restart, flush) loses its marker with it, and one lost with a killed
    worker is known by its marker's age and its empty queue (`marks_waiting`). Received rows
    are queued as one `take_task` per shop and topic (as receiving queues them); failed and
    abandoned rows each as its own `process_task`. A received row is left alone while either
    marker says a task for it waits (rows received before every topic was taken by shop and
    topic were marked one by one). Returns how many tasks were queued."""
    due = _deliveries_due(limit=limit)
    if not due:
        return 0
    marks_of = {delivery_id: [delivery_queued_key(delivery_id)] for delivery_id, *_ in due}
    batches: dict[int, tuple[str, str]] = {}
    for delivery_id, shop_domain, topic, status in due:
        if status == Status.RECEIVED:
            marks_of[delivery_id].append(batch_queued_key(shop_domain, topic))
            batches[delivery_id] = (shop_domain, topic)
    waiting = marks_waiting(sorted({key for keys in marks_of.values() for key in keys}))
    missing = [delivery_id for delivery_id, keys in marks_of.items()
               if not waiting.intersection(keys)]
    taken: set[tuple[str, str]] = set()
    queued = 0
    for delivery_id in missing:
        if delivery_id not in batches:
            webhook_delivery_publish(task=process_task, delivery_id=delivery_id)
            queued += 1
        elif batches[delivery_id] not in taken:
            shop_domain, topic = batches[delivery_id]
            taken.add((shop_domain, topic))
            webhook_deliveries_publish(task=take_task, shop_domain=shop_domain, topic=topic)
            queued += 1
    return queued
