"""Validation, pagination, search filters, cost extensions."""

from __future__ import annotations

from tests.shopify_emulator.graphql_support import SHOP, call, capture, ids_for, make_world

PAGE = """
query Page($first: Int, $after: String, $query: String) {
  productVariants(first: $first, after: $after, query: $query) {
    edges { cursor node { sku } }
    nodes { sku }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def test_unknown_field_is_refused_with_shopifys_shape() -> None:
    # given: the capture shows Shopify's shape for an unknown field
    world, _ = make_world()
    # when
    body = call(world, "query Probe {\n  shop {\n    name\n    isActive\n  }\n}")
    # then
    assert body == {
        "errors": [
            {
                "message": "Field 'isActive' doesn't exist on type 'Shop'",
                "locations": [{"line": 4, "column": 5}],
                "path": ["query Probe", "shop", "isActive"],
                "extensions": {"code": "undefinedField", "typeName": "Shop",
                               "fieldName": "isActive"},
            }
        ]
    }


def test_validation_errors_cover_arguments_directives_and_variables() -> None:
    world, _ = make_world()
    query = """mutation Deactivate($idempotencyKey: String!) {
  locationDeactivate(locationId: "gid://shopify/Location/1") @idempotent(key: "x") {
    location { id }
  }
  bulkOperationRunQuery { userErrors { message } }
}"""
    body = call(world, query)
    assert [e["extensions"]["code"] for e in body["errors"]] == [
        "variableNotUsed", "missingRequiredArguments"
    ]
    assert body["errors"][0]["message"] == (
        "Variable $idempotencyKey is declared by Deactivate but not used")
    assert body["errors"][1] == {
        "message": "Field 'bulkOperationRunQuery' is missing required arguments: query",
        "locations": [{"line": 5, "column": 3}],
        "path": ["mutation Deactivate", "bulkOperationRunQuery"],
        "extensions": {"code": "missingRequiredArguments", "className": "Field",
                       "name": "bulkOperationRunQuery", "arguments": "query"},
    }


def test_invalid_variable_matches_the_capture_shape() -> None:
    world, _ = make_world()
    expected = capture("2026-04/products/inventory-quantity-contracts-2026-04.json")[
        "legacySetShape"]["response"]["errors"][0]
    query = ("mutation S($input: InventorySetQuantitiesInput!) {\n"
             "  inventorySetQuantities(input: $input) @idempotent(key: \"k\") { userErrors "
             "{ message } }\n}")
    body = call(world, query, {"input": expected["extensions"]["value"]})
    error = body["errors"][0]
    assert error["message"] == expected["message"]
    assert error["extensions"] == expected["extensions"]
    assert "data" not in body


def test_unsupported_root_field_names_the_field() -> None:
    world, _ = make_world()
    body = call(world, "{ shopifyPaymentsAccount { id } }")
    assert body["errors"][0]["message"] == (
        "Field 'shopifyPaymentsAccount' on QueryRoot is not supported by the Shopify emulator.")
    assert body["data"] == {"shopifyPaymentsAccount": None}
    assert "cost" in body["extensions"]


def test_cursor_pagination_walks_every_page_once() -> None:
    world, _ = make_world(skus=tuple(f"SKU-{i}" for i in range(5)))
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        body = call(world, PAGE, {"first": 2, "after": after})
        connection = body["data"]["productVariants"]
        assert [e["node"] for e in connection["edges"]] == connection["nodes"]
        seen.extend(node["sku"] for node in connection["nodes"])
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == [f"SKU-{i}" for i in range(5)]
    assert pages == 3
    assert body["data"]["productVariants"]["pageInfo"]["hasPreviousPage"] is True


def test_last_and_before_page_backwards() -> None:
    world, _ = make_world(skus=tuple(f"SKU-{i}" for i in range(4)))
    end = call(world, PAGE, {"first": 4})["data"]["productVariants"]["edges"][3]["cursor"]
    query = """query($before: String) { productVariants(last: 2, before: $before) {
      nodes { sku } pageInfo { hasNextPage hasPreviousPage } } }"""
    body = call(world, query, {"before": end})
    assert body["data"]["productVariants"] == {
        "nodes": [{"sku": "SKU-1"}, {"sku": "SKU-2"}],
        "pageInfo": {"hasNextPage": True, "hasPreviousPage": True},
    }


def test_first_above_250_and_missing_first_are_refused() -> None:
    world, _ = make_world()
    too_big = call(world, PAGE, {"first": 251})
    missing = call(world, PAGE, {})
    assert too_big["errors"][0]["message"] == (
        "The first argument must be less than or equal to 250.")
    assert too_big["errors"][0]["path"] == ["productVariants"]
    assert missing["errors"][0]["message"] == "you must provide one of first or last"
    assert missing["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


def test_sku_tag_and_updated_at_filters() -> None:
    world, _ = make_world(skus=("A-1", "A-2", "B-1"))
    shop = world.shop_get(SHOP)
    assert shop is not None
    by_sku = call(world, PAGE, {"first": 10, "query": "sku:A-2"})
    prefix = call(world, PAGE, {"first": 10, "query": "sku:A*"})
    future = call(world, PAGE, {"first": 10, "query": "updated_at:>'2999-01-01T00:00:00Z'"})
    past = call(world, PAGE, {"first": 10, "query": "updated_at:>'2000-01-01T00:00:00Z'"})
    tagged = call(world, '{ products(first: 10, query: "tag:summer AND sku:B-1") '
                         '{ nodes { title } } }')
    items = call(world, '{ inventoryItems(first: 10, query: "sku:A-1") { nodes { sku } } }')
    assert by_sku["data"]["productVariants"]["nodes"] == [{"sku": "A-2"}]
    assert prefix["data"]["productVariants"]["nodes"] == [{"sku": "A-1"}, {"sku": "A-2"}]
    assert future["data"]["productVariants"]["nodes"] == []
    assert len(past["data"]["productVariants"]["nodes"]) == 3
    assert tagged["data"]["products"]["nodes"] == [{"title": "Product B-1"}]
    assert items["data"]["inventoryItems"]["nodes"] == [{"sku": "A-1"}]


def test_inventory_levels_quantities_and_nodes() -> None:
    world, _ = make_world(available=6)
    ids = ids_for(world, "SKU-1")
    query = """query($id: ID!, $loc: ID!, $ids: [ID!]!) {
      inventoryItem(id: $id) {
        sku tracked
        inventoryLevel(locationId: $loc) {
          location { id } quantities(names: ["available", "committed", "on_hand", "incoming"]) {
            name quantity } }
      }
      nodes(ids: $ids) { id ... on ProductVariant { sku } }
      shop { myshopifyDomain currencyCode plan { partnerDevelopment shopifyPlus } }
    }"""
    body = call(world, query, {"id": ids["item"], "loc": ids["location"],
                               "ids": [ids["variant"], "gid://shopify/Product/1"]})
    assert body["data"] == {
        "inventoryItem": {
            "sku": "SKU-1",
            "tracked": True,
            "inventoryLevel": {
                "location": {"id": ids["location"]},
                "quantities": [
                    {"name": "available", "quantity": 6},
                    {"name": "committed", "quantity": 0},
                    {"name": "on_hand", "quantity": 6},
                    {"name": "incoming", "quantity": 0},
                ],
            },
        },
        "nodes": [{"id": ids["variant"], "sku": "SKU-1"}, None],
        "shop": {"myshopifyDomain": SHOP, "currencyCode": "USD",
                 "plan": {"partnerDevelopment": False, "shopifyPlus": False}},
    }


def test_aliases_and_fragments_resolve_like_graphql() -> None:
    world, _ = make_world(skus=("A-1", "B-1"))
    query = """
    fragment V on ProductVariant { code: sku }
    { a: productVariants(first: 1, query: "sku:A-1") { nodes { ...V } }
      b: productVariants(first: 1, query: "sku:B-1") { nodes { ... on ProductVariant { sku } } } }
    """
    body = call(world, query)
    assert body["data"] == {"a": {"nodes": [{"code": "A-1"}]}, "b": {"nodes": [{"sku": "B-1"}]}}


def test_throttled_when_the_bucket_is_empty() -> None:
    world, _ = make_world()
    call(world, "{ shop { name } }")
    bucket = world.buckets.bucket(shop_domain=SHOP, plan="standard")
    while bucket.try_take(cost=1):
        pass
    body = call(world, '{ products(first: 250) { nodes { id title } } }')
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert "data" not in body
    assert body["extensions"]["cost"]["requestedQueryCost"] > 0


def test_query_over_1000_points_is_refused() -> None:
    world, _ = make_world()
    one = "products(first: 250) { nodes { variants(first: 250) { nodes { id } } } }"
    query = "{ " + " ".join(f"p{i}: {one}" for i in range(8)) + " }"
    body = call(world, query)
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert "data" not in body
