"""Relay connections over the emulator's records: cursors, page sizes, ``pageInfo``."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.registry import ShopifyError, ctx

MAX_PAGE_SIZE = 250


def _cursor_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value.lower()
    return value


def encode_cursor(item_id: int, sort_value: Any) -> str:
    raw = json.dumps({"last_id": item_id, "last_value": str(sort_value)}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=False))
        return int(data["last_id"]), str(data["last_value"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ShopifyError("Invalid cursor for current pagination sort.", "BAD_REQUEST") from exc


def paginate(
    info: GraphQLResolveInfo,
    items: Iterable[Any],
    *,
    id_fn: Callable[[Any], int] = lambda obj: obj.id,
    sort_fn: Callable[[Any], Any] | None = None,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    reverse: bool | None = False,
    require_page_size: bool = True,
    max_page_size: int = MAX_PAGE_SIZE,
    **_ignored: Any,
) -> dict:
    """A Relay connection over ``items`` ordered by (sort value, id)."""
    context = ctx(info)
    rows = []
    for obj in items:
        sort_value = _cursor_value(sort_fn(obj)) if sort_fn is not None else id_fn(obj)
        rows.append(((sort_value, id_fn(obj)), obj))
    rows.sort(key=lambda row: row[0])
    if reverse:
        rows.reverse()
    if not context.bulk:
        if first is None and last is None and require_page_size:
            raise ShopifyError("you must provide one of first or last", "BAD_REQUEST")
        if first is not None and last is not None:
            raise ShopifyError("providing both first and last is not supported", "BAD_REQUEST")
        for name, value in (("first", first), ("last", last)):
            if value is not None and value > max_page_size:
                raise ShopifyError(
                    f"The {name} argument must be less than or equal to {max_page_size}.",
                    "BAD_REQUEST",
                )
            if value is not None and value < 0:
                raise ShopifyError(f"{name} must be greater than or equal to 0", "BAD_REQUEST")

    def position(cursor: str) -> tuple[Any, int]:
        cursor_id, cursor_value = decode_cursor(cursor)
        for key, _obj in rows:
            if key[1] == cursor_id:
                return key
        try:
            restored: Any = type(rows[0][0][0])(cursor_value) if rows else cursor_value
        except (TypeError, ValueError):
            restored = cursor_value
        return (restored, cursor_id)

    def later(key: Any, mark: Any) -> bool:
        return key < mark if reverse else key > mark

    start, end = 0, len(rows)
    if after:
        mark = position(after)
        start = next((i for i, row in enumerate(rows) if later(row[0], mark)), len(rows))
    if before:
        mark = position(before)
        end = next((i for i, row in enumerate(rows) if not later(mark, row[0])), len(rows))
        end = max(end, start)
    if context.bulk:
        first = last = None
    if first is not None:
        end_of_page = min(end, start + first)
        has_next = end_of_page < len(rows)
        end = end_of_page
    else:
        has_next = end < len(rows)
    if last is not None:
        start = max(start, end - last)
    has_previous = start > 0
    window = rows[start:end]
    edges = [
        {"__typename": "Edge", "cursor": encode_cursor(key[1], key[0]), "node": obj}
        for key, obj in window
    ]
    return {
        "__typename": "Connection",
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "__typename": "PageInfo",
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }
