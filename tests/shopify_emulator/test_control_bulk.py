"""Control API for large setups and timing: bulk products, bulk stock, the inventory change log,
and per-root-field request counts in the stats."""

from __future__ import annotations

import time

import httpx
import pytest

from shopify_emulator.app import create_app
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.ids import gid

SECRET = "bulk-test-secret-0123456789abcdef0123456789"
API_KEY = "bulk-test-client-id"
SHOP = "bulk.myshopify.com"
OTHER = "other.myshopify.com"


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict]] = []

    def __call__(self, shop: str, topic: str, payload: dict) -> None:
        self.events.append((shop, topic, payload))


@pytest.fixture
def emulator():
    app = create_app(config=EmulatorConfig(app_secret=SECRET, api_key=API_KEY,
                                           app_url="http://127.0.0.1:8000",
                                           deliver_webhooks=False))
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://emulator")
    yield app, client
    client.close()
    app.webhooks.close()


def _shop(client: httpx.Client, domain: str = SHOP) -> str:
    response = client.post("/_emulator/shops", json={"domain": domain})
    assert response.status_code == 201
    return response.json()["access_token"]


def _bulk_products(client: httpx.Client, count: int = 3, domain: str = SHOP) -> list[dict]:
    response = client.post(f"/_emulator/shops/{domain}/products/bulk", json={"products": [
        {"title": f"Product {n}", "variants": [
            {"sku": f"P{n}-{v}", "price": "5.00", "available": n + v} for v in range(2)]}
        for n in range(count)]})
    assert response.status_code == 201
    return response.json()["products"]


def _levels(client: httpx.Client, domain: str = SHOP) -> dict[str, int]:
    snapshot = client.get(f"/_emulator/shops/{domain}").json()
    primary = snapshot["primary_location_id"]
    return {level["sku"]: level["available"] for level in snapshot["inventory_levels"]
            if level["location_id"] == primary}


def test_products_bulk_creates_every_product_and_answers_ids_and_skus(emulator):
    # given
    app, client = emulator
    _shop(client)
    # when
    products = _bulk_products(client, count=3)
    # then
    assert [p["title"] for p in products] == ["Product 0", "Product 1", "Product 2"]
    assert [v["sku"] for v in products[2]["variants"]] == ["P2-0", "P2-1"]
    assert all(v["inventory_item_id"] and v["id"] for p in products for v in p["variants"])
    assert _levels(client) == {"P0-0": 0, "P0-1": 1, "P1-0": 1, "P1-1": 2, "P2-0": 2, "P2-1": 3}


def test_products_bulk_validates_everything_before_creating_anything(emulator):
    # given
    _, client = emulator
    _shop(client)
    # when
    response = client.post(f"/_emulator/shops/{SHOP}/products/bulk", json={"products": [
        {"title": "Fine", "variants": [{"sku": "A"}]}, {"variants": [{"sku": "B"}]}]})
    # then
    assert response.status_code == 400
    assert response.json() == {"error": "title is required"}
    assert client.get(f"/_emulator/shops/{SHOP}").json()["products"] == []


def test_inventory_bulk_sets_and_adjusts_with_one_event_per_changed_level(emulator):
    # given
    app, client = emulator
    _shop(client)
    products = _bulk_products(client, count=2)
    recorder = Recorder()
    app.world.listeners.append(recorder)
    first, second = products[0]["variants"]
    # when
    response = client.post(f"/_emulator/shops/{SHOP}/inventory/bulk", json={"levels": [
        {"inventory_item_id": first["inventory_item_id"], "available": 7},
        {"sku": "P0-1", "delta": -1},
        {"sku": "P1-0", "available": 1},  # unchanged: no event
    ]})
    # then
    assert response.status_code == 200
    levels = response.json()["levels"]
    assert [level["available"] for level in levels] == [7, 0, 1]
    assert levels[0]["inventory_item_id"] == first["inventory_item_id"]
    assert _levels(client)["P0-0"] == 7
    assert _levels(client)["P0-1"] == 0
    updates = [payload for _, topic, payload in recorder.events
               if topic == "inventory_levels/update"]
    assert [(u["inventory_item_id"], u["available"]) for u in updates] == [
        (first["inventory_item_id"], 7), (second["inventory_item_id"], 0)]


def test_inventory_bulk_gives_each_level_its_own_event_id(emulator):
    # given
    app, client = emulator
    _shop(client)
    _bulk_products(client, count=1)
    event_ids = []
    original = app.webhooks._current_event_id
    app.webhooks._current_event_id = lambda: event_ids.append(original()) or event_ids[-1]
    app.world.listeners.append(lambda shop, topic, payload: app.webhooks._current_event_id())
    # when
    client.post(f"/_emulator/shops/{SHOP}/inventory/bulk", json={"levels": [
        {"sku": "P0-0", "available": 20}, {"sku": "P0-1", "available": 21}]})
    # then
    assert len(event_ids) == 2
    assert event_ids[0] != event_ids[1]


VALID = {"sku": "P0-1", "available": 9}


@pytest.mark.parametrize(("body", "error"), [
    ({}, "levels must be a non-empty list of objects"),
    ({"levels": [VALID, {"available": 1}]}, "levels[1] needs inventory_item_id or sku"),
    ({"levels": [VALID, {"sku": "NOPE", "available": 1}]},
     f"No variant with sku 'NOPE' in {SHOP}"),
    ({"levels": [VALID, {"inventory_item_id": 1, "available": 1}]},
     f"Unknown inventory item 1 in {SHOP}"),
    ({"levels": [VALID, {"sku": "P0-0"}]}, "levels[1]: pass exactly one of available or delta"),
])
def test_inventory_bulk_bad_input_is_400_and_changes_nothing(emulator, body, error):
    # given
    _, client = emulator
    _shop(client)
    _bulk_products(client, count=1)
    # when
    response = client.post(f"/_emulator/shops/{SHOP}/inventory/bulk", json=body)
    # then
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert _levels(client) == {"P0-0": 0, "P0-1": 1}


def test_inventory_changes_lists_level_changes_of_every_cause_since_a_time(emulator):
    # given
    _, client = emulator
    token = _shop(client)
    _shop(client, OTHER)
    _bulk_products(client, count=1)
    _bulk_products(client, count=1, domain=OTHER)
    before = time.time()
    time.sleep(0.01)
    other_item = client.get(f"/_emulator/shops/{OTHER}").json()["inventory_levels"][0]
    # when: a control API edit, a GraphQL write, and one on another shop
    client.post(f"/_emulator/shops/{SHOP}/inventory", json={"sku": "P0-0", "available": 4})
    levels = client.get(f"/_emulator/shops/{SHOP}").json()["inventory_levels"]
    item = next(level for level in levels if level["sku"] == "P0-1")
    written = client.post(
        f"/shops/{SHOP}/admin/api/2026-07/graphql.json", headers={"X-Shopify-Access-Token": token},
        json={"query": SET, "variables": {"key": "k1", "input": {
            "name": "available", "reason": "correction", "quantities": [{
                "inventoryItemId": gid("InventoryItem", item["inventory_item_id"]),
                "locationId": gid("Location", item["location_id"]), "quantity": 9,
                "changeFromQuantity": 1}]}}})
    assert written.json()["data"]["inventorySetQuantities"]["userErrors"] == []
    client.post(f"/_emulator/shops/{OTHER}/inventory", json={"sku": "P0-0", "available": 3})
    # then
    reply = client.get("/_emulator/inventory/changes", params={"since": before}).json()
    assert [(c["shop"], c["available"]) for c in reply["changes"]] == [
        (SHOP, 4), (SHOP, 9), (OTHER, 3)]
    assert before < reply["changes"][0]["at"] <= reply["changes"][1]["at"] <= reply["now"]
    mine = client.get("/_emulator/inventory/changes",
                      params={"since": before, "shop": "other"}).json()["changes"]
    assert [(c["inventory_item_id"], c["available"]) for c in mine] == [
        (other_item["inventory_item_id"], 3)]
    later = client.get("/_emulator/inventory/changes",
                       params={"since": reply["changes"][1]["at"]}).json()["changes"]
    assert [c["shop"] for c in later] == [OTHER]


def test_inventory_changes_rejects_a_bad_since(emulator):
    _, client = emulator
    response = client.get("/_emulator/inventory/changes", params={"since": "yesterday"})
    assert response.status_code == 400


def test_stats_count_requests_per_root_field(emulator):
    # given
    _, client = emulator
    token = _shop(client)
    headers = {"X-Shopify-Access-Token": token}
    url = f"/shops/{SHOP}/admin/api/2026-07/graphql.json"
    # when
    for _ in range(2):
        client.post(url, headers=headers, json={"query": "{ shop { name } }"})
    client.post(url, headers=headers, json={"query": "{ shop { name } locations(first: 5) { "
                                                     "nodes { id } } }"})
    client.post(url, headers=headers, json={"query": "{ nope }"})  # invalid: not executed
    # then
    stats = client.get("/_emulator/stats").json()
    assert stats["root_fields"][SHOP] == {"shop": 3, "locations": 1}
    assert stats["shops"][SHOP]["graphql_requests"] == 4
    client.post("/_emulator/reset")
    assert client.get("/_emulator/stats").json()["root_fields"] == {}


SET = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    userErrors { field message code }
  }
}
"""
