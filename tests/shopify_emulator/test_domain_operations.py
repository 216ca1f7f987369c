"""Domain operations: merchant actions move stock exactly and emit the right webhooks."""

from __future__ import annotations

import json

import pytest

from shopify_emulator.domains.fulfillments.operations import order_fulfill
from shopify_emulator.domains.inventory.operations import (
    inventory_adjust_available,
    inventory_set_available,
)
from shopify_emulator.domains.orders.operations import (
    order_checkout,
    order_edit_commit,
    order_mark_paid,
)
from shopify_emulator.domains.orders.refunds import order_cancel, order_refund
from shopify_emulator.domains.products.operations import product_create
from shopify_emulator.domains.shop.operations import shop_create, shop_snapshot
from shopify_emulator.domains.webhook_subscriptions.operations import (
    subscription_create,
    subscriptions_for,
)
from shopify_emulator.world import EmulatorError, World
from tests.shopify_emulator.graphql_support import SHOP, level_quantities, make_world


def test_shop_create_makes_two_locations_with_world_unique_ids() -> None:
    world = World()
    one = shop_create(world=world, domain="one.myshopify.com", name="One", plan="plus")
    two = shop_create(world=world, domain="two.myshopify.com", name="Two")
    ids = [one.id, two.id, *one.locations, *two.locations]
    assert len(set(ids)) == 6
    assert [loc.name for loc in one.locations.values()] == ["Main warehouse", "Second location"]
    assert one.plan == "plus"
    assert two.currency == "USD"
    assert two.email == "owner@two.myshopify.com"


def test_product_create_stocks_the_primary_location_and_fires_webhooks() -> None:
    world = World()
    shop_create(world=world, domain=SHOP, name="S")
    events: list[str] = []
    world.listeners.append(lambda shop, topic, payload: events.append(topic))
    product = product_create(world=world, shop_domain=SHOP, title="Tee", tags=["a", "b"], variants=[
        {"sku": "T-S", "price": "9.5", "available": 4, "option1": "S"},
        {"sku": "T-M", "price": "9.5", "available": 0, "option1": "M"},
    ])
    assert events == ["products/create", "inventory_items/create", "inventory_items/create",
                      "inventory_levels/update", "inventory_levels/update"]
    assert product["tags"] == "a, b"
    assert [v["sku"] for v in product["variants"]] == ["T-S", "T-M"]
    assert [v["price"] for v in product["variants"]] == ["9.50", "9.50"]
    assert product["admin_graphql_api_id"] == f"gid://shopify/Product/{product['id']}"
    assert level_quantities(world, "T-S") == {"available": 4, "committed": 0, "on_hand": 4}


def test_checkout_commits_stock_and_fires_order_webhooks() -> None:
    # given
    world, recorder = make_world(available=10)
    # when
    order = order_checkout(world=world, shop_domain=SHOP, lines=[{"sku": "SKU-1", "quantity": 3}],
                                 email="buyer@example.com")
    # then
    assert recorder.topics == ["orders/create", "orders/paid", "inventory_levels/update"]
    assert level_quantities(world, "SKU-1") == {"available": 7, "committed": 3, "on_hand": 10}
    assert recorder.of("inventory_levels/update")[0]["available"] == 7
    assert order["name"] == "#1001"
    assert order["order_number"] == 1001
    assert order["financial_status"] == "paid"
    assert order["fulfillment_status"] is None
    line = order["line_items"][0]
    assert (line["sku"], line["quantity"], line["fulfillable_quantity"]) == ("SKU-1", 3, 3)
    assert order["total_price"] == "35.00"  # 3 x 10.00 + 5.00 standard shipping


def test_pending_checkout_fires_no_orders_paid() -> None:
    world, recorder = make_world(available=10)
    order_checkout(world=world, shop_domain=SHOP, lines=[{"sku": "SKU-1", "quantity": 1}],
                         financial_status="pending")
    assert recorder.topics == ["orders/create", "inventory_levels/update"]


def test_an_order_edit_takes_the_added_units_and_names_its_lines() -> None:
    # given a paid order of 3
    world, recorder = make_world(available=10)
    order = order_checkout(world=world, shop_domain=SHOP, lines=[{"sku": "SKU-1", "quantity": 3}])
    line_id = order["line_items"][0]["id"]
    recorder.events.clear()
    # when the merchant adds 2 to its line and a new line of 1
    edit = order_edit_commit(world=world, shop_domain=SHOP, order_id=order["id"], lines=[
        {"line_item_id": line_id, "quantity": 2}, {"sku": "SKU-1", "quantity": 1}])
    # then the units are taken as at checkout, and orders/edited names the lines, not variants
    assert recorder.topics == ["orders/edited", "orders/updated", "inventory_levels/update"]
    assert level_quantities(world, "SKU-1") == {"available": 4, "committed": 6, "on_hand": 10}
    additions = edit["order_edit"]["line_items"]["additions"]
    assert additions[0] == {"id": line_id, "delta": 2}
    assert additions[1]["delta"] == 1
    assert additions[1]["id"] != line_id
    assert edit["order_edit"]["order_id"] == order["id"]
    updated = recorder.of("orders/updated")[0]
    assert updated["financial_status"] == "partially_paid"
    assert [line["quantity"] for line in updated["line_items"]] == [5, 1]
    # and paying the balance sends orders/paid
    recorder.events.clear()
    order_mark_paid(world=world, shop_domain=SHOP, order_id=order["id"])
    assert recorder.topics == ["orders/paid", "orders/updated"]


def test_a_cancelled_order_cannot_be_edited() -> None:
    world, recorder = make_world(available=10)
    order = order_checkout(world=world, shop_domain=SHOP, lines=[{"sku": "SKU-1", "quantity": 1}])
    order_cancel(world=world, shop_domain=SHOP, order_id=order["id"], restock=True)
    with pytest.raises(EmulatorError, match="cancelled order cannot be edited"):
        order_edit_commit(world=world, shop_domain=SHOP, order_id=order["id"],
                          lines=[{"sku": "SKU-1", "quantity": 1}])
    assert level_quantities(world, "SKU-1")["available"] == 10


def test_fulfil_then_refund_returns_and_cancels_exactly() -> None:
    # given: 3 sold, 1 shipped
    world, recorder = make_world(available=10)
    order = order_checkout(world=world, shop_domain=SHOP, lines=[{"sku": "SKU-1", "quantity": 3}])
    fulfillment = order_fulfill(world=world, shop_domain=SHOP, order_id=order["id"],
                                      tracking_company="UPS", tracking_number="1Z9",
                                      tracking_url="https://ups.example/1Z9",
                                      lines=[{"sku": "SKU-1", "quantity": 1}])
    assert level_quantities(world, "SKU-1") == {"available": 7, "committed": 2, "on_hand": 9}
    assert fulfillment["tracking_numbers"] == ["1Z9"]
    assert fulfillment["line_items"][0]["quantity"] == 1
    recorder.events.clear()
    # when: refund 3 with restock
    refund = order_refund(world=world, shop_domain=SHOP, order_id=order["id"],
                                lines=[{"sku": "SKU-1", "quantity": 3}])
    # then: 2 unfulfilled cancelled, 1 fulfilled returned
    assert [(r["quantity"], r["restock_type"]) for r in refund["refund_line_items"]] == [
        (2, "cancel"), (1, "return")
    ]
    assert level_quantities(world, "SKU-1") == {"available": 10, "committed": 0, "on_hand": 10}
    assert recorder.topics == ["refunds/create", "orders/updated", "inventory_levels/update"]
    assert recorder.of("orders/updated")[0]["financial_status"] == "refunded"


def test_refund_without_restock_keeps_available() -> None:
    world, _ = make_world(available=10)
    order = order_checkout(world=world, shop_domain=SHOP, lines=[{"sku": "SKU-1", "quantity": 2}])
    refund = order_refund(world=world, shop_domain=SHOP, order_id=order["id"],
                                lines=[{"sku": "SKU-1", "quantity": 1}], restock=False)
    assert refund["refund_line_items"][0]["restock_type"] == "no_restock"
    assert level_quantities(world, "SKU-1") == {"available": 8, "committed": 1, "on_hand": 9}


def test_cancel_is_a_cancel_restock_refund_plus_cancelled_webhooks() -> None:
    world, recorder = make_world(available=10)
    order = order_checkout(world=world, shop_domain=SHOP, lines=[{"sku": "SKU-1", "quantity": 4}])
    recorder.events.clear()
    cancelled = order_cancel(world=world, shop_domain=SHOP, order_id=order["id"])
    assert recorder.topics == ["refunds/create", "orders/cancelled", "orders/updated",
                               "inventory_levels/update"]
    refund = recorder.of("refunds/create")[0]
    assert [(r["quantity"], r["restock_type"]) for r in refund["refund_line_items"]] == [
        (4, "cancel")]
    assert cancelled["cancelled_at"] is not None
    assert cancelled["cancel_reason"] == "customer"
    assert level_quantities(world, "SKU-1") == {"available": 10, "committed": 0, "on_hand": 10}
    with pytest.raises(EmulatorError, match="already been canceled"):
        order_cancel(world=world, shop_domain=SHOP, order_id=order["id"])


def test_fulfilling_everything_fires_orders_fulfilled() -> None:
    world, recorder = make_world(available=10)
    order = order_checkout(world=world, shop_domain=SHOP, lines=[{"sku": "SKU-1", "quantity": 2}])
    recorder.events.clear()
    order_fulfill(world=world, shop_domain=SHOP, order_id=order["id"], tracking_company=None,
                        tracking_number=None, tracking_url=None)
    assert recorder.topics == ["fulfillments/create", "orders/updated", "orders/fulfilled"]
    assert recorder.of("orders/fulfilled")[0]["fulfillment_status"] == "fulfilled"
    assert level_quantities(world, "SKU-1") == {"available": 8, "committed": 0, "on_hand": 8}


def test_manual_adjustments_fire_inventory_levels_update() -> None:
    world, recorder = make_world(available=10)
    inventory_set_available(world=world, shop_domain=SHOP, sku="SKU-1", available=4)
    inventory_adjust_available(world=world, shop_domain=SHOP, sku="SKU-1", delta=-1)
    inventory_set_available(world=world, shop_domain=SHOP, sku="SKU-1", available=3)
    assert [p["available"] for p in recorder.of("inventory_levels/update")] == [4, 3]


def test_listeners_run_after_the_lock_is_released_and_failures_emit_nothing() -> None:
    world, recorder = make_world(available=10)
    seen_locked: list[bool] = []

    def probe(shop: str, topic: str, payload: dict) -> None:
        acquired = world.lock.acquire(blocking=False)
        seen_locked.append(acquired)
        if acquired:
            world.lock.release()

    world.listeners.append(probe)
    inventory_adjust_available(world=world, shop_domain=SHOP, sku="SKU-1", delta=1)
    with pytest.raises(EmulatorError):
        order_checkout(world=world, shop_domain=SHOP, lines=[{"sku": "NOPE", "quantity": 1}])
    assert seen_locked == [True]
    assert recorder.topics == ["inventory_levels/update"]


def test_snapshot_round_trip_keeps_the_shop() -> None:
    world, _ = make_world(available=10)
    order = order_checkout(world=world, shop_domain=SHOP, lines=[{"sku": "SKU-1", "quantity": 1}])
    subscription_create(world=world, shop_domain=SHOP, topic="orders/paid", uri="https://app/x")
    restored = World.from_snapshot(json.loads(json.dumps(world.to_snapshot())))
    assert shop_snapshot(world=restored, domain=SHOP) == shop_snapshot(world=world, domain=SHOP)
    assert shop_snapshot(world=restored, domain=SHOP)["orders"][0]["id"] == order["id"]
    assert subscriptions_for(world=restored, shop_domain=SHOP, topic="orders/paid")[0]["uri"] == (
        "https://app/x")
