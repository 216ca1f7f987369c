import json
from datetime import timedelta

import pytest
from django.utils import timezone

from syncer.redis import redis_client
from tests.webhooks.conftest import sign, webhook_headers
from webhooks.inbox import BATCH_LIMIT, MAX_ATTEMPTS
from webhooks.models import WebhookDelivery
from webhooks.registry import (
    _handlers,
    webhook_handler_register,
)
from webhooks.services import webhook_deliveries_sweep
from webhooks.tasks import webhook_deliveries_take_task

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = "demo-source.myshopify.com"


@pytest.fixture
def recorded_handler():
    """A real handler registered for a test topic; it records what it was given."""
    calls: list[dict] = []
    topic = "syncer_test/recorded"

    @webhook_handler_register(topic)
    def handler(*, shop_domain, payload, delivery_id):
        if payload.get("explode"):
            raise RuntimeError("handler blew up")
        calls.append({"shop_domain": shop_domain, "payload": payload})

    yield topic, calls
    _handlers.pop(topic)


def test_several_apps_may_handle_one_topic_in_order(post_webhook):
    seen = []
    topic = "syncer_test/two"
    webhook_handler_register(topic)(lambda **kw: seen.append(("first", kw["payload"])))
    webhook_handler_register(topic)(lambda **kw: seen.append(("second", kw["payload"])))
    try:
        post_webhook(topic, {"id": 5})
    finally:
        _handlers.pop(topic)
    assert seen == [("first", {"id": 5}), ("second", {"id": 5})]
    assert WebhookDelivery.objects.get().status == "processed"


def test_signed_delivery_is_stored_and_processed_once(post_webhook, recorded_handler):
    topic, calls = recorded_handler
    # when
    response = post_webhook(topic, {"id": 1}, webhook_id="w-1", event_id="e-1")
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "accepted"}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.shop_domain, delivery.topic, delivery.webhook_id, delivery.event_id) == (
        SHOP, topic, "w-1", "e-1")
    assert delivery.triggered_at.isoformat() == "2026-11-23T10:00:00+00:00"
    assert delivery.status == "processed"
    assert delivery.attempts == 1
    assert calls == [{"shop_domain": SHOP, "payload": {"id": 1}}]


def test_duplicate_delivery_is_answered_200_and_not_processed_again(post_webhook,
                                                                    recorded_handler):
    topic, calls = recorded_handler
    post_webhook(topic, {"id": 1}, webhook_id="w-1")
    # when Shopify delivers the same webhook id again
    response = post_webhook(topic, {"id": 1}, webhook_id="w-1")
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "duplicate"}
    assert WebhookDelivery.objects.count() == 1
    assert len(calls) == 1


def test_same_event_through_a_second_subscription_is_processed_once(post_webhook,
                                                                    recorded_handler):
    topic, calls = recorded_handler
    post_webhook(topic, {"id": 1}, webhook_id="w-1", event_id="e-1")
    # when the same merchant action arrives with another delivery id
    post_webhook(topic, {"id": 1}, webhook_id="w-2", event_id="e-1")
    # then
    assert len(calls) == 1
    assert sorted(WebhookDelivery.objects.values_list("status", flat=True)) == [
        "duplicate", "processed"]


def test_one_action_touching_several_resources_is_processed_for_each(post_webhook,
                                                                    recorded_handler):
    topic, calls = recorded_handler
    post_webhook(topic, {"id": 1}, webhook_id="w-1", event_id="e-1")
    # when the same merchant action also changed another resource of the same topic
    post_webhook(topic, {"id": 2}, webhook_id="w-2", event_id="e-1")
    # then
    assert [call["payload"] for call in calls] == [{"id": 1}, {"id": 2}]
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == [
        "processed", "processed"]


def test_bad_hmac_is_401_and_stores_nothing(client, recorded_handler):
    topic, calls = recorded_handler
    body = json.dumps({"id": 1}).encode()
    headers = webhook_headers(topic=topic, shop=SHOP, body=body, secret="wrong-secret")
    # when
    response = client.post("/webhooks/shopify", data=body, content_type="application/json",
                           headers=headers)
    # then
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0
    assert calls == []


def test_body_altered_after_signing_is_401(client, recorded_handler):
    topic, _ = recorded_handler
    headers = webhook_headers(topic=topic, shop=SHOP, body=b'{"id": 1}')
    response = client.post("/webhooks/shopify", data=b'{"id": 2}',
                           content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_previous_secret_is_accepted_during_rotation(settings, post_webhook, recorded_handler):
    topic, calls = recorded_handler
    settings.SHOPIFY_API_SECRET_PREVIOUS = "old-secret"
    response = post_webhook(topic, {"id": 7}, secret="old-secret")
    assert response.status_code == 200
    assert calls == [{"shop_domain": SHOP, "payload": {"id": 7}}]


def test_oversized_body_is_413_and_stores_nothing(settings, post_webhook, recorded_handler):
    topic, _ = recorded_handler
    settings.WEBHOOK_MAX_BODY_BYTES = 100
    response = post_webhook(topic, {"padding": "x" * 200})
    assert response.status_code == 413
    assert WebhookDelivery.objects.count() == 0


def test_missing_headers_are_400(client):
    body = b'{"id": 1}'
    response = client.post("/webhooks/shopify", data=body, content_type="application/json",
                           headers={"X-Shopify-Hmac-Sha256": sign(body)})
    assert response.status_code == 400
    assert response.json() == {"error": "Missing or invalid X-Shopify-Topic"}
    assert WebhookDelivery.objects.count() == 0


def test_malformed_json_is_recorded_as_failed_not_retried(post_webhook, recorded_handler):
    topic, calls = recorded_handler
    # when a correctly signed body is not JSON
    response = post_webhook(topic, b"{not json")
    # then it is kept, marked failed with the reason, and never handed to the handler
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.last_error.startswith("Malformed payload: Expecting property name")
    assert delivery.raw_body == "{not json"
    assert calls == []
    assert webhook_deliveries_sweep() == 0


def test_unknown_topic_is_recorded_as_ignored(post_webhook):
    response = post_webhook("carts/update", {"id": 1})
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == (
        "ignored", "No handler for topic carts/update")


def test_failed_handler_is_recorded_and_retried_by_the_sweeper(post_webhook, recorded_handler):
    topic, calls = recorded_handler
    post_webhook(topic, {"explode": True})
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.last_error == "RuntimeError: handler blew up"
    assert delivery.due_at - timezone.now() > timedelta(seconds=25)
    # given the handler's cause was fixed and the backoff passed
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        raw_body=json.dumps({"explode": False}), due_at=timezone.now())
    # when the sweeper runs
    assert webhook_deliveries_sweep() == 1
    # then
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("processed", 2)
    assert calls == [{"shop_domain": SHOP, "payload": {"explode": False}}]


def test_failures_stop_after_the_last_attempt(post_webhook, recorded_handler):
    topic, _ = recorded_handler
    post_webhook(topic, {"explode": True})
    for _ in range(MAX_ATTEMPTS - 1):
        WebhookDelivery.objects.update(due_at=timezone.now())
        webhook_deliveries_sweep()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert webhook_deliveries_sweep() == 0


def test_broker_down_at_receipt_keeps_the_row_for_the_sweeper(post_webhook, recorded_handler,
                                                              broker_down):
    topic, calls = recorded_handler
    # when the broker is unreachable as Shopify delivers
    response = post_webhook(topic, {"id": 9})
    # then Shopify still gets its 200 and the row waits, unprocessed
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "received"
    assert calls == []


def test_sweeper_processes_rows_left_received(post_webhook, recorded_handler, settings):
    topic, calls = recorded_handler
    # given a row whose task never ran (broker was down) and a minute has passed
    delivery = WebhookDelivery.objects.create(
        shop_domain=SHOP, topic=topic, webhook_id="w-lost", raw_body='{"id": 3}',
        received_at=timezone.now() - timedelta(seconds=90),
        due_at=timezone.now() - timedelta(seconds=30),
    )
    # when
    assert webhook_deliveries_sweep() == 1
    # then
    delivery.refresh_from_db()
    assert delivery.status == "processed"
    assert calls == [{"shop_domain": SHOP, "payload": {"id": 3}}]


def test_sweeper_does_not_queue_a_row_twice_while_its_task_waits(recorded_handler):
    topic, calls = recorded_handler
    # given a row left received for five minutes whose task is still waiting in the broker
    # (behind a backlog): enqueueing marked it
    delivery = WebhookDelivery.objects.create(
        shop_domain=SHOP, topic=topic, webhook_id="w-backlog", raw_body='{"id": 4}',
        received_at=timezone.now() - timedelta(seconds=300),
        due_at=timezone.now() - timedelta(seconds=240),
    )
    redis_client().set(f"syncer:webhook-queued:{delivery.pk}", 1, ex=60)
    # when the sweeper runs, it leaves it to that task
    assert webhook_deliveries_sweep() == 0
    delivery.refresh_from_db()
    assert (delivery.status, calls) == ("received", [])
    # and when the broker loses the task (a restart loses the marker with it)
    redis_client().delete(f"syncer:webhook-queued:{delivery.pk}")
    assert webhook_deliveries_sweep() == 1
    delivery.refresh_from_db()
    assert delivery.status == "processed"
    assert calls == [{"shop_domain": SHOP, "payload": {"id": 4}}]
    assert redis_client().exists(f"syncer:webhook-queued:{delivery.pk}") == 0


def test_sweeper_leaves_fresh_rows_alone(recorded_handler):
    topic, calls = recorded_handler
    WebhookDelivery.objects.create(
        shop_domain=SHOP, topic=topic, webhook_id="w-fresh", raw_body="{}",
        received_at=timezone.now(), due_at=timezone.now() + timedelta(seconds=60),
    )
    assert webhook_deliveries_sweep() == 0
    assert calls == []


@pytest.mark.parametrize(("topic", "payload", "error"), [
    ("orders/paid", {"id": 7, "line_items": "two shirts"},
     "Malformed payload: line_items is not a list of objects"),
    ("orders/paid", {"id": 7, "line_items": [{"id": 1, "variant_id": {"x": 1}, "quantity": 1}]},
     "Malformed payload: line_items[].variant_id is not a number"),
    ("refunds/create", {"id": 9, "order_id": 7, "refund_line_items": [{"quantity": 1}]},
     "Malformed payload: refund_line_items[] has an item without an id"),
    ("orders/edited", {"order_edit": "two more shirts"},
     "Malformed payload: order_edit is not an object"),
    ("orders/edited", {"order_edit": {"order_id": 7, "line_items": {"additions": [{"id": 1}]}}},
     "Malformed payload: order_edit.line_items.additions[] needs an id and a delta"),
])
def test_misshapen_stock_payload_fails_once_and_is_not_retried(post_webhook, topic, payload,
                                                               error):
    # given a destination store
    from products.models import InventoryEffect
    from tests.stores.factories import DestinationFactory

    destination = DestinationFactory()
    # when Shopify (or someone with our secret) sends a payload of the wrong shape
    response = post_webhook(topic, payload, shop=destination.domain)
    # then it is accepted, kept as failed with the reason, and nothing is retried or moved
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error == error
    assert webhook_deliveries_sweep() == 0
    assert InventoryEffect.objects.count() == 0


@pytest.fixture
def broker_real(redis_db):
    """Tasks go to the real Redis broker instead of running inline."""
    app = webhook_deliveries_take_task.app
    app.conf.task_always_eager = False
    yield redis_db
    app.conf.task_always_eager = True


def test_a_burst_of_a_batch_topic_queues_one_task_that_takes_it_all(post_webhook,
                                                                     batched_handler,
                                                                     broker_real):
    topic, calls = batched_handler
    # when three deliveries of one shop's batch topic arrive while no task is running
    for n in range(3):
        assert post_webhook(topic, {"id": n}).status_code == 200
    # then one task waits in the broker for all three (marked, so the sweeper leaves them)
    assert broker_real.llen("webhooks") == 1
    assert broker_real.exists(f"syncer:webhook-batch-queued:{SHOP}:{topic}") == 1
    assert webhook_deliveries_sweep() == 0
    # and when it runs, it takes them together, in order
    webhook_deliveries_take_task.run(SHOP, topic)
    assert calls == [[{"id": 0}, {"id": 1}, {"id": 2}]]
    assert list(WebhookDelivery.objects.values_list("status", flat=True).distinct()) == [
        "processed"]
    # and a delivery arriving after it started queues a task of its own
    assert broker_real.exists(f"syncer:webhook-batch-queued:{SHOP}:{topic}") == 0
    assert post_webhook(topic, {"id": 3}).status_code == 200
    assert broker_real.llen("webhooks") == 2


def test_a_full_batch_queues_the_next_one_for_another_worker(post_webhook, batched_handler,
                                                             broker_real):
    topic, calls = batched_handler
    # given more deliveries waiting than one batch takes (the task that brought them ran)
    WebhookDelivery.objects.bulk_create([WebhookDelivery(
        shop_domain=SHOP, topic=topic, webhook_id=f"w-{n}", raw_body=json.dumps({"id": n}),
        received_at=timezone.now(), due_at=timezone.now() + timedelta(seconds=60))
        for n in range(BATCH_LIMIT + 2)])
    # when a task takes its batch
    webhook_deliveries_take_task.run(SHOP, topic)
    # then it took exactly one batch and queued a task for the rest first
    assert [len(call) for call in calls] == [BATCH_LIMIT]
    assert broker_real.llen("webhooks") == 1
    webhook_deliveries_take_task.run(SHOP, topic)
    assert [len(call) for call in calls] == [BATCH_LIMIT, 2]
    assert WebhookDelivery.objects.exclude(status="processed").count() == 0
    # and the last, partial batch queued nothing more
    assert broker_real.llen("webhooks") == 1


def test_sweeper_requeues_a_batch_topic_row_whose_batch_task_was_lost(batched_handler,
                                                                      redis_db):
    topic, calls = batched_handler
    # given a row of a batch topic left received for five minutes with its batch task queued
    WebhookDelivery.objects.create(
        shop_domain=SHOP, topic=topic, webhook_id="w-batch", raw_body='{"id": 5}',
        received_at=timezone.now() - timedelta(seconds=300),
        due_at=timezone.now() - timedelta(seconds=240),
    )
    redis_db.set(f"syncer:webhook-batch-queued:{SHOP}:{topic}", 1, ex=60)
    # when the sweeper runs, it leaves the row to that task
    assert webhook_deliveries_sweep() == 0
    assert calls == []
    # and when the broker lost the task (and its marker with it), the sweeper queues the row
    redis_db.delete(f"syncer:webhook-batch-queued:{SHOP}:{topic}")
    assert webhook_deliveries_sweep() == 1
    assert calls == [[{"id": 5}]]
