"""A destination's sale whose webhook is stored but not yet processed (its queue entry lost in a
Redis restart) is not counted at the source yet: healing the destination's "drift" back to the
source figure meanwhile would hand the sold units back to it to sell twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from products.inventory import flush
from products.inventory.reconciliation import reconciliation_start
from products.inventory.tasks import inventory_sweep_task, reconciliation_run_task
from products.models import DestinationStock, InventoryEffect
from stores.models import Connection, Shop
from tests.conftest import broker_unreachable
from tests.products.inventory_world import build
from webhooks.inbox import webhook_delivery_process
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_deliveries_sweep

pytestmark = pytest.mark.django_db(transaction=True)


def _reconcile_all(world) -> None:
    for connection in Connection.objects.all():
        reconciliation_run_task(reconciliation_start(connection=connection,
                                                     trigger="merchant").pk)
    world.emulator.flush_webhooks()


def _sale_with_lost_queue_entries(world, emulator, *, sku: str, quantity: int) -> None:
    """A customer buys at destination 1 while the broker is gone: Shopify's deliveries are
    stored, their tasks never queued. Then the broker is back, and the destination's own level
    change (the sale's stock drop) is processed; the order deliveries still wait."""
    with broker_unreachable():
        emulator.order_create(world.destinations[0], lines=[{"sku": sku, "quantity": quantity}],
                              financial_status="paid")
        emulator.flush_webhooks()
    level_changes = WebhookDelivery.objects.filter(
        shop_domain=world.destinations[0], topic="inventory_levels/update", status="received")
    for delivery_id in level_changes.values_list("pk", flat=True):
        webhook_delivery_process(delivery_id=delivery_id)


def test_drift_healing_never_raises_a_destination_over_its_uncounted_sale(emulator):
    # given every store at 25 totes
    world = build(emulator)
    _reconcile_all(world)
    destination = Shop.objects.get(domain=world.destinations[0])
    # and a sale of 2 at destination 1 whose order webhooks wait in the inbox
    _sale_with_lost_queue_entries(world, emulator, sku="TOTE-1", quantity=2)
    assert WebhookDelivery.objects.filter(shop_domain=world.destinations[0],
                                          topic__startswith="orders/",
                                          status="received").exists()
    assert world.level(world.destinations[0], "TOTE-1") == 23
    # when its drift grace has passed and the destination is flushed
    DestinationStock.objects.filter(destination=destination).update(due_at=timezone.now())
    flush.inventory_flush_destination(destination_id=destination.pk)
    # then the sold units are not handed back: the raise waits for the sale to be counted
    assert world.level(world.destinations[0], "TOTE-1") == 23
    assert world.level(world.source, "TOTE-1") == 25
    waiting = DestinationStock.objects.get(
        destination=destination, variant_link__destination_variant_id=world.items[
            "TOTE-1"][world.destinations[0]][0])
    assert (waiting.dirty, waiting.known_quantity, waiting.target) == (True, 23, 25)

    # when the sweeper finds the order deliveries and the sale is counted
    WebhookDelivery.objects.filter(status="received").update(
        due_at=timezone.now() - timedelta(seconds=1))
    webhook_deliveries_sweep()
    for _ in range(3):
        emulator.flush_webhooks()
        inventory_sweep_task()
    # then every store shows the 23 left, and the source moved once
    assert [world.level(shop, "TOTE-1") for shop in (world.source, *world.destinations)] == [
        23, 23, 23]
    assert list(InventoryEffect.objects.values_list("kind", "delta", "status")) == [
        ("sale", -2, "applied")]


def test_lowering_a_destination_is_not_held_back_by_its_uncounted_sale(emulator):
    # given every store at 25 totes, and a sale of 2 at destination 1 still in the inbox
    world = build(emulator)
    _reconcile_all(world)
    destination = Shop.objects.get(domain=world.destinations[0])
    _sale_with_lost_queue_entries(world, emulator, sku="TOTE-1", quantity=2)
    # when the source merchant takes 10 totes away (a source level change, processed)
    emulator._json("POST", f"/_emulator/shops/{world.source}/inventory",
                   json={"sku": "TOTE-1", "delta": -10})
    emulator.flush_webhooks()
    DestinationStock.objects.filter(destination=destination).update(due_at=timezone.now())
    flush.inventory_flush_destination(destination_id=destination.pk)
    # then destination 1 comes down to the source's 15 at once (lowering cannot oversell)
    assert world.level(world.source, "TOTE-1") == 15
    assert world.level(world.destinations[0], "TOTE-1") == 15
