"""Shopify's input array limits (250 items unless a field allows more), checked before any
resolver runs."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema, OperationDefinitionNode
from graphql.language import FieldNode, Node, ObjectValueNode

from shopify_emulator.admin_graphql.validation import node_locations

DEFAULT_INPUT_LIMIT = 250
INPUT_LIMITS = {
    ("productSet", "input", "variants"): 2048,
    ("productVariantsBulkUpdate", "variants"): 2048,
    ("productVariantsBulkCreate", "variants"): 2048,
    ("productSet", "input", "variants", "inventoryQuantities"): 250,
}


def input_size_errors(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: dict
) -> list[dict]:
    """Shopify's input array limit (250 unless a field says otherwise), checked up front."""
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    if root is None:
        return []
    errors: list[dict] = []
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.name.value not in root.fields:
            continue
        arguments = {
            arg.name.value: _literal(arg.value, variables) for arg in selection.arguments or ()
        }
        found = _oversized(arguments, [selection.name.value])
        if found is not None:
            path, size, limit = found
            errors.append(
                {
                    "message": f"The input array size of {size} is greater than the maximum "
                    f"allowed of {limit}.",
                    "locations": node_locations([selection]),
                    "path": path,
                    "extensions": {"code": "MAX_INPUT_SIZE_EXCEEDED"},
                }
            )
    return errors


def _literal(node: Node, variables: dict) -> Any:
    """An argument's value with variables substituted (no coercion: sizes only)."""
    from graphql.language import ListValueNode, VariableNode

    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    if isinstance(node, ListValueNode):
        return [_literal(v, variables) for v in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: _literal(f.value, variables) for f in node.fields}
    return None


def _oversized(value: Any, path: list[str]) -> tuple[list[str], int, int] | None:
    # Only dicts and lists can hold an array: scalars are skipped before a path is built for
    # them (a 250-item input has a thousand of them).
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, dict | list):
                found = _oversized(child, [*path, key])
                if found is not None:
                    return found
    elif isinstance(value, list):
        limit = INPUT_LIMITS.get(tuple(path), DEFAULT_INPUT_LIMIT)
        if len(value) > limit:
            return path, len(value), limit
        for child in value:
            if isinstance(child, dict | list):
                found = _oversized(child, path)
                if found is not None:
                    return found
    return None
