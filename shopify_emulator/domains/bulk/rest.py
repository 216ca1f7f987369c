"""REST payload of the ``bulk_operations/finish`` webhook."""

from __future__ import annotations

from shopify_emulator.domains.bulk.models import BulkOperation
from shopify_emulator.formats import ts
from shopify_emulator.ids import gid


def bulk_operation_finish(operation: BulkOperation) -> dict:
    return {
        "admin_graphql_api_id": gid("BulkOperation", operation.id),
        "completed_at": ts(operation.completed_at),
        "created_at": ts(operation.created_at),
        "error_code": operation.error_code.lower() if operation.error_code else None,
        "status": operation.status.lower(),
        "type": operation.type.lower(),
    }
