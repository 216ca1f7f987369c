"""Bulk query operations: run the query over state and write Shopify's JSONL."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo, parse

from shopify_emulator.admin_graphql.execution import run_document
from shopify_emulator.admin_graphql.registry import Context, ctx, field
from shopify_emulator.admin_graphql.validation import static_errors
from shopify_emulator.admin_graphql.values import id_of, user_error
from shopify_emulator.domains.bulk import rest as bulk_rest
from shopify_emulator.domains.bulk.models import BulkOperation
from shopify_emulator.schema import get_schema

Info = GraphQLResolveInfo
M = "Mutation"


CONNECTION_KEYS = {"edges", "nodes", "pageInfo"}


def _is_connection(value: Any) -> bool:
    return (isinstance(value, dict) and bool(value)
            and set(value) <= CONNECTION_KEYS and ("edges" in value or "nodes" in value))


def _connection_nodes(value: dict) -> list[Any]:
    if "edges" in value:
        return [edge.get("node") for edge in value["edges"] if isinstance(edge, dict)]
    return list(value.get("nodes") or [])


def flatten(data: dict) -> tuple[list[dict], int]:
    """Shopify's JSONL: one line per node; nested connection nodes carry ``__parentId``."""
    lines: list[dict] = []
    roots = 0

    def emit(node: Any, parent_id: str | None) -> None:
        if not isinstance(node, dict):
            return
        record: dict[str, Any] = {}
        children: list[Any] = []
        for key, value in node.items():
            if _is_connection(value):
                children.extend(_connection_nodes(value))
            else:
                record[key] = value
        if parent_id is not None:
            record["__parentId"] = parent_id
        lines.append(record)
        for child in children:
            emit(child, node.get("id"))

    for value in (data or {}).values():
        if _is_connection(value):
            for node in _connection_nodes(value):
                roots += 1
                emit(node, None)
        elif isinstance(value, dict):
            roots += 1
            emit(value, None)
    return lines, roots


def _has_connection(data: dict) -> bool:
    return any(_is_connection(v) for v in (data or {}).values())


@field(M, "bulkOperationRunQuery")
def bulk_operation_run_query(root: Any, info: Info, query: str,
                             groupObjects: bool = False) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop
    typename = "BulkOperationRunQueryPayload"
    error_type = "BulkOperationUserError"

    def payload(operation: Any, errors: list[dict]) -> dict:
        return {"__typename": typename, "bulkOperation": operation, "userErrors": errors}

    try:
        document = parse(query)
    except GraphQLError as exc:
        return payload(None, [user_error(["query"], f"Invalid bulk query: {exc.message}",
                                         "INVALID", error_type)])
    errors = static_errors(get_schema(), document)
    if errors:
        return payload(None, [user_error(["query"], f"Invalid bulk query: {e['message']}",
                                         "INVALID", error_type) for e in errors])
    now = world.now()
    operation = BulkOperation(id=world.next_id(), query=query, created_at=now)
    bulk_context = Context(world=world, shop=shop, api_version=context.api_version, bulk=True)
    result = run_document(get_schema(), document, bulk_context, {}, None)
    if result.errors:
        return payload(None, [user_error(["query"], f"Invalid bulk query: {e.message}",
                                         "INVALID", error_type) for e in result.errors])
    if not _has_connection(result.data or {}):
        return payload(None, [user_error(["query"],
                                         "Bulk queries must contain at least one connection.",
                                         "INVALID", error_type)])
    lines, roots = flatten(result.data or {})
    body = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    snapshot = dataclasses.replace(operation)
    operation.status = "COMPLETED"
    operation.completed_at = world.now()
    operation.result = body.encode("utf-8")
    operation.object_count = len(lines)
    operation.root_object_count = roots
    operation.file_size = len(operation.result)
    shop.bulk_operations[operation.id] = operation
    world.emit(shop, "bulk_operations/finish", bulk_rest.bulk_operation_finish(operation))
    return payload(snapshot, [])


@field(M, "bulkOperationCancel")
def bulk_operation_cancel(root: Any, info: Info, id: str) -> dict:  # noqa: A002
    shop = ctx(info).shop
    operation = shop.bulk_operations.get(id_of(id, "BulkOperation") or 0)
    if operation is None:
        return {"__typename": "BulkOperationCancelPayload", "bulkOperation": None,
                "userErrors": [user_error(["id"], "Bulk operation does not exist")]}
    errors = []
    if operation.status in ("COMPLETED", "FAILED", "CANCELED", "EXPIRED"):
        errors.append(user_error(
            None, f"A bulk operation cannot be canceled when it is {operation.status.lower()}"))
    return {"__typename": "BulkOperationCancelPayload", "bulkOperation": operation,
            "userErrors": errors}
