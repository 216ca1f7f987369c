"""The inventory engine end to end in process: emulator webhooks into the real endpoint,
eager tasks, real writes to the emulator (worker-process tests live in test_inventory_e2e)."""

import json
import re
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from prometheus_client import REGISTRY

from products.inventory import flush
from products.inventory.drift import destination_level_changed
from products.inventory.oversold import oversold_alert_for_sale
from products.inventory.reconciliation import reconciliation_start
from products.inventory.tasks import (
    flush_schedule_next,
    inventory_flush_destination_task,
    inventory_sweep_task,
    reconciliation_run_task,
)
from products.models import (
    DestinationStock,
    InventoryEffect,
    InventoryWriteBatch,
    ProductLink,
    ReconciliationRun,
    SourceLevel,
    SourceProduct,
    SyncEvent,
    VariantLink,
)
from stores.models import AlertDigest, AlertKind, Connection, Shop
from syncer.redis import redis_client
from tests.products.catalogue_world import headers
from tests.products.inventory_world import build, source_adjust
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_delivery_receive

pytestmark = pytest.mark.django_db(transaction=True)


def settle(world) -> None:
    """Let webhooks and the tasks they trigger run to the end."""
    for _ in range(5):
        world.emulator.flush_webhooks()
        inventory_sweep_task()
    world.emulator.flush_webhooks()


def reconcile_all(world) -> None:
    for connection in Connection.objects.all():
        reconciliation_run_task(reconciliation_start(connection=connection,
                                                     trigger="merchant").pk)
    world.emulator.flush_webhooks()


def test_first_reconciliation_brings_destinations_to_the_source(emulator):
    world = build(emulator)
    reconcile_all(world)
    for destination in world.destinations:
        assert world.levels(destination) == {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}


def test_source_adjustment_reaches_every_destination(emulator):
    world = build(emulator)
    reconcile_all(world)
    # when the source merchant sells 3 shirts elsewhere
    source_adjust(world, "SHIRT-S", delta=-3)
    settle(world)
    # then
    for destination in world.destinations:
        assert world.level(destination, "SHIRT-S") == 7
    events = SyncEvent.objects.filter(kind="inventory", to_value="7")
    assert events.count() == 2
    assert all(event.latency_ms is not None for event in events)
    # and each write is audited with what it replaced, where, and which batch carried it
    for event in events:
        link = VariantLink.objects.get(connection=event.connection,
                                       source_variant__sku="SHIRT-S")
        assert event.field == f"variant {link.destination_variant_id} available"
        assert event.from_value == "10"
        assert event.product_link_id == link.product_link_id
        assert event.destination_product_id == link.product_link.destination_product_id
        assert event.result == "ok"
        batch = InventoryWriteBatch.objects.get(destination=event.connection.destination,
                                                status="done", items__contains=[{"quantity": 7}])
        assert event.cause == f"batch {batch.idempotency_key}"


def test_every_write_lands_in_the_propagation_histogram(emulator):
    world = build(emulator)
    reconcile_all(world)
    before = REGISTRY.get_sample_value("syncer_propagation_seconds_count") or 0
    # when one source change is written to both destinations
    source_adjust(world, "SHIRT-S", delta=-1)
    settle(world)
    # then each write is one observation
    assert REGISTRY.get_sample_value("syncer_propagation_seconds_count") == before + 2


def test_source_changes_reach_only_syncing_links_less_their_safety_stock(emulator):
    world = build(emulator, destinations=3)
    reconcile_all(world)
    first, second, third = (Connection.objects.get(destination__domain=domain)
                            for domain in world.destinations)
    # given a safety stock of 3 on the first destination, auto sync off for the shirt on the
    # second, the third blocked, and the tote hidden at the source
    Connection.objects.filter(pk=first.pk).update(safety_stock=3)
    ProductLink.objects.filter(connection=second, source_product__title="Linen shirt").update(
        auto_sync=False)
    Connection.objects.filter(pk=third.pk).update(status=Connection.Status.BLOCKED)
    SourceProduct.objects.filter(title="Canvas tote").update(hidden=True)
    # when the source's shirt and tote change
    source_adjust(world, "SHIRT-S", available=20)
    source_adjust(world, "TOTE-1", available=30)
    settle(world)
    # then only the syncing links follow, less their safety stock
    assert world.levels(world.destinations[0]) == {"SHIRT-S": 17, "SHIRT-M": 8, "TOTE-1": 25}
    assert world.levels(world.destinations[1]) == {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}
    assert world.levels(world.destinations[2]) == {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}


def test_a_source_change_before_any_reconciliation_reaches_the_destinations(emulator):
    # given links just made (no stock rows yet; the destinations hold 0 of everything)
    world = build(emulator)
    assert DestinationStock.objects.count() == 0
    # when the source's shirt changes
    source_adjust(world, "SHIRT-S", available=6)
    settle(world)
    # then each destination's shirt row was made, read and written
    for destination in world.destinations:
        assert world.level(destination, "SHIRT-S") == 6
    assert DestinationStock.objects.filter(target=6, known_quantity=6, dirty=False).count() == 2


def test_destination_sale_reduces_the_source_and_the_other_destinations(emulator):
    world = build(emulator)
    reconcile_all(world)
    # when a customer of destination 1 buys 2 totes
    order = emulator.order_create(world.destinations[0],
                                  lines=[{"sku": "TOTE-1", "quantity": 2}],
                                  financial_status="paid")
    assert order
    settle(world)
    # then the source lost exactly 2 and every destination shows the same stock
    assert world.level(world.source, "TOTE-1") == 23
    assert world.level(world.destinations[0], "TOTE-1") == 23
    assert world.level(world.destinations[1], "TOTE-1") == 23
    assert InventoryEffect.objects.get().status == "applied"


def test_two_stores_selling_the_last_shirts_at_once_are_told_the_source_is_oversold(
        emulator, mailoutbox):
    world = build(emulator)
    reconcile_all(world)
    # when both destinations sell the source's 8 medium shirts between them, and one more,
    # before either sale reaches the source
    for destination, quantity in zip(world.destinations, (5, 4), strict=True):
        emulator.order_create(destination, lines=[{"sku": "SHIRT-M", "quantity": quantity}],
                              financial_status="paid")
    settle(world)
    # then each sale is taken off the source once: it shows the unit it does not have, and
    # once the stores' own drops have had their grace, both show none
    assert world.level(world.source, "SHIRT-M") == -1
    DestinationStock.objects.filter(due_at__isnull=False).update(
        due_at=timezone.now() - timedelta(seconds=1))
    for destination in Shop.objects.filter(domain__in=world.destinations):
        inventory_flush_destination_task(destination.pk)
    assert [world.level(destination, "SHIRT-M") for destination in world.destinations] == [0, 0]
    # and the source, and each store whose sale it was below zero after (both, when their
    # sales were taken off at the same moment), are alerted
    alerted = {digest.shop.domain: digest for digest in AlertDigest.objects.filter(
        kind=AlertKind.OVERSOLD).select_related("shop")}
    assert world.source in alerted
    assert set(alerted) - {world.source} in ({world.destinations[0]}, {world.destinations[1]},
                                             set(world.destinations))
    (to_source,) = [email for email in mailoutbox if email.to == [alerted[world.source].shop.email]]
    # (one email: for one sale, or for both when both were counted before it went)
    assert re.search(r"Syncer: (a sale|2 sales) left the source's stock below zero in src",
                     to_source.subject)
    assert "Linen shirt / SHIRT-M (SHIRT-M) is at -1 at src after it, 1 sold that src does not " \
        "have." in to_source.body


def last_shirts_sold(emulator):
    """A destination sold every medium shirt the source has (8), paid, taken off the source."""
    world = build(emulator)
    reconcile_all(world)
    emulator.order_create(world.destinations[0], lines=[{"sku": "SHIRT-M", "quantity": 8}],
                          financial_status="paid")
    settle(world)
    return world


def test_a_sale_of_the_last_units_is_no_oversell(emulator, mailoutbox):
    # when a destination sells every medium shirt the source has
    world = last_shirts_sold(emulator)
    # then the source is at 0, and nobody is told it is oversold
    assert world.level(world.source, "SHIRT-M") == 0
    assert not AlertDigest.objects.filter(kind=AlertKind.OVERSOLD).exists()
    assert mailoutbox == []


def times_told_oversold(shop: str) -> int:
    digest = AlertDigest.objects.filter(kind=AlertKind.OVERSOLD, shop__domain=shop).first()
    return digest.pending_count + digest.sent_count if digest else 0


def test_one_oversold_state_is_told_once_whichever_path_sees_it(emulator):
    # given every medium shirt sold by destination 1, then one more sold by the source's own
    # store: its level webhook tells the source it is at -1
    world = last_shirts_sold(emulator)
    source_adjust(world, "SHIRT-M", delta=-1)
    settle(world)
    assert world.level(world.source, "SHIRT-M") == -1
    assert times_told_oversold(world.source) == 1
    # when a destination sale's read-back sees that same state (the same total, as Shopify
    # stamped it): the two paths often see one change at the same moment
    sale = InventoryEffect.objects.select_related("source").get()
    stamp = SourceLevel.objects.get(shop__domain=world.source,
                                    inventory_item_id=sale.inventory_item_id).shopify_updated_at
    oversold_alert_for_sale(effect=sale, shared=-1, stamp=stamp)
    # then nobody is told again
    assert times_told_oversold(world.source) == 1
    assert times_told_oversold(world.destinations[0]) == 1
    # and a state further below zero is told
    oversold_alert_for_sale(effect=sale, shared=-2, stamp=stamp + timedelta(seconds=1))
    assert times_told_oversold(world.source) == 2


def test_duplicate_paid_webhooks_move_the_source_once(emulator):
    world = build(emulator)
    reconcile_all(world)
    emulator.faults(webhook_duplicate_rate=1.0)
    emulator.order_create(world.destinations[0], lines=[{"sku": "SHIRT-M", "quantity": 1}],
                          financial_status="paid")
    settle(world)
    emulator.faults(webhook_duplicate_rate=0)
    assert world.level(world.source, "SHIRT-M") == 7
    assert InventoryEffect.objects.count() == 1


def test_restocked_refund_gives_stock_back_once(emulator):
    world = build(emulator)
    reconcile_all(world)
    order = emulator.order_create(world.destinations[1], lines=[{"sku": "SHIRT-S", "quantity": 3}],
                                  financial_status="paid")
    settle(world)
    assert world.level(world.source, "SHIRT-S") == 7
    order_id = order.get("id") or order["order"]["id"]
    emulator._json("POST", f"/_emulator/shops/{world.destinations[1]}/orders/{order_id}/refund",
                   json={"lines": [{"sku": "SHIRT-S", "quantity": 2}], "restock": True})
    settle(world)
    assert world.level(world.source, "SHIRT-S") == 9
    assert world.level(world.destinations[0], "SHIRT-S") == 9
    assert world.level(world.destinations[1], "SHIRT-S") == 9


def test_cancel_with_restock_is_not_counted_twice(emulator):
    world = build(emulator)
    reconcile_all(world)
    order = emulator.order_create(world.destinations[0], lines=[{"sku": "SHIRT-S", "quantity": 4}],
                                  financial_status="paid")
    settle(world)
    order_id = order.get("id") or order["order"]["id"]
    emulator._json("POST", f"/_emulator/shops/{world.destinations[0]}/orders/{order_id}/cancel",
                   json={"restock": True})
    settle(world)
    assert world.level(world.source, "SHIRT-S") == 10
    assert list(InventoryEffect.objects.order_by("pk").values_list("kind", "delta")) == [
        ("sale", -4), ("restock", 4)]


def test_manual_destination_edit_does_not_touch_the_source_and_is_healed(emulator):
    world = build(emulator)
    reconcile_all(world)
    # when the destination merchant edits stock by hand
    emulator._json("POST", f"/_emulator/shops/{world.destinations[0]}/inventory",
                   json={"sku": "TOTE-1", "available": 99})
    emulator.flush_webhooks()
    # then it is recorded as drift and the source is untouched
    assert world.level(world.source, "TOTE-1") == 25
    drift = SyncEvent.objects.get(kind="drift")
    assert (drift.from_value, drift.to_value) == ("25", "99")
    # and once the grace period has passed, it is healed
    reconcile_all(world)
    assert world.level(world.destinations[0], "TOTE-1") == 25
    assert world.level(world.source, "TOTE-1") == 25


def test_writes_are_batched_and_carry_idempotency_keys(emulator):
    world = build(emulator)
    reconcile_all(world)
    batches = InventoryWriteBatch.objects.filter(status="done")
    # one batch per destination for all three variants
    assert batches.count() == 2
    assert all(len(batch.items) == 3 for batch in batches)
    assert len({batch.idempotency_key for batch in batches}) == 2



def totes_written(world) -> tuple[Shop, DestinationStock]:
    """Destination 1 and its totes' stock row, as Syncer last wrote it."""
    destination = Shop.objects.get(domain=world.destinations[0])
    return destination, DestinationStock.objects.get(
        destination=destination, variant_link__source_variant__sku="TOTE-1")


def level_arrives(destination: Shop, stock: DestinationStock, *, available: int,
                  updated_at) -> set[int]:
    """An inventory_levels/update of the row's item and location, handled as its webhook is."""
    with transaction.atomic():
        return destination_level_changed(
            destination=destination, location_id=stock.location_id, available=available,
            inventory_item_id=stock.variant_link.destination_inventory_item_id,
            updated_at=updated_at)


def test_a_late_destination_level_from_before_our_write_is_history_not_drift(emulator):
    # given a destination we have written to
    world = build(emulator)
    reconcile_all(world)
    destination, stock = totes_written(world)
    # when a delivery describing the level as it was before that write arrives late
    flush = level_arrives(destination, stock, available=0,
                          updated_at=stock.last_written_at - timedelta(seconds=30))
    # then nothing is recorded or rewritten
    assert flush == set()
    assert SyncEvent.objects.filter(kind="drift").count() == 0
    stock.refresh_from_db()
    assert (stock.known_quantity, stock.dirty) == (25, False)
    # but a level changed clearly after our write is drift
    flush = level_arrives(destination, stock, available=0,
                          updated_at=stock.last_written_at + timedelta(seconds=5))
    assert flush == {destination.pk}
    assert SyncEvent.objects.filter(kind="drift").count() == 1


def test_the_echo_of_a_quantity_our_write_replaced_is_history_even_in_the_same_second(emulator):
    # given a destination whose totes we wrote from 25 down to 20
    world = build(emulator)
    reconcile_all(world)
    source_adjust(world, "TOTE-1", delta=-5)
    settle(world)
    destination, stock = totes_written(world)
    assert (stock.known_quantity, SyncEvent.objects.filter(kind="drift").count()) == (20, 0)
    # when the echo of the earlier write (25) arrives after it, stamped the same second
    flush = level_arrives(destination, stock, available=25, updated_at=stock.last_written_at)
    # then it is history: nothing recorded, nothing to write
    assert flush == set()
    assert SyncEvent.objects.filter(kind="drift").count() == 0
    stock.refresh_from_db()
    assert (stock.known_quantity, stock.dirty) == (20, False)
    # but the same quantity stamped clearly after our write is a hand edit
    flush = level_arrives(destination, stock, available=25,
                          updated_at=stock.last_written_at + timedelta(seconds=5))
    assert flush == {destination.pk}
    assert list(SyncEvent.objects.filter(kind="drift").values_list(
        "from_value", "to_value")) == [("20", "25")]


def test_the_echo_of_our_write_delivered_after_a_hand_edit_does_not_undo_it(emulator):
    # given a destination we wrote 25 totes to, whose merchant then set 31 in the same second
    world = build(emulator)
    reconcile_all(world)
    destination, stock = totes_written(world)
    item_id = stock.variant_link.destination_inventory_item_id
    written, edited = stock.last_written_at, stock.last_written_at + timedelta(milliseconds=300)

    def delivered(webhook_id: str, available: int, triggered_at) -> None:
        body = json.dumps({"inventory_item_id": item_id, "location_id": stock.location_id,
                           "available": available,
                           "updated_at": written.replace(microsecond=0).isoformat()})
        webhook_delivery_receive(
            shop_domain=destination.domain, topic="inventory_levels/update",
            webhook_id=webhook_id, event_id=webhook_id, triggered_at=triggered_at,
            api_version="2026-07", raw_body=body)

    # when Shopify delivers the edit first and the echo of our write (triggered before) last
    delivered("edit", 31, edited)
    delivered("echo", 25, written)
    # then the edit stands: recorded once as drift, and the echo changes nothing back
    stock.refresh_from_db()
    assert (stock.known_quantity, stock.dirty, stock.level_triggered_at) == (31, True, edited)
    assert list(SyncEvent.objects.filter(kind="drift").values_list(
        "from_value", "to_value")) == [("25", "31")]
    assert set(WebhookDelivery.objects.filter(webhook_id__in=["edit", "echo"]).values_list(
        "status", flat=True)) == {"processed"}


def test_large_catalogues_are_reconciled_with_bulk_queries(emulator, settings):
    # given a catalogue above the bulk threshold, with a destination edited by hand and the
    # webhook telling us lost
    settings.INVENTORY_BULK_READ_MIN_ITEMS = 3
    world = build(emulator)
    reconcile_all(world)
    emulator.faults(webhook_drop_rate=1.0)
    emulator._json("POST", f"/_emulator/shops/{world.destinations[0]}/inventory",
                   json={"sku": "TOTE-1", "available": 99})
    emulator.faults(webhook_drop_rate=0.0)
    before = emulator._json("GET", "/_emulator/stats")["root_fields"]
    # when the merchant reconciles
    reconcile_all(world)
    # then each side was read with one bulk query, not page by page, and the drift is healed
    after = emulator._json("GET", "/_emulator/stats")["root_fields"]

    def moved(shop: str, field: str) -> int:
        return after.get(shop, {}).get(field, 0) - before.get(shop, {}).get(field, 0)

    assert [moved(shop, "bulkOperationRunQuery") for shop in (world.source, *world.destinations)
            ] == [2, 1, 1]  # the source once per connection
    assert [moved(shop, "nodes") for shop in (world.source, *world.destinations)] == [0, 0, 0]
    assert world.level(world.destinations[0], "TOTE-1") == 25
    run = ReconciliationRun.objects.filter(
        connection__destination__domain=world.destinations[0]).latest("pk")
    assert (run.status, run.drift_found, run.drift_fixed) == ("done", 1, 1)


def test_zero_stock_breaker_holds_back_a_mass_zeroing_until_the_merchant_decides(emulator,
                                                                                  settings,
                                                                                  client):
    # given destinations following a three-variant source, a breaker at two zeros and half
    settings.INVENTORY_ZERO_BREAKER_MIN = 2
    settings.INVENTORY_ZERO_BREAKER_SHARE = 0.5
    world = build(emulator)
    reconcile_all(world)
    dest = world.destinations[0]
    # when the source's stock goes to zero for one variant, then for a second
    source_adjust(world, "SHIRT-S", available=0)
    settle(world)
    source_adjust(world, "SHIRT-M", available=0)
    settle(world)
    # then the first zero is written but the second, which makes two of three, is held back
    assert world.levels(dest) == {"SHIRT-S": 0, "SHIRT-M": 8, "TOTE-1": 25}
    held = DestinationStock.objects.get(destination__domain=dest,
                                        variant_link__source_variant__sku="SHIRT-M")
    assert held.hold == "held"
    event = SyncEvent.objects.get(connection=held.variant_link.connection, result="skipped")
    assert (event.from_value, event.to_value) == ("8", "0")
    assert event.cause == "held back: 2 of 3 synced variants would go to zero within 10 minutes"
    # and the destination merchant sees it and lets it through
    connection = held.variant_link.connection
    page = client.get("/inventory/", headers=headers(emulator, dest))
    assert "1 variant would have gone to zero" in page.content.decode()
    response = client.post(f"/inventory/sources/{connection.pk}/zeros",
                           headers=headers(emulator, dest))
    assert response.status_code == 200
    settle(world)
    assert world.levels(dest) == {"SHIRT-S": 0, "SHIRT-M": 0, "TOTE-1": 25}
    held.refresh_from_db()
    assert held.hold == "released"
    # and once the source has stock again, the variant follows it as before
    source_adjust(world, "SHIRT-M", available=4)
    settle(world)
    assert world.level(dest, "SHIRT-M") == 4
    held.refresh_from_db()
    assert held.hold == ""


def test_zero_stock_breaker_lets_ordinary_sell_outs_through(emulator, settings):
    # given the default breaker (20 variants and half of them)
    world = build(emulator)
    reconcile_all(world)
    # when two of three variants sell out at the source
    source_adjust(world, "SHIRT-S", available=0)
    source_adjust(world, "SHIRT-M", available=0)
    settle(world)
    # then both zeros are written everywhere and nothing is held
    for destination in world.destinations:
        assert world.levels(destination) == {"SHIRT-S": 0, "SHIRT-M": 0, "TOTE-1": 25}
    assert DestinationStock.objects.exclude(hold="").count() == 0


def test_a_burst_of_changes_waits_for_the_one_flush_already_queued(emulator):
    world = build(emulator)
    reconcile_all(world)
    first = Shop.objects.get(domain=world.destinations[0])
    queued = f"syncer:inventory-flush-queued:{first.pk}"
    batches_before = InventoryWriteBatch.objects.filter(destination=first).count()
    # given a flush of the first destination already waiting in the broker
    redis_client().set(queued, 1, ex=60)
    # when the source changes twice
    source_adjust(world, "SHIRT-S", delta=-3)
    source_adjust(world, "SHIRT-S", delta=-1)
    world.emulator.flush_webhooks()
    # then no second flush was queued for it; the other destination was written at once
    assert world.level(world.destinations[0], "SHIRT-S") == 10
    assert world.level(world.destinations[1], "SHIRT-S") == 6
    # and when the waiting flush runs, it writes both changes in one batch
    inventory_flush_destination_task(first.pk)
    assert world.level(world.destinations[0], "SHIRT-S") == 6
    assert InventoryWriteBatch.objects.filter(destination=first).count() == batches_before + 1
    assert redis_client().exists(queued) == 0


def test_rows_held_by_the_zero_breaker_queue_no_flush(emulator):
    world = build(emulator)
    reconcile_all(world)
    first = Shop.objects.get(domain=world.destinations[0])
    queued = f"syncer:inventory-flush-queued:{first.pk}"
    # given every row of a destination held back by the zero-stock breaker, nothing else dirty
    DestinationStock.objects.filter(destination=first).update(
        target=0, dirty=True, due_at=None, hold=DestinationStock.Hold.HELD)
    app = inventory_flush_destination_task.app
    app.conf.task_always_eager = False
    try:
        # when a flush of it has finished and looks for what comes next
        flush_schedule_next(first.pk)
    finally:
        app.conf.task_always_eager = True
    # then no flush was queued: held rows wait for the merchant, not for another flush
    assert redis_client().exists(queued) == 0


def test_a_burst_of_source_changes_waiting_in_the_inbox_is_taken_in_one_pass(emulator):
    world = build(emulator)
    reconcile_all(world)
    location = emulator.shop(world.source, orders=False)["primary_location_id"]
    first = Shop.objects.get(domain=world.destinations[0])
    batches_before = InventoryWriteBatch.objects.filter(destination=first).count()
    changes = {"SHIRT-S": 7, "SHIRT-M": 5, "TOTE-1": 20}
    # (payloads as Shopify sends them, stamped after everything Syncer has seen so far)
    stamp = (timezone.now() + timedelta(seconds=5)).isoformat(timespec="seconds")
    bodies = [json.dumps({"inventory_item_id": world.items[sku][world.source][1],
                          "location_id": location, "available": available, "updated_at": stamp})
              for sku, available in changes.items()]
    # given one bulk edit's three deliveries waiting in the inbox together, with a redelivery
    # of the first and a malformed one among them
    with transaction.atomic():
        ids = [webhook_delivery_receive(
            shop_domain=world.source, topic="inventory_levels/update", webhook_id=f"burst-{n}",
            event_id="one-bulk-edit", triggered_at=timezone.now(), api_version="2026-07",
            raw_body=body)[0] for n, body in enumerate([*bodies, bodies[0], "{not json"])]
    # when the first one's task runs (it takes the others with it), then every change reached
    # every destination, in one batch per destination
    for destination in world.destinations:
        assert world.levels(destination) == changes
    assert InventoryWriteBatch.objects.filter(destination=first).count() == batches_before + 1
    assert list(WebhookDelivery.objects.filter(pk__in=ids).order_by("pk").values_list(
        "status", flat=True)) == ["processed", "processed", "processed", "duplicate", "failed"]


def test_two_flushes_racing_for_the_same_rows_claim_them_once(emulator):
    world = build(emulator)
    reconcile_all(world)
    first = Shop.objects.get(domain=world.destinations[0])
    DestinationStock.objects.filter(destination=first).update(
        target=F("known_quantity") + 1, dirty=True, due_at=None, changed_at=timezone.now())
    claimed_by_second: list = []

    def second_flush_forms_a_batch() -> None:
        try:
            claimed_by_second.append(flush._batch_form(first, zeros_checked=True))
        finally:
            db_connection.close()

    # given a first flush that has claimed the rows and not committed yet
    with transaction.atomic():
        batch, _ = flush._batch_form(first, zeros_checked=True)
        assert len(batch.items) == 3
        # when a second flush tries to claim them and waits for the row locks
        racer = threading.Thread(target=second_flush_forms_a_batch)
        racer.start()
        deadline = time.monotonic() + 10
        while not _waiting_for_a_lock() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_for_a_lock()
    racer.join(timeout=10)
    # then once the first commits, the second finds them taken and forms nothing
    assert claimed_by_second == [(None, False)]
    assert InventoryWriteBatch.objects.filter(destination=first, status="pending").count() == 1


def _waiting_for_a_lock() -> bool:
    with db_connection.cursor() as cursor:
        # (activity is a snapshot kept for the rest of a transaction unless cleared)
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                       "AND datname = current_database()")
        return cursor.fetchone()[0] > 0


def test_the_source_selling_what_a_destination_just_sold_alerts_the_source_and_its_stores(
        emulator, mailoutbox):
    # given a destination that sold the source's 8 medium shirts (the source at 0, no oversell)
    world = last_shirts_sold(emulator)
    assert world.level(world.source, "SHIRT-M") == 0
    assert not AlertDigest.objects.filter(kind=AlertKind.OVERSOLD).exists()
    # when the source's own store sells one more it had promised before that sale reached it
    source_adjust(world, "SHIRT-M", available=-1)
    settle(world)
    # then the source and both stores syncing the shirt are told, once each, in plain words
    detail = ("Linen shirt / SHIRT-M (SHIRT-M) is at -1 at src (its stock went from 0 to -1): "
              "1 sold that src does not have.")
    emails = {shop.domain: shop.email for shop in Shop.objects.all()}
    assert sorted(email.to[0] for email in mailoutbox) == sorted(
        emails[shop] for shop in (world.source, *world.destinations))
    assert all(detail in email.body for email in mailoutbox)
    # and when a later change takes it back up, nobody is told again
    source_adjust(world, "SHIRT-M", available=2)
    settle(world)
    assert len(mailoutbox) == 3
    assert [digest.pending_count for digest in AlertDigest.objects.filter(
        kind=AlertKind.OVERSOLD)] == [0, 0, 0]
