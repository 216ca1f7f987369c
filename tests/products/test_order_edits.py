"""Order edits through the emulator and the real endpoint: units added to a store's order after
checkout count like its sale (products/inventory/edits.py)."""

import json

import pytest

from products.models import DestinationHold, DestinationSale, InventoryEffect
from tests.products.inventory_world import build
from tests.products.test_inventory_engine import reconcile_all, settle
from tests.products.test_stock_paths import drift_grace_over, pending_order
from tests.webhooks.conftest import webhook_headers

pytestmark = pytest.mark.django_db(transaction=True)


def order_edit(emulator, shop: str, order_id: int, lines: list[dict]) -> dict:
    """The merchant adds units to the order in Shopify admin (orderEditCommit)."""
    return emulator._json("POST", f"/_emulator/shops/{shop}/orders/{order_id}/edit",
                          json={"lines": lines})


def sales() -> list[tuple[str, int]]:
    return sorted((key.split("@")[1] if "@" in key else "line", delta)
                  for key, delta in InventoryEffect.objects.filter(kind="sale")
                  .values_list("key", "delta"))


def test_units_added_to_a_paid_order_leave_the_source_once(emulator):
    # given destination 1's paid order of 2 of the source's 10 shirts S
    world = build(emulator)
    reconcile_all(world)
    seller, other = world.destinations
    order = emulator.order_create(seller, lines=[{"sku": "SHIRT-S", "quantity": 2}],
                                  financial_status="paid")
    order_id = order.get("id") or order["order"]["id"]
    line_id = (order.get("line_items") or order["order"]["line_items"])[0]["id"]
    settle(world)
    assert world.level(world.source, "SHIRT-S") == 8
    # when the merchant edits it: one more shirt S on its line, and a new line of 1 shirt M
    order_edit(emulator, seller, order_id, [{"line_item_id": line_id, "quantity": 1},
                                            {"sku": "SHIRT-M", "quantity": 1}])
    settle(world)
    drift_grace_over(world)
    # then the source loses those units too, and every store follows; the seller's own drop
    # is not put back after its grace
    assert world.level(world.source, "SHIRT-S") == 7
    assert world.level(world.source, "SHIRT-M") == 7
    for store in (seller, other):
        assert (world.level(store, "SHIRT-S"), world.level(store, "SHIRT-M")) == (7, 7)
    assert sales() == [("3", -1), ("line", -2), ("line", -1)]
    # when the customer pays the balance (orders/paid names every line again)
    emulator._json("POST", f"/_emulator/shops/{seller}/orders/{order_id}/pay")
    settle(world)
    # then nothing is taken twice, and the source's dashboard counts the 3 shirts S and the
    # shirt M sold
    assert (world.level(world.source, "SHIRT-S"), world.level(world.source, "SHIRT-M")) == (7, 7)
    assert sales() == [("3", -1), ("line", -2), ("line", -1)]
    assert sorted(DestinationSale.objects.values_list("quantity", flat=True)) == [1, 3]


def test_an_edit_delivered_again_after_the_balance_is_paid_takes_nothing_more(emulator, client):
    # given a paid order of 2 shirts S, edited to 3 and its balance paid
    world = build(emulator)
    reconcile_all(world)
    seller = world.destinations[0]
    order = emulator.order_create(seller, lines=[{"sku": "SHIRT-S", "quantity": 2}],
                                  financial_status="paid")
    order_id = order.get("id") or order["order"]["id"]
    line_id = (order.get("line_items") or order["order"]["line_items"])[0]["id"]
    settle(world)
    edit = order_edit(emulator, seller, order_id, [{"line_item_id": line_id, "quantity": 1}])
    emulator._json("POST", f"/_emulator/shops/{seller}/orders/{order_id}/pay")
    settle(world)
    assert world.level(world.source, "SHIRT-S") == 7
    # when the edit's webhook comes again (a second delivery of the same edit)
    body = json.dumps(edit).encode()
    answer = client.post("/webhooks/shopify", data=body, content_type="application/json",
                         headers=webhook_headers(topic="orders/edited", shop=seller, body=body))
    assert answer.json() == {"status": "accepted"}
    settle(world)
    # then the line is counted at 3, once
    assert world.level(world.source, "SHIRT-S") == 7
    assert sales() == [("3", -1), ("line", -2)]


@pytest.fixture
def unpaid_shirts(emulator):
    """Destination 1's unpaid order of 3 of the source's 10 shirts S, held at its store
    (counted when paid: the default). Returns (world, that store, the other, the order's id)."""
    world = build(emulator)
    reconcile_all(world)
    seller, other = world.destinations
    order_id = pending_order(emulator, seller, "SHIRT-S", 3)
    settle(world)
    return world, seller, other, order_id


def test_units_added_to_an_unpaid_order_are_held_at_its_store_until_paid(emulator,
                                                                         unpaid_shirts):
    # given destination 1's unpaid order of 3 shirts S
    world, seller, other, order_id = unpaid_shirts
    # when the merchant adds 2 shirts M to it
    order_edit(emulator, seller, order_id, [{"sku": "SHIRT-M", "quantity": 2}])
    settle(world)
    drift_grace_over(world)
    # then they stay off sale at that store, and the source and the other store keep them
    assert world.level(seller, "SHIRT-M") == 6
    assert world.level(world.source, "SHIRT-M") == 8
    assert world.level(other, "SHIRT-M") == 8
    assert sorted(DestinationHold.objects.values_list("quantity", flat=True)) == [2, 3]
    assert InventoryEffect.objects.count() == 0
    # when it is paid
    emulator._json("POST", f"/_emulator/shops/{seller}/orders/{order_id}/pay")
    settle(world)
    drift_grace_over(world)
    # then the source loses both lines once, and every store shows what is left
    assert (world.level(world.source, "SHIRT-S"), world.level(world.source, "SHIRT-M")) == (7, 6)
    for store in (seller, other):
        assert (world.level(store, "SHIRT-S"), world.level(store, "SHIRT-M")) == (7, 6)
    assert sales() == [("line", -3), ("line", -2)]
    assert DestinationHold.objects.filter(released_at__isnull=True).count() == 0


def test_more_of_an_unpaid_line_is_held_too_and_counted_once_paid(emulator, unpaid_shirts):
    # given destination 1's unpaid order of 3 shirts S, held at its store
    world, seller, other, order_id = unpaid_shirts
    line_id = DestinationHold.objects.get().line_item_id
    # when the merchant adds 2 more to that line
    order_edit(emulator, seller, order_id, [{"line_item_id": line_id, "quantity": 2}])
    settle(world)
    drift_grace_over(world)
    # then the line holds 5 at its store; the source and the other store keep all 10
    assert list(DestinationHold.objects.values_list("quantity", flat=True)) == [5]
    assert (world.level(seller, "SHIRT-S"), world.level(other, "SHIRT-S")) == (5, 10)
    assert world.level(world.source, "SHIRT-S") == 10
    # when it is paid, the source loses the 5 once
    emulator._json("POST", f"/_emulator/shops/{seller}/orders/{order_id}/pay")
    settle(world)
    drift_grace_over(world)
    assert world.level(world.source, "SHIRT-S") == 5
    assert (world.level(seller, "SHIRT-S"), world.level(other, "SHIRT-S")) == (5, 5)
    assert sales() == [("line", -5)]
