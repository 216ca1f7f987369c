"""A task lost with a killed worker (taken from its queue, never run, kept unacked by Redis until
the visibility timeout) must be noticed in seconds: its marker is old and its queue is empty.
And a live worker's claim must not run out under a slow batch."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from syncer.redis import redis_client
from webhooks.broker_marks import MARK_TRUSTED
from webhooks.inbox import MAX_ATTEMPTS, webhook_delivery_process
from webhooks.models import WebhookDelivery
from webhooks.registry import (
    _handlers,
    webhook_handler_register,
)
from webhooks.services import webhook_deliveries_sweep

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = "demo-source.myshopify.com"
QUEUE = "webhooks"


@pytest.fixture
def recorded_handler():
    calls: list[dict] = []
    topic = "syncer_test/lost"
    webhook_handler_register(topic)(lambda *, shop_domain, payload, delivery_id:
                                    calls.append(payload))
    yield topic, calls
    _handlers.pop(topic)


@pytest.fixture
def empty_queue():
    redis = redis_client()
    redis.delete(QUEUE)
    yield redis
    redis.delete(QUEUE)


def _received(topic: str, webhook_id: str, body: str, *, seconds_ago: float = 300):
    received = timezone.now() - timedelta(seconds=seconds_ago)
    return WebhookDelivery.objects.create(
        shop_domain=SHOP, topic=topic, webhook_id=webhook_id, raw_body=body,
        received_at=received, due_at=received + timedelta(seconds=10))


def _old_mark(queue: str = QUEUE) -> str:
    return f"{queue}|{time.time() - MARK_TRUSTED.total_seconds() - 5:.3f}"


def test_sweeper_requeues_a_row_whose_marked_task_was_lost_with_its_worker(
        recorded_handler, empty_queue):
    topic, calls = recorded_handler
    # given a row whose task a killed worker took from the queue: its marker stays behind,
    # older than the trust period, and nothing waits in its queue
    delivery = _received(topic, "w-killed", '{"id": 1}')
    key = f"syncer:webhook-queued:{delivery.pk}"
    empty_queue.set(key, _old_mark(), ex=900)
    # when the sweeper runs
    queued = webhook_deliveries_sweep()
    # then the row is queued again and processed, and the stale marker is gone
    assert queued == 1
    delivery.refresh_from_db()
    assert delivery.status == "processed"
    assert calls == [{"id": 1}]
    assert empty_queue.exists(key) == 0


def test_sweeper_trusts_an_old_marker_while_its_queue_has_a_backlog(recorded_handler,
                                                                   empty_queue):
    topic, calls = recorded_handler
    # given an old marker, and messages still waiting in its queue (its task among them)
    delivery = _received(topic, "w-behind", '{"id": 2}')
    key = f"syncer:webhook-queued:{delivery.pk}"
    mark = _old_mark()
    empty_queue.set(key, mark, ex=900)
    empty_queue.rpush(QUEUE, b"{}")
    # when the sweeper runs
    queued = webhook_deliveries_sweep()
    # then it leaves the row to the waiting task
    assert queued == 0
    delivery.refresh_from_db()
    assert (delivery.status, calls) == ("received", [])
    assert empty_queue.get(key) == mark


def test_sweeper_trusts_a_fresh_marker_whatever_its_queue(recorded_handler, empty_queue):
    topic, calls = recorded_handler
    # given a marker set a moment ago (its task may be on its way to a worker)
    delivery = _received(topic, "w-fresh-mark", '{"id": 3}')
    empty_queue.set(f"syncer:webhook-queued:{delivery.pk}", f"{QUEUE}|{time.time():.3f}",
                    ex=900)
    # when / then
    assert webhook_deliveries_sweep() == 0
    delivery.refresh_from_db()
    assert (delivery.status, calls) == ("received", [])


def test_lost_batch_task_is_replaced_by_one_take_task_for_its_shop_and_topic(
        batched_handler, empty_queue):
    topic, batches = batched_handler
    # given three stock changes waiting behind a batch marker whose task was lost
    for number in range(3):
        _received(topic, f"w-batch-{number}", f'{{"n": {number}}}')
    key = f"syncer:webhook-batch-queued:{SHOP}:{topic}"
    empty_queue.set(key, _old_mark(), ex=900)
    # when the sweeper runs
    queued = webhook_deliveries_sweep()
    # then one batch task takes all three together
    assert queued == 1
    assert batches == [[{"n": 0}, {"n": 1}, {"n": 2}]]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}


def test_claim_is_renewed_while_a_slow_batch_runs(settings):
    # given claims that last 0.6 s, and a handler that takes 1.5 s
    settings.WEBHOOK_CLAIM_SECONDS = 0.6
    seen: dict[str, object] = {}
    topic = "syncer_test/slow"

    def slow(*, shop_domain, payload, delivery_id):
        time.sleep(1.5)
        # the claim as another worker would see it now
        row = WebhookDelivery.objects.get(pk=delivery_id)
        seen["claimed"] = row.status == "processing" and row.due_at > timezone.now()

    webhook_handler_register(topic)(slow)
    try:
        delivery = _received(topic, "w-slow", "{}")
        # when a worker processes it
        outcome = webhook_delivery_process(delivery_id=delivery.pk)
    finally:
        _handlers.pop(topic)
    # then no other worker could have taken it over mid-run
    assert outcome == "ok"
    assert seen == {"claimed": True}


def test_a_delivery_that_keeps_killing_its_worker_is_failed_for_good(recorded_handler):
    topic, calls = recorded_handler
    # given a delivery whose worker was lost mid-handler on every one of its attempts
    delivery = _received(topic, "w-killer", '{"id": 9}')
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="processing", attempts=MAX_ATTEMPTS, due_at=timezone.now() - timedelta(seconds=1))
    # when the sweeper runs
    queued = webhook_deliveries_sweep()
    # then it is not handed to another worker, and says why
    assert queued == 0
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error, calls) == (
        "failed", f"Cannot be processed: its worker was lost {MAX_ATTEMPTS} times while "
                  f"handling it", [])
    assert delivery.due_at - timezone.now() > timedelta(days=3000)
