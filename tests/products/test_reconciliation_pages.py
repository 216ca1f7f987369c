"""The full reconciliation reads and compares a catalogue a page at a time (its memory does not
grow with the catalogue): with pages of one variant, every figure and every healed level is
what one page of everything gives, through bulk queries and through paged reads alike."""

import pytest

from products.inventory import reconciliation
from products.inventory.reconciliation import reconciliation_start
from products.inventory.tasks import reconciliation_run_task
from products.models import DestinationStock, ReconciliationRun, SyncEvent
from stores.models import Connection
from tests.products.inventory_world import build

pytestmark = pytest.mark.django_db(transaction=True)


def reconcile_all(world) -> list[ReconciliationRun]:
    runs = []
    for connection in Connection.objects.order_by("pk"):
        run = reconciliation_start(connection=connection, trigger="merchant")
        reconciliation_run_task(run.pk)
        runs.append(ReconciliationRun.objects.get(pk=run.pk))
    world.emulator.flush_webhooks()
    return runs


def hand_edit(world, domain: str, sku: str, available: int) -> None:
    # The merchant's edit with its webhook lost: only a reconciliation can find it.
    world.emulator.faults(webhook_drop_rate=1.0)
    world.emulator._json("POST", f"/_emulator/shops/{domain}/inventory",
                         json={"sku": sku, "available": available})
    world.emulator.faults(webhook_drop_rate=0.0)


@pytest.mark.parametrize(("bulk_from", "read_with"), [
    (3, "bulkOperationRunQuery"),  # the catalogue is above the bulk threshold
    (1000, "nodes"),  # below it: read page by page, one page of items per request
])
def test_a_catalogue_reconciled_a_page_at_a_time_finds_and_heals_every_drift(
        emulator, settings, monkeypatch, bulk_from, read_with):
    settings.INVENTORY_BULK_READ_MIN_ITEMS = bulk_from
    monkeypatch.setattr(reconciliation, "RECONCILE_PAGE", 1)
    # given destinations in line with the source, then two hand edits at the first one
    world = build(emulator)
    reconcile_all(world)
    first = world.destinations[0]
    hand_edit(world, first, "SHIRT-S", 3)
    hand_edit(world, first, "TOTE-1", 99)
    before = emulator._json("GET", "/_emulator/stats")["root_fields"]
    # when every connection is reconciled, one variant per page
    runs = reconcile_all(world)
    # then every variant was checked, the two edits were found and healed, nothing else moved
    assert [(run.status, run.total, run.checked, run.drift_found, run.drift_fixed)
            for run in runs] == [("done", 3, 3, 2, 2), ("done", 3, 3, 0, 0)]
    for destination in world.destinations:
        assert world.levels(destination) == {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}
    assert sorted(SyncEvent.objects.filter(kind="drift").values_list("from_value", "to_value")
                  ) == [("10", "3"), ("25", "99")]
    assert DestinationStock.objects.filter(dirty=True).count() == 0
    # and each shop was read the way its size calls for
    after = emulator._json("GET", "/_emulator/stats")["root_fields"]
    reads = [after.get(shop, {}).get(read_with, 0) - before.get(shop, {}).get(read_with, 0)
             for shop in (world.source, *world.destinations)]
    # bulk: one query per shop and run (the source once per connection); paged: one request
    # per page of one item, each side of each run
    assert reads == ([2, 1, 1] if read_with == "bulkOperationRunQuery" else [6, 3, 3])
