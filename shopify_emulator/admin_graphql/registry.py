"""Where resolvers are registered and how every field is resolved.

Each domain registers its resolvers with :func:`field` and its model classes with
:func:`object_type` when its resolver modules are imported (``graphql_api`` imports them all).
Every field goes through :func:`resolve_field`: a registered resolver for
``(parent type, field)`` when there is one, else the value of the same-named key/attribute.
Fields the emulator does not model resolve to null when nullable and fail with an error naming
the field when they are not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, GraphQLNonNull, GraphQLResolveInfo

from shopify_emulator.admin_graphql.values import now_iso
from shopify_emulator.ids import gid

if TYPE_CHECKING:
    from shopify_emulator.domains.shop.models import Shop
    from shopify_emulator.world import World

Resolver = Callable[..., Any]
RESOLVERS: dict[str, dict[str, Resolver]] = {}
TYPE_NAMES: dict[type, str] = {}  # model class -> GraphQL object type
ROOT_TYPES = ("QueryRoot", "Mutation")
_MISSING = object()


def field(type_name: str, *field_names: str) -> Callable[[Resolver], Resolver]:
    """Register a resolver for ``type_name.field_name`` (camelCase, as in the schema)."""

    def register(fn: Resolver) -> Resolver:
        for name in field_names:
            RESOLVERS.setdefault(type_name, {})[name] = fn
        return fn

    return register


def object_type(*, model: type, type_name: str, gid_id: bool = True) -> None:
    """Map ``model`` to its GraphQL type and register what every Shopify object has: ``id``
    (a gid, unless the type builds its own), ``legacyResourceId``, ``createdAt``, ``updatedAt``."""
    TYPE_NAMES[model] = type_name
    if gid_id:
        field(type_name, "id")(_gid_resolver(type_name))
    field(type_name, "legacyResourceId")(_legacy)
    field(type_name, "createdAt")(lambda obj, info: now_iso(getattr(obj, "created_at", None)))
    field(type_name, "updatedAt")(
        lambda obj, info: now_iso(getattr(obj, "updated_at", None) or getattr(obj, "created_at",
                                                                               None))
    )


def _gid_resolver(type_name: str) -> Resolver:
    def resolve(obj: Any, info: GraphQLResolveInfo) -> str:
        return gid(type_name, obj.id)

    return resolve


def _legacy(obj: Any, info: GraphQLResolveInfo) -> str:
    return str(obj.id)


def typename_of(obj: Any) -> str | None:
    if isinstance(obj, dict):
        return obj.get("__typename")
    return TYPE_NAMES.get(type(obj))


@dataclass
class Context:
    world: World
    shop: Shop
    api_version: str
    bulk: bool = False  # running inside a bulk operation: connections return everything
    after_commit: list[Callable[[], None]] = dc_field(default_factory=list)


def ctx(info: GraphQLResolveInfo) -> Context:
    return info.context


def shop_of(info: GraphQLResolveInfo) -> Shop:
    return info.context.shop


class ShopifyError(GraphQLError):
    """A runtime error shaped like Shopify's (message + extensions.code)."""

    def __init__(self, message: str, code: str, *, nodes: Any = None, **extensions: Any) -> None:
        super().__init__(message, nodes, extensions={"code": code, **extensions})


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
