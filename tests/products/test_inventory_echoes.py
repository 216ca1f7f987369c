"""The echoes of our own stock writes are answered at the webhook door and not stored
(products/inventory/echoes.py); everything else a destination's levels say is stored and judged
as before."""

import json
import uuid

import pytest
from prometheus_client import REGISTRY

from products.inventory import flush
from products.inventory.echoes import echoes_expect
from products.models import DestinationStock, InventoryWriteBatch, SyncEvent
from stores.models import Shop
from tests.products.inventory_world import build, source_adjust
from tests.products.test_inventory_engine import reconcile_all, settle, totes_written
from tests.webhooks.conftest import webhook_headers
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)

TOPIC = "inventory_levels/update"


def echoes_answered() -> float:
    return REGISTRY.get_sample_value("syncer_webhook_echoes_total", {"topic": TOPIC}) or 0


def stored_levels(domain: str) -> int:
    return WebhookDelivery.objects.filter(shop_domain=domain, topic=TOPIC).count()


def deliver(client, domain: str, stock: DestinationStock, *, available: int,
            secret: str | None = None):
    body = json.dumps({"inventory_item_id": stock.variant_link.destination_inventory_item_id,
                       "location_id": stock.location_id, "available": available,
                       "updated_at": "2026-12-05T10:00:00Z"}).encode()
    return client.post("/webhooks/shopify", data=body, content_type="application/json",
                       headers=webhook_headers(topic=TOPIC, shop=domain, body=body,
                                               secret=secret))


def mark(destination: Shop, stock: DestinationStock, quantity: int) -> None:
    echoes_expect(shop_domain=destination.domain, items=[{
        "item": stock.variant_link.destination_inventory_item_id,
        "location": stock.location_id, "quantity": quantity}])


@pytest.fixture
def totes_marked(emulator) -> tuple[Shop, DestinationStock]:
    """A destination's totes level we have just set to 25, marked as the flush marks it."""
    world = build(emulator)
    reconcile_all(world)
    destination, stock = totes_written(world)
    mark(destination, stock, 25)
    return destination, stock


def test_the_echoes_of_a_fan_out_are_answered_at_the_door_and_not_stored(emulator):
    # given two destinations in step with the source
    world = build(emulator)
    reconcile_all(world)
    settle(world)
    before = echoes_answered()
    stored = {domain: stored_levels(domain) for domain in world.destinations}
    # when the source sells 3 shirts and Syncer writes both destinations (Shopify echoing)
    source_adjust(world, "SHIRT-S", delta=-3)
    settle(world)
    # then both show 7, each echo was answered at the door, none stored, nothing taken as drift
    assert [world.level(domain, "SHIRT-S") for domain in world.destinations] == [7, 7]
    assert echoes_answered() - before == 2
    assert {domain: stored_levels(domain) for domain in world.destinations} == stored
    assert not SyncEvent.objects.filter(kind=SyncEvent.Kind.DRIFT).exists()
    assert set(DestinationStock.objects.filter(
        variant_link__source_variant__sku="SHIRT-S").values_list("known_quantity",
                                                                 flat=True)) == {7}


def test_a_mark_answers_one_delivery_and_the_next_one_is_stored(totes_marked, client):
    # given a level we have just set to 25
    destination, stock = totes_marked
    stored = stored_levels(destination.domain)
    # when it is delivered with 25 twice (Shopify's echo, then a hand edit back to 25)
    first = deliver(client, destination.domain, stock, available=25)
    second = deliver(client, destination.domain, stock, available=25)
    # then the first is answered as an echo and only the second is stored
    assert (first.status_code, first.json()) == (200, {"status": "echo"})
    assert (second.status_code, second.json()) == (200, {"status": "accepted"})
    assert stored_levels(destination.domain) == stored + 1


def test_a_first_delivery_with_another_quantity_is_stored_and_takes_the_mark(totes_marked,
                                                                           client):
    # given a level we have just set to 25
    destination, stock = totes_marked
    stored = stored_levels(destination.domain)
    # when a sale's 24 comes first, then a hand edit back to 25
    sale = deliver(client, destination.domain, stock, available=24)
    back = deliver(client, destination.domain, stock, available=25)
    # then both are stored, to be judged by the worker
    assert [sale.json(), back.json()] == [{"status": "accepted"}] * 2
    assert stored_levels(destination.domain) == stored + 2


def test_a_badly_signed_delivery_is_refused_and_leaves_the_mark(totes_marked, client):
    # given a level we have just set to 25
    destination, stock = totes_marked
    # when a delivery of it is signed with another secret, then the real echo comes
    forged = deliver(client, destination.domain, stock, available=25, secret="not-ours")
    echo = deliver(client, destination.domain, stock, available=25)
    # then the forgery is refused and the echo is still known for one
    assert forged.status_code == 401
    assert echo.json() == {"status": "echo"}


def test_a_source_level_is_never_taken_for_an_echo(totes_marked, client):
    # given a destination level just marked at 25, and the source's shop
    destination, stock = totes_marked
    source = Shop.objects.get(role=Shop.Role.SOURCE)
    stored = stored_levels(source.domain)
    # when the source delivers a level with the same ids and figure
    answer = deliver(client, source.domain, stock, available=25)
    # then it is stored (marks are kept per shop), and the destination's mark is still there
    assert answer.json() == {"status": "accepted"}
    assert stored_levels(source.domain) == stored + 1
    assert deliver(client, destination.domain, stock, available=25).json() == {
        "status": "echo"}


def test_a_refused_write_takes_its_marks_back(emulator, client):
    # given a destination whose totes were edited by hand (the webhook lost) after our write
    world = build(emulator)
    reconcile_all(world)
    destination, stock = totes_written(world)
    emulator.faults(webhook_drop_rate=1.0)
    emulator._json("POST", f"/_emulator/shops/{destination.domain}/inventory",
                   json={"sku": "TOTE-1", "available": 40})
    emulator.faults(webhook_drop_rate=0.0)
    # when a batch setting 30 from the 25 we believe is sent, and Shopify refuses it (stale)
    item = {"stock": stock.pk, "item": stock.variant_link.destination_inventory_item_id,
            "location": stock.location_id, "quantity": 30, "from": 25}
    batch = InventoryWriteBatch.objects.create(
        destination=destination, idempotency_key=f"syncer-set-{uuid.uuid4()}", items=[item],
        status=InventoryWriteBatch.Status.PENDING, attempts=1)
    outcome = flush._batch_send(destination, batch)
    # then its mark is gone: a later 30 set by hand there is stored and judged
    assert outcome == "stale"
    assert deliver(client, destination.domain, stock, available=30).json() == {
        "status": "accepted"}
