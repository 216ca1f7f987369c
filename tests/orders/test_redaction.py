"""customers/redact and shop/redact reach every stored copy: the webhook bodies of every topic
(the redact request's own included), the order mirror, and the copies a source holds of the
orders a destination pushed to it (issue 17, item 11)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import DestinationOrder, OrderLine, OrderPush
from orders.services import order_push_request, order_settings_update
from stores.models import CustomerDataRequest, Shop
from tests.orders.conftest import ADDRESS, DEST, SOURCE
from webhooks.models import WebhookDelivery
from webhooks.registry import webhook_handlers_for
from webhooks.retention import webhook_deliveries_retention_apply

pytestmark = pytest.mark.django_db(transaction=True)

# What identifies Ada, the destination's customer, in any body or row.
ADA = ("Lovelace", "Analytical Row", "7946 0000", "ada@example.com")
GRACE = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}
GRACE_ADDRESS = {"first_name": "Grace", "last_name": "Hopper", "address1": "1 Compiler Lane",
                 "city": "Arlington", "zip": "22201", "country": "United States",
                 "country_code": "US", "phone": "+1 703 555 0100"}


def holding(texts, *, shop: str | None = None) -> list[tuple[str, str, str]]:
    """(shop, topic, text) for every stored body that contains one of `texts`."""
    deliveries = WebhookDelivery.objects.all()
    if shop is not None:
        deliveries = deliveries.filter(shop_domain=shop)
    return sorted({(domain, topic, text)
                   for domain, topic, body in deliveries.values_list(
                       "shop_domain", "topic", "raw_body")
                   for text in texts if text.lower() in body.lower()})


def redact_request(world, topic: str, *, customer: dict, orders: list[int]) -> None:
    world.emulator._json("POST", f"/_emulator/shops/{DEST}/redact",
                         json={"topic": topic, "customer": customer, "orders": orders})
    world.emulator.flush_webhooks()


def test_customer_redact_reaches_every_stored_copy(world):
    # given Ada's order, with an engraving, pushed to the source with her email, then
    # refunded in part (orders/updated), shipped by the source (fulfillments/create), and
    # her data requested once
    order_settings_update(shop=world.destination, auto_push=True,
                          contact_email_method="customer", custom_email="",
                          shipping_rules_enabled=False, notify_customer=True)
    sold = world.sell({"SHIRT-S": 2}, phone=ADDRESS["phone"])
    order = world.mirrored(sold)
    OrderLine.objects.filter(order=order).update(properties=[{"name": "Engraving",
                                                               "value": "For Ada Lovelace"}])
    push = OrderPush.objects.get(order=order)
    world.emulator._json("POST", f"/_emulator/shops/{DEST}/orders/{sold['id']}/refund",
                         json={"lines": [{"sku": "SHIRT-S", "quantity": 1}], "restock": True})
    world.emulator._json("POST",
                         f"/_emulator/shops/{SOURCE}/orders/{push.source_order_id}/fulfill",
                         json={"tracking_company": "UPS", "tracking_number": "1Z5"})
    world.emulator.flush_webhooks()
    other = world.mirrored(world.sell({"SHIRT-M": 1}, customer=GRACE, email=GRACE["email"],
                                      shipping_address=GRACE_ADDRESS))
    customer = {"id": order.customer_id, "email": "ada@example.com", "phone": ADDRESS["phone"]}
    redact_request(world, "customers/data_request", customer=customer, orders=[sold["id"]])
    topics_holding_ada = {(shop, topic) for shop, topic, _ in holding(ADA)}
    assert {(DEST, "orders/create"), (DEST, "orders/updated"),
            (DEST, "customers/data_request"), (SOURCE, "orders/create"),
            (SOURCE, "orders/updated")} <= topics_holding_ada
    # when Shopify asks us to redact Ada
    redact_request(world, "customers/redact", customer=customer, orders=[sold["id"]])
    # then no stored body holds her data, in her shop or in the source's copies, the redact
    # request's own included
    assert holding(ADA) == []
    redact = WebhookDelivery.objects.get(topic="customers/redact")
    assert (redact.status, redact.raw_body.count(str(sold["id"]))) == ("processed", 1)
    # (its own body is scrubbed by the topic's last handler: a retry before keeps the email)
    assert [handler.__module__ for handler in webhook_handlers_for("customers/redact")] == [
        "stores.webhook_handlers", "orders.webhook_handlers", "webhooks.webhook_handlers"]
    # and the bodies are still there, about the same orders
    assert WebhookDelivery.objects.filter(shop_domain=SOURCE, topic="orders/create",
                                          raw_body__contains=str(push.source_order_id)).exists()
    # and the mirror holds nothing of hers, nor the data request we assembled
    order.refresh_from_db()
    assert (order.customer_name, order.email, order.phone, order.shipping_address) == (
        "", "", "", None)
    assert list(OrderLine.objects.filter(order=order).values_list("properties", flat=True)) == [
        []]
    assert OrderPush.objects.get(order=order).contact_email == ""
    assert CustomerDataRequest.objects.filter(email="ada@example.com").exists() is False
    # and the other customer's data is untouched
    other.refresh_from_db()
    assert (other.customer_name, other.email) == ("Grace Hopper", "grace@example.com")
    assert {topic for _, topic, _ in holding(["Hopper", "Compiler Lane"], shop=DEST)} >= {
        "orders/create"}


def test_shop_redact_of_a_destination_reaches_its_sources_copies(world):
    # given orders pushed with the destination's own email as contact
    order_settings_update(shop=world.destination, auto_push=False,
                          contact_email_method="store", custom_email="",
                          shipping_rules_enabled=False, notify_customer=True)
    destination = Shop.objects.get(domain=DEST)
    owner_email = destination.email
    assert owner_email
    order = world.mirrored(world.sell({"SHIRT-S": 1}))
    order_push_request(order=order)
    push = OrderPush.objects.get(order=order)
    assert push.contact_email == owner_email
    world.emulator._json("POST",
                         f"/_emulator/shops/{SOURCE}/orders/{push.source_order_id}/fulfill",
                         json={"tracking_company": "UPS", "tracking_number": "1Z6"})
    world.emulator.flush_webhooks()
    identifying = (owner_email, "Demo Dest One", DEST, *ADA)
    assert {topic for _, topic, _ in holding(identifying, shop=SOURCE)} >= {"orders/create"}
    # when the destination uninstalls and Shopify asks us to erase it
    world.emulator.uninstall(DEST)
    world.emulator._json("POST", f"/_emulator/shops/{DEST}/redact",
                         json={"topic": "shop/redact"})
    world.emulator.flush_webhooks()
    # then the destination is gone, and the source's copies of its orders name it no more
    assert not Shop.objects.filter(domain=DEST).exists()
    assert not DestinationOrder.objects.exists()
    assert holding(identifying) == [(DEST, "shop/redact", DEST)]  # the request itself
    # and the source keeps its own webhooks about its orders
    assert WebhookDelivery.objects.filter(shop_domain=SOURCE, topic="orders/create",
                                          raw_body__contains=str(push.source_order_id)).exists()


def test_a_data_request_after_the_bodies_were_dropped_still_has_the_orders(world):
    # given Ada's order, pushed, and the inbox's bodies dropped once their period passed
    order_settings_update(shop=world.destination, auto_push=True,
                          contact_email_method="customer", custom_email="",
                          shipping_rules_enabled=False, notify_customer=True)
    sold = world.sell({"SHIRT-S": 2})
    order = world.mirrored(sold)
    webhook_deliveries_retention_apply(now=timezone.now() + timedelta(days=8))
    assert holding(ADA) == []
    # when Shopify asks for her data
    redact_request(world, "customers/data_request",
                   customer={"id": order.customer_id, "email": "ada@example.com"},
                   orders=[sold["id"]])
    # then what we hold about her is in it, from the mirror
    request = CustomerDataRequest.objects.get()
    assert [(entry["topic"], entry["payload"]["name"], entry["payload"]["customer_name"],
             entry["payload"]["email"], entry["payload"]["shipping_address"]["address1"],
             [(line["sku"], line["quantity"]) for line in entry["payload"]["lines"]],
             [(push["store"], push["contact_email"]) for push in entry["payload"]["pushed_to"]])
            for entry in request.data] == [
        ("syncer/order", sold["name"], "Ada Lovelace", "ada@example.com", ADDRESS["address1"],
         [("SHIRT-S", 2)], [("Demo Source", "ada@example.com")])]
