"""One writer per destination: a flush that finds the destination's lock taken leaves its
request to the holder, which goes round for it before letting the lock go (flush.py,
_flush_while_wanted: the protocol of syncer.redis.locked_while_wanted in two round trips).

The flush under test commits its batches as it goes, so these tests commit (transaction=True)."""

import pytest

from products.inventory import flush
from products.inventory.flush import destination_flush_lock, inventory_flush_destination
from products.models import DestinationStock, InventoryWriteBatch
from syncer.redis import redis_client
from tests.products.inventory_world import source_adjust
from tests.products.test_inventory_flush_concurrent import _flushes_held_back, _world

pytestmark = pytest.mark.django_db(transaction=True)


def _wanted(destination_id: int) -> bool:
    return bool(redis_client().exists(f"syncer:inventory-flush-wanted:{destination_id}"))


def test_a_flush_finding_the_lock_taken_writes_nothing_and_leaves_its_request(emulator):
    world, (destination_id,) = _world(emulator, destinations=1)
    (domain,) = world.destinations
    _flushes_held_back([destination_id])
    source_adjust(world, "SHIRT-S", delta=-3)
    emulator.flush_webhooks()
    batches_before = InventoryWriteBatch.objects.filter(destination_id=destination_id).count()
    # given another writer holding the destination's lock (a resync reading it, say)
    holder = destination_flush_lock(destination_id)
    assert holder.acquire()
    # when a flush of that destination runs
    result = inventory_flush_destination(destination_id=destination_id)
    # then it is busy, wrote nothing, and its request waits for the holder
    assert result.busy is True
    assert result.batches == 0
    assert world.level(domain, "SHIRT-S") == 10
    assert DestinationStock.objects.filter(destination_id=destination_id, dirty=True).count() == 1
    assert InventoryWriteBatch.objects.filter(
        destination_id=destination_id).count() == batches_before
    assert _wanted(destination_id) is True
    assert holder.owned() is True
    # and once the lock is free, the next flush writes the change and clears the request
    holder.release()
    result = inventory_flush_destination(destination_id=destination_id)
    assert (result.busy, result.batches, result.written) == (False, 1, 1)
    assert world.level(domain, "SHIRT-S") == 7
    assert _wanted(destination_id) is False
    assert destination_flush_lock(destination_id).locked() is False


def test_a_change_flushed_while_the_lock_is_held_is_written_by_the_holder(emulator,
                                                                          monkeypatch):
    world, (destination_id,) = _world(emulator, destinations=1)
    (domain,) = world.destinations
    _flushes_held_back([destination_id])
    source_adjust(world, "SHIRT-S", delta=-3)
    emulator.flush_webhooks()
    send = flush._batch_send
    during: list[flush.FlushResult] = []

    def send_then_change(destination, batch):
        outcome = send(destination, batch)
        if not during:
            # given a second change, and its flush, while the first flush holds the lock
            source_adjust(world, "SHIRT-S", delta=-2)
            emulator.flush_webhooks()
            during.append(inventory_flush_destination(destination_id=destination_id))
        return outcome

    monkeypatch.setattr(flush, "_batch_send", send_then_change)
    # when the first flush runs
    result = inventory_flush_destination(destination_id=destination_id)
    # then the second found it busy, and the holder went round and wrote its change too
    assert [(r.busy, r.batches) for r in during] == [(True, 0)]
    assert (result.busy, result.batches, result.written) == (False, 2, 2)
    assert world.level(domain, "SHIRT-S") == world.level(world.source, "SHIRT-S") == 5
    batches = list(InventoryWriteBatch.objects.filter(
        destination_id=destination_id).order_by("-pk")[:2])[::-1]
    assert [(b.status, b.items[0]["from"], b.items[0]["quantity"]) for b in batches] == [
        ("done", 10, 7), ("done", 7, 5)]
    assert DestinationStock.objects.filter(destination_id=destination_id, dirty=True).count() == 0
    assert _wanted(destination_id) is False
    assert destination_flush_lock(destination_id).locked() is False
