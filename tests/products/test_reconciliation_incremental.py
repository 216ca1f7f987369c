"""The incremental reconciliation (issue 17, item 4): every few minutes each connected shop's
levels changed since the last check are read (only those) and compared with ours; a dropped
source webhook's level reaches every destination, a dropped destination edit is drift, and a
check that finds nothing writes nothing."""

import time

import pytest
from django.utils import timezone

from products.inventory.tasks import (
    inventory_flush_destination_task,
    reconciliation_incremental_schedule_task,
    reconciliation_incremental_task,
)
from products.models import (
    DestinationStock,
    InventoryWriteBatch,
    LevelWatermark,
    ReconciliationRun,
    SyncEvent,
)
from stores.models import Connection, Shop
from tests.products.inventory_world import build
from tests.products.test_inventory_engine import reconcile_all, settle

pytestmark = pytest.mark.django_db(transaction=True)

SKUS = [f"SKU-{n:02d}" for n in range(20)]
CATALOGUE = [(f"Product {sku}", [(sku, 10 + n)]) for n, sku in enumerate(SKUS)]


def next_second() -> None:
    """Shopify's timestamps are whole seconds: what happens from here on is in a later second
    than what happened before."""
    time.sleep(1.02 - time.time() % 1)


def check(shop_domain: str) -> LevelWatermark:
    reconciliation_incremental_task(Shop.objects.get(domain=shop_domain).pk)
    return LevelWatermark.objects.get(shop__domain=shop_domain)


def moved(before: dict, after: dict, shop: str) -> dict[str, int]:
    """Root fields of the shop's executed GraphQL requests between two stats readings."""
    fields = set(before["root_fields"].get(shop, {})) | set(after["root_fields"].get(shop, {}))
    counts = {name: after["root_fields"].get(shop, {}).get(name, 0)
              - before["root_fields"].get(shop, {}).get(name, 0) for name in fields}
    return {name: count for name, count in counts.items() if count}


def wrong_levels(world) -> dict[str, list[str]]:
    source = world.levels(world.source)
    return {destination: sorted(sku for sku, level in world.levels(destination).items()
                                if level != source[sku])
            for destination in world.destinations}


def test_dropped_source_webhooks_are_healed_by_one_check_that_reads_only_the_changes(
        emulator, settings):
    # given three destinations in step with a 20-item source, and a check just made
    settings.RECONCILE_INCREMENTAL_OVERLAP_SECONDS = 0
    world = build(emulator, destinations=3, catalogue=CATALOGUE)
    reconcile_all(world)
    next_second()
    assert check(world.source).differences == 0
    # when 12 source levels change while Shopify drops 40 % of the source's webhooks (seeded)
    emulator.faults(shop=world.source, webhook_drop_rate=0.4, seed=1704)
    changes = {sku: n for n, sku in enumerate(SKUS[:12])}
    emulator._json("POST", f"/_emulator/shops/{world.source}/inventory/bulk", json={
        "levels": [{"sku": sku, "available": available} for sku, available in changes.items()]})
    settle(world)
    emulator.faults(shop=world.source, webhook_drop_rate=0.0)
    dropped = int(emulator.stats()["shops"][world.source]["webhooks_dropped"])
    wrong = wrong_levels(world)
    assert dropped > 0
    assert all(len(skus) == dropped for skus in wrong.values()), wrong
    # and the next incremental check of the source runs
    before = emulator.stats()
    watermark = check(world.source)
    settle(world)
    after = emulator.stats()
    # then every destination level is right
    assert wrong_levels(world) == {destination: [] for destination in world.destinations}
    for destination in world.destinations:
        assert world.levels(destination) == world.levels(world.source)
    # and the check read only the 12 changed levels, one request per shared location (the
    # source has two), and never item by item or in bulk
    assert (watermark.levels_read, watermark.differences) == (12, dropped)
    assert moved(before, after, world.source) == {"location": 2}
    assert after["shops"][world.source]["graphql_requests"] - before["shops"][world.source][
        "graphql_requests"] == 2


def test_a_check_that_finds_nothing_changed_writes_nothing(emulator):
    # given destinations in step with the source
    world = build(emulator, destinations=2)
    reconcile_all(world)
    settle(world)
    batches = InventoryWriteBatch.objects.count()
    events = SyncEvent.objects.count()
    stock = list(DestinationStock.objects.order_by("pk").values_list(
        "pk", "target", "known_quantity", "dirty", "last_written_at"))
    before = emulator.stats()
    # when every shop is checked for the first time (it looks back one interval and the
    # overlap: it re-reads every level the reconciliation just wrote)
    for domain in (world.source, *world.destinations):
        watermark = check(domain)
        # then the levels were read and none differed from ours
        assert (watermark.levels_read, watermark.differences) == (3, 0), domain
    settle(world)
    after = emulator.stats()
    # and nothing was written, recorded or marked to write
    for domain in (world.source, *world.destinations):
        assert moved(before, after, domain) == {"location": 2 if domain == world.source else 1}
    assert InventoryWriteBatch.objects.count() == batches
    assert SyncEvent.objects.count() == events
    assert list(DestinationStock.objects.order_by("pk").values_list(
        "pk", "target", "known_quantity", "dirty", "last_written_at")) == stock


def test_a_hand_edit_whose_webhook_was_dropped_is_found_as_drift_and_healed(emulator, settings):
    # given a destination in step and checked
    settings.RECONCILE_INCREMENTAL_OVERLAP_SECONDS = 0
    world = build(emulator, destinations=1)
    reconcile_all(world)
    destination = world.destinations[0]
    next_second()
    assert check(destination).differences == 0
    # when its merchant edits the tote by hand and the webhook telling us is lost
    emulator.faults(shop=destination, webhook_drop_rate=1.0)
    emulator._json("POST", f"/_emulator/shops/{destination}/inventory",
                   json={"sku": "TOTE-1", "available": 99})
    emulator.flush_webhooks()
    emulator.faults(shop=destination, webhook_drop_rate=0.0)
    assert SyncEvent.objects.filter(kind="drift").count() == 0
    # and the destination is checked
    watermark = check(destination)
    # then the edit is drift, recorded and never sent to the source
    assert (watermark.levels_read, watermark.differences) == (1, 1)
    drift = SyncEvent.objects.get(kind="drift")
    assert (drift.from_value, drift.to_value) == ("25", "99")
    assert world.level(world.source, "TOTE-1") == 25
    stock = DestinationStock.objects.get(variant_link__source_variant__sku="TOTE-1")
    assert (stock.known_quantity, stock.dirty) == (99, True)
    assert stock.due_at > timezone.now()
    # and once the drift grace is over, the target is written back
    DestinationStock.objects.filter(pk=stock.pk).update(due_at=timezone.now())
    inventory_flush_destination_task(Shop.objects.get(domain=destination).pk)
    settle(world)
    assert world.level(destination, "TOTE-1") == 25


def test_the_schedule_checks_every_connected_shop_once(emulator):
    # given a source with two destinations, one of them blocked
    world = build(emulator, destinations=2)
    reconcile_all(world)
    Connection.objects.filter(destination__domain=world.destinations[1]).update(
        status=Connection.Status.BLOCKED)
    # when the beat's schedule runs (its checks run inline here)
    reconciliation_incremental_schedule_task()
    # then the source and the connected destination were checked, the blocked one was not
    assert sorted(LevelWatermark.objects.values_list("shop__domain", flat=True)) == sorted(
        [world.source, world.destinations[0]])
    # and checking again moves each watermark forward, never back
    first = dict(LevelWatermark.objects.values_list("shop__domain", "checked_until"))
    reconciliation_incremental_schedule_task()
    again = dict(LevelWatermark.objects.values_list("shop__domain", "checked_until"))
    assert all(again[domain] > first[domain] for domain in first)


def test_more_changes_than_one_check_takes_hand_the_shop_to_a_full_reconciliation(
        emulator, settings):
    # given two destinations in step, checked, and a check capped at 5 levels a location
    settings.RECONCILE_INCREMENTAL_OVERLAP_SECONDS = 0
    settings.RECONCILE_INCREMENTAL_MAX_LEVELS = 5
    world = build(emulator, destinations=2, catalogue=CATALOGUE)
    reconcile_all(world)
    next_second()
    check(world.source)
    runs = ReconciliationRun.objects.count()
    # when 12 source levels change and every webhook telling us is lost
    emulator.faults(shop=world.source, webhook_drop_rate=1.0)
    emulator._json("POST", f"/_emulator/shops/{world.source}/inventory/bulk", json={
        "levels": [{"sku": sku, "available": 1} for sku in SKUS[:12]]})
    emulator.flush_webhooks()
    emulator.faults(shop=world.source, webhook_drop_rate=0.0)
    # and the source is checked
    watermark = check(world.source)
    settle(world)
    # then the check stopped at its cap and each of the source's connections was reconciled
    # in full, which put every destination right
    assert watermark.levels_read == 5
    assert ReconciliationRun.objects.count() == runs + 2
    assert set(ReconciliationRun.objects.order_by("-pk")[:2].values_list(
        "trigger", "status")) == {("schedule", "done")}
    for destination in world.destinations:
        assert world.levels(destination) == world.levels(world.source)
