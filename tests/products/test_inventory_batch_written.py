"""A completed stock write is recorded from the batch's own stored items (sql.BATCH_WRITTEN):
the rows' new quantities, the batch done and one audit event per level written."""

import pytest

from products.inventory import flush
from products.inventory.reconciliation import reconciliation_start
from products.inventory.tasks import reconciliation_run_task
from products.models import DestinationStock, InventoryWriteBatch, SyncEvent
from stores.models import Connection, Shop
from tests.products.inventory_world import build

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_pending_batch_from_before_items_had_reasons_is_written_and_audited(emulator):
    # given destinations in step with the source
    world = build(emulator)
    for connection in Connection.objects.all():
        reconciliation_run_task(reconciliation_start(connection=connection,
                                                     trigger="merchant").pk)
    world.emulator.flush_webhooks()
    destination = Shop.objects.get(domain=world.destinations[0])
    stock = DestinationStock.objects.select_related("variant_link").get(
        destination=destination, variant_link__source_variant__sku="SHIRT-S")
    assert (stock.known_quantity, stock.target) == (10, 10)
    # and a batch left pending by a flush that died mid-send, formed before items carried
    # when the change was seen and why (no `changed_at`, no `reason`)
    DestinationStock.objects.filter(pk=stock.pk).update(target=7)
    batch = InventoryWriteBatch.objects.create(
        destination=destination, idempotency_key="syncer-set-left-pending", attempts=1,
        items=[{"stock": stock.pk, "item": stock.variant_link.destination_inventory_item_id,
                "location": stock.location_id, "quantity": 7, "from": 10}])
    # when the destination is flushed again
    flush.inventory_flush_destination(destination_id=destination.pk)
    # then the same request is sent and the write is recorded like any other
    assert world.level(world.destinations[0], "SHIRT-S") == 7
    assert world.level(world.destinations[1], "SHIRT-S") == 10
    batch.refresh_from_db()
    assert batch.status == InventoryWriteBatch.Status.DONE
    stock.refresh_from_db()
    assert (stock.known_quantity, stock.dirty) == (7, False)
    event = SyncEvent.objects.get(cause="batch syncer-set-left-pending")
    link = stock.variant_link
    assert (event.kind, event.result) == (SyncEvent.Kind.INVENTORY, SyncEvent.Result.OK)
    assert event.connection_id == link.connection_id
    assert event.product_link_id == link.product_link_id
    assert event.source_variant_id == link.source_variant_id
    assert event.field == f"variant {link.destination_variant_id} available"
    assert (event.from_value, event.to_value) == ("10", "7")
    assert (event.reason, event.latency_ms, event.location_id) == ("", None, stock.location_id)
