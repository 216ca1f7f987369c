"""Bulk operations: run a query over a whole catalogue, wait for it, stream the JSONL result.

For full syncs and reconciliation of large shops (pagination stops at 25,000 objects). Prefer
the `bulk_operations/finish` webhook to polling in production; `bulk_operation_wait` is for
callers that need the result now (and for tests).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from syncer.shopify.client import ShopifyAdminClient, admin_client
from syncer.shopify.documents import Document, document
from syncer.shopify.errors import (
    ShopifyError,
    ShopifyOutcomeUnknown,
    ShopifyServerError,
    ShopifyTimeout,
    raise_for_user_errors,
)

FINISHED_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELED", "EXPIRED"})


@dataclass(frozen=True)
class BulkOperation:
    id: str
    status: str
    type: str | None = None
    error_code: str | None = None
    created_at: str | None = None
    completed_at: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None
    url: str | None = None
    partial_data_url: str | None = None
    query: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> BulkOperation:
        def as_int(value: Any) -> int | None:
            return int(value) if value not in (None, "") else None

        return cls(
            id=str(node["id"]),
            status=str(node["status"]),
            type=node.get("type"),
            error_code=node.get("errorCode"),
            created_at=node.get("createdAt"),
            completed_at=node.get("completedAt"),
            object_count=as_int(node.get("objectCount")) or 0,
            root_object_count=as_int(node.get("rootObjectCount")) or 0,
            file_size=as_int(node.get("fileSize")),
            url=node.get("url"),
            partial_data_url=node.get("partialDataUrl"),
            query=node.get("query"),
        )


class BulkOperationFailed(ShopifyError):
    """The bulk operation ended FAILED, CANCELED or EXPIRED."""

    default_merchant_message = (
        "Shopify could not finish reading the whole catalogue. Please try again later."
    )

    def __init__(self, message: str, *, operation: BulkOperation, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.operation = operation


# How far Shopify's createdAt (whole seconds, its clock) may be before the moment we sent a
# start whose answer was lost, for the operation to still be taken as that start's.
_START_CLOCK_SLACK = timedelta(seconds=5)


def bulk_query_run(
    *, client: ShopifyAdminClient, shop_domain: str, access_token: str, query: str | Document
) -> BulkOperation:
    """Start a bulk query; raises `ShopifyUserErrors` (e.g. one already in progress).

    `query` is one of our `bulk_query_*` documents (or its name), e.g. "bulk_query_catalogue".
    A start whose answer is lost (a timeout while Shopify works on it) is found again as the
    shop's current bulk query when it has our query and was created after we sent it: a second
    start would only be refused while that one runs.
    """
    if isinstance(query, str):
        query = document(query)
    sent_at = datetime.now(UTC)
    try:
        data = client.execute(
            shop_domain=shop_domain,
            access_token=access_token,
            document="bulk_operation_run_query",
            variables={"query": query.text},
        )
    except ShopifyOutcomeUnknown:
        current = bulk_operation_current(
            client=client, shop_domain=shop_domain, access_token=access_token)
        if current is not None and _started_by(current, query=query.text, sent_at=sent_at):
            return current
        raise
    payload = raise_for_user_errors(
        data.get("bulkOperationRunQuery"),
        shop_domain=shop_domain,
        document="bulk_operation_run_query",
    )
    return BulkOperation.from_node(payload["bulkOperation"])


def _started_by(operation: BulkOperation, *, query: str, sent_at: datetime) -> bool:
    if operation.query is None or operation.query.strip() != query.strip():
        return False
    if not operation.created_at:
        return False
    created = datetime.fromisoformat(operation.created_at.replace("Z", "+00:00"))
    return created >= sent_at - _START_CLOCK_SLACK


def bulk_operation_get(
    *, client: ShopifyAdminClient, shop_domain: str, access_token: str, operation_id: str
) -> BulkOperation | None:
    data = client.execute(
        shop_domain=shop_domain,
        access_token=access_token,
        document="bulk_operation",
        variables={"id": operation_id},
    )
    node = data.get("bulkOperation")
    return BulkOperation.from_node(node) if node else None


def bulk_operation_current(
    *, client: ShopifyAdminClient, shop_domain: str, access_token: str, type: str = "QUERY"
) -> BulkOperation | None:
    data = client.execute(
        shop_domain=shop_domain,
        access_token=access_token,
        document="current_bulk_operation",
        variables={"type": type},
    )
    node = data.get("currentBulkOperation")
    return BulkOperation.from_node(node) if node else None


def bulk_operation_wait(
    *,
    client: ShopifyAdminClient,
    shop_domain: str,
    access_token: str,
    operation_id: str,
    poll_interval: float = 2.0,
    timeout: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> BulkOperation:
    """Poll `bulkOperation(id)` until it finishes. Returns it if COMPLETED; raises
    `BulkOperationFailed` if it FAILED/CANCELED/EXPIRED, `ShopifyTimeout` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        operation = bulk_operation_get(
            client=client,
            shop_domain=shop_domain,
            access_token=access_token,
            operation_id=operation_id,
        )
        if operation is None:
            raise ShopifyError(f"Bulk operation {operation_id} not found", shop_domain=shop_domain)
        if operation.status == "COMPLETED":
            return operation
        if operation.finished:
            raise BulkOperationFailed(
                f"Bulk operation {operation_id} ended {operation.status}"
                + (f" ({operation.error_code})" if operation.error_code else ""),
                operation=operation,
                shop_domain=shop_domain,
            )
        if time.monotonic() + poll_interval > deadline:
            raise ShopifyTimeout(
                f"Bulk operation {operation_id} still {operation.status} after {timeout:.0f}s",
                shop_domain=shop_domain,
            )
        sleep(poll_interval)


def bulk_results_stream(
    url: str | None, *, client: ShopifyAdminClient | None = None
) -> Iterator[dict[str, Any]]:
    """Yield each JSONL line of a finished bulk operation's result, in constant memory.

    `url` is `BulkOperation.url` (None when the query matched nothing: yields nothing). The
    file is a signed download link, so no access token is sent.
    """
    if not url:
        return
    http = (client or admin_client()).http
    try:
        with http.stream("GET", url) as response:
            if response.status_code >= 400:
                response.read()
                raise ShopifyServerError(
                    f"Bulk result download answered HTTP {response.status_code}",
                    status_code=response.status_code,
                    document="bulk_results",
                )
            for line in response.iter_lines():
                if line.strip():
                    yield json.loads(line)
    except httpx.TransportError as exc:
        raise ShopifyTimeout(
            f"Bulk result download failed: {type(exc).__name__}: {exc}", document="bulk_results"
        ) from exc
