"""The destination order mirror from signed webhooks: late and repeated deliveries, bad
bodies, refunds, a source cancelling, and customers/redact."""

import json

import pytest

from orders.models import DestinationOrder, OrderPush
from orders.services import order_push_request, order_settings_update
from tests.orders.conftest import ADDRESS, DEST, SOURCE
from tests.webhooks.conftest import webhook_headers
from webhooks.models import WebhookDelivery
from webhooks.registry import webhook_handlers_for

pytestmark = pytest.mark.django_db(transaction=True)


def deliver(client, topic: str, payload: dict, *, shop: str = DEST):
    body = json.dumps(payload).encode()
    response = client.post("/webhooks/shopify", data=body, content_type="application/json",
                           headers=webhook_headers(topic=topic, shop=shop, body=body))
    assert response.status_code == 200
    return WebhookDelivery.objects.filter(topic=topic).order_by("-pk").first()


def test_mirror_keeps_what_the_list_shows(world):
    sold = world.sell({"SHIRT-S": 2, "LOCAL-1": 1}, tags=["vip", "gift"],
                      shipping_lines=[{"title": "Express", "price": "9.00"}])
    order = world.mirrored(sold)
    assert (order.name, order.customer_name, order.email, order.financial_status,
            order.fulfillment_status, order.tags, order.shipping_method, str(order.total_price),
            order.shipping_address["address1"]) == (
        sold["name"], "Ada Lovelace", "ada@example.com", "paid", "unfulfilled", ["vip", "gift"],
        "Express", "89.00", ADDRESS["address1"])


def test_an_older_payload_arriving_late_does_not_win(client, world):
    sold = world.sell({"SHIRT-S": 1})
    stale = dict(sold, updated_at="2020-01-01T00:00:00Z", financial_status="pending",
                 tags="stale")
    delivery = deliver(client, "orders/updated", stale)
    assert delivery.status == "processed"
    order = world.mirrored(sold)
    assert (order.financial_status, order.tags) == ("paid", [])


def orders_handlers(topic: str):
    handlers = [h for h in webhook_handlers_for(topic) if h.__module__ == "orders.webhook_handlers"]
    assert handlers, topic
    return handlers


def test_bad_bodies_are_ignored_never_crash(world):
    bodies = ({"id": "not-a-number"}, {"id": 1, "line_items": "oops"},
              {"id": 2, "line_items": [{"id": 3, "variant_id": {"x": 1}, "quantity": "a"}]},
              {"order_id": None, "id": 5, "line_items": [None, 7], "updated_at": 12},
              {"id": 6, "order_id": 7, "line_items": {"a": 1}, "tracking_numbers": "x"})
    topics = {DEST: ("orders/create", "orders/updated", "orders/paid", "orders/cancelled"),
              SOURCE: ("orders/updated", "fulfillments/create", "fulfillments/update")}
    for body in bodies:
        for shop, shop_topics in topics.items():
            for topic in shop_topics:
                for handler in orders_handlers(topic):
                    handler(shop_domain=shop, payload=body, delivery_id=0)
    for handler in orders_handlers("customers/redact"):
        handler(shop_domain=DEST, payload={"customer": "x", "orders_to_redact": "y"},
                delivery_id=0)
        handler(shop_domain=DEST, payload={"customer": {"id": "1", "email": 5}}, delivery_id=0)
    assert not DestinationOrder.objects.exists()


def test_refunded_items_are_not_pushed(world):
    sold = world.sell({"SHIRT-S": 3})
    world.emulator._json("POST", f"/_emulator/shops/{DEST}/orders/{sold['id']}/refund",
                         json={"lines": [{"sku": "SHIRT-S", "quantity": 2}], "restock": True})
    world.emulator.flush_webhooks()
    order = world.mirrored(sold)
    assert list(order.lines.values_list("quantity", "current_quantity")) == [(3, 1)]
    order_push_request(order=order)
    (source_order,) = world.orders_of(SOURCE)
    assert [li["quantity"] for li in source_order["line_items"]] == [1]


def test_the_source_cancelling_its_order_shows_on_the_push(world):
    order = world.mirrored(world.sell({"SHIRT-S": 1}))
    order_push_request(order=order)
    push = order.pushes.get()
    world.emulator._json("POST", f"/_emulator/shops/{SOURCE}/orders/{push.source_order_id}/"
                                 "cancel", json={"restock": False})
    world.emulator.flush_webhooks()
    push.refresh_from_db()
    assert push.source_cancelled_at is not None
    page = world.client.get(f"/orders/{order.pk}/", headers=world.headers()).content.decode()
    assert f"Demo Source cancelled its order {push.source_order_name}" in page


def test_customer_redact_strips_personal_data_from_mirrored_orders(world):
    order_settings_update(shop=world.destination, auto_push=False,
                          contact_email_method="customer", custom_email="",
                          shipping_rules_enabled=False, notify_customer=True)
    order = world.mirrored(world.sell({"SHIRT-S": 1}))
    order_push_request(order=order)
    assert OrderPush.objects.get(order=order).contact_email == "ada@example.com"
    other = world.mirrored(world.sell({"SHIRT-M": 1}, customer={
        "first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"},
        email="grace@example.com", shipping_address=dict(ADDRESS, first_name="Grace")))
    world.emulator._json("POST", f"/_emulator/shops/{DEST}/redact", json={
        "topic": "customers/redact", "customer": {"id": None, "email": "ada@example.com"},
        "orders": [order.shopify_id]})
    world.emulator.flush_webhooks()
    order.refresh_from_db()
    assert (order.customer_name, order.email, order.phone, order.shipping_address) == (
        "", "", "", None)
    assert order.redacted_at is not None
    assert OrderPush.objects.get(order=order).contact_email == ""
    other.refresh_from_db()
    assert other.customer_name == "Grace Hopper"
    # a later update of the order does not bring the data back
    world.emulator._json("POST", f"/_emulator/shops/{DEST}/orders/{order.shopify_id}/refund",
                         json={"lines": [{"sku": "SHIRT-S", "quantity": 1}], "restock": True})
    world.emulator.flush_webhooks()
    order.refresh_from_db()
    assert (order.customer_name, order.shipping_address) == ("", None)
    page = world.client.get(f"/orders/{order.pk}/", headers=world.headers()).content.decode()
    assert "personal data was erased" in page
    assert "Lovelace" not in page


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_an_order_stamped_with_an_impossible_time_is_mirrored_readable(client, world, stamp):
    # given an order whose times PostgreSQL would store but Python could not read back
    sold = world.sell({"SHIRT-S": 1})
    odd = dict(sold, processed_at=stamp, created_at=stamp, updated_at=stamp, cancelled_at=stamp)
    # when it is delivered again with them
    delivery = deliver(client, "orders/updated", odd)
    # then it is processed, its odd times count as missing, and the mirror still reads
    assert delivery.status == "processed"
    order = world.mirrored(sold)
    assert order.cancelled_at is None
    assert [o.pk for o in DestinationOrder.objects.all()] == [order.pk]
