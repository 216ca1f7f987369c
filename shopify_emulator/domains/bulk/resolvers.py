"""The BulkOperation object and the ``QueryRoot`` bulk operation fields."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.connections import paginate
from shopify_emulator.admin_graphql.registry import ctx, field, object_type, shop_of
from shopify_emulator.admin_graphql.search import search_filter
from shopify_emulator.admin_graphql.values import id_of, now_iso
from shopify_emulator.domains.bulk.models import BulkOperation
from shopify_emulator.domains.bulk.operations import bulk_operation_url

Info = GraphQLResolveInfo
Q = "QueryRoot"

object_type(model=BulkOperation, type_name="BulkOperation")


@field("BulkOperation", "status")
def _bulk_status(obj: BulkOperation, info: Info) -> str:
    return obj.status


@field("BulkOperation", "type")
def _bulk_type(obj: BulkOperation, info: Info) -> str:
    return obj.type


@field("BulkOperation", "errorCode")
def _bulk_error(obj: BulkOperation, info: Info) -> str | None:
    return obj.error_code


@field("BulkOperation", "completedAt")
def _bulk_completed(obj: BulkOperation, info: Info) -> str | None:
    return now_iso(obj.completed_at)


@field("BulkOperation", "objectCount")
def _bulk_count(obj: BulkOperation, info: Info) -> str:
    return str(obj.object_count)


@field("BulkOperation", "rootObjectCount")
def _bulk_root_count(obj: BulkOperation, info: Info) -> str:
    return str(obj.root_object_count)


@field("BulkOperation", "fileSize")
def _bulk_size(obj: BulkOperation, info: Info) -> str | None:
    return str(obj.file_size) if obj.file_size is not None else None


@field("BulkOperation", "url")
def _bulk_url(obj: BulkOperation, info: Info) -> str | None:
    return bulk_operation_url(world=ctx(info).world, operation=obj)


@field("BulkOperation", "partialDataUrl")
def _bulk_partial(obj: BulkOperation, info: Info) -> None:
    return None


@field(Q, "currentBulkOperation")
def _current_bulk(root: Any, info: Info, type: str = "QUERY") -> Any:  # noqa: A002
    shop = shop_of(info)
    ops = [op for op in shop.bulk_operations.values() if op.type == (type or "QUERY")]
    return max(ops, key=lambda op: op.id) if ops else None


@field(Q, "bulkOperation")
def _bulk_operation(root: Any, info: Info, id: str) -> Any:  # noqa: A002
    return shop_of(info).bulk_operations.get(id_of(id, "BulkOperation") or 0)


@field(Q, "bulkOperations")
def _bulk_operations(root: Any, info: Info, query: str | None = None,
                     sortKey: str | None = None, **args: Any) -> dict:
    shop = shop_of(info)
    ops = search_filter(list(shop.bulk_operations.values()), query, {
        "status": ("text", lambda op: op.status),
        "operation_type": ("text", lambda op: op.type),
        "created_at": ("time", lambda op: op.created_at),
        "id": ("number", lambda op: op.id),
    }, [])
    sort_fn = {"CREATED_AT": lambda op: op.created_at,
               "COMPLETED_AT": lambda op: op.completed_at or op.created_at}.get(sortKey or "ID")
    return paginate(info, ops, sort_fn=sort_fn, **args)
