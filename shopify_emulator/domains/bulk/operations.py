"""Bulk operation results: where they are served and how a result file is found again."""

from __future__ import annotations

from shopify_emulator.domains.bulk.models import BulkOperation
from shopify_emulator.world import World


def bulk_result_jsonl(*, world: World, bulk_id: str) -> bytes | None:
    text = str(bulk_id)
    if text.endswith(".jsonl"):
        text = text[: -len(".jsonl")]
    numeric = text.rsplit("/", 1)[-1]
    if not numeric.isdigit():
        return None
    with world.lock:
        for shop in world.shops.values():
            operation = shop.bulk_operations.get(int(numeric))
            if operation is not None:
                return operation.result
    return None


def bulk_operation_url(*, world: World, operation: BulkOperation) -> str | None:
    if operation.status != "COMPLETED" or operation.result is None:
        return None
    return f"{world.base_url.rstrip('/')}/_emulator/bulk/{operation.id}.jsonl"
