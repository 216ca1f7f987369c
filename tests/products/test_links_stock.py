"""Newly linked variants follow the source at once, through the engine's flush (one read, one
activate and one set-quantities path), and say why when one cannot be written."""

import pytest

from products.inventory.links import variant_links_stock_write
from products.models import DestinationStock, SyncEvent, VariantLink
from stores.models import Connection
from tests.products.inventory_world import build

pytestmark = pytest.mark.django_db(transaction=True)


def _connection(world, domain: str) -> Connection:
    return Connection.objects.select_related("source", "destination").get(
        destination__domain=domain)


def test_newly_linked_variants_are_written_to_the_source_stock(emulator):
    # given linked variants that have never been written (the destination shows 0)
    world = build(emulator)
    connection = _connection(world, world.destinations[0])
    links = list(VariantLink.objects.filter(connection=connection).select_related(
        "source_variant", "product_link", "connection"))
    # when their stock is written
    result = variant_links_stock_write(connection=connection, variant_links=links,
                                       cause="test")
    # then the destination shows the source's stock, and the other destination nothing new
    assert (result.written, result.unchanged, result.failed) == (3, 0, [])
    assert world.levels(world.destinations[0]) == {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}
    assert world.levels(world.destinations[1]) == {"SHIRT-S": 0, "SHIRT-M": 0, "TOTE-1": 0}
    assert sorted(VariantLink.objects.filter(connection=connection).values_list(
        "source_variant__sku", "last_written_quantity")) == [
        ("SHIRT-M", 8), ("SHIRT-S", 10), ("TOTE-1", 25)]
    assert sorted(DestinationStock.objects.filter(variant_link__connection=connection)
                  .values_list("known_quantity", "target", "dirty")) == [
        (8, 8, False), (10, 10, False), (25, 25, False)]
    assert SyncEvent.objects.filter(connection=connection, kind="inventory",
                                    result="ok").count() == 3


def test_a_variant_already_showing_its_target_is_left_alone(emulator):
    world = build(emulator, destinations=1, catalogue=[("Tote", [("TOTE-1", 4)])],
                  destination_stock=4)
    connection = _connection(world, world.destinations[0])
    links = list(VariantLink.objects.filter(connection=connection))
    result = variant_links_stock_write(connection=connection, variant_links=links,
                                       cause="test")
    assert (result.written, result.unchanged, result.failed) == (0, 1, [])
    assert SyncEvent.objects.filter(kind="inventory").count() == 0


def test_a_variant_gone_from_the_destination_fails_with_shopifys_reason(emulator):
    # given one linked variant whose inventory item no longer exists at the destination
    world = build(emulator, destinations=1)
    connection = _connection(world, world.destinations[0])
    gone = VariantLink.objects.get(connection=connection, source_variant__sku="TOTE-1")
    VariantLink.objects.filter(pk=gone.pk).update(destination_inventory_item_id=999999999)
    links = list(VariantLink.objects.filter(connection=connection))
    # when the stock is written
    result = variant_links_stock_write(connection=connection, variant_links=links,
                                       cause="test")
    # then the others are written, and the gone one fails with a reason and waits
    assert (result.written, result.unchanged) == (2, 0)
    assert result.failed == [
        (gone.pk, "Shopify refused the change: The inventory item could not be found.")]
    assert world.levels(world.destinations[0])["SHIRT-S"] == 10
    stock = DestinationStock.objects.get(variant_link=gone)
    assert (stock.dirty, stock.known_quantity, stock.due_at is not None) == (True, None, True)
    assert SyncEvent.objects.filter(connection=connection, kind="inventory",
                                    result="failed").count() == 1
