"""The inventory flows with real web + worker processes, PostgreSQL, Redis and the emulator
server: nothing runs inline, everything crosses a process boundary."""

import pytest

from products.inventory.reconciliation import reconciliation_start
from products.inventory.tasks import reconciliation_run_task
from stores.models import Connection
from tests.products.inventory_world import build, source_adjust
from tests.products.stack import Stack

pytestmark = [pytest.mark.serial, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stack(live_server, tmp_path):
    stack = Stack(live_server=live_server, tmp_path=tmp_path, workers=1, concurrency=4).start()
    yield stack
    stack.stop()


def converged(world, expected: dict[str, int]) -> bool:
    return all(world.levels(shop) == expected for shop in (world.source, *world.destinations))


def test_source_change_sale_refund_and_manual_edit_through_workers(stack):
    world = build(stack.emulator, destinations=3)
    for connection in Connection.objects.all():
        reconciliation_run_task.delay(reconciliation_start(connection=connection,
                                                           trigger="merchant").pk)
    expected = {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}
    assert stack.wait_until(lambda: converged(world, expected), timeout=60)

    # a source adjustment reaches all destinations
    source_adjust(world, "SHIRT-M", delta=-5)
    expected["SHIRT-M"] = 3
    assert stack.wait_until(lambda: converged(world, expected), timeout=30)

    # a destination sale reduces the source and every other destination
    order = stack.emulator.order_create(world.destinations[1],
                                        lines=[{"sku": "TOTE-1", "quantity": 4}],
                                        financial_status="paid")
    expected["TOTE-1"] = 21
    assert stack.wait_until(lambda: converged(world, expected), timeout=30)

    # a restocked refund gives it back
    order_id = order.get("id") or order["order"]["id"]
    stack.emulator._json("POST",
                         f"/_emulator/shops/{world.destinations[1]}/orders/{order_id}/refund",
                         json={"lines": [{"sku": "TOTE-1", "quantity": 1}], "restock": True})
    expected["TOTE-1"] = 22
    assert stack.wait_until(lambda: converged(world, expected), timeout=30)

    # a manual destination edit does not touch the source and is healed
    stack.emulator._json("POST", f"/_emulator/shops/{world.destinations[2]}/inventory",
                         json={"sku": "SHIRT-S", "available": 50})
    assert stack.wait_until(lambda: world.level(world.destinations[2], "SHIRT-S") == 50,
                            timeout=10, interval=0.05)
    assert world.level(world.source, "SHIRT-S") == 10
    assert stack.wait_until(lambda: converged(world, expected), timeout=60)
