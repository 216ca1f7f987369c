"""Several destinations flushed at once on threads (flush.inventory_flush_destinations): each
destination keeps one writer and its order, and one failing destination holds up no other.

Threads use their own database connections, so these tests commit (transaction=True)."""

import threading

import pytest

from products.inventory.flush import inventory_flush_destinations
from products.inventory.reconciliation import reconciliation_start
from products.inventory.tasks import inventory_flush_destination_task, reconciliation_run_task
from products.models import DestinationStock, InventoryWriteBatch
from stores.models import Connection, Shop
from syncer.redis import redis_client
from syncer.shopify.errors import ShopifyRetryable
from tests.products.inventory_world import build, source_adjust

pytestmark = pytest.mark.django_db(transaction=True)


def _world(emulator, *, destinations: int):
    world = build(emulator, destinations=destinations)
    for connection in Connection.objects.all():
        reconciliation_run_task(reconciliation_start(connection=connection,
                                                     trigger="merchant").pk)
    emulator.flush_webhooks()
    ids = [Shop.objects.get(domain=domain).pk for domain in world.destinations]
    return world, ids


def _flushes_held_back(destination_ids: list[int]) -> None:
    """As if a flush of each destination were already waiting in the broker: a source change
    marks the rows dirty and queues nothing, so the test runs the flushes itself."""
    for destination_id in destination_ids:
        redis_client().set(f"syncer:inventory-flush-queued:{destination_id}", 1, ex=120)


def _set_calls(emulator, domain: str) -> int:
    return emulator.stats()["root_fields"].get(domain, {}).get("inventorySetQuantities", 0)


def test_concurrent_flushes_of_the_same_destinations_write_each_change_once_in_order(emulator):
    world, ids = _world(emulator, destinations=3)
    _flushes_held_back(ids)
    calls_before = {domain: _set_calls(emulator, domain) for domain in world.destinations}
    batches_before = {pk: InventoryWriteBatch.objects.filter(destination_id=pk).count()
                      for pk in ids}
    outcomes: list[dict] = []
    for delta in (-3, -2, 4):
        # given a source change that left every destination's row dirty
        source_adjust(world, "SHIRT-S", delta=delta)
        emulator.flush_webhooks()
        assert DestinationStock.objects.filter(destination_id__in=ids, dirty=True).count() == 3
        # when two workers flush the same destinations at the same time, three threads each
        racers = [threading.Thread(target=lambda: outcomes.append(
            inventory_flush_destinations(destination_ids=ids, threads=3))) for _ in range(2)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
    # then nothing failed, every destination shows the source's last figure, nothing is dirty
    assert [o for outcome in outcomes for o in outcome.values() if isinstance(o, Exception)] == []
    for destination in world.destinations:
        assert world.level(destination, "SHIRT-S") == world.level(world.source, "SHIRT-S") == 9
    assert DestinationStock.objects.filter(destination_id__in=ids, dirty=True).count() == 0
    # and each change was written exactly once per destination, one write after the other:
    # every batch changed the quantity the previous one had set (changeFromQuantity chain)
    for domain, pk in zip(world.destinations, ids, strict=True):
        batches = list(InventoryWriteBatch.objects.filter(destination_id=pk).order_by("pk"))[
            batches_before[pk]:]
        assert [batch.status for batch in batches] == ["done"] * 3
        assert [(b.items[0]["from"], b.items[0]["quantity"]) for b in batches] == [
            (10, 7), (7, 5), (5, 9)]
        for earlier, later in zip(batches, batches[1:], strict=False):
            assert later.created_at >= earlier.completed_at
        assert _set_calls(emulator, domain) - calls_before[domain] == 3


def test_a_failing_destination_holds_up_none_of_the_others(emulator):
    world, ids = _world(emulator, destinations=3)
    _flushes_held_back(ids)
    failing_domain, failing = world.destinations[1], ids[1]
    # given the second destination's Admin API down (every call answers 5xx)
    emulator.faults(shop=failing_domain, error_rate=1.0)
    source_adjust(world, "TOTE-1", delta=-5)
    emulator.flush_webhooks()
    # when the three are flushed at once
    outcomes = inventory_flush_destinations(destination_ids=ids, threads=3)
    # then the others are written, and the failing one's error is handed back to retry
    assert isinstance(outcomes[failing], ShopifyRetryable)
    assert world.level(world.destinations[0], "TOTE-1") == 20
    assert world.level(world.destinations[2], "TOTE-1") == 20
    assert world.level(failing_domain, "TOTE-1") == 25
    pending = InventoryWriteBatch.objects.get(destination_id=failing,
                                              status=InventoryWriteBatch.Status.PENDING)
    # and when its API is back, the retry sends that same batch (same idempotency key) once
    emulator.faults(shop=failing_domain, error_rate=0.0)
    calls_before = _set_calls(emulator, failing_domain)
    inventory_flush_destination_task(failing)
    pending.refresh_from_db()
    assert pending.status == InventoryWriteBatch.Status.DONE
    assert world.level(failing_domain, "TOTE-1") == 20
    assert _set_calls(emulator, failing_domain) - calls_before == 1
    assert DestinationStock.objects.filter(destination_id__in=ids, dirty=True).count() == 0
