import re

import pytest

from products.models import ReconciliationRun
from stores.auth import shop_csrf_token
from stores.models import Connection, Shop
from tests.products.inventory_world import build

pytestmark = pytest.mark.django_db(transaction=True)


def as_shop(emulator, domain):
    return {"Authorization": f"Bearer {emulator.session_token(domain)}", "HX-Request": "true",
            "X-CSRFToken": shop_csrf_token(shop_domain=domain, user_id="1")}


def test_source_chooses_shared_and_decrement_locations(client, emulator):
    world = build(emulator, destinations=1)
    locations = emulator.shop(world.source)["locations"]
    first, second = locations[0]["id"], locations[1]["id"]
    page = client.get("/inventory/", headers=as_shop(emulator, world.source))
    assert page.status_code == 200
    html = page.content.decode()
    assert locations[1]["name"] in html
    # every location is a check box, and with nothing chosen yet all are shared
    boxes = re.findall(r'<input type="checkbox" name="shared_location_ids" value="(\d+)"[^>]*>',
                       html)
    assert boxes == [str(first), str(second)]
    assert html.count('name="shared_location_ids" value=') == 2
    assert len(re.findall(r'name="shared_location_ids" value="\d+"[^>]* checked', html)) == 2
    # a decrement location outside the shared ones is refused
    refused = client.post("/inventory/source", {"shared_location_ids": [first],
                                                "decrement_location_id": second},
                          headers=as_shop(emulator, world.source))
    assert refused.status_code == 422
    assert "Sales must be taken from one of the shared locations." in refused.content.decode()
    saved = client.post("/inventory/source", {"shared_location_ids": [first, second],
                                              "decrement_location_id": second},
                        headers=as_shop(emulator, world.source))
    assert saved.status_code == 200
    settings = Shop.objects.get(domain=world.source).settings
    assert (settings["shared_location_ids"], settings["decrement_location_id"]) == (
        [first, second], second)


def test_destination_safety_stock_and_resync_now(client, emulator):
    world = build(emulator, destinations=1)
    destination = world.destinations[0]
    connection = Connection.objects.get()
    response = client.post(f"/inventory/sources/{connection.pk}/resync",
                           headers=as_shop(emulator, destination))
    assert response.status_code == 200
    emulator.flush_webhooks()
    run = ReconciliationRun.objects.get()
    assert (run.status, run.checked, run.total) == ("done", 3, 3)
    assert world.levels(destination) == {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}
    progress = client.get(f"/inventory/sources/{connection.pk}/resync/{run.pk}",
                          headers=as_shop(emulator, destination))
    assert progress.status_code == 286  # stop polling: done
    assert "3 variants checked" in progress.content.decode()
    # when the destination keeps 5 units of safety stock
    location = emulator.shop(destination)["primary_location_id"]
    saved = client.post(f"/inventory/sources/{connection.pk}", {
        f"c{connection.pk}-destination_location_id": location,
        f"c{connection.pk}-safety_stock": 5}, headers=as_shop(emulator, destination))
    assert saved.status_code == 200
    emulator.flush_webhooks()
    assert world.levels(destination) == {"SHIRT-S": 5, "SHIRT-M": 3, "TOTE-1": 20}


def test_settings_of_another_destinations_connection_are_refused(client, emulator):
    world = build(emulator, destinations=2)
    other = Connection.objects.get(destination__domain=world.destinations[1])
    response = client.post(f"/inventory/sources/{other.pk}/resync",
                           headers=as_shop(emulator, world.destinations[0]))
    assert response.status_code == 404
    assert ReconciliationRun.objects.count() == 0


def test_count_pending_orders_takes_only_on_or_off(client, emulator):
    # given a destination whose connection does not count pending orders
    world = build(emulator)
    destination = world.destinations[0]
    connection = Connection.objects.get(destination__domain=destination)
    location = emulator.shop(destination)["primary_location_id"]
    # when a script sends something that is neither on nor off
    response = client.post(f"/inventory/sources/{connection.pk}", {
        f"c{connection.pk}-destination_location_id": location,
        f"c{connection.pk}-safety_stock": 0,
        f"c{connection.pk}-count_pending_orders": "maybe"}, headers=as_shop(emulator, destination))
    # then it is a field error and the setting stays off
    assert response.status_code == 422
    assert "Choose on or off." in response.content.decode()
    connection.refresh_from_db()
    assert connection.count_pending_orders is False


def test_a_new_receiving_location_takes_the_stock_and_the_old_one_is_emptied(client, emulator):
    # given a destination showing the source's stock at its primary location
    world = build(emulator, destinations=1)
    destination = world.destinations[0]
    connection = Connection.objects.get()
    assert client.post(f"/inventory/sources/{connection.pk}/resync",
                       headers=as_shop(emulator, destination)).status_code == 200
    emulator.flush_webhooks()
    locations = emulator.shop(destination)["locations"]
    primary, second = locations[0]["id"], locations[1]["id"]
    # when the merchant chooses the second location on the Inventory page
    saved = client.post(f"/inventory/sources/{connection.pk}", {
        f"c{connection.pk}-destination_location_id": second,
        f"c{connection.pk}-safety_stock": 0}, headers=as_shop(emulator, destination))
    assert saved.status_code == 200
    assert "The source's stock moves to Second location and is set to 0 at Main warehouse." in (
        saved.headers["HX-Trigger"])
    emulator.flush_webhooks()
    # then the source's stock is there, and no longer on sale at the primary location too
    levels = {(level["inventory_item_id"], level["location_id"]): level["available"]
              for level in emulator.shop(destination)["inventory_levels"]}
    items = {sku: shops[destination][1] for sku, shops in world.items.items()}
    assert {sku: (levels.get((item, second)), levels[(item, primary)])
            for sku, item in items.items()} == {
        "SHIRT-S": (10, 0), "SHIRT-M": (8, 0), "TOTE-1": (25, 0)}
