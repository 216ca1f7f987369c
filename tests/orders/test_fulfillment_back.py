"""Fulfilment back: the source fulfils a pushed order with tracking → the destination's order
is fulfilled for the same lines through its fulfilment orders; later tracking changes follow."""

import pytest

from orders.models import DestinationOrder, OrderFulfillment, OrderPush
from orders.services import order_push_request, order_settings_update
from stores.services import shop_access_token
from syncer.shopify import admin_client, document
from tests.orders.conftest import DEST, SOURCE, SOURCE_2

pytestmark = pytest.mark.django_db(transaction=True)

Fulfilled = DestinationOrder.FulfillmentStatus


def fulfil(world, domain: str, order_id: int, **body) -> dict:
    created = world.emulator._json("POST", f"/_emulator/shops/{domain}/orders/{order_id}/fulfill",
                                   json=body)
    world.emulator.flush_webhooks()
    return created


def destination_fulfillments(world, order_id: int) -> list[dict]:
    return [f for f in world.emulator.shop(DEST)["fulfillments"] if f["order_id"] == order_id]


@pytest.fixture
def pushed(world):
    """A paid destination order with items from both sources, pushed to both."""
    order_settings_update(shop=world.destination, auto_push=True, contact_email_method="store",
                          custom_email="", shipping_rules_enabled=False, notify_customer=True)
    sold = world.sell({"SHIRT-S": 2, "SHIRT-M": 1, "MUG-1": 1})
    order = world.mirrored(sold)
    assert order.push_state == DestinationOrder.PushState.PUSHED
    return sold, order


def test_partial_then_full_fulfilment_with_tracking_from_two_sources(world, pushed):
    sold, order = pushed
    push = order.pushes.get(source=world.source)
    # when the first source ships one of the two shirts
    fulfil(world, SOURCE, push.source_order_id, tracking_company="UPS",
           tracking_number="1Z999AA10123456784",
           tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784",
           lines=[{"sku": "SHIRT-S", "quantity": 1}])
    # then the destination's order has the same shipment, for the same line
    (shipment,) = destination_fulfillments(world, sold["id"])
    assert (shipment["tracking_company"], shipment["tracking_number"],
            shipment["tracking_url"]) == (
        "UPS", "1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784")
    assert [(li["sku"], li["quantity"]) for li in shipment["line_items"]] == [("SHIRT-S", 1)]
    assert shipment["notify_customer"] is True
    order.refresh_from_db()
    push.refresh_from_db()
    assert order.fulfillment_status == Fulfilled.PARTIAL
    assert push.source_fulfillment_status == Fulfilled.PARTIAL
    assert OrderFulfillment.objects.get(push=push).status == OrderFulfillment.Status.SYNCED
    # when the first source ships the rest and the second source ships its mug
    fulfil(world, SOURCE, push.source_order_id, tracking_company="DHL", tracking_number="JD01")
    fulfil(world, SOURCE_2, order.pushes.get(source=world.source_2).source_order_id,
           tracking_company="Royal Mail", tracking_number="RM123GB")
    # then everything is fulfilled on the destination, each line by its source's shipment
    shipments = destination_fulfillments(world, sold["id"])
    assert sorted((f["tracking_number"], li["sku"], li["quantity"]) for f in shipments
                  for li in f["line_items"]) == [
        ("1Z999AA10123456784", "SHIRT-S", 1), ("JD01", "SHIRT-M", 1), ("JD01", "SHIRT-S", 1),
        ("RM123GB", "MUG-1", 1)]
    order.refresh_from_db()
    assert order.fulfillment_status == Fulfilled.FULFILLED
    assert set(OrderPush.objects.filter(order=order).values_list(
        "source_fulfillment_status", flat=True)) == {Fulfilled.FULFILLED}
    # and the order page shows the tracking
    page = world.client.get(f"/orders/{order.pk}/", headers=world.headers()).content.decode()
    assert "1Z999AA10123456784" in page
    assert "RM123GB" in page


def test_tracking_added_later_updates_the_destination(world, pushed):
    sold, order = pushed
    push = order.pushes.get(source=world.source)
    shipped = fulfil(world, SOURCE, push.source_order_id)  # no tracking yet
    (shipment,) = destination_fulfillments(world, sold["id"])
    assert shipment["tracking_number"] is None
    # when the source adds tracking to its fulfilment
    data = admin_client().execute(
        shop_domain=SOURCE, access_token=shop_access_token(shop_domain=SOURCE),
        document=document("fulfillment_tracking_info_update"),
        variables={"fulfillmentId": f"gid://shopify/Fulfillment/{shipped['id']}",
                   "trackingInfoInput": {"company": "FedEx", "number": "7712345",
                                         "url": "https://fedex.example/7712345"}})
    assert data["fulfillmentTrackingInfoUpdate"]["userErrors"] == []
    world.emulator.flush_webhooks()
    # then the destination's fulfilment carries it too (same fulfilment, not a new one)
    (shipment,) = destination_fulfillments(world, sold["id"])
    assert (shipment["tracking_company"], shipment["tracking_number"],
            shipment["tracking_url"]) == ("FedEx", "7712345", "https://fedex.example/7712345")
    row = OrderFulfillment.objects.get(push=push)
    assert row.synced_tracking == {"company": "FedEx", "number": "7712345",
                                   "url": "https://fedex.example/7712345"}


def test_fulfilments_of_orders_we_did_not_push_are_ignored(world):
    own = world.emulator.product_create(SOURCE, title="Source only", variants=[
        {"sku": "SRC-1", "price": "9.00", "available": 3}])
    assert own
    sold = world.emulator.order_create(SOURCE, lines=[{"sku": "SRC-1", "quantity": 1}])
    fulfil(world, SOURCE, sold["id"], tracking_number="X1")
    assert not OrderFulfillment.objects.exists()


def test_cancelling_a_pushed_order_flags_the_source_order(world, pushed):
    sold, order = pushed
    world.emulator._json("POST", f"/_emulator/shops/{DEST}/orders/{sold['id']}/cancel",
                         json={"restock": True})
    world.emulator.flush_webhooks()
    order.refresh_from_db()
    assert order.push_state == DestinationOrder.PushState.CANCELLED
    for domain in (SOURCE, SOURCE_2):
        (source_order,) = world.orders_of(domain)
        assert "syncer-cancelled" in source_order["tags"].split(", ")
        assert "Cancelled by Demo Dest One" in source_order["tags"].split(", ")
        assert ("CANCELLED by Demo Dest One on " in source_order["note"])
        assert f"their order {sold['name']} was cancelled. Do not fulfil this order" in (
            source_order["note"])
        assert source_order["note"].startswith("Pushed by Syncer from Demo Dest One")
    assert not order.pushes.filter(cancel_flagged_at__isnull=True).exists()
    # and pushing it again is refused
    assert order_push_request(order=order).already_pushed == ["Demo Source", "Second Source"]


@pytest.mark.parametrize(("method", "custom", "expected"), [
    ("store", "", f"owner@{DEST}"),
    ("customer", "", "ada@example.com"),
    ("custom", "orders@dest-one.example", "orders@dest-one.example"),
])
def test_the_sources_shipping_confirmation_reaches_the_chosen_contact_email(
        world, method, custom, expected):
    # given the destination's choice of contact email for pushed orders
    order_settings_update(shop=world.destination, auto_push=True, contact_email_method=method,
                          custom_email=custom, shipping_rules_enabled=False,
                          notify_customer=True)
    sold = world.sell({"SHIRT-S": 1})
    push = world.mirrored(sold).pushes.get(source=world.source)
    assert push.contact_email == expected
    # when the source ships it, telling the customer as its admin does by default
    fulfil(world, SOURCE, push.source_order_id, tracking_company="UPS", tracking_number="1Z1")
    # then Shopify's shipping confirmation at the source went to that address only
    source_notes = [n for n in world.emulator.shop(SOURCE)["customer_notifications"]
                    if n["order_id"] == push.source_order_id]
    assert [(n["template"], n["to"], n["tracking_numbers"]) for n in source_notes] == [
        ("shipping_confirmation", expected, ["1Z1"])]
    # and the destination's own customer hears from the destination's store
    dest_notes = [n for n in world.emulator.shop(DEST)["customer_notifications"]
                  if n["order_id"] == sold["id"]]
    assert [(n["to"], n["tracking_numbers"]) for n in dest_notes] == [
        ("ada@example.com", ["1Z1"])]


def test_no_customer_email_when_the_destination_says_not_to(world):
    order_settings_update(shop=world.destination, auto_push=True, contact_email_method="store",
                          custom_email="", shipping_rules_enabled=False, notify_customer=False)
    sold = world.sell({"SHIRT-M": 1})
    push = world.mirrored(sold).pushes.get(source=world.source)
    fulfil(world, SOURCE, push.source_order_id, tracking_number="1Z2")
    (shipment,) = destination_fulfillments(world, sold["id"])
    assert shipment["notify_customer"] is False
    assert [n for n in world.emulator.shop(DEST)["customer_notifications"]
            if n["order_id"] == sold["id"]] == []
