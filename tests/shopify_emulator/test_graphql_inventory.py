"""Inventory mutations over graphql_api.execute, compared with Shopify's captures."""

from __future__ import annotations

import pytest

from shopify_emulator.domains.products.operations import product_create
from shopify_emulator.domains.shop.operations import shop_create
from tests.shopify_emulator.graphql_support import (
    SHOP,
    call,
    capture,
    document,
    ids_for,
    level_quantities,
    make_world,
    remap,
)

SET = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id reason referenceDocumentUri
      changes { name delta item { id } location { id } } }
    userErrors { field message code }
  }
}
"""
ADJUST = """
mutation Adjust($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { changes { name delta } }
    userErrors { field message code }
  }
}
"""
ACTIVATE = """
mutation Activate($item: ID!, $location: ID!, $available: Int, $key: String!) {
  inventoryActivate(inventoryItemId: $item, locationId: $location, available: $available)
    @idempotent(key: $key) {
    inventoryLevel { id quantities(names: ["available", "on_hand"]) { name quantity } }
    userErrors { field message }
  }
}
"""


def set_input(ids: dict, *, quantity: int, change_from: int | None, location: str | None = None,
              name: str = "available") -> dict:
    return {
        "name": name,
        "reason": "correction",
        "referenceDocumentUri": "gid://syncer/SyncBatch/1",
        "quantities": [
            {
                "inventoryItemId": ids["item"],
                "locationId": location or ids["location"],
                "quantity": quantity,
                "changeFromQuantity": change_from,
            }
        ],
    }


def test_set_quantities_applies_and_fires_inventory_levels_update() -> None:
    # given
    world, recorder = make_world(available=10)
    ids = ids_for(world, "SKU-1")
    # when
    body = call(world, SET, {"input": set_input(ids, quantity=4, change_from=10), "key": "k-1"})
    # then
    payload = body["data"]["inventorySetQuantities"]
    assert payload["userErrors"] == []
    assert [(c["name"], c["delta"]) for c in payload["inventoryAdjustmentGroup"]["changes"]] == [
        ("available", -6), ("on_hand", -6)
    ]
    assert level_quantities(world, "SKU-1") == {"available": 4, "committed": 0, "on_hand": 4}
    assert recorder.topics == ["inventory_levels/update"]
    event = recorder.of("inventory_levels/update")[0]
    assert event["inventory_item_id"] == ids["item_id"]
    assert event["location_id"] == ids["location_id"]
    assert event["available"] == 4
    assert event["admin_graphql_api_id"].startswith("gid://shopify/InventoryLevel/")
    assert event["admin_graphql_api_id"].endswith(f"?inventory_item_id={ids['item_id']}")
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] >= cost["actualQueryCost"] > 0
    assert cost["throttleStatus"]["maximumAvailable"] == 2000


def test_set_quantities_stale_change_from_applies_nothing() -> None:
    # given
    world, recorder = make_world(skus=("SKU-1", "SKU-2"), available=10)
    one, two = ids_for(world, "SKU-1"), ids_for(world, "SKU-2")
    data = set_input(one, quantity=3, change_from=10)
    data["quantities"].append(dict(set_input(two, quantity=3, change_from=9)["quantities"][0]))
    # when
    body = call(world, SET, {"input": data, "key": "k-stale"})
    # then
    assert body["data"]["inventorySetQuantities"] == {
        "inventoryAdjustmentGroup": None,
        "userErrors": [
            {
                "field": ["input", "quantities", "1", "changeFromQuantity"],
                "message": "The changeFromQuantity value does not match persisted value.",
                "code": "CHANGE_FROM_QUANTITY_STALE",
            }
        ],
    }
    assert level_quantities(world, "SKU-1")["available"] == 10
    assert level_quantities(world, "SKU-2")["available"] == 10
    assert recorder.events == []
    assert "cost" in body["extensions"]


def test_set_quantities_null_change_from_skips_the_check() -> None:
    world, _ = make_world(available=10)
    ids = ids_for(world, "SKU-1")
    body = call(world, SET, {"input": set_input(ids, quantity=2, change_from=None), "key": "k"})
    assert body["data"]["inventorySetQuantities"]["userErrors"] == []
    assert level_quantities(world, "SKU-1")["available"] == 2


def test_missing_change_from_quantity_is_shopifys_error() -> None:
    # given: the capture's request with this world's ids
    world, recorder = make_world(available=0)
    ids = ids_for(world, "SKU-1")
    case = capture("2026-04/products/inventory-quantity-contracts-2026-04.json")
    step = case["missingSetChangeFromQuantity"]
    mapping = {step["variables"]["input"]["quantities"][0]["inventoryItemId"]: ids["item"],
               step["variables"]["input"]["quantities"][0]["locationId"]: ids["location"]}
    # when
    query = document("inventory-quantity-contracts-2026-missing-set-change-from.graphql")
    body = call(world, query, remap(step["variables"], mapping))
    # then
    expected = step["response"]["errors"][0]
    error = body["errors"][0]
    assert error["message"] == expected["message"]
    assert error["extensions"] == expected["extensions"]
    assert error["path"] == expected["path"]
    assert body["data"] == {"inventorySetQuantities": None}
    assert "cost" in body["extensions"]
    assert recorder.events == []


def test_missing_idempotent_directive_is_shopifys_error() -> None:
    world, recorder = make_world(available=0)
    ids = ids_for(world, "SKU-1")
    case = capture("2026-04/products/inventory-quantity-contracts-2026-04.json")
    expected = case["missingSetIdempotency"]["response"]
    query = """
    mutation Set($input: InventorySetQuantitiesInput!) {
      inventorySetQuantities(input: $input) { userErrors { field message } }
    }"""
    body = call(world, query, {"input": set_input(ids, quantity=5, change_from=0)})
    assert body["errors"][0]["message"] == expected["errors"][0]["message"]
    assert body["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
    assert body["errors"][0]["path"] == ["inventorySetQuantities"]
    assert body["data"] == expected["data"]
    assert level_quantities(world, "SKU-1")["available"] == 0
    assert recorder.events == []


def test_idempotent_replay_applies_once_and_returns_the_original_result() -> None:
    world, recorder = make_world(available=10)
    ids = ids_for(world, "SKU-1")
    variables = {"input": set_input(ids, quantity=7, change_from=10), "key": "replay-1"}
    first = call(world, SET, variables)
    second = call(world, SET, variables)
    assert second["data"] == first["data"]
    assert level_quantities(world, "SKU-1")["available"] == 7
    assert recorder.topics == ["inventory_levels/update"]


def test_same_key_different_variables_is_a_mismatch() -> None:
    world, _ = make_world(available=10)
    ids = ids_for(world, "SKU-1")
    call(world, SET, {"input": set_input(ids, quantity=7, change_from=10), "key": "k-mm"})
    body = call(world, SET, {"input": set_input(ids, quantity=8, change_from=7), "key": "k-mm"})
    assert body["data"]["inventorySetQuantities"] == {
        "inventoryAdjustmentGroup": None,
        "userErrors": [
            {
                "field": None,
                "message": "The same idempotency key cannot be used with different operation "
                "parameters.",
                "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
            }
        ],
    }
    assert level_quantities(world, "SKU-1")["available"] == 7


def test_idempotency_keys_are_scoped_per_shop() -> None:
    world, _ = make_world(available=10)
    shop_create(world=world, domain="other.myshopify.com", name="Other")
    product_create(world=world, shop_domain="other.myshopify.com", title="P",
                         variants=[{"sku": "SKU-1", "price": "1", "available": 10}])
    ids = ids_for(world, "SKU-1")
    call(world, SET, {"input": set_input(ids, quantity=7, change_from=10), "key": "shared"})
    other = world.shop_get("other.myshopify.com")
    assert other is not None
    variant = other.variant_by_sku("SKU-1")
    assert variant is not None
    other_ids = {"item": f"gid://shopify/InventoryItem/{variant.inventory_item_id}",
                 "location": f"gid://shopify/Location/{other.primary_location_id}"}
    body = call(world, SET, {"input": set_input(other_ids, quantity=3, change_from=10),
                             "key": "shared"}, shop="other.myshopify.com")
    assert body["data"]["inventorySetQuantities"]["userErrors"] == []
    assert other.item_of(variant).levels[other.primary_location_id].available == 3


def test_not_stocked_then_activate_then_set_succeeds() -> None:
    # given
    world, recorder = make_world(available=10)
    ids = ids_for(world, "SKU-1")
    second = ids["second_location"]
    # when: the item is not stocked at the second location
    refused = call(world, SET, {"input": set_input(ids, quantity=3, change_from=0,
                                                   location=second), "key": "a"})
    activated = call(world, ACTIVATE, {"item": ids["item"], "location": second, "key": "b"})
    accepted = call(world, SET, {"input": set_input(ids, quantity=3, change_from=0,
                                                    location=second), "key": "c"})
    # then
    assert refused["data"]["inventorySetQuantities"]["userErrors"] == [
        {
            "field": ["input", "quantities", "0", "locationId"],
            "message": "The specified inventory item is not stocked at the location.",
            "code": "ITEM_NOT_STOCKED_AT_LOCATION",
        }
    ]
    level = activated["data"]["inventoryActivate"]["inventoryLevel"]
    assert level["quantities"] == [{"name": "available", "quantity": 0},
                                   {"name": "on_hand", "quantity": 0}]
    assert accepted["data"]["inventorySetQuantities"]["userErrors"] == []
    second_id = int(second.rsplit("/", 1)[1])
    assert level_quantities(world, "SKU-1", second_id)["available"] == 3
    assert level_quantities(world, "SKU-1")["available"] == 10
    assert "inventory_levels/update" in recorder.topics


def test_251_quantities_are_refused_before_execution() -> None:
    world, recorder = make_world(available=10)
    ids = ids_for(world, "SKU-1")
    data = set_input(ids, quantity=1, change_from=None)
    data["quantities"] = data["quantities"] * 251
    body = call(world, SET, {"input": data, "key": "big"})
    assert body["errors"] == [
        {
            "message": "The input array size of 251 is greater than the maximum allowed of 250.",
            "locations": [{"line": 3, "column": 3}],
            "path": ["inventorySetQuantities", "input", "quantities"],
            "extensions": {"code": "MAX_INPUT_SIZE_EXCEEDED"},
        }
    ]
    assert "data" not in body
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert level_quantities(world, "SKU-1")["available"] == 10
    assert recorder.events == []


@pytest.mark.parametrize("case_name", ["damaged", "committed", "availableTooHigh", "duplicatePair"])
def test_set_quantities_user_errors_match_the_capture(case_name: str) -> None:
    # given: Shopify's recorded request, with this world's item and location
    world, _ = make_world(available=0)
    ids = ids_for(world, "SKU-1")
    case = capture("2026-04/products/inventorySetQuantities-name-validation.json")["cases"][
        case_name]
    first = case["variables"]["input"]["quantities"][0]
    variables = remap(case["variables"], {first["inventoryItemId"]: ids["item"],
                                          first["locationId"]: ids["location"]})
    # when
    body = call(world, case["query"], variables)
    # then
    assert (body["data"]["inventorySetQuantities"]["userErrors"]
            == case["response"]["data"]["inventorySetQuantities"]["userErrors"])
    assert body["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"] is None


def test_unknown_item_and_location_match_the_capture() -> None:
    world, _ = make_world(available=0)
    ids = ids_for(world, "SKU-1")
    case = capture("2026-04/products/inventory-quantity-contracts-2026-04.json")
    unknown = case["unknownIdValidation"]
    for step_name in ("setUnknownInventoryItem", "setUnknownLocation"):
        step = unknown[step_name]
        variables = remap(step["variables"], {unknown["knownInventoryItemId"]: ids["item"],
                                              unknown["knownLocationId"]: ids["location"]})
        body = call(world, SET, {"input": variables["input"], "key": variables["idempotencyKey"]})
        assert (body["data"]["inventorySetQuantities"]["userErrors"]
                == step["response"]["data"]["inventorySetQuantities"]["userErrors"])


def test_invalid_reason_matches_the_capture() -> None:
    world, _ = make_world(available=1)
    ids = ids_for(world, "SKU-1")
    data = set_input(ids, quantity=1, change_from=1)
    data["reason"] = "completely_made_up"
    expected = capture("2026-04/products/inventory-reason-validation.json")
    expected_errors = expected["invalidReasonCases"]["unknownReasonAdjust"]["response"]["data"][
        "inventoryAdjustQuantities"]["userErrors"]
    body = call(world, SET, {"input": data, "key": "r"})
    assert body["data"]["inventorySetQuantities"]["userErrors"] == expected_errors


def test_adjust_quantities_moves_available_and_checks_change_from() -> None:
    world, recorder = make_world(available=10)
    ids = ids_for(world, "SKU-1")
    change = {"inventoryItemId": ids["item"], "locationId": ids["location"], "delta": -3,
              "changeFromQuantity": 10}
    ok = call(world, ADJUST, {"input": {"name": "available", "reason": "correction",
                                        "changes": [change]}, "key": "adj-1"})
    stale = call(world, ADJUST, {"input": {"name": "available", "reason": "correction",
                                           "changes": [change]}, "key": "adj-2"})
    assert ok["data"]["inventoryAdjustQuantities"] == {
        "inventoryAdjustmentGroup": {"changes": [{"name": "available", "delta": -3},
                                                 {"name": "on_hand", "delta": -3}]},
        "userErrors": [],
    }
    assert stale["data"]["inventoryAdjustQuantities"]["userErrors"] == [
        {
            "field": ["input", "changes", "0", "changeFromQuantity"],
            "message": "The changeFromQuantity argument no longer matches the persisted quantity.",
            "code": "CHANGE_FROM_QUANTITY_STALE",
        }
    ]
    assert level_quantities(world, "SKU-1")["available"] == 7
    assert recorder.topics == ["inventory_levels/update"]


def test_adjust_ledger_rules_match_the_capture() -> None:
    world, _ = make_world(available=0)
    ids = ids_for(world, "SKU-1")
    case = capture("2026-04/products/inventory-adjust-ledger-document-validation.json")
    for step_name in ("missingLedgerDocument", "availableLedgerDocument",
                      "internalLedgerDocument"):
        step = case[step_name]
        first = step["variables"]["input"]["changes"][0]
        variables = remap(step["variables"], {first["inventoryItemId"]: ids["item"],
                                              first["locationId"]: ids["location"]})
        body = call(world, ADJUST, {"input": variables["input"],
                                    "key": variables["idempotencyKey"]})
        assert (body["data"]["inventoryAdjustQuantities"]["userErrors"]
                == step["response"]["data"]["inventoryAdjustQuantities"]["userErrors"])


def test_activate_with_available_and_on_hand_is_refused_like_shopify() -> None:
    world, _ = make_world(available=0)
    ids = ids_for(world, "SKU-1")
    query = """
    mutation A($item: ID!, $location: ID!, $key: String!) {
      inventoryActivate(inventoryItemId: $item, locationId: $location, available: 10, onHand: 20)
        @idempotent(key: $key) { inventoryLevel { id } userErrors { field message } }
    }"""
    body = call(world, query, {"item": ids["item"], "location": ids["second_location"],
                               "key": "act"})
    shop = world.shop_get(SHOP)
    assert shop is not None
    message = ("The product couldn't be stocked at Second location because not allowed to set "
               "available and on_hand quantities at the same time.")
    assert body["data"]["inventoryActivate"] == {
        "inventoryLevel": None,
        "userErrors": [{"field": ["available"], "message": message},
                       {"field": ["onHand"], "message": message}],
    }
