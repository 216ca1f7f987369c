"""Poison deliveries (issue 17, item 7): a payload that can never be parsed, walked or stored is
failed once, for good, with its reason; it never stays "processing", is never retried, and
never fails or delays the good deliveries it was taken together with."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from products.models import SourceLevel
from stores.models import CustomerDataRequest
from syncer.celery import app as celery_app
from tests.stores.factories import SourceFactory
from webhooks.inbox import webhook_delivery_process
from webhooks.models import WebhookDelivery
from webhooks.registry import _batch_handlers, webhook_batch_handler_register
from webhooks.services import webhook_deliveries_sweep

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = "demo-source.myshopify.com"
LEVELS = "inventory_levels/update"
UPDATED_AT = "2026-11-23T10:00:00Z"


@pytest.fixture(autouse=True)
def shopify_unreachable(settings):
    """Nothing here may reach Shopify: a call that tried would fail at once, locally."""
    settings.SHOPIFY_ADMIN_BASE_URL = "http://127.0.0.1:1/{shop}"


@pytest.fixture
def no_worker(redis_db):
    """Tasks are queued in the real broker and no worker takes them: deliveries wait in the
    inbox until the test runs the worker's processing itself."""
    app = celery_app
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def source() -> None:
    # Its shared location is known, so recording a level needs no call to Shopify.
    SourceFactory(domain=SHOP, settings={"shared_location_ids": [9]})


def level(item_id: int, available: int) -> dict:
    return {"inventory_item_id": item_id, "location_id": 9, "available": available,
            "updated_at": UPDATED_AT}


def levels_held() -> dict[int, int]:
    return dict(SourceLevel.objects.values_list("inventory_item_id", "available"))


def given_up(delivery: WebhookDelivery) -> bool:
    """Failed for good: not due again within any retry schedule."""
    return delivery.due_at - timezone.now() > timedelta(days=365)


def post_batch(post_webhook, bodies: list[bytes]) -> list[WebhookDelivery]:
    """Deliveries of one shop's stock topic that arrive while no worker is free, so the first
    one processed takes them all together."""
    for body in bodies:
        assert post_webhook(LEVELS, body, shop=SHOP).status_code == 200
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert [d.status for d in deliveries] == ["received"] * len(bodies)
    return deliveries


@pytest.mark.parametrize(("poison", "error"), [
    (b"[" * 100_000 + b"]" * 100_000,
     "Malformed payload: the body is nested more than 32 levels deep"),
    (b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}",
     "Malformed payload: the body is nested more than 32 levels deep"),
    (json.dumps(level(2**63, 1)).encode(),
     "Malformed payload: a number is outside the 64-bit range: 9223372036854775808"),
    (b'{"inventory_item_id": 1e999, "location_id": 9}', "Malformed payload: a number is not "
                                                         "finite: inf"),
    (b'{"inventory_item_id": NaN, "location_id": 9}', "Malformed payload: a number is not "
                                                       "finite: nan"),
    (json.dumps(level(103, 3_000_000_000)).encode(),
     "Cannot be processed: DataError: integer out of range"),
    (b'{"inventory_item_id": 103, "location\\u0000": 9}',
     "Malformed payload: a key holds a character PostgreSQL cannot store: 'location\\x00'"),
    (b'{"inventory_item_id": 103, "note": "\\ud83d"}',
     "Malformed payload: a text holds a character PostgreSQL cannot store: '\\ud83d'"),
    (b'"just text"', "Malformed payload: the body is JSON but not an object"),
])
def test_poison_in_a_batch_fails_once_for_good_and_the_batch_is_processed(
        post_webhook, no_worker, poison, error):
    # given a source store, and a poison delivery between two good ones of its stock topic
    source()
    first, bad, last = post_batch(post_webhook, [
        json.dumps(level(101, 5)).encode(), poison, json.dumps(level(102, 7)).encode()])
    # when a worker takes them
    outcome = webhook_delivery_process(delivery_id=first.pk)
    # then the good ones are processed, in the same pass
    assert outcome == "ok"
    assert levels_held() == {101: 5, 102: 7}
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "processed", bad.pk: "failed", last.pk: "processed"}
    # and the poison one failed once, for good, saying why
    bad.refresh_from_db()
    assert (bad.attempts, bad.last_error) == (1, error)
    assert given_up(bad)
    assert webhook_deliveries_sweep() == 0


@pytest.mark.parametrize(("topic", "payload", "error"), [
    ("app/scopes_update", {"previous": 5, "current": ["read_products"]},
     "Cannot be processed: TypeError: 'int' object is not iterable"),
    ("customers/data_request",
     {"customer": {"id": 1, "email": "x" * 300}, "data_request": {"id": 4}},
     "Cannot be processed: DataError: value too long for type character varying(255)"),
    ("customers/data_request", {"customer": {"id": 1, "email": "ada\u0000@example.com"}},
     "Malformed payload: a text holds a character PostgreSQL cannot store: "
     "'ada\\x00@example.com'"),
    ("products/delete", {"title": "no id"},
     "Cannot be processed: CatalogueError: products/delete without a product id"),
])
def test_payload_a_handler_can_never_take_fails_once_for_good(post_webhook, topic, payload,
                                                              error):
    # given a source store
    source()
    # when a delivery comes whose payload its handler can never process
    response = post_webhook(topic, payload, shop=SHOP)
    # then it is accepted, failed on its first attempt with the reason, and never retried
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 1, error)
    assert given_up(delivery)
    assert webhook_deliveries_sweep() == 0
    assert CustomerDataRequest.objects.count() == 0


@pytest.fixture
def batch_failing_with():
    """A real batch handler on a test topic that fails every call with the error given to it
    (taken from the payload's "error"), recording the calls it gets."""
    calls: list[list[int]] = []
    topic = "syncer_test/batch_failing"
    errors = {"transient": RuntimeError("the database went away"),
              "poison": TypeError("unsupported operand")}

    @webhook_batch_handler_register(topic)
    def handler(*, shop_domain, items):
        calls.append([payload["n"] for _, payload in items])
        for _, payload in items:
            if payload.get("error"):
                raise errors[payload["error"]]
        return {}

    yield topic, calls
    _batch_handlers.pop(topic)


def test_transient_batch_failure_retries_the_whole_batch_later(post_webhook, no_worker,
                                                               batch_failing_with):
    topic, calls = batch_failing_with
    for n, error in enumerate(["", "transient", ""]):
        post_webhook(topic, {"n": n, "error": error}, shop=SHOP)
    first = WebhookDelivery.objects.order_by("pk").first()
    # when a worker takes them and the shared work fails for a reason that may pass
    webhook_delivery_process(delivery_id=first.pk)
    # then the batch is not run again one by one: it waits for its retry, together
    assert calls == [[0, 1, 2]]
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert [(d.status, d.attempts, d.last_error) for d in deliveries] == [
        ("failed", 1, "RuntimeError: the database went away")] * 3
    assert all(timedelta(seconds=25) < d.due_at - timezone.now() < timedelta(seconds=35)
               for d in deliveries)


def test_poison_batch_failure_is_narrowed_to_the_poison_delivery(post_webhook, no_worker,
                                                                 batch_failing_with):
    topic, calls = batch_failing_with
    for n, error in enumerate(["", "poison", ""]):
        post_webhook(topic, {"n": n, "error": error}, shop=SHOP)
    first = WebhookDelivery.objects.order_by("pk").first()
    # when a worker takes them and the batch fails with an error no retry can pass
    webhook_delivery_process(delivery_id=first.pk)
    # then each is handled again alone, so only the poison one fails
    assert calls == [[0, 1, 2], [0], [1], [2]]
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert [(d.status, d.attempts, d.last_error) for d in deliveries] == [
        ("processed", 1, ""),
        ("failed", 1, "Cannot be processed: TypeError: unsupported operand"),
        ("processed", 1, "")]
    assert given_up(deliveries[1])


@pytest.mark.parametrize("updated_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_level_with_an_impossible_time_is_not_recorded_unreadable(post_webhook, updated_at):
    # given a source store
    source()
    # when a level comes stamped with a time PostgreSQL stores but Python cannot read back
    response = post_webhook(LEVELS, {**level(101, 5), "updated_at": updated_at}, shop=SHOP)
    # then it counts as a level without a time (not followed), and every level still reads
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().status == "processed"
    assert list(SourceLevel.objects.all()) == []
