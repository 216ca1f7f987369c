"""Every GraphQL document of the project is valid against Shopify's real 2026-07 schema, and
every inventory write carries @idempotent and changeFromQuantity."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import graphql
import pytest

from syncer.shopify.documents import (
    IDEMPOTENT_MUTATIONS,
    DocumentError,
    document,
    document_from_text,
    documents,
    inventory_adjust_quantities_input,
    inventory_change_input,
    inventory_quantity_input,
    inventory_set_quantities_input,
)

ROOT = Path(__file__).resolve().parents[2]
SHARED_SCHEMA = ROOT.parent / "shared" / "shopify" / "admin-2026-07.graphql"
# The emulator carries a byte-for-byte copy, so CI validates even without the ../shared checkout.
VENDORED_SCHEMA = ROOT / "shopify_emulator" / "schema" / "admin-2026-07.graphql"
SCHEMA_PATH = SHARED_SCHEMA if SHARED_SCHEMA.is_file() else VENDORED_SCHEMA
SKIPPED_PARTS = {".venv", "venv", "node_modules", ".git", "var", "shopify_emulator"}


def _project_files(pattern: str) -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob(pattern)
        if not SKIPPED_PARTS.intersection(path.relative_to(ROOT).parts)
    )


GRAPHQL_FILES = _project_files("*.graphql")


@functools.cache
def _schema() -> graphql.GraphQLSchema:
    return graphql.build_schema(SCHEMA_PATH.read_text(), assume_valid=True, assume_valid_sdl=True)


def test_the_documents_syncer_needs_all_exist():
    # Given the operations the sync flows use
    expected = {
        "shop_info",
        "locations",
        "products_page",
        "product_by_id",
        "product_variants_by_sku",
        "product_variant_skus",
        "inventory_item_levels",
        "inventory_levels_for_items",
        "inventory_set_quantities",
        "inventory_adjust_quantities",
        "inventory_activate",
        "product_set",
        "product_variants_bulk_update",
        "product_variants_bulk_create",
        "product_variants_bulk_delete",
        "product_update",
        "product_set_fields",
        "metafields_set",
        "product_delete",
        "tags_add",
        "order_create",
        "order_update",
        "order_fulfillment_orders",
        "order_fulfillments",
        "orders_find",
        "fulfillment_create",
        "fulfillment_tracking_info_update",
        "webhook_subscription_create",
        "webhook_subscription_delete",
        "bulk_operation_run_query",
        "current_bulk_operation",
        "bulk_operation",
        "bulk_query_catalogue",
        "bulk_query_inventory_levels",
        "location_inventory_levels_changed",
        "app_subscription_create",
        "app_subscription_cancel",
        "current_app_installation",
    }
    # When the documents are loaded / Then each is there, once
    assert set(documents()) == expected


def test_the_vendored_schema_is_shopifys():
    if not SHARED_SCHEMA.is_file():
        pytest.skip(f"no ../shared checkout at {SHARED_SCHEMA} to compare with")
    assert VENDORED_SCHEMA.read_bytes() == SHARED_SCHEMA.read_bytes()


@pytest.mark.parametrize("path", GRAPHQL_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_graphql_document_is_valid_against_the_admin_schema(path: Path):
    # Given a .graphql file of the project / When it is validated against Shopify's schema
    errors = graphql.validate(_schema(), graphql.parse(path.read_text()))
    # Then Shopify would accept it
    assert [error.message for error in errors] == []


@pytest.mark.parametrize("path", GRAPHQL_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_inventory_mutations_carry_an_idempotency_key_from_a_variable(path: Path):
    # Given any operation of the project
    tree = graphql.parse(path.read_text())
    for operation in tree.definitions:
        assert isinstance(operation, graphql.OperationDefinitionNode)
        for field in operation.selection_set.selections:
            assert isinstance(field, graphql.FieldNode)
            if field.name.value not in IDEMPOTENT_MUTATIONS:
                continue
            # Then every inventory mutation has @idempotent(key: $someVariable)
            directives = {d.name.value: d for d in field.directives or ()}
            assert "idempotent" in directives, f"{path.name}: {field.name.value}"
            (argument,) = directives["idempotent"].arguments or ()
            assert argument.name.value == "key"
            assert isinstance(argument.value, graphql.VariableNode)


def test_inventory_documents_expose_their_idempotency_key_variable():
    assert document("inventory_set_quantities").idempotency_key_variable == "idempotencyKey"
    assert document("inventory_adjust_quantities").idempotency_key_variable == "idempotencyKey"
    assert document("inventory_activate").idempotency_key_variable == "idempotencyKey"
    assert document("products_page").idempotency_key_variable is None


def test_a_document_without_idempotent_on_an_inventory_mutation_is_refused():
    # Given an inventorySetQuantities without @idempotent
    text = (
        "mutation M($input: InventorySetQuantitiesInput!) {"
        " inventorySetQuantities(input: $input) { userErrors { message } } }"
    )
    # When it is loaded / Then it is refused before it could ever be sent
    with pytest.raises(DocumentError, match="needs @idempotent"):
        document_from_text("bad", text)


def test_a_fixed_idempotency_key_in_the_document_is_refused():
    text = (
        "mutation M($input: InventorySetQuantitiesInput!) {"
        ' inventorySetQuantities(input: $input) @idempotent(key: "fixed") {'
        " userErrors { message } } }"
    )
    with pytest.raises(DocumentError, match="from a variable"):
        document_from_text("bad", text)


def test_a_file_with_two_operations_is_refused():
    with pytest.raises(DocumentError, match="exactly one operation"):
        document_from_text("two", "query A { shop { id } } query B { shop { id } }")


def test_quantity_builders_always_carry_change_from_quantity():
    # Given quantities with a known previous value and one that skips the check
    checked = inventory_quantity_input(
        inventory_item_id="gid://shopify/InventoryItem/1",
        location_id="gid://shopify/Location/1",
        quantity=7,
        change_from_quantity=5,
    )
    unchecked = inventory_quantity_input(
        inventory_item_id="gid://shopify/InventoryItem/2",
        location_id="gid://shopify/Location/1",
        quantity=3,
        change_from_quantity=None,
    )
    # When the input is built
    value = inventory_set_quantities_input(
        name="available", reason="correction", quantities=[checked, unchecked]
    )
    # Then each quantity names changeFromQuantity, explicitly null when skipped
    assert value == {
        "name": "available",
        "reason": "correction",
        "quantities": [
            {
                "inventoryItemId": "gid://shopify/InventoryItem/1",
                "locationId": "gid://shopify/Location/1",
                "quantity": 7,
                "changeFromQuantity": 5,
            },
            {
                "inventoryItemId": "gid://shopify/InventoryItem/2",
                "locationId": "gid://shopify/Location/1",
                "quantity": 3,
                "changeFromQuantity": None,
            },
        ],
    }


def test_change_builders_always_carry_change_from_quantity():
    change = inventory_change_input(
        inventory_item_id="gid://shopify/InventoryItem/1",
        location_id="gid://shopify/Location/1",
        delta=-2,
        change_from_quantity=None,
    )
    value = inventory_adjust_quantities_input(
        name="available", reason="correction", changes=[change]
    )
    assert value["changes"] == [
        {
            "inventoryItemId": "gid://shopify/InventoryItem/1",
            "locationId": "gid://shopify/Location/1",
            "delta": -2,
            "changeFromQuantity": None,
        }
    ]


def test_set_input_refuses_a_quantity_without_change_from_quantity():
    # Given a quantity someone built by hand without changeFromQuantity
    raw = {"inventoryItemId": "gid://x/1", "locationId": "L", "quantity": 1}  # deliberately-invalid
    with pytest.raises(ValueError, match="changeFromQuantity"):
        inventory_set_quantities_input(name="available", reason="correction", quantities=[raw])


def test_set_input_refuses_more_than_250_quantities_and_duplicate_pairs():
    quantities = [
        inventory_quantity_input(
            inventory_item_id=f"gid://shopify/InventoryItem/{n}",
            location_id="gid://shopify/Location/1",
            quantity=1,
            change_from_quantity=0,
        )
        for n in range(251)
    ]
    with pytest.raises(ValueError, match="At most 250"):
        inventory_set_quantities_input(name="available", reason="correction", quantities=quantities)
    with pytest.raises(ValueError, match="once per call"):
        inventory_set_quantities_input(
            name="available", reason="correction", quantities=[quantities[0], quantities[0]]
        )


def _dict_literals_missing_change_from_quantity(path: Path) -> list[int]:
    """Line numbers of dict literals that look like inventory quantities/changes but lack
    changeFromQuantity (a line marked `# deliberately-invalid` is a negative test)."""
    source = path.read_text()
    source_lines = source.splitlines()
    tree = ast.parse(source, filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        keys = {key.value for key in node.keys if isinstance(key, ast.Constant)}
        if "inventoryItemId" in keys and keys & {"quantity", "delta"}:
            deliberate = "# deliberately-invalid" in source_lines[node.lineno - 1]
            if "changeFromQuantity" not in keys and not deliberate:
                lines.append(node.lineno)
    return lines


def test_no_code_of_ours_builds_an_inventory_quantity_without_change_from_quantity():
    # Given every Python module of the project (the emulator plays Shopify, so it is not ours)
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in _project_files("*.py")
        if (lines := _dict_literals_missing_change_from_quantity(path))
    }
    # Then no dict literal makes an InventoryQuantityInput/InventoryChangeInput without it
    assert offenders == {}
