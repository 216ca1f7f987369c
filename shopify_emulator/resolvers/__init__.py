"""Resolvers for the emulated Admin GraphQL API.

Every field goes through :func:`resolve_field`: a registered resolver for
``(parent type, field)`` when there is one, else the value of the same-named key/attribute.
Fields the emulator does not model resolve to null when nullable and fail with an error naming
the field when they are not.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLNonNull, GraphQLResolveInfo

from shopify_emulator.resolvers import (  # noqa: F401 - registration side effects
    bulk,
    inventory,
    objects,
    orders,
    products,
    queries,
    webhooks,
)
from shopify_emulator.resolvers.core import RESOLVERS, ShopifyError
from shopify_emulator.resolvers.objects import typename_of

_MISSING = object()
ROOT_TYPES = ("QueryRoot", "Mutation")


def resolve_field(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    type_name = info.parent_type.name
    resolver = RESOLVERS.get(type_name, {}).get(info.field_name)
    if resolver is not None:
        return resolver(source, info, **args)
    if type_name in ROOT_TYPES:
        raise ShopifyError(
            f"Field '{info.field_name}' on {type_name} is not supported by the Shopify emulator.",
            "NOT_SUPPORTED_BY_EMULATOR",
        )
    if isinstance(source, dict):
        value = source.get(info.field_name, _MISSING)
    else:
        value = getattr(source, info.field_name, _MISSING)
    if value is _MISSING:
        if isinstance(info.return_type, GraphQLNonNull):
            raise ShopifyError(
                f"Field '{type_name}.{info.field_name}' is not supported by the Shopify emulator.",
                "NOT_SUPPORTED_BY_EMULATOR",
            )
        return None
    if callable(value) and not isinstance(value, type):
        return value(info, **args)
    return value


def resolve_type(value: Any, info: GraphQLResolveInfo, abstract_type: Any) -> str | None:
    return typename_of(value)


__all__ = ["RESOLVERS", "resolve_field", "resolve_type"]
