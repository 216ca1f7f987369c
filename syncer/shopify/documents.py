"""The GraphQL documents Syncer sends, one operation per `.graphql` file in `documents/`.

Files are read and parsed once per process. `document("inventory_set_quantities")` returns the
`Document`; the name is the file name without `.graphql`. Nothing else in the project builds a
GraphQL string. The input builders at the bottom are the only way our code makes inventory
quantity inputs, so `changeFromQuantity` is never forgotten.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    FieldNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    parse,
    value_from_ast_untyped,
)

DOCUMENTS_DIR = Path(__file__).resolve().parent / "documents"

# Shopify rejects these at run time without `@idempotent(key:)` (2026-04+), although the schema
# cannot say so.
IDEMPOTENT_MUTATIONS = frozenset(
    {
        "inventorySetQuantities",
        "inventoryAdjustQuantities",
        "inventoryActivate",
        "inventoryMoveQuantities",
        "inventorySetOnHandQuantities",
        "inventorySetScheduledChanges",
        "locationActivate",
        "locationDeactivate",
        "refundCreate",
    }
)

# Mutations that set state rather than create it: sending one twice leaves the same result, so
# the client may re-send it after a timeout or 5xx without an idempotency key.
REPLAY_SAFE_MUTATIONS = frozenset(
    {
        "productSet",
        "productUpdate",
        "productVariantsBulkUpdate",
        "tagsAdd",
        "orderUpdate",
        "fulfillmentTrackingInfoUpdate",
        "webhookSubscriptionDelete",
    }
)

MAX_INPUT_ITEMS = 250
MAX_PAGE_SIZE = 250
# Shopify refuses a single request whose requested cost exceeds this.
MAX_SINGLE_QUERY_COST = 1000
MUTATION_BASE_COST = 10


class DocumentError(Exception):
    """A `.graphql` file breaks one of our rules (one operation, @idempotent, ...)."""


@dataclass(frozen=True)
class Document:
    name: str
    text: str
    operation_name: str
    operation_type: str  # "query" | "mutation"
    root_fields: tuple[str, ...]
    # The variable that carries the @idempotent key, e.g. "idempotencyKey"; None if not used.
    idempotency_key_variable: str | None
    path: Path

    @property
    def is_mutation(self) -> bool:
        return self.operation_type == "mutation"

    @property
    def replay_safe(self) -> bool:
        """May the same request be sent again when we do not know whether it was applied?

        Queries, mutations carrying an @idempotent key (Shopify replays the first result) and
        mutations that only set state are; orderCreate, fulfillmentCreate, ... are not.
        """
        if not self.is_mutation or self.idempotency_key_variable is not None:
            return True
        return all(field in REPLAY_SAFE_MUTATIONS for field in self.root_fields)

    @functools.cached_property
    def _operation(self) -> OperationDefinitionNode:
        return _operation_of(self.text, self.name)

    def estimate_cost(self, variables: Mapping[str, Any] | None = None) -> int:
        """A conservative static estimate of Shopify's requested cost, used until Shopify has
        told us the real one: objects 1, mutations 10, connections 2 + a multiplier × the cost
        of one item. Shopify scales connections logarithmically (observed multipliers 1/3/4/7/11
        for 1/5/10/50/250 items); we round that curve up to stay on the safe side."""
        defaults = {
            definition.variable.name.value: value_from_ast_untyped(definition.default_value)
            for definition in self._operation.variable_definitions or ()
            if definition.default_value is not None
        }
        values = {**defaults, **(variables or {})}
        cost = _selection_cost(self._operation.selection_set, values)
        if self.is_mutation:
            cost += MUTATION_BASE_COST * len(self.root_fields)
        return max(1, min(cost, MAX_SINGLE_QUERY_COST))


def _operation_of(text: str, name: str) -> OperationDefinitionNode:
    tree = parse(text)
    operations = [d for d in tree.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or len(tree.definitions) != 1:
        raise DocumentError(f"{name}.graphql must hold exactly one operation and nothing else")
    return operations[0]


def _argument_value(node: Any, variables: dict[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, ListValueNode):
        return [_argument_value(item, variables) for item in node.values]
    return value_from_ast_untyped(node, variables)


def _selection_cost(selection_set: SelectionSetNode | None, variables: dict[str, Any]) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, InlineFragmentNode):
            total += _selection_cost(selection.selection_set, variables)
        elif isinstance(selection, FieldNode) and selection.selection_set is not None:
            total += _field_cost(selection, variables)
    return total


def _connection_multiplier(page: int) -> int:
    if page <= 0:
        return 0
    return math.ceil(2 * math.log(max(2, page)))


def _field_cost(field: FieldNode, variables: dict[str, Any]) -> int:
    arguments = {
        arg.name.value: _argument_value(arg.value, variables) for arg in field.arguments or ()
    }
    page = arguments.get("first") or arguments.get("last")
    if isinstance(page, int):
        # A connection: its nodes/edges are paid once per requested item.
        per_item = 0
        for child in field.selection_set.selections if field.selection_set else ():
            if isinstance(child, FieldNode) and child.name.value in ("nodes", "edges"):
                per_item += 1 + _selection_cost(child.selection_set, variables)
            elif isinstance(child, FieldNode) and child.name.value == "pageInfo":
                continue
            elif isinstance(child, FieldNode) and child.selection_set is not None:
                per_item += _field_cost(child, variables)
        return 2 + _connection_multiplier(page) * per_item
    child_cost = _selection_cost(field.selection_set, variables)
    ids = arguments.get("ids")
    if isinstance(ids, list):
        return 1 + len(ids) * max(1, child_cost)
    if field.name.value == "node" and field.selection_set is not None:
        # edges { node { ... } } is already counted per item by the connection.
        return child_cost
    return 1 + child_cost


def _build(path: Path) -> Document:
    return document_from_text(path.stem, path.read_text(encoding="utf-8"), path=path)


def document_from_text(name: str, text: str, *, path: Path | None = None) -> Document:
    """A `Document` from GraphQL text, with the same checks as the files get.

    For the files in `documents/` use `document(name)`; this is for tooling and tests.
    """
    operation = _operation_of(text, name)
    if operation.name is None:
        raise DocumentError(f"{name}.graphql: the operation must be named")
    root_fields = tuple(
        selection.name.value
        for selection in operation.selection_set.selections
        if isinstance(selection, FieldNode)
    )
    key_variable: str | None = None
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode):
            continue
        directive = next(
            (d for d in selection.directives or () if d.name.value == "idempotent"), None
        )
        if directive is None:
            if selection.name.value in IDEMPOTENT_MUTATIONS:
                raise DocumentError(
                    f"{name}.graphql: {selection.name.value} needs @idempotent(key: $variable)"
                )
            continue
        key = next((a for a in directive.arguments or () if a.name.value == "key"), None)
        if key is None or not isinstance(key.value, VariableNode):
            raise DocumentError(
                f"{name}.graphql: @idempotent must take its key from a variable "
                "(a key fixed in the document would replay the first call for ever)"
            )
        key_variable = key.value.name.value
    return Document(
        name=name,
        text=text,
        operation_name=operation.name.value,
        operation_type=operation.operation.value,
        root_fields=root_fields,
        idempotency_key_variable=key_variable,
        path=path or DOCUMENTS_DIR / f"{name}.graphql",
    )


@functools.cache
def documents() -> Mapping[str, Document]:
    """Every document, by name. Loaded once per process."""
    return {path.stem: _build(path) for path in sorted(DOCUMENTS_DIR.glob("*.graphql"))}


def document(name: str) -> Document:
    try:
        return documents()[name]
    except KeyError:
        raise KeyError(f"No GraphQL document named {name!r} in {DOCUMENTS_DIR}") from None


# -- inventory inputs ------------------------------------------------------------------------
# Keyword-only and without defaults for `change_from_quantity`: every caller must decide, and
# may pass None explicitly to skip Shopify's compare-and-swap check.


def inventory_quantity_input(
    *, inventory_item_id: str, location_id: str, quantity: int, change_from_quantity: int | None
) -> dict[str, Any]:
    """One `InventoryQuantityInput` for inventorySetQuantities."""
    return {
        "inventoryItemId": inventory_item_id,
        "locationId": location_id,
        "quantity": quantity,
        "changeFromQuantity": change_from_quantity,
    }


def inventory_change_input(
    *,
    inventory_item_id: str,
    location_id: str,
    delta: int,
    change_from_quantity: int | None,
    ledger_document_uri: str | None = None,
) -> dict[str, Any]:
    """One `InventoryChangeInput` for inventoryAdjustQuantities."""
    change: dict[str, Any] = {
        "inventoryItemId": inventory_item_id,
        "locationId": location_id,
        "delta": delta,
        "changeFromQuantity": change_from_quantity,
    }
    if ledger_document_uri is not None:
        change["ledgerDocumentUri"] = ledger_document_uri
    return change


def _check_items(items: Sequence[Mapping[str, Any]], kind: str) -> list[dict[str, Any]]:
    if not items:
        raise ValueError(f"At least one {kind} is needed")
    if len(items) > MAX_INPUT_ITEMS:
        raise ValueError(f"At most {MAX_INPUT_ITEMS} {kind}s per call, got {len(items)}")
    pairs = [(item["inventoryItemId"], item["locationId"]) for item in items]
    if len(set(pairs)) != len(pairs):
        raise ValueError(f"Each (inventory item, location) may appear once per call ({kind}s)")
    for item in items:
        if "changeFromQuantity" not in item:
            raise ValueError(f"Every {kind} needs changeFromQuantity (a number or None)")
    return [dict(item) for item in items]


def inventory_set_quantities_input(
    *,
    name: str,
    reason: str,
    quantities: Sequence[Mapping[str, Any]],
    reference_document_uri: str | None = None,
) -> dict[str, Any]:
    """`InventorySetQuantitiesInput`; build each quantity with `inventory_quantity_input`."""
    if name not in ("available", "on_hand"):
        raise ValueError("inventorySetQuantities sets 'available' or 'on_hand' only")
    value: dict[str, Any] = {
        "name": name,
        "reason": reason,
        "quantities": _check_items(quantities, "quantity"),
    }
    if reference_document_uri is not None:
        value["referenceDocumentUri"] = reference_document_uri
    return value


def inventory_adjust_quantities_input(
    *,
    name: str,
    reason: str,
    changes: Sequence[Mapping[str, Any]],
    reference_document_uri: str | None = None,
) -> dict[str, Any]:
    """`InventoryAdjustQuantitiesInput`; build each change with `inventory_change_input`."""
    value: dict[str, Any] = {
        "name": name,
        "reason": reason,
        "changes": _check_items(changes, "change"),
    }
    if reference_document_uri is not None:
        value["referenceDocumentUri"] = reference_document_uri
    return value
