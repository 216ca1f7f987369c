"""Fuzz the webhook path end to end (issue 17): malformed headers, bodies, framings and poison
payloads mixed with well-formed deliveries, posted through the real endpoint and processed by
the worker's own tasks. The endpoint never answers 5xx; every well-formed delivery is
processed, with its effect, whatever was taken together with it; every row ends settled (no
"processing" left behind) and a failure of a fuzzed row is final, never a retry loop.

Deterministic: derandomized, no example database, ids and timestamps from counters."""

import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from products.models import SourceLevel
from stores.models import CustomerDataRequest
from syncer.celery import app as celery_app
from tests.stores.factories import SourceFactory
from tests.webhooks.conftest import sign, webhook_headers
from tests.webhooks.gunicorn_wsgi import gunicorn_call, http_request
from webhooks.models import WebhookDelivery
from webhooks.registry import webhook_batch_handler_for
from webhooks.tasks import webhook_deliveries_take_task, webhook_delivery_process_task

SHOP = "fuzz-source.myshopify.com"
LEVELS = "inventory_levels/update"
DATA_REQUEST = "customers/data_request"
LOCATION = 9
HEADER_NAMES = ["X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id",
                "X-Shopify-Event-Id", "X-Shopify-Triggered-At", "X-Shopify-API-Version",
                "X-Shopify-Hmac-Sha256"]
SETTLED = {"processed", "ignored", "duplicate", "failed"}

# Unique per delivery, so no two levels share a timestamp (the one case in which recording a
# level asks Shopify, unreachable here) and no two deliveries share an id by chance.
_serial = itertools.count(1)
UNIQUE_ID, UNIQUE_TIME = "<unique id>", "<unique time>"


def _realize(value):
    if value == UNIQUE_ID:
        return 10**12 + next(_serial)
    if value == UNIQUE_TIME:
        moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=next(_serial))
        return moment.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {key: _realize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_realize(item) for item in value]
    return value


# --- what is thrown at it ---------------------------------------------------------------------

header_garbage = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=300),
    st.sampled_from([
        "orders/paid", LEVELS, "a" * 50 + "/" + "b" * 50, "x" * 256, "",
        "a" * 300 + ".myshopify.com", "DEMO.myshopify.com", "demo.myshopify.com.evil.example",
        "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "not-a-date",
        "2026-07" + "-x" * 20, "w-1\x00"]),
)
scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**30, "12", "1e999", "\x00",
                     "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                     "2026-02-30T10:00:00Z"]),
)
tree = st.recursive(scalar, lambda children: st.lists(children, max_size=3)
                    | st.dictionaries(st.text(max_size=6), children, max_size=3), max_leaves=8)


def field(valid):
    return st.one_of(st.just(valid), tree)


near_valid = {
    LEVELS: st.fixed_dictionaries({
        "inventory_item_id": field(UNIQUE_ID), "location_id": field(LOCATION),
        "available": field(3), "updated_at": field(UNIQUE_TIME)}),
    DATA_REQUEST: st.fixed_dictionaries({
        "customer": st.one_of(st.fixed_dictionaries({"id": field(UNIQUE_ID),
                                                     "email": field("f@example.com")}), tree),
        "orders_requested": st.one_of(st.lists(field(UNIQUE_ID), max_size=2), tree),
        "data_request": st.one_of(st.fixed_dictionaries({"id": field(UNIQUE_ID)}), tree)}),
    "orders/updated": st.fixed_dictionaries({"id": field(UNIQUE_ID),
                                             "cancelled_at": field(UNIQUE_TIME)}),
}
POISON = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}",
    b'{"inventory_item_id": 9223372036854775808, "location_id": 9}',
    b'{"inventory_item_id": 1, "location_id": 9, "available": 3000000000,'
    b' "updated_at": "2026-11-23T10:00:00Z"}',
    b'{"customer": {"id": 1, "email": "a\\u0000@example.com"}}',
    b'{"id": 1e999}', b'{"id": NaN}', b"", b"   ", b"null", b"[]", b'"text"', b"{",
    b"\xff\xfe", b'{"a": "\x00"}', b'{"a": "\\ud800"}', b"1" * 5000,
]


@st.composite
def fuzzed(draw):
    """A delivery someone with our secret (or without it) might send: its topic's payload with
    odd values, any JSON, poison, bytes; now and then with odd headers, a wrong signature or
    an odd Content-Length (most reach the inbox: that is where poison does harm)."""
    topic = draw(st.sampled_from([LEVELS, LEVELS, DATA_REQUEST, "orders/updated",
                                  "carts/update"]))
    kind = draw(st.sampled_from(["near valid", "near valid", "json", "poison", "poison",
                                 "bytes"]))
    if kind == "near valid":
        body = json.dumps(_realize(draw(near_valid.get(topic, tree)))).encode()
    elif kind == "json":
        body = json.dumps(_realize(draw(tree))).encode()
    elif kind == "poison":
        body = draw(st.sampled_from(POISON))
    else:
        body = draw(st.binary(max_size=200))
    headers = webhook_headers(topic=topic, shop=SHOP, body=body,
                              webhook_id=f"fuzz-{next(_serial)}", event_id=f"e-{next(_serial)}")
    if draw(st.sampled_from([True, False, False, False])):
        headers |= draw(st.dictionaries(st.sampled_from(HEADER_NAMES), header_garbage,
                                        min_size=1, max_size=2))
    if draw(st.sampled_from([True] + [False] * 7)):
        headers["X-Shopify-Hmac-Sha256"] = sign(body + b"tampered")
    content_length = None
    if draw(st.sampled_from([True] + [False] * 9)):
        content_length = draw(st.sampled_from(["-1", "abc", "", "99999999999", "0"]))
    return Fuzzed(body=body, headers=headers, content_length=content_length)


@dataclass
class Fuzzed:
    body: bytes
    headers: dict[str, str]
    content_length: str | None


@dataclass
class WellFormed:
    topic: str
    framing: list[int] | None  # chunk sizes; None: Content-Length
    key: int = 0  # its item or data request id, set as it is sent


well_formed = st.builds(WellFormed, topic=st.sampled_from([LEVELS, DATA_REQUEST]),
                        framing=st.one_of(st.none(), st.lists(st.integers(1, 40), max_size=3)))


# --- the path it goes through -----------------------------------------------------------------

def post_fuzzed(client, delivery: Fuzzed) -> int:
    extra = {} if delivery.content_length is None else {
        "CONTENT_LENGTH": delivery.content_length}
    return client.post("/webhooks/shopify", data=delivery.body, content_type="application/json",
                       headers=delivery.headers, **extra).status_code


def post_well_formed(delivery: WellFormed) -> int:
    delivery.key = 10**12 + next(_serial)
    if delivery.topic == LEVELS:
        payload = {"inventory_item_id": delivery.key, "location_id": LOCATION,
                   "available": delivery.key % 1000, "updated_at": _realize(UNIQUE_TIME)}
    else:
        payload = {"shop_domain": SHOP, "customer": {"id": delivery.key,
                                                     "email": f"c{delivery.key}@example.com"},
                   "orders_requested": [], "data_request": {"id": delivery.key}}
    body = json.dumps(payload).encode()
    headers = webhook_headers(topic=delivery.topic, shop=SHOP, body=body,
                              webhook_id=f"good-{delivery.key}", event_id=f"e-{delivery.key}")
    return gunicorn_call(http_request(headers=headers, body=body,
                                      chunks=delivery.framing)).status_code


def worker_runs(since: int) -> None:
    """What the worker does with the tasks these deliveries queued: a batch topic's waiting
    deliveries are taken together per shop, any other delivery is processed alone."""
    for _ in range(10):
        waiting = list(WebhookDelivery.objects.filter(pk__gt=since, status="received")
                       .order_by("pk").values_list("pk", "shop_domain", "topic"))
        if not waiting:
            return
        for delivery_id, shop_domain, topic in waiting:
            if webhook_batch_handler_for(topic) is not None:
                webhook_deliveries_take_task(shop_domain, topic)
            else:
                webhook_delivery_process_task(delivery_id)


def effect_of(delivery: WellFormed) -> tuple:
    if delivery.topic == LEVELS:
        return tuple(SourceLevel.objects.filter(inventory_item_id=delivery.key)
                     .values_list("location_id", "available").get())
    return tuple(CustomerDataRequest.objects.filter(data_request_id=delivery.key)
                 .values_list("shop_domain", "email").get())


def expected_effect(delivery: WellFormed) -> tuple:
    if delivery.topic == LEVELS:
        return (LOCATION, delivery.key % 1000)
    return (SHOP, f"c{delivery.key}@example.com")


@pytest.fixture
def world(settings, redis_db):
    """A source store whose shared location is known; Shopify unreachable (a call that tried
    would fail at once, locally, and show up as a retried row); no worker running, so the
    test runs the worker's tasks itself and deliveries posted together are taken together."""
    settings.SHOPIFY_ADMIN_BASE_URL = "http://127.0.0.1:1/{shop}"
    SourceFactory(domain=SHOP, settings={"shared_location_ids": [LOCATION]})
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


@pytest.mark.django_db(transaction=True)
@settings(max_examples=200, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_fuzzed_deliveries_never_5xx_and_well_formed_ones_are_processed(client, world, data):
    deliveries = data.draw(st.permutations([
        *data.draw(st.lists(fuzzed(), min_size=1, max_size=4), label="fuzzed"),
        *data.draw(st.lists(well_formed, min_size=1, max_size=2), label="well formed")]))
    # given whatever has been received so far
    since = WebhookDelivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    # when fuzzed and well-formed deliveries arrive mixed, and the worker runs
    statuses = [post_fuzzed(client, d) if isinstance(d, Fuzzed) else post_well_formed(d)
                for d in deliveries]
    worker_runs(since)
    # then nothing was answered 5xx, and every well-formed delivery was accepted
    good = [d for d in deliveries if isinstance(d, WellFormed)]
    assert [s for s in statuses if s >= 500] == []
    assert [statuses[i] for i, d in enumerate(deliveries) if isinstance(d, Fuzzed)
            and d.content_length is None and d.headers["X-Shopify-Hmac-Sha256"] != sign(d.body)
            ] == [401] * sum(isinstance(d, Fuzzed) and d.content_length is None
                             and d.headers["X-Shopify-Hmac-Sha256"] != sign(d.body)
                             for d in deliveries)
    assert [statuses[i] for i, d in enumerate(deliveries)
            if isinstance(d, WellFormed)] == [200] * len(good)
    # and processed, with its effect
    rows = {webhook_id: (status, attempts) for webhook_id, status, attempts in
            WebhookDelivery.objects.filter(pk__gt=since)
            .values_list("webhook_id", "status", "attempts")}
    assert [rows[f"good-{d.key}"] for d in good] == [("processed", 1)] * len(good)
    assert [effect_of(d) for d in good] == [expected_effect(d) for d in good]
    # and every row is settled after one attempt; a failure is final, never a retry loop
    assert {status for status, _ in rows.values()} <= SETTLED
    assert {attempts for _, attempts in rows.values()} == {1}
    retrying = WebhookDelivery.objects.filter(
        pk__gt=since, status="failed", due_at__lt=timezone.now() + timedelta(days=365))
    assert list(retrying.values_list("topic", "last_error")) == []
    # and whatever was stored can be read back (a year 0 timestamp could not)
    assert len(list(SourceLevel.objects.all())) == SourceLevel.objects.count()
    assert len(list(WebhookDelivery.objects.all())) == WebhookDelivery.objects.count()
