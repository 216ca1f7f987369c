"""A product's sync history says, per row, what a merchant needs: product, variant, SKU,
location, from → to, the cause in words and how long it took (no internal ids)."""

import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from products.history import latency_words
from products.inventory.reconciliation import reconciliation_start
from products.inventory.tasks import inventory_sweep_task, reconciliation_run_task
from products.models import SourceProduct, SyncEvent
from stores.models import Connection, Shop
from tests.products.catalogue_world import headers
from tests.products.inventory_world import build, source_adjust

pytestmark = pytest.mark.django_db(transaction=True)


def settle(world) -> None:
    for _ in range(5):
        world.emulator.flush_webhooks()
        inventory_sweep_task()
    world.emulator.flush_webhooks()


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def history_rows(client, world, destination: str, title: str) -> list[list[str]]:
    """The history table's rows as the merchant reads them, When column left out."""
    connection = Connection.objects.get(destination__domain=destination)
    product = SourceProduct.objects.get(title=title)
    response = client.get(f"/products/sources/{connection.pk}/products/{product.pk}/history",
                          headers=headers(world.emulator, destination))
    assert response.status_code == 200
    rows = re.findall(r'<tr class="history-row">(.*?)</tr>', response.content.decode(), re.S)
    return [[_text(cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)][1:]
            for row in rows]


def took(kind: str, reason: str, destination: str) -> str:
    event = SyncEvent.objects.filter(kind=kind, reason=reason, source_variant__sku="SHIRT-S",
                                     connection__destination__domain=destination).latest("pk")
    return latency_words(event.latency_ms)


def test_history_rows_name_the_variant_location_cause_and_latency(client, emulator):
    # given two destinations brought to the source's stock by a resync
    world = build(emulator)
    for connection in Connection.objects.all():
        reconciliation_run_task(reconciliation_start(connection=connection,
                                                     trigger="merchant").pk)
    settle(world)
    # when the source sells 3 shirts itself, then destination 1 sells 2 (order #1001)
    source_adjust(world, "SHIRT-S", delta=-3)
    settle(world)
    emulator.order_create(world.destinations[0], lines=[{"sku": "SHIRT-S", "quantity": 2}],
                          financial_status="paid")
    settle(world)
    # then destination 1's history of the shirt says what happened, newest first, in words
    first = world.destinations[0]
    store = Shop.objects.get(domain=first).name
    assert store == "dst-1"  # the shop's name in Shopify, not its domain
    assert history_rows(client, world, first, "Linen shirt") == [
        ["Source stock (destination sale)", "Linen shirt", "SHIRT-S", "SHIRT-S", "Main warehouse",
         "-2", f"A sale on {store}, order #1001", took("source_decrement", "sale", first),
         "Applied"],
        ["Store stock (sale)", "Linen shirt", "SHIRT-S", "SHIRT-S", "Main warehouse", "7 → 5",
         f"A sale on {store}, order #1001, counted by Shopify in your store", "—", "Recorded"],
        ["Inventory", "Linen shirt", "SHIRT-S", "SHIRT-S", "Main warehouse", "10 → 7",
         "A stock change at the source", took("inventory", "source_change", first), "Applied"],
        ["Inventory", "Linen shirt", "SHIRT-M", "SHIRT-M", "Main warehouse", "0 → 8",
         "A resync correction", took("inventory", "resync", first), "Applied"],
        ["Inventory", "Linen shirt", "SHIRT-S", "SHIRT-S", "Main warehouse", "0 → 10",
         "A resync correction", took("inventory", "resync", first), "Applied"],
    ]
    # and destination 2 got the sale as a change at the source, with its latency
    second = world.destinations[1]
    assert history_rows(client, world, second, "Linen shirt")[0] == [
        "Inventory", "Linen shirt", "SHIRT-S", "SHIRT-S", "Main warehouse", "7 → 5",
        "A stock change at the source", took("inventory", "source_change", second), "Applied"]
    assert took("inventory", "source_change", second) != ""


def test_the_history_page_reads_a_fixed_number_of_queries(client, emulator):
    world = build(emulator)
    for connection in Connection.objects.all():
        reconciliation_run_task(reconciliation_start(connection=connection,
                                                     trigger="merchant").pk)
    settle(world)
    destination = world.destinations[0]
    with CaptureQueriesContext(db_connection) as few:
        assert len(history_rows(client, world, destination, "Linen shirt")) == 2
    # when many more stock changes are in the history
    for available in (9, 8, 7, 6):
        source_adjust(world, "SHIRT-S", available=available)
        settle(world)
    with CaptureQueriesContext(db_connection) as many:
        assert len(history_rows(client, world, destination, "Linen shirt")) == 6
    # then the page costs the same queries
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_restock_refund_counted_by_shopify_is_not_called_a_hand_edit(client, emulator):
    # given destination 1 at the source's stock, which sold 2 shirts (order #1001)
    world = build(emulator, destinations=1)
    connection = Connection.objects.get()
    reconciliation_run_task(reconciliation_start(connection=connection, trigger="merchant").pk)
    settle(world)
    first = world.destinations[0]
    order = emulator.order_create(first, lines=[{"sku": "SHIRT-S", "quantity": 2}],
                                  financial_status="paid")
    settle(world)
    # when it refunds one with restock (Shopify puts it back in the store's stock itself)
    emulator._json("POST", f"/_emulator/shops/{first}/orders/{order['id']}/refund",
                   json={"lines": [{"sku": "SHIRT-S", "quantity": 1}], "restock": True})
    settle(world)
    # then the store's own +1 is the refund, not "changed by hand"
    store = Shop.objects.get(domain=first).name
    counted = [row for row in history_rows(client, world, first, "Linen shirt")
               if row[0].startswith("Store stock")]
    assert [[row[0], *row[5:7], row[8]] for row in counted] == [
        ["Store stock (restock refund)", "8 → 9",
         f"A restock refund on {store}, counted by Shopify in your store", "Recorded"],
        ["Store stock (sale)", "10 → 8",
         f"A sale on {store}, order #1001, counted by Shopify in your store", "Recorded"]]
    # and nothing of it is called drift
    assert not [row for row in history_rows(client, world, first, "Linen shirt")
                if row[0] == "Drift found"]
