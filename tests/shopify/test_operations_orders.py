"""Order and fulfilment operations against the emulator: what they send (read back from the
emulator's state) and the dataclasses they return; refusals raise ShopifyUserErrors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from syncer.shopify.errors import ShopifyUserErrors
from syncer.shopify.ids import gid_id
from syncer.shopify.operations.fulfillments import (
    Fulfillment,
    FulfillmentLine,
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentOrderLineQuantity,
    FulfillmentOrderLines,
    OrderFulfillmentRead,
    TrackingInfo,
    fulfillment_create,
    fulfillment_tracking_info_update,
    order_fulfillment_orders,
    order_fulfillments,
)
from syncer.shopify.operations.orders import (
    LineItemProperty,
    MailingAddress,
    NewOrder,
    NewOrderCustomer,
    NewOrderLine,
    OrderCreated,
    OrderFound,
    OrderLineItem,
    OrderUpdated,
    ShippingLine,
    order_create,
    order_find,
    order_note_set,
    order_tags_add,
    orders_find_by_tag,
)


@pytest.fixture
def variants(emulator, shop) -> dict[str, int]:
    product = emulator.product_create(
        shop["domain"], title="Bag",
        variants=[{"sku": "BAG-S", "price": "5.00", "available": 3, "option1": "S"},
                  {"sku": "BAG-L", "price": "7.00", "available": 3, "option1": "L"}])
    return {variant["sku"]: variant["id"] for variant in product["variants"]}


def _new_order(variants: dict[str, int], **overrides: Any) -> NewOrder:
    values: dict[str, Any] = {
        "currency": "EUR",
        "lines": (
            NewOrderLine(variant_id=variants["BAG-S"], quantity=2, price=Decimal("4.50"),
                         properties=(LineItemProperty(name="Engraving", value="A.L."),)),
            NewOrderLine(variant_id=variants["BAG-L"], quantity=1, price=Decimal("6.00")),
        ),
        "shipping_address": MailingAddress(first_name="Ada", last_name="Lovelace",
                                           address1="12 Analytical Row", city="London",
                                           zip="N1 7AA", country_code="GB",
                                           country="United Kingdom"),
        "shipping_lines": (ShippingLine(title="Shipping", code="syncer", source="syncer",
                                        price=Decimal("3.00")),),
        "tags": ("Dest store", "syncer-42"),
        "note": "Pushed by Syncer",
        "source_identifier": "syncer-42",
        "financial_status": "PENDING",
        "email": "ada@example.com",
        "customer": NewOrderCustomer(email="ada@example.com", first_name="Ada",
                                     last_name="Lovelace"),
    }
    values.update(overrides)
    return NewOrder(**values)


def _emulator_order(emulator, shop, order_id: int) -> dict[str, Any]:
    state = emulator.control.get(f"/_emulator/shops/{shop['domain']}").json()
    return next(order for order in state["orders"] if order["id"] == order_id)


def test_order_create_sends_the_order_and_returns_what_was_made(emulator, shop, session,
                                                                 variants):
    created = order_create(session=session, order=_new_order(variants),
                           send_fulfillment_receipt=True)

    rest = _emulator_order(emulator, shop, created.id)
    line_ids = [line["id"] for line in rest["line_items"]]
    assert created == OrderCreated(
        id=rest["id"], name=rest["name"], tags=("Dest store", "syncer-42"),
        note="Pushed by Syncer",
        line_items=(OrderLineItem(id=line_ids[0], sku="BAG-S", quantity=2,
                                  variant_id=variants["BAG-S"]),
                    OrderLineItem(id=line_ids[1], sku="BAG-L", quantity=1,
                                  variant_id=variants["BAG-L"])))
    assert rest["name"].startswith("#")
    assert [line["price"] for line in rest["line_items"]] == ["4.50", "6.00"]
    assert (rest["currency"], rest["email"], rest["source_identifier"],
            rest["financial_status"]) == ("EUR", "ada@example.com", "syncer-42", "pending")
    assert [(line["title"], line["code"], line["price"]) for line in rest["shipping_lines"]] == [
        ("Shipping", "syncer", "3.00")]
    address = rest["shipping_address"]
    assert (address["first_name"], address["last_name"], address["address1"], address["city"],
            address["zip"], address["country_code"]) == (
        "Ada", "Lovelace", "12 Analytical Row", "London", "N1 7AA", "GB")
    assert (rest["customer"]["email"], rest["customer"]["first_name"],
            rest["customer"]["last_name"]) == ("ada@example.com", "Ada", "Lovelace")
    # BYPASS: the stock is untouched
    state = emulator.control.get(f"/_emulator/shops/{shop['domain']}").json()
    assert sorted(level["available"] for level in state["inventory_levels"]) == [3, 3]


def test_order_create_refused_raises_user_errors(session, variants):
    order = _new_order(variants, lines=(
        NewOrderLine(variant_id=variants["BAG-S"], quantity=0, price=Decimal("4.50")),))

    with pytest.raises(ShopifyUserErrors) as refused:
        order_create(session=session, order=order)

    assert [(e.field, e.message, e.code) for e in refused.value.user_errors] == [
        (["order", "lineItems", "0", "quantity"], "Quantity must be greater than 0", "INVALID")]
    assert refused.value.document == "order_create"


def test_orders_are_found_by_tag_and_by_id(session, variants):
    created = order_create(session=session, order=_new_order(variants))
    order_create(session=session, order=_new_order(variants, tags=("other",),
                                                   source_identifier="other"))

    found = OrderFound(id=created.id, name=created.name, tags=("Dest store", "syncer-42"),
                       note="Pushed by Syncer", source_identifier="syncer-42",
                       cancelled_at=None, line_items=created.line_items,
                       financial_status="PENDING")
    assert orders_find_by_tag(session=session, tag="syncer-42") == (found,)
    assert orders_find_by_tag(session=session, tag="syncer-nobody") == ()
    assert order_find(session=session, order_id=created.id) == found
    assert order_find(session=session, order_id=created.id + 10_000) is None


def test_order_note_and_tags(session, variants):
    created = order_create(session=session, order=_new_order(variants))

    updated = order_note_set(session=session, order_id=created.id, note="Cancelled upstream")
    order_tags_add(session=session, order_id=created.id, tags=["syncer-cancelled", "syncer-42"])

    assert updated == OrderUpdated(id=created.id, note="Cancelled upstream",
                                   tags=("Dest store", "syncer-42"))
    found = order_find(session=session, order_id=created.id)
    assert found is not None
    assert (found.note, sorted(found.tags)) == (
        "Cancelled upstream", ["Dest store", "syncer-42", "syncer-cancelled"])
    with pytest.raises(ShopifyUserErrors, match="Order does not exist"):
        order_note_set(session=session, order_id=created.id + 10_000, note="x")


def test_fulfilment_orders_fulfilments_and_tracking(shop, session, variants):
    created = order_create(session=session, order=_new_order(variants))
    small, large = created.line_items

    (fo,) = order_fulfillment_orders(session=session, order_id=created.id)
    assert fo == FulfillmentOrder(
        id=fo.id, status="OPEN", location_id=shop["primary_location_id"],
        lines=(FulfillmentOrderLine(id=fo.lines[0].id, line_item_id=small.id, sku="BAG-S",
                                    total_quantity=2, remaining_quantity=2),
               FulfillmentOrderLine(id=fo.lines[1].id, line_item_id=large.id, sku="BAG-L",
                                    total_quantity=1, remaining_quantity=1)))

    made = fulfillment_create(
        session=session,
        line_items_by_fulfillment_order=[FulfillmentOrderLines(
            fulfillment_order_id=fo.id,
            lines=(FulfillmentOrderLineQuantity(id=fo.lines[0].id, quantity=1),))],
        tracking=TrackingInfo(company="UPS", number="1Z1", url="https://ups.example/1Z1"),
        notify_customer=False)
    assert made == Fulfillment(id=made.id, status="SUCCESS", tracking=(
        TrackingInfo(company="UPS", number="1Z1", url="https://ups.example/1Z1"),))

    (after,) = order_fulfillment_orders(session=session, order_id=created.id)
    assert [line.remaining_quantity for line in after.lines] == [1, 1]
    assert order_fulfillments(session=session, order_id=created.id) == (OrderFulfillmentRead(
        id=made.id, status="SUCCESS", tracking=made.tracking,
        lines=(FulfillmentLine(line_item_id=small.id, quantity=1),)),)

    # An empty field is not sent, so the fulfilment keeps the URL it had
    tracked = fulfillment_tracking_info_update(
        session=session, fulfillment_id=made.id,
        tracking=TrackingInfo(company="DHL", number="JD1", url=""), notify_customer=False)
    assert tracked == Fulfillment(id=made.id, status="SUCCESS", tracking=(
        TrackingInfo(company="DHL", number="JD1", url="https://ups.example/1Z1"),))
    # and a URL without a number is not sent either (Shopify refuses one)
    tracked = fulfillment_tracking_info_update(
        session=session, fulfillment_id=made.id,
        tracking=TrackingInfo(company="FedEx", number="", url="https://fedex.example/"),
        notify_customer=False)
    assert tracked.tracking == (
        TrackingInfo(company="FedEx", number="JD1", url="https://ups.example/1Z1"),)


def test_fulfilment_refused_raises_user_errors(session, variants):
    created = order_create(session=session, order=_new_order(variants))
    (fo,) = order_fulfillment_orders(session=session, order_id=created.id)

    with pytest.raises(ShopifyUserErrors) as refused:
        fulfillment_create(
            session=session,
            line_items_by_fulfillment_order=[FulfillmentOrderLines(
                fulfillment_order_id=fo.id,
                lines=(FulfillmentOrderLineQuantity(id=fo.lines[0].id, quantity=5),))],
            tracking=None, notify_customer=False)
    assert refused.value.document == "fulfillment_create"
    with pytest.raises(ShopifyUserErrors, match="Fulfillment does not exist"):
        fulfillment_tracking_info_update(
            session=session, fulfillment_id=gid_id("gid://shopify/Fulfillment/999999"),
            tracking=TrackingInfo(number="X"), notify_customer=False)
    # nothing was fulfilled
    (after,) = order_fulfillment_orders(session=session, order_id=created.id)
    assert [line.remaining_quantity for line in after.lines] == [2, 1]
    assert order_fulfillments(session=session, order_id=created.id) == ()


def test_a_missing_order_has_no_fulfilment_orders_or_fulfilments(session):
    assert order_fulfillment_orders(session=session, order_id=987654321) == ()
    assert order_fulfillments(session=session, order_id=987654321) == ()
