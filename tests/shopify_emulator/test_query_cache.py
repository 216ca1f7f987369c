"""The per-query-text cache in graphql_api must never change an answer.

A cached document is shared by every request with the same text, so each test sends one text
several times with different variables (or none) and checks every answer on its own.
"""

from __future__ import annotations

import random
import threading
import uuid

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)
from graphql.pyutils import Undefined
from graphql.utilities import coerce_input_value

from shopify_emulator import graphql_api
from shopify_emulator.admin_graphql.coercion import compile_coercer
from shopify_emulator.admin_graphql.idempotency import IDEMPOTENCY_TTL_SECONDS
from shopify_emulator.admin_graphql.query_cache import QUERY_CACHE, QueryCache
from shopify_emulator.domains.products.operations import product_create
from shopify_emulator.domains.shop.operations import shop_create
from shopify_emulator.schema import get_schema
from shopify_emulator.world import World
from tests.shopify_emulator.graphql_support import (
    SHOP,
    call,
    ids_for,
    level_quantities,
    make_world,
)

SET = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { changes { name delta } }
    userErrors { field message code }
  }
}
"""
SET_WITHOUT_KEY = """
mutation SetNoKey($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { id }
    userErrors { field message code }
  }
}
"""
PRODUCTS = """
query Products($n: Int!, $withVariants: Boolean!, $q: String) {
  products(first: $n, query: $q) {
    nodes { title variants(first: 5) @include(if: $withVariants) { nodes { sku } } }
  }
}
"""


@pytest.fixture(autouse=True)
def fresh_cache():
    QUERY_CACHE.clear()
    yield
    QUERY_CACHE.clear()


def set_variables(ids: dict, quantity: int, change_from: int, key: str | None = None) -> dict:
    return {
        "input": {
            "name": "available",
            "reason": "correction",
            "quantities": [
                {
                    "inventoryItemId": ids["item"],
                    "locationId": ids["location"],
                    "quantity": quantity,
                    "changeFromQuantity": change_from,
                }
            ],
        },
        "key": key or str(uuid.uuid4()),
    }


def test_same_mutation_text_with_different_variables_does_what_each_asks():
    world, _ = make_world(skus=("SKU-1", "SKU-2"), available=10)
    one, two = ids_for(world, "SKU-1"), ids_for(world, "SKU-2")

    first = call(world, SET, set_variables(one, quantity=4, change_from=10))
    second = call(world, SET, set_variables(two, quantity=25, change_from=10))
    stale = call(world, SET, set_variables(one, quantity=7, change_from=10))

    assert first["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["changes"] == [
        {"name": "available", "delta": -6},
        {"name": "on_hand", "delta": -6},
    ]
    assert second["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["changes"] == [
        {"name": "available", "delta": 15},
        {"name": "on_hand", "delta": 15},
    ]
    assert stale["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == (
        "CHANGE_FROM_QUANTITY_STALE"
    )
    assert level_quantities(world, "SKU-1")["available"] == 4
    assert level_quantities(world, "SKU-2")["available"] == 25
    assert QUERY_CACHE.hits >= 2  # the text was prepared once


def test_same_query_text_with_different_variables_gives_different_answers_and_costs():
    world, _ = make_world(skus=("SKU-1", "SKU-2", "SKU-3"))

    one = call(world, PRODUCTS, {"n": 1, "withVariants": False})
    three = call(world, PRODUCTS, {"n": 3, "withVariants": True})
    filtered = call(world, PRODUCTS, {"n": 3, "withVariants": True, "q": "sku:SKU-2"})
    one_again = call(world, PRODUCTS, {"n": 1, "withVariants": False})

    assert one["data"]["products"]["nodes"] == [{"title": "Product SKU-1"}]
    assert [node["variants"]["nodes"] for node in three["data"]["products"]["nodes"]] == [
        [{"sku": "SKU-1"}], [{"sku": "SKU-2"}], [{"sku": "SKU-3"}],
    ]
    assert filtered["data"]["products"]["nodes"] == [
        {"title": "Product SKU-2", "variants": {"nodes": [{"sku": "SKU-2"}]}}
    ]
    # The requested cost reads $n and $withVariants: it must follow them, not the first call.
    costs = [body["extensions"]["cost"]["requestedQueryCost"] for body in (one, three, one_again)]
    assert costs[0] == costs[2] != costs[1]
    assert one_again["data"] == one["data"]


def test_variable_errors_are_per_request():
    world, _ = make_world()
    ids = ids_for(world, "SKU-1")

    bad = call(world, SET, {**set_variables(ids, quantity=3, change_from=10), "key": 5})
    good = call(world, SET, set_variables(ids, quantity=3, change_from=10))
    missing = call(world, SET, {"key": "k"})

    assert bad["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"
    assert bad["errors"][0]["message"].startswith("Variable $key of type String! was provided")
    assert good["data"]["inventorySetQuantities"]["userErrors"] == []
    assert missing["errors"][0]["message"] == (
        "Variable $input of type InventorySetQuantitiesInput! was provided invalid value"
    )


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ shop { name ", "parseError"),
        ("{ shop { nam } }", "undefinedField"),
        ("query A($x: Int) { shop { name } }", "variableNotUsed"),
    ],
)
def test_an_invalid_document_stays_invalid_on_repeat(query: str, code: str):
    world, _ = make_world()

    status, first = graphql_api.execute(
        world, shop_domain=SHOP, body={"query": query}, api_version="2026-07"
    )
    first["errors"][0]["message"] = "changed by the caller"
    first["errors"].append({"message": "added by the caller"})
    status_again, again = graphql_api.execute(
        world, shop_domain=SHOP, body={"query": query}, api_version="2026-07"
    )

    assert status == status_again == 200
    assert len(again["errors"]) == 1
    assert again["errors"][0]["extensions"]["code"] == code
    assert again["errors"][0]["message"] != "changed by the caller"
    assert "data" not in again


def test_a_cached_document_without_idempotent_is_still_refused_at_run_time():
    world, recorder = make_world()
    ids = ids_for(world, "SKU-1")
    variables = set_variables(ids, quantity=3, change_from=10)
    del variables["key"]

    answers = [call(world, SET_WITHOUT_KEY, variables) for _ in range(3)]

    for answer in answers:
        assert answer["data"] == {"inventorySetQuantities": None}
        assert answer["errors"][0]["message"] == (
            "The @idempotent directive is required for this mutation but was not provided."
        )
    assert level_quantities(world, "SKU-1")["available"] == 10
    assert recorder.events == []
    # The same mutation with the directive (another text) still goes through.
    done = call(world, SET, set_variables(ids, quantity=3, change_from=10))
    assert done["data"]["inventorySetQuantities"]["userErrors"] == []


def test_input_arrays_over_the_limit_are_refused_on_every_request():
    world, _ = make_world()
    ids = ids_for(world, "SKU-1")
    small = set_variables(ids, quantity=3, change_from=10)
    big = set_variables(ids, quantity=3, change_from=10)
    big["input"]["quantities"] = big["input"]["quantities"] * 251

    assert call(world, SET, big)["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert call(world, SET, small)["data"]["inventorySetQuantities"]["userErrors"] == []
    assert call(world, SET, big)["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"


def test_declared_defaults_apply_on_every_request():
    world, _ = make_world(skus=("SKU-1", "SKU-2", "SKU-3"))
    query = "query P($n: Int = 2) { products(first: $n) { nodes { title } } }"

    default = call(world, query)
    explicit = call(world, query, {"n": 3})
    default_again = call(world, query)

    assert len(default["data"]["products"]["nodes"]) == 2
    assert len(explicit["data"]["products"]["nodes"]) == 3
    assert default_again["data"] == default["data"]
    cost = [body["extensions"]["cost"]["requestedQueryCost"] for body in (default, explicit)]
    assert default_again["extensions"]["cost"]["requestedQueryCost"] == cost[0] != cost[1]


def test_input_nested_too_deeply_is_still_refused():
    world, _ = make_world()
    node: dict = {"title": "leaf", "type": "HTTP", "url": "https://example.com"}
    for _ in range(150):
        node = {"title": "n", "type": "HTTP", "url": "https://example.com", "items": [node]}
    query = """mutation M($items: [MenuItemCreateInput!]!) {
      menuCreate(title: "T", handle: "t", items: $items) { menu { id } } }"""

    for _ in range(2):
        body = call(world, query, {"items": [node]})
        assert body["data"] is None
        assert body["errors"] == [{"message": "Variable values are nested too deeply."}]


def test_concurrent_requests_with_one_text_each_get_their_own_answer():
    world, _ = make_world(skus=tuple(f"SKU-{n}" for n in range(8)), available=10)
    results: dict[int, dict] = {}

    def write(n: int) -> None:
        ids = ids_for(world, f"SKU-{n}")
        results[n] = call(world, SET, set_variables(ids, quantity=n, change_from=10))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for n in range(8):
        changes = results[n]["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]
        assert changes["changes"][0] == {"name": "available", "delta": n - 10}
        assert level_quantities(world, f"SKU-{n}")["available"] == n


def test_cache_is_bounded_by_entries_and_by_text_length():
    schema = get_schema()
    cache = QueryCache(max_entries=2, max_chars=100)
    texts = ["{ shop { name } }", "{ shop { id } }", "{ shop { email } }"]

    for text in texts:
        cache.get(schema, text)
    assert len(cache) == 2
    cache.get(schema, texts[0])  # evicted: prepared again
    assert (cache.hits, cache.misses) == (0, 4)

    huge = "{ shop { name } }" + " " * 200
    assert cache.get(schema, huge).errors == []
    assert cache.get(schema, huge) is not cache.get(schema, huge)  # too long to keep


def test_idempotency_keys_still_expire():
    now = [1_800_000_000.0]
    world = World(clock=lambda: now[0])
    shop_create(world=world, domain=SHOP, name="Source")
    product_create(world=world, shop_domain=SHOP, title="P", variants=[{"sku": "SKU-1",
                                                                 "available": 10}])
    ids = ids_for(world, "SKU-1")

    call(world, SET, set_variables(ids, quantity=3, change_from=10, key="k"))
    reused = call(world, SET, set_variables(ids, quantity=5, change_from=3, key="k"))
    now[0] += IDEMPOTENCY_TTL_SECONDS + 1
    expired = call(world, SET, set_variables(ids, quantity=5, change_from=3, key="k"))

    assert reused["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == (
        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    )
    assert expired["data"]["inventorySetQuantities"]["userErrors"] == []
    assert level_quantities(world, "SKU-1")["available"] == 5
    assert len(world.idempotency) == 1


# --------------------------------------------------------------------------- coercion


def _sample(rng: random.Random, type_: object, depth: int = 0) -> object:
    """A value for ``type_``: mostly well-formed, with every kind of mistake mixed in."""
    if rng.random() < 0.08:
        return rng.choice([None, Undefined, 0, 1.5, True, "", "x", [], {}, [1], {"a": 1}])
    if isinstance(type_, GraphQLNonNull):
        return _sample(rng, type_.of_type, depth)
    if isinstance(type_, GraphQLList):
        if rng.random() < 0.15:
            return _sample(rng, type_.of_type, depth + 1)
        return [_sample(rng, type_.of_type, depth + 1) for _ in range(rng.randint(0, 3))]
    if isinstance(type_, GraphQLInputObjectType):
        if depth > 5:
            return None
        value = {
            name: _sample(rng, field.type, depth + 1)
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) or rng.random() < 0.7
        }
        if rng.random() < 0.05:
            value["notAField"] = 1
        return value
    if isinstance(type_, GraphQLEnumType):
        return rng.choice([*type_.values, "NOT_A_VALUE", 3])
    assert isinstance(type_, GraphQLScalarType)
    return rng.choice({
        "Int": [0, 7, -3, 2**31, 2**31 - 1, 1.0, 2.5, "3", True],
        "Float": [0, 1.5, -2, "1.5", True, float("inf")],
        "String": ["a", "", 5, True],
        "Boolean": [True, False, 0, "true"],
        "ID": ["gid://shopify/Product/1", 5, 1.5, True],
    }.get(type_.name, ["x", 1, 1.5, True, {"a": [1]}, [1, 2]]))


def _same(left: object, right: object) -> bool:
    if left is Undefined or right is Undefined:
        return left is right
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_same, left, right))
    return left == right


def test_compiled_coercion_matches_graphql_core_on_every_input_type():
    schema = get_schema()
    rng = random.Random(20260723)
    named = [
        t for t in schema.type_map.values()
        if isinstance(t, GraphQLInputObjectType | GraphQLEnumType | GraphQLScalarType)
    ]
    checked = valid = 0
    for base in named:
        for type_ in (base, GraphQLNonNull(base), GraphQLList(GraphQLNonNull(base))):
            coerce = compile_coercer(type_)
            for _ in range(3):
                value = _sample(rng, type_)
                expected = coerce_input_value(value, type_)
                assert _same(coerce(value), expected), (str(type_), value)
                checked += 1
                valid += expected is not Undefined
    assert checked > 10_000
    assert valid > checked // 5
