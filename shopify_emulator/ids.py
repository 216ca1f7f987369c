"""Shopify global ids (gids) and their numeric parts.

Shopify's Admin GraphQL API names every object with a gid such as
``gid://shopify/Product/123``. Inventory levels carry the inventory item as a query
string: ``gid://shopify/InventoryLevel/<group>?inventory_item_id=<item>``.
"""

from __future__ import annotations

import re

GID_PREFIX = "gid://shopify/"
_GID_RE = re.compile(r"^gid://shopify/(?P<type>[A-Za-z]+)/(?P<id>[0-9]+)(?:\?(?P<query>.*))?$")


def gid(type_name: str, numeric_id: int) -> str:
    return f"{GID_PREFIX}{type_name}/{numeric_id}"


def inventory_level_gid(*, group_id: int, inventory_item_id: int) -> str:
    return f"{GID_PREFIX}InventoryLevel/{group_id}?inventory_item_id={inventory_item_id}"


def parse_gid(value: object) -> tuple[str, int, dict[str, str]] | None:
    """Return (type, numeric id, query params) or None when ``value`` is not a Shopify gid."""
    if not isinstance(value, str):
        return None
    match = _GID_RE.match(value)
    if match is None:
        return None
    params: dict[str, str] = {}
    if match.group("query"):
        for part in match.group("query").split("&"):
            key, _, val = part.partition("=")
            params[key] = val
    return match.group("type"), int(match.group("id")), params


def numeric_id(value: object, type_name: str | None = None) -> int | None:
    """The numeric id of a gid (optionally only when it is of ``type_name``)."""
    parsed = parse_gid(value)
    if parsed is None:
        return None
    if type_name is not None and parsed[0] != type_name:
        return None
    return parsed[1]


def is_gid(value: object) -> bool:
    return parse_gid(value) is not None
