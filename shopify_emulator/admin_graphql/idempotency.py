"""The ``@idempotent`` directive and the 2026-04 ``changeFromQuantity`` rule."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo
from graphql.language import FieldNode

from shopify_emulator.admin_graphql.registry import ShopifyError, ctx

IDEMPOTENCY_TTL_SECONDS = 25 * 3600


def first_field_node(info: GraphQLResolveInfo) -> FieldNode:
    return info.field_nodes[0]


# --------------------------------------------------------------------------- @idempotent

IDEMPOTENCY_REQUIRED_MESSAGE = (
    "The @idempotent directive is required for this mutation but was not provided."
)
IDEMPOTENCY_MISMATCH_MESSAGE = (
    "The same idempotency key cannot be used with different operation parameters."
)


def idempotency_key(info: GraphQLResolveInfo) -> str | None:
    """The ``key`` of the field's ``@idempotent`` directive (literal or variable), if any."""
    from graphql.language import VariableNode

    for directive in first_field_node(info).directives or ():
        if directive.name.value != "idempotent":
            continue
        for argument in directive.arguments or ():
            if argument.name.value != "key":
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                values = getattr(info.variable_values, "coerced", info.variable_values)
                found = values.get(value.name.value)
                return None if found is None else str(found)
            return str(getattr(value, "value", "")) or None
    return None


def require_idempotency_key(info: GraphQLResolveInfo) -> str:
    key = idempotency_key(info)
    if key is None:
        raise ShopifyError(IDEMPOTENCY_REQUIRED_MESSAGE, "BAD_REQUEST",
                           nodes=list(info.field_nodes))
    return key


def idempotent(
    info: GraphQLResolveInfo,
    key: str,
    arguments: dict,
    run: Callable[[], dict],
    *,
    mismatch: Callable[[], dict],
) -> dict:
    """Run ``run`` once per (shop, key); replay its payload for the same arguments."""
    context = ctx(info)
    world = context.world
    now = world.clock()
    store = world.idempotency
    # Keys live 25 hours, so the store holds every write of a long run: sweep it only when its
    # oldest entry may have expired, not on every write.
    if now - world.idempotency_oldest > IDEMPOTENCY_TTL_SECONDS:
        for stored_key in [
            k for k, v in store.items() if now - v["at"] > IDEMPOTENCY_TTL_SECONDS
        ]:
            del store[stored_key]
        world.idempotency_oldest = min((v["at"] for v in store.values()), default=math.inf)
    # A digest of the canonical JSON, not the JSON itself: same answer for "same parameters?",
    # 64 bytes kept per key instead of the whole input (40 KB for 250 quantities).
    fingerprint = hashlib.sha256(
        json.dumps([info.field_name, arguments], sort_keys=True, default=str).encode()
    ).hexdigest()
    entry = store.get((context.shop.domain, key))
    if entry is not None:
        if entry["fingerprint"] != fingerprint:
            return mismatch()
        return entry["result"]
    result = run()
    store[(context.shop.domain, key)] = {"fingerprint": fingerprint, "result": result, "at": now}
    world.idempotency_oldest = min(world.idempotency_oldest, now)
    return result


def require_change_from(
    info: GraphQLResolveInfo, items: list[dict], input_type: str, argument: str = "input"
) -> None:
    """2026-04+: every quantity must carry ``changeFromQuantity`` (explicit null allowed)."""
    if all("changeFromQuantity" in item for item in items):
        return
    nodes: list[Any] = list(info.field_nodes)
    from graphql.language import VariableNode

    for arg in first_field_node(info).arguments or ():
        if arg.name.value == argument and isinstance(arg.value, VariableNode):
            operation = info.operation
            for definition in operation.variable_definitions or ():
                if definition.variable.name.value == arg.value.name.value:
                    nodes.append(definition)
        elif arg.name.value == argument:
            nodes.append(arg.value)
    raise ShopifyError(
        f"{input_type} must include the following argument: changeFromQuantity.",
        "INVALID_FIELD_ARGUMENTS",
        nodes=nodes,
    )
