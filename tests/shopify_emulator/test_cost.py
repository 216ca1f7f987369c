"""Shopify's calculated query cost, checked against Shopify's own numbers.

The calibration file and the captures are real Admin API responses (see
/work/shared/shopify/README.md); the hand-written documents pin each rule to an exact number.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLError, GraphQLSchema, parse, validate

from shopify_emulator.admin_graphql.cost import (
    actual_query_cost,
    connection_multiplier,
    requested_query_cost,
)
from shopify_emulator.schema import get_schema

SHOPIFY_DATA = Path(os.environ.get("SHOPIFY_REFERENCE_DATA", "/work/shared/shopify"))
CALIBRATION = SHOPIFY_DATA / "cost-calibration.jsonl"
CAPTURES = SHOPIFY_DATA / "captures"


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return get_schema()


def requested(schema: GraphQLSchema, query: str, variables: dict | None = None, **kw: Any) -> int:
    return requested_query_cost(
        schema=schema,
        document=parse(query),
        variables=variables,
        operation_name=kw.get("operation_name"),
    )


def actual(schema: GraphQLSchema, query: str, data: dict | None) -> int:
    return actual_query_cost(
        schema=schema, document=parse(query), variables=None, operation_name=None, data=data
    )


# -- Shopify's own numbers ----------------------------------------------------------------------


def _parsed_and_valid(schema: GraphQLSchema, document: str) -> Any | None:
    try:
        parsed = parse(document)
    except GraphQLError:
        return None
    return None if validate(schema, parsed) else parsed


def test_requested_cost_matches_shopify_calibration(schema: GraphQLSchema) -> None:
    if not CALIBRATION.exists():
        pytest.skip(f"Shopify calibration data not found at {CALIBRATION}")
    lines = [json.loads(line) for line in CALIBRATION.read_text().splitlines() if line.strip()]
    compared = exact = skipped = 0
    mismatches = []
    for number, line in enumerate(lines, start=1):
        document = _parsed_and_valid(schema, line["document"])
        if document is None:
            skipped += 1
            continue
        compared += 1
        cost = requested_query_cost(
            schema=schema, document=document, variables=line["variables"], operation_name=None
        )
        if cost == line["requestedQueryCost"]:
            exact += 1
        else:
            operation = document.definitions[0]
            name = operation.name.value if getattr(operation, "name", None) else "?"
            shopify = line["requestedQueryCost"]
            mismatches.append(f"line {number} {name}: {cost} vs Shopify {shopify}")

    rate = exact / compared
    print(f"\ncost calibration: {exact}/{compared} exact ({rate:.1%})")
    print(f"cost calibration: {skipped} line(s) skipped (do not parse/validate against 2026-07)")
    for mismatch in mismatches:
        print(f"  mismatch {mismatch}")
    assert rate >= 0.95


def _captured_requests() -> Iterator[dict[str, Any]]:
    """Every capture that recorded its own query text next to Shopify's response."""
    for path in sorted(CAPTURES.rglob("*.json")):
        stack: list[Any] = [json.loads(path.read_text())]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                response = item.get("response")
                response = response if isinstance(response, dict) else {}
                query = item.get("query") or item.get("document")
                cost = (response.get("extensions") or {}).get("cost") or {}
                if isinstance(query, str) and "requestedQueryCost" in cost:
                    yield {
                        "query": query,
                        "variables": item.get("variables") or {},
                        "data": response.get("data"),
                        "requested": cost["requestedQueryCost"],
                        "actual": cost.get("actualQueryCost"),
                    }
                stack.extend(item.values())


def test_costs_match_shopify_captures(schema: GraphQLSchema) -> None:
    if not CAPTURES.exists():
        pytest.skip(f"Shopify captures not found at {CAPTURES}")
    requested_exact = actual_exact = compared = with_actual = 0
    for capture in _captured_requests():
        document = _parsed_and_valid(schema, capture["query"])
        if document is None:
            continue
        compared += 1
        kwargs = {"schema": schema, "document": document, "variables": capture["variables"]}
        cost = requested_query_cost(**kwargs, operation_name=None)
        requested_exact += cost == capture["requested"]
        if capture["actual"] is None:
            continue
        with_actual += 1
        spent = actual_query_cost(**kwargs, operation_name=None, data=capture["data"])
        assert spent <= cost
        actual_exact += spent == capture["actual"]

    print(f"\ncost captures: requested {requested_exact}/{compared} exact")
    print(f"cost captures: actual {actual_exact}/{with_actual} exact")
    assert requested_exact / compared >= 0.98
    # Shopify's refund formula is closed and tuned over time; stay close, never over.
    assert actual_exact / with_actual >= 0.8


# -- rules, on hand-written documents -----------------------------------------------------------


def test_single_object_costs_one_and_scalars_are_free(schema: GraphQLSchema) -> None:
    assert requested(schema, "{ shop { name currencyCode __typename } }") == 1


def test_multiplier_grows_logarithmically_with_page_size() -> None:
    sizes = [None, 0, 1, 2, 5, 10, 50, 100, 250]
    assert [connection_multiplier(size) for size in sizes] == [0, 0, 1, 1, 3, 4, 7, 9, 11]


def test_flat_connection_of_250(schema: GraphQLSchema) -> None:
    # Measured on a live store: 250 orders with flat fields cost 13.
    assert requested(schema, "{ orders(first: 250) { nodes { id name } } }") == 2 + 11


def test_nested_connections_of_250_multiply(schema: GraphQLSchema) -> None:
    query = "{ orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id } } } } }"
    # 2 + 11 * (1 order + (2 + 11 * 1 line item)); Shopify reports 156 for this shape.
    assert requested(schema, query) == 156


def test_plain_lists_are_not_multiplied(schema: GraphQLSchema) -> None:
    query = """{ products(first: 250) { nodes {
        id options { name } variants(first: 250) { nodes { id } }
    } } }"""
    # 2 + 11 * (1 product + 1 options list + 2 + 11 * 1 variant); Shopify reports 167.
    assert requested(schema, query) == 167


def test_page_size_comes_from_variables_and_their_defaults(schema: GraphQLSchema) -> None:
    query = "query Page($n: Int = 5) { products(first: $n) { nodes { id } } }"
    assert requested(schema, query, {"n": 10}) == 2 + 4
    assert requested(schema, query, {}) == 2 + 3
    assert requested(schema, "{ products(last: 50) { nodes { id } } }") == 2 + 7


def test_connection_without_first_or_last_costs_only_its_base(schema: GraphQLSchema) -> None:
    # Shopify rejects it ("you must provide one of first or last") but still bills 2.
    assert requested(schema, "{ bulkOperations { nodes { id } } }") == 2


def test_edges_and_nodes_each_count_per_item_and_page_info_is_free(schema: GraphQLSchema) -> None:
    query = """{ products(first: 5) {
        edges { cursor node { id } }
        nodes { id }
        pageInfo { hasNextPage endCursor }
    } }"""
    assert requested(schema, query) == 2 + 3 * (1 + 1)


def test_value_objects_under_a_record_are_free(schema: GraphQLSchema) -> None:
    query = """{ order(id: "gid://shopify/Order/1") {
        totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount } }
        customer { id defaultAddress { city } }
    } }"""
    assert requested(schema, query) == 1 + 1


def test_count_costs_ten_at_the_root_and_one_below(schema: GraphQLSchema) -> None:
    assert requested(schema, "{ productsCount { count precision } }") == 10
    nested = '{ collection(id: "gid://shopify/Collection/1") { productsCount { count } } }'
    assert requested(schema, nested) == 1 + 1


def test_mutation_costs_ten_and_its_payload_records_are_free(schema: GraphQLSchema) -> None:
    query = """mutation { tagsAdd(id: "gid://shopify/Product/1", tags: ["a"]) {
        node { id } userErrors { field message }
    } }"""
    assert requested(schema, query) == 10


def test_mutation_adds_what_is_selected_below_its_payload(schema: GraphQLSchema) -> None:
    query = """mutation Adjust($input: InventoryAdjustQuantitiesInput!) {
        inventoryAdjustQuantities(input: $input) {
            inventoryAdjustmentGroup { changes { delta item { id } location { id } } }
            userErrors { field message }
        }
    }"""
    assert requested(schema, query, {"input": {}}) == 10 + 1 + 1 + 1


def test_each_mutation_field_is_billed(schema: GraphQLSchema) -> None:
    query = """mutation {
        a: tagsAdd(id: "gid://shopify/Product/1", tags: ["a"]) { userErrors { field } }
        b: tagsRemove(id: "gid://shopify/Product/1", tags: ["b"]) { userErrors { field } }
    }"""
    assert requested(schema, query) == 20


def test_product_create_media_is_billed_like_file_create(schema: GraphQLSchema) -> None:
    # captures/2025-01/products/product-create-media-parity.json: Shopify bills 41 where the
    # same media(first: 10) read under productDeleteMedia costs 28 (10 + 2 + 4 x 4).
    media = "nodes { id preview { image { url } } ... on MediaImage { image { url } } }"
    query = f"""mutation Create($productId: ID!, $media: [CreateMediaInput!]!) {{
        productCreateMedia(productId: $productId, media: $media) {{
            media {{ id preview {{ image {{ url }} }} ... on MediaImage {{ image {{ url }} }} }}
            mediaUserErrors {{ field message }}
            product {{ id media(first: 10) {{ {media} }} }}
        }}
    }}"""
    variables = {"productId": "gid://shopify/Product/1", "media": []}
    assert requested(schema, query, variables) == 20 + 3 + 2 + 4 * 4
    delete = f"""mutation Delete($productId: ID!, $mediaIds: [ID!]!) {{
        productDeleteMedia(productId: $productId, mediaIds: $mediaIds) {{
            deletedMediaIds product {{ id media(first: 10) {{ {media} }} }}
        }}
    }}"""
    assert requested(schema, delete, {"productId": "gid://shopify/Product/1", "mediaIds": []}) == 28


def test_product_set_adds_documented_input_complexity(schema: GraphQLSchema) -> None:
    query = """mutation Set($input: ProductSetInput!) {
        productSet(input: $input) { product { id } userErrors { field message } }
    }"""
    variants = [{"optionValues": [{"optionName": "Size", "name": str(n)}]} for n in range(12)]
    file = {"originalSource": "https://example.com/a.png", "contentType": "IMAGE"}
    # 12 variants x 0.2 = 2.4 -> 2.
    assert requested(schema, query, {"input": {"title": "T", "variants": variants}}) == 12
    # 2.4 + 1.9 for one file = 4.3 -> 4.
    both = {"title": "T", "variants": variants, "files": [file]}
    assert requested(schema, query, {"input": both}) == 14


def test_input_complexity_is_rounded_to_the_nearest_point(schema: GraphQLSchema) -> None:
    # captures/2025-01/products/product-set-parity.json: 2 variants (0.4) and 1 metafield (0.4)
    # are billed 1 point, where floor would give 0 (and 2.4 above still gives 2).
    query = """mutation Set($input: ProductSetInput!) {
        productSet(input: $input) { product { id } userErrors { field message } }
    }"""
    variants = [{"optionValues": [{"optionName": "Size", "name": str(n)}]} for n in range(2)]
    metafield = {"namespace": "custom", "key": "k", "type": "single_line_text_field", "value": "v"}
    product = {"title": "T", "variants": variants, "metafields": [metafield]}
    assert requested(schema, query, {"input": product}) == 10 + 1
    # 0.4 alone rounds to 0
    assert requested(schema, query, {"input": {"title": "T", "variants": variants}}) == 10


def test_named_and_inline_fragments_are_followed(schema: GraphQLSchema) -> None:
    query = """
    query { product(id: "gid://shopify/Product/1") { ...Fields ... on Product { seo { title } } } }
    fragment Fields on Product { id variants(first: 10) { nodes { ...Variant } } }
    fragment Variant on ProductVariant { id inventoryItem { id } }
    """
    # product 1 + seo 1 + variants (2 + 4 * (1 + 1))
    assert requested(schema, query) == 1 + 1 + 10


def test_union_costs_its_most_expensive_member(schema: GraphQLSchema) -> None:
    query = """{ discountNode(id: "gid://shopify/DiscountNode/1") { discount {
        __typename
        ... on DiscountCodeBasic { title codes(first: 10) { nodes { code } } }
        ... on DiscountAutomaticBasic { title }
    } } }"""
    # discountNode 1 + discount (1 + codes (2 + 4 * 1))
    assert requested(schema, query) == 1 + 1 + 6


def test_interface_costs_its_most_expensive_implementation(schema: GraphQLSchema) -> None:
    query = """{ node(id: "gid://shopify/Product/1") {
        id
        ... on Product { variants(first: 5) { nodes { id } } }
        ... on Order { customer { id } }
    } }"""
    assert requested(schema, query) == 1 + 5


def test_include_and_skip_are_honoured(schema: GraphQLSchema) -> None:
    query = """query Read($withVariants: Boolean!) { product(id: "gid://shopify/Product/1") {
        id
        variants(first: 10) @include(if: $withVariants) { nodes { id } }
        ...Seo @skip(if: true)
    } }
    fragment Seo on Product { seo { title } }"""
    assert requested(schema, query, {"withVariants": False}) == 1
    assert requested(schema, query, {"withVariants": True}) == 1 + 6


def test_operation_is_picked_by_name(schema: GraphQLSchema) -> None:
    query = """
    query One { shop { name } }
    query Many { products(first: 10) { nodes { id } } }
    """
    assert requested(schema, query, operation_name="Many") == 6
    with pytest.raises(ValueError, match="operation_name"):
        requested(schema, query)


# -- actual cost -------------------------------------------------------------------------------

NESTED = "{ products(first: 5) { nodes { id variants(first: 5) { nodes { id } } } } }"


def _products(products: int, variants: int) -> dict:
    def product(number: int) -> dict:
        nodes = [{"id": f"gid://shopify/ProductVariant/{number}{v}"} for v in range(variants)]
        return {"id": f"gid://shopify/Product/{number}", "variants": {"nodes": nodes}}

    return {"products": {"nodes": [product(number) for number in range(products)]}}


def test_actual_equals_requested_when_every_page_is_full(schema: GraphQLSchema) -> None:
    assert requested(schema, NESTED) == 2 + 3 * (1 + 2 + 3 * 1)
    assert actual(schema, NESTED, _products(5, 5)) == requested(schema, NESTED)


def test_actual_sizes_connections_by_what_came_back(schema: GraphQLSchema) -> None:
    assert actual(schema, NESTED, _products(1, 1)) == 2 + 1 * (1 + 2 + 1 * 1)
    assert actual(schema, NESTED, _products(5, 0)) == 2 + 3 * (1 + 2)
    assert actual(schema, NESTED, _products(0, 0)) == 2


def test_actual_bills_a_missing_record_but_nothing_under_it(schema: GraphQLSchema) -> None:
    query = """{ product(id: "gid://shopify/Product/1") {
        id variants(first: 250) { nodes { id } }
    } }"""
    assert actual(schema, query, {"product": None}) == 1
    assert actual(schema, query, None) == 1


def test_actual_mutation_keeps_its_base_cost(schema: GraphQLSchema) -> None:
    query = """mutation { tagsAdd(id: "gid://shopify/Product/1", tags: ["a"]) {
        node { id } userErrors { field message }
    } }"""
    data = {"tagsAdd": {"node": None, "userErrors": [{"field": ["id"], "message": "nope"}]}}
    assert actual(schema, query, data) == 10


def test_actual_never_exceeds_requested_on_calibration_documents(schema: GraphQLSchema) -> None:
    if not CALIBRATION.exists():
        pytest.skip(f"Shopify calibration data not found at {CALIBRATION}")
    for line in CALIBRATION.read_text().splitlines():
        row = json.loads(line)
        document = _parsed_and_valid(schema, row["document"])
        if document is None:
            continue
        kwargs = {"schema": schema, "document": document, "variables": row["variables"]}
        ceiling = requested_query_cost(**kwargs, operation_name=None)
        assert 0 <= actual_query_cost(**kwargs, operation_name=None, data=None) <= ceiling
