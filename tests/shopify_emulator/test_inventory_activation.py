"""Where an item is stocked, with Shopify's 2026-04 semantics: a deactivated level stays,
inactive, with its quantities; activating it again brings them back unless `available`/`onHand`
are given; `isActive` and `includeInactive`; inventoryDeactivate and
inventoryBulkToggleActivation with their userErrors. Through graphql_api.execute, against the
2026-04 captures where Shopify was recorded."""

from __future__ import annotations

import json

import httpx

from shopify_emulator.app import create_app
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.domains.orders.operations import order_checkout
from shopify_emulator.fidelity import build_report, load_requests
from shopify_emulator.ids import inventory_level_gid
from shopify_emulator.world import World
from tests.shopify_emulator.graphql_support import (
    SHOP,
    call,
    capture,
    document,
    ids_for,
    make_world,
)

LIFECYCLE = "2026-04/products/inventory-inactive-level-lifecycle-2026-04.json"
VALIDATION = "2026-04/products/inventory-deactivate-validation-2026-04.json"
QUANTITIES = ["available", "on_hand", "incoming"]
ACTIVATE = """
mutation Activate($item: ID!, $location: ID!, $available: Int, $onHand: Int, $key: String!) {
  inventoryActivate(inventoryItemId: $item, locationId: $location, available: $available,
                    onHand: $onHand) @idempotent(key: $key) {
    inventoryLevel { id isActive quantities(names: ["available", "on_hand"]) { name quantity } }
    userErrors { field message }
  }
}
"""
SET = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    userErrors { field message code }
  }
}
"""
TOGGLE = """
mutation Toggle($item: ID!, $updates: [InventoryBulkToggleActivationInput!]!) {
  inventoryBulkToggleActivation(inventoryItemId: $item, inventoryItemUpdates: $updates) {
    inventoryItem { id }
    inventoryLevels { location { id } isActive quantities(names: ["available"]) { quantity } }
    userErrors { field message code }
  }
}
"""
LEVELS = """
query Levels($item: ID!, $location: ID!, $inactive: Boolean) {
  inventoryItem(id: $item) {
    locationsCount { count }
    variant { inventoryQuantity }
    inventoryLevels(first: 5, includeInactive: $inactive) {
      nodes { location { id } isActive quantities(names: ["available"]) { quantity } }
    }
    inventoryLevel(locationId: $location, includeInactive: $inactive) { isActive }
  }
  location(id: $location) {
    inventoryLevels(first: 5, includeInactive: $inactive) { nodes { isActive } }
  }
}
"""


def stocked_at_both(world: World, *, second: int = 7) -> tuple[dict, str]:
    """SKU-1 with 5 at the primary location and `second` at the second one."""
    ids = ids_for(world, "SKU-1")
    activated = call(world, ACTIVATE, {"item": ids["item"], "location": ids["second_location"],
                                       "available": second, "key": "stock-second"})
    assert activated["data"]["inventoryActivate"]["userErrors"] == []
    shop = world.shop_get(SHOP)
    assert shop is not None
    second_id = int(ids["second_location"].rsplit("/", 1)[1])
    level = shop.inventory_items[ids["item_id"]].levels[second_id]
    return ids, level.gid


def deactivate(world: World, level_gid: str, key: str = "deactivate") -> dict:
    body = call(world, document("inventory-inactive-lifecycle-deactivate.graphql"),
                {"inventoryLevelId": level_gid, "idempotencyKey": key})
    return body["data"]["inventoryDeactivate"]


def levels(world: World, ids: dict, *, inactive: bool | None) -> dict:
    variables = {"item": ids["item"], "location": ids["second_location"]}
    if inactive is not None:
        variables["inactive"] = inactive
    return call(world, LEVELS, variables)["data"]


def projection(data: dict) -> dict:
    """What the lifecycle read says about stock, whatever the ids and names."""
    item = data["inventoryItem"]

    def level(node: dict | None) -> tuple | None:
        if node is None:
            return None
        return node["isActive"], {q["name"]: q["quantity"] for q in node["quantities"]}

    return {"inventoryQuantity": item["variant"]["inventoryQuantity"],
            "levels": [level(node) for node in item["inventoryLevels"]["nodes"]],
            "inactiveLevel": level(item["inactiveLevel"]),
            "byId": level(data["inventoryLevel"])}


def lifecycle_read(world: World, ids: dict, level_gid: str) -> dict:
    return call(world, document("inventory-inactive-lifecycle-read.graphql"), {
        "inventoryItemId": ids["item"], "inventoryLevelId": level_gid,
        "inactiveLocationId": ids["second_location"]})["data"]


# --------------------------------------------------------------------------- the lifecycle


def test_a_deactivated_level_stays_inactive_with_its_quantities_as_in_the_capture() -> None:
    # given Shopify's recorded item: 5 at the first location, 7 at the second
    recorded = capture(LIFECYCLE)
    world, _ = make_world(available=5)
    ids, level_gid = stocked_at_both(world)
    # when the second level is deactivated
    assert deactivate(world, level_gid) == {"userErrors": []}
    # then the read answers what Shopify answered: the level listed with includeInactive, in
    # its place, isActive false, its 7 kept; the variant counts the active 5 only
    expected = recorded["inventoryInactiveLifecycleReadAfterDeactivate"]["response"]["data"]
    assert projection(lifecycle_read(world, ids, level_gid)) == projection(expected) == {
        "inventoryQuantity": 5,
        "levels": [(True, {"available": 5, "on_hand": 5, "incoming": 0}),
                   (False, {"available": 7, "on_hand": 7, "incoming": 0})],
        "inactiveLevel": (False, {"available": 7, "on_hand": 7, "incoming": 0}),
        "byId": (False, {"available": 7, "on_hand": 7, "incoming": 0})}


def test_activating_again_brings_back_the_earlier_quantities_as_in_the_capture() -> None:
    # given the deactivated level of the capture
    recorded = capture(LIFECYCLE)
    world, recorder = make_world(available=5)
    ids, level_gid = stocked_at_both(world)
    deactivate(world, level_gid)
    recorder.events.clear()
    # when it is activated without available or onHand (the capture's document)
    body = call(world, document("inventory-inactive-lifecycle-reactivate.graphql"), {
        "inventoryItemId": ids["item"], "locationId": ids["second_location"],
        "idempotencyKey": "reactivate"})
    # then it is active with its 7 (no reset to 0), the same level id, and the variant has 12
    ours = body["data"]["inventoryActivate"]
    theirs = recorded["inventoryInactiveLifecycleReactivate"]["response"]["data"][
        "inventoryActivate"]
    assert ours["userErrors"] == theirs["userErrors"] == []
    for answer in (ours, theirs):
        level = answer["inventoryLevel"]
        assert level["isActive"] is True
        assert [(q["name"], q["quantity"]) for q in level["quantities"]] == [
            ("available", 7), ("on_hand", 7), ("incoming", 0)]
        assert level["item"]["variant"]["inventoryQuantity"] == 12
    assert ours["inventoryLevel"]["id"] == level_gid
    after = recorded["inventoryInactiveLifecycleReadAfterReactivate"]["response"]["data"]
    assert projection(lifecycle_read(world, ids, level_gid)) == projection(after)
    # and the app hears the level connected again, with its 7
    assert recorder.topics == ["inventory_levels/connect", "inventory_levels/update"]
    assert recorder.of("inventory_levels/update")[0]["available"] == 7


def test_activating_an_inactive_level_with_available_or_on_hand_sets_them() -> None:
    world, _ = make_world(available=5)
    ids, level_gid = stocked_at_both(world)
    deactivate(world, level_gid)
    # when activated again with available 3 (accepted, as the capture shows)
    body = call(world, ACTIVATE, {"item": ids["item"], "location": ids["second_location"],
                                  "available": 3, "key": "again-available"})
    # then available is 3, not the 7 it had
    assert body["data"]["inventoryActivate"]["userErrors"] == []
    assert body["data"]["inventoryActivate"]["inventoryLevel"]["quantities"] == [
        {"name": "available", "quantity": 3}, {"name": "on_hand", "quantity": 3}]
    # and with onHand, on_hand is what was given
    deactivate(world, level_gid, key="deactivate-2")
    body = call(world, ACTIVATE, {"item": ids["item"], "location": ids["second_location"],
                                  "onHand": 11, "key": "again-on-hand"})
    assert body["data"]["inventoryActivate"]["inventoryLevel"]["quantities"] == [
        {"name": "available", "quantity": 11}, {"name": "on_hand", "quantity": 11}]


def test_the_captured_reactivation_with_available_is_accepted() -> None:
    recorded = capture(VALIDATION)
    world, _ = make_world(available=5)
    ids, level_gid = stocked_at_both(world, second=3)
    deactivate(world, level_gid)
    step = recorded["inventoryActivateInactiveAvailable"]
    body = call(world, document("inventory-item-levels-activate.graphql"), {
        "inventoryItemId": ids["item"], "locationId": ids["second_location"],
        "available": step["variables"]["available"], "idempotencyKey": "captured"})
    assert (body["data"]["inventoryActivate"]["userErrors"]
            == step["response"]["data"]["inventoryActivate"]["userErrors"] == [])
    assert body["data"]["inventoryActivate"]["inventoryLevel"]["quantities"][0] == {
        "name": "available", "quantity": 7}


def test_available_on_an_already_active_level_is_refused_in_shopifys_words() -> None:
    recorded = capture(VALIDATION)["inventoryActivateActiveAvailable"]
    world, _ = make_world(available=5)
    ids = ids_for(world, "SKU-1")
    body = call(world, ACTIVATE, {"item": ids["item"], "location": ids["location"],
                                  "available": 7, "key": "active"})
    assert (body["data"]["inventoryActivate"]["userErrors"]
            == recorded["response"]["data"]["inventoryActivate"]["userErrors"])
    assert body["data"]["inventoryActivate"]["inventoryLevel"]["quantities"][0]["quantity"] == 5


# --------------------------------------------------------------------------- reads


def test_include_inactive_filters_every_level_read() -> None:
    world, _ = make_world(available=5)
    ids, level_gid = stocked_at_both(world)
    deactivate(world, level_gid)
    # by default (and with includeInactive: false) the inactive level is in no read
    for inactive in (None, False):
        data = levels(world, ids, inactive=inactive)
        assert data["inventoryItem"]["inventoryLevels"]["nodes"] == [
            {"location": {"id": ids["location"]}, "isActive": True,
             "quantities": [{"quantity": 5}]}]
        assert data["inventoryItem"]["inventoryLevel"] is None
        assert data["location"]["inventoryLevels"]["nodes"] == []
    # with includeInactive: true it is in each, inactive
    data = levels(world, ids, inactive=True)
    assert [node["isActive"] for node in data["inventoryItem"]["inventoryLevels"]["nodes"]] == [
        True, False]
    assert data["inventoryItem"]["inventoryLevel"] == {"isActive": False}
    assert data["location"]["inventoryLevels"]["nodes"] == [{"isActive": False}]
    # and counts are of active levels only
    assert data["inventoryItem"]["locationsCount"] == {"count": 1}
    assert data["inventoryItem"]["variant"] == {"inventoryQuantity": 5}


def test_quantities_cannot_be_written_at_an_inactive_level() -> None:
    world, recorder = make_world(available=5)
    ids, level_gid = stocked_at_both(world)
    deactivate(world, level_gid)
    recorder.events.clear()
    body = call(world, SET, {"key": "write", "input": {
        "name": "available", "reason": "correction", "referenceDocumentUri": "gid://t/T/1",
        "quantities": [{"inventoryItemId": ids["item"], "locationId": ids["second_location"],
                        "quantity": 1, "changeFromQuantity": None}]}})
    assert body["data"]["inventorySetQuantities"]["userErrors"] == [{
        "field": ["input", "quantities", "0", "locationId"],
        "message": "The specified inventory item is not stocked at the location.",
        "code": "ITEM_NOT_STOCKED_AT_LOCATION"}]
    assert levels(world, ids, inactive=True)["inventoryItem"]["inventoryLevel"] == {
        "isActive": False}
    assert recorder.events == []


# --------------------------------------------------------------------------- inventoryDeactivate


def test_deactivate_sends_inventory_levels_disconnect_with_the_pair_only() -> None:
    world, recorder = make_world(available=5)
    ids, level_gid = stocked_at_both(world)
    recorder.events.clear()
    deactivate(world, level_gid)
    second_id = int(ids["second_location"].rsplit("/", 1)[1])
    assert recorder.events == [(SHOP, "inventory_levels/disconnect",
                                {"inventory_item_id": ids["item_id"], "location_id": second_id})]


def test_deactivate_user_errors_match_the_capture() -> None:
    recorded = capture(VALIDATION)
    world, recorder = make_world(available=5)
    ids = ids_for(world, "SKU-1")
    shop = world.shop_get(SHOP)
    assert shop is not None
    only = shop.inventory_items[ids["item_id"]].levels[ids["location_id"]]
    primary_name = shop.locations[ids["location_id"]].name
    cases = {
        "inventoryDeactivateOnlyLocation": only.gid,
        "inventoryDeactivateMissingLevel":
            inventory_level_gid(group_id=999999999999, inventory_item_id=999999999998),
        "inventoryDeactivateDeletedLocation":
            inventory_level_gid(group_id=999999999999, inventory_item_id=ids["item_id"]),
    }
    for name, level_gid in cases.items():
        expected = recorded[name]["response"]["data"]["inventoryDeactivate"]
        expected = json.loads(json.dumps(expected).replace("Shop location", primary_name))
        assert deactivate(world, level_gid, key=name) == expected, name
    # and nothing changed
    assert levels(world, ids, inactive=True)["inventoryItem"]["inventoryLevels"]["nodes"] == [
        {"location": {"id": ids["location"]}, "isActive": True, "quantities": [{"quantity": 5}]}]
    assert recorder.events == []


def test_deactivate_with_committed_stock_succeeds_as_in_the_capture() -> None:
    # given 2 of the 5 committed to an order at the primary location, and a second level
    recorded = capture(VALIDATION)["inventoryDeactivateCommitted"]
    world, _ = make_world(available=5)
    ids, _ = stocked_at_both(world, second=3)
    order_checkout(world=world, shop_domain=SHOP, lines=[{"sku": "SKU-1", "quantity": 2}])
    shop = world.shop_get(SHOP)
    assert shop is not None
    primary = shop.inventory_items[ids["item_id"]].levels[ids["location_id"]]
    # when the primary level is deactivated, then Shopify accepts it and keeps the quantities
    assert (deactivate(world, primary.gid)
            == recorded["response"]["data"]["inventoryDeactivate"] == {"userErrors": []})
    assert shop.inventory_items[ids["item_id"]].inactive_levels[ids["location_id"]] is primary
    assert (primary.get("available"), primary.get("committed")) == (3, 2)


# --------------------------------------------------------------------------- bulk toggle


def toggle(world: World, ids: dict, *updates: tuple[str, bool]) -> dict:
    body = call(world, TOGGLE, {"item": ids["item"], "updates": [
        {"locationId": location, "activate": activate} for location, activate in updates]})
    return body["data"]["inventoryBulkToggleActivation"]


def test_bulk_toggle_activates_then_deactivates_keeping_quantities() -> None:
    world, recorder = make_world(available=5)
    ids = ids_for(world, "SKU-1")
    second = ids["second_location"]
    # when the item is stocked at the second location, then the level is new and at 0
    assert toggle(world, ids, (second, True)) == {
        "inventoryItem": {"id": ids["item"]},
        "inventoryLevels": [{"location": {"id": second}, "isActive": True,
                             "quantities": [{"quantity": 0}]}],
        "userErrors": []}
    assert recorder.topics[-2:] == ["inventory_levels/connect", "inventory_levels/update"]
    # when 4 are put there and it is unstocked there, then no level is listed as activated
    shop = world.shop_get(SHOP)
    assert shop is not None
    second_id = int(second.rsplit("/", 1)[1])
    shop.inventory_items[ids["item_id"]].levels[second_id].quantities["available"] = 4
    assert toggle(world, ids, (second, False)) == {
        "inventoryItem": {"id": ids["item"]}, "inventoryLevels": [], "userErrors": []}
    assert recorder.topics[-1] == "inventory_levels/disconnect"
    assert levels(world, ids, inactive=True)["inventoryItem"]["inventoryLevel"] == {
        "isActive": False}
    # and stocking it there again brings its 4 back
    assert toggle(world, ids, (second, True))["inventoryLevels"] == [
        {"location": {"id": second}, "isActive": True, "quantities": [{"quantity": 4}]}]


def test_bulk_toggle_refuses_to_unstock_the_only_location() -> None:
    world, recorder = make_world(available=5)
    ids = ids_for(world, "SKU-1")
    shop = world.shop_get(SHOP)
    assert shop is not None
    name = shop.locations[ids["location_id"]].name
    assert toggle(world, ids, (ids["location"], False)) == {
        "inventoryItem": None, "inventoryLevels": None, "userErrors": [{
            "field": ["inventoryItemUpdates", "0", "locationId"],
            "message": f"The variant couldn't be unstocked from {name} because products need "
                       "to be stocked at a minimum of 1 location.",
            "code": "CANNOT_DEACTIVATE_FROM_ONLY_LOCATION"}]}
    # nor both locations at once, and the refused call changes nothing
    before = levels(world, ids, inactive=True)
    body = toggle(world, ids, (ids["second_location"], True), (ids["location"], False),
                  (ids["second_location"], False))
    assert [error["code"] for error in body["userErrors"]] == [
        "CANNOT_DEACTIVATE_FROM_ONLY_LOCATION"]
    assert body["userErrors"][0]["field"] == ["inventoryItemUpdates", "2", "locationId"]
    assert levels(world, ids, inactive=True) == before
    assert recorder.events == []


def test_bulk_toggle_refuses_to_unstock_committed_stock() -> None:
    world, recorder = make_world(available=5)
    ids = ids_for(world, "SKU-1")
    toggle(world, ids, (ids["second_location"], True))
    order_checkout(world=world, shop_domain=SHOP, lines=[{"sku": "SKU-1", "quantity": 2}])
    recorder.events.clear()
    body = toggle(world, ids, (ids["location"], False))
    assert body == {"inventoryItem": None, "inventoryLevels": None, "userErrors": [{
        "field": ["inventoryItemUpdates", "0", "locationId"],
        "message": "Cannot unstock this inventory item from this location because it has "
                   "committed quantities.",
        "code": "COMMITTED_INVENTORY_AT_LOCATION"}]}
    assert levels(world, ids, inactive=False)["inventoryItem"]["locationsCount"] == {"count": 2}
    assert recorder.events == []


def test_bulk_toggle_unknown_item_and_location() -> None:
    world, _ = make_world(available=5)
    ids = ids_for(world, "SKU-1")
    unknown_item = dict(ids, item="gid://shopify/InventoryItem/1")
    assert toggle(world, unknown_item, (ids["location"], True)) == {
        "inventoryItem": None, "inventoryLevels": None, "userErrors": [{
            "field": ["inventoryItemId"], "message": "The inventory item couldn't be found.",
            "code": "INVENTORY_ITEM_NOT_FOUND"}]}
    assert toggle(world, ids, ("gid://shopify/Location/1", True)) == {
        "inventoryItem": None, "inventoryLevels": None, "userErrors": [{
            "field": ["inventoryItemUpdates", "0", "locationId"],
            "message": "The quantity couldn't be updated because the location was not found.",
            "code": "LOCATION_NOT_FOUND"}]}


# --------------------------------------------------------------------------- state and control


def test_inactive_levels_survive_a_snapshot() -> None:
    world, _ = make_world(available=5)
    ids, level_gid = stocked_at_both(world)
    deactivate(world, level_gid)
    restored = World.from_snapshot(json.loads(json.dumps(world.to_snapshot())))
    assert projection(lifecycle_read(restored, ids, level_gid)) == projection(
        lifecycle_read(world, ids, level_gid))


def test_the_merchant_unstocks_and_restocks_through_the_control_api() -> None:
    app = create_app(config=EmulatorConfig(app_secret="s" * 32, api_key="k",
                                           app_url="http://127.0.0.1:8000",
                                           deliver_webhooks=False))
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://emulator")
    try:
        shop = client.post("/_emulator/shops", json={"domain": SHOP}).json()
        second = next(loc["id"] for loc in shop["locations"]
                      if loc["id"] != shop["primary_location_id"])
        client.post(f"/_emulator/shops/{SHOP}/products", json={
            "title": "Shirt", "variants": [{"sku": "SHIRT-S", "price": "1.00", "available": 5}]})
        url = f"/_emulator/shops/{SHOP}/inventory"
        assert client.post(url, json={"sku": "SHIRT-S", "available": 6,
                                      "location_id": second}).status_code == 200
        # when the merchant unstocks the shirt at the second location
        response = client.post(f"{url}/deactivate", json={"sku": "SHIRT-S",
                                                          "location_id": second})
        assert response.status_code == 200
        snapshot = client.get(f"/_emulator/shops/{SHOP}").json()
        assert [level["location_id"] for level in snapshot["inventory_levels"]] == [
            shop["primary_location_id"]]
        # and tries the only location left: refused, in Shopify's words
        refused = client.post(f"{url}/deactivate", json={
            "sku": "SHIRT-S", "location_id": shop["primary_location_id"]})
        assert refused.status_code == 400
        assert refused.json()["error"].endswith(
            "because products need to be stocked at a minimum of 1 location.")
        # then typing a figure there stocks it again (from what it had)
        assert client.post(url, json={"sku": "SHIRT-S", "delta": 1,
                                      "location_id": second}).status_code == 400
        restocked = client.post(url, json={"sku": "SHIRT-S", "available": 9,
                                           "location_id": second})
        assert restocked.json()["available"] == 9
    finally:
        client.close()
        app.webhooks.close()


# --------------------------------------------------------------------------- orderCreate


def test_order_create_with_a_custom_line_of_unknown_sku_is_a_custom_line_item() -> None:
    # given the captured order of a custom line whose SKU the shop does not have
    world, recorder = make_world(available=5)
    query = """
    mutation Create($order: OrderCreateOrderInput!) {
      orderCreate(order: $order) {
        order { lineItems(first: 5) { nodes { sku title quantity variant { id } } } }
        userErrors { field message }
      }
    }"""
    lines = [{"title": "Pending no tax", "quantity": 2, "sku": "MATH-PENDING",
              "priceSet": {"shopMoney": {"amount": "10.00", "currencyCode": "CAD"}}},
             {"title": "Custom with a known sku", "quantity": 1, "sku": "SKU-1"}]
    body = call(world, query, {"order": {"lineItems": lines, "currency": "CAD"}})
    # then Shopify's answer: two custom line items, their SKUs recorded, no variant
    assert body.get("errors") is None
    assert body["data"]["orderCreate"] == {"userErrors": [], "order": {"lineItems": {"nodes": [
        {"sku": "MATH-PENDING", "title": "Pending no tax", "quantity": 2, "variant": None},
        {"sku": "SKU-1", "title": "Custom with a known sku", "quantity": 1, "variant": None}]}}}
    # and no stock moved
    assert "inventory_levels/update" not in recorder.topics


def test_every_recorded_order_create_replays_without_an_internal_error() -> None:
    # given every orderCreate Shopify was recorded answering (custom lines with SKUs the
    # empty fidelity shop does not have among them)
    requests = [request for request in load_requests() if "orderCreate" in request.document]
    assert len(requests) >= 15
    # when the fidelity report replays them on the emulator
    report = build_report(requests, live=True, expected_misses={})
    # then none is an internal error
    assert [(c.request.source, c.crashed) for c in report.compared if c.crashed] == []
