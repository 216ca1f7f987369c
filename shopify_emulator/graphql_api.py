"""The Admin GraphQL endpoint: parse, validate, cost, throttle, execute — shaped like Shopify.

``execute(world, shop_domain=..., body=..., api_version=...)`` never raises: every failure is a
Shopify-shaped JSON body. Static validation errors use graphql-ruby's codes and messages
(``undefinedField``, ``argumentNotAccepted``, ...; :mod:`.admin_graphql.validation`), variable
errors ``INVALID_VARIABLE`` (:mod:`.admin_graphql.variables`), and every request that got as
far as costing carries ``extensions.cost``.

Everything that depends only on the query text (and the schema) is worked out once and kept in
a bounded LRU (:data:`.admin_graphql.query_cache.QUERY_CACHE`): the parsed document, the
validation result, the operations with their variable signatures, and a
:class:`~shopify_emulator.admin_graphql.cost.CostPlan`. A request then coerces its variables
once; the same coerced values feed the cost, the input-size limits and graphql-core's
executor. The world lock is held only while the resolvers run.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

from shopify_emulator import throttle
from shopify_emulator.admin_graphql.execution import format_error, internal_error, run_operation
from shopify_emulator.admin_graphql.input_limits import input_size_errors
from shopify_emulator.admin_graphql.query_cache import QUERY_CACHE
from shopify_emulator.admin_graphql.registry import Context
from shopify_emulator.domains.billing import mutations as billing_mutations
from shopify_emulator.domains.billing import resolvers as billing_resolvers
from shopify_emulator.domains.bulk import mutations as bulk_mutations
from shopify_emulator.domains.bulk import resolvers as bulk_resolvers
from shopify_emulator.domains.fulfillments import mutations as fulfillment_mutations
from shopify_emulator.domains.fulfillments import resolvers as fulfillment_resolvers
from shopify_emulator.domains.inventory import activation as inventory_activation
from shopify_emulator.domains.inventory import mutations as inventory_mutations
from shopify_emulator.domains.inventory import resolvers as inventory_resolvers
from shopify_emulator.domains.locations import resolvers as location_resolvers
from shopify_emulator.domains.orders import line_item_resolvers, refund_resolvers
from shopify_emulator.domains.orders import mutations as order_mutations
from shopify_emulator.domains.orders import resolvers as order_resolvers
from shopify_emulator.domains.products import mutations as product_mutations
from shopify_emulator.domains.products import resolvers as product_resolvers
from shopify_emulator.domains.products import variant_mutations
from shopify_emulator.domains.shop import nodes as node_resolvers
from shopify_emulator.domains.shop import resolvers as shop_resolvers
from shopify_emulator.domains.webhook_subscriptions import mutations as subscription_mutations
from shopify_emulator.domains.webhook_subscriptions import resolvers as subscription_resolvers
from shopify_emulator.schema import get_schema
from shopify_emulator.world import World

log = logging.getLogger(__name__)

MAX_QUERY_COST = 1000

# A domain's resolvers and mutations register themselves when imported: this is all the API
# serves.
SERVED_MODULES = (
    shop_resolvers, node_resolvers, location_resolvers,
    product_resolvers, product_mutations, variant_mutations,
    inventory_resolvers, inventory_mutations, inventory_activation,
    order_resolvers, line_item_resolvers, refund_resolvers, order_mutations,
    fulfillment_resolvers, fulfillment_mutations,
    subscription_resolvers, subscription_mutations,
    bulk_resolvers, bulk_mutations,
    billing_resolvers, billing_mutations,
)


def execute(world: World, *, shop_domain: str, body: dict, api_version: str) -> tuple[int, dict]:
    """Run one Admin GraphQL request for ``shop_domain``. Returns (HTTP status, JSON body)."""
    try:
        return _execute(world, shop_domain=shop_domain, body=body, api_version=api_version)
    except Exception as exc:  # noqa: BLE001 - the endpoint must never raise
        log.exception("emulator GraphQL internal error")
        return 200, {"errors": [internal_error(exc)]}


def _execute(world: World, *, shop_domain: str, body: dict, api_version: str) -> tuple[int, dict]:
    if not isinstance(body, dict):
        return 400, {"errors": {"query": "Required parameter missing or invalid"}}
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        return 400, {"errors": {"query": "Required parameter missing or invalid"}}
    variables = body.get("variables") or {}
    if isinstance(variables, str):
        try:
            variables = json.loads(variables) or {}
        except ValueError:
            variables = None
    if not isinstance(variables, dict):
        return 400, {"errors": {"variables": "Required parameter missing or invalid"}}
    operation_name = body.get("operationName") or None

    schema = get_schema()
    prepared = QUERY_CACHE.get(schema, query)
    if prepared.errors:
        # A copy: the cached errors must not be changed by whatever is done with the reply.
        return 200, {"errors": copy.deepcopy(prepared.errors)}
    operation, error = prepared.select(operation_name)
    if operation is None:
        return 200, {"errors": [error]}
    variable_errors, coerced = operation.coerce(schema, variables)
    if variable_errors:
        return 200, {"errors": variable_errors}

    # Up to the resolvers nothing reads the world but the shop's existence and its bucket
    # (which has its own lock): costing and the input checks run without the world lock.
    shop = world.shop_get(shop_domain)
    if shop is None:
        return 404, {"errors": "Not Found"}
    bucket = _bucket(world, shop)
    requested = operation.cost.requested(coerced.for_cost)
    if requested > MAX_QUERY_COST:
        return 200, throttle.max_cost_exceeded_response(requested=requested, bucket=bucket)
    if not bucket.try_take(cost=requested):
        return 200, throttle.throttled_response(requested=requested, bucket=bucket)
    size_errors = input_size_errors(schema, operation.node, coerced.provided)
    if size_errors:
        extension = throttle.cost_extension(requested=requested, actual=None, bucket=bucket)
        return 200, {"errors": size_errors, "extensions": {"cost": extension}}

    with world.transaction():
        shop = world.shop_get(shop_domain)
        if shop is None:  # the world was reset since the check above
            return 404, {"errors": "Not Found"}
        context = Context(world=world, shop=shop, api_version=api_version)
        result = run_operation(
            schema, prepared, operation, context, variables, coerced, operation_name
        )
        for callback in context.after_commit:
            callback()

    # The result is plain response data, detached from the world: no lock from here on.
    payload: dict[str, Any] = {}
    if result.errors:
        payload["errors"] = [format_error(e) for e in result.errors]
    payload["data"] = result.data
    try:
        actual = operation.cost.actual(coerced.for_cost, result.data)
    except Exception:  # noqa: BLE001 - cost is advisory; never fail the request on it
        log.exception("actual cost failed")
        actual = requested
    actual = min(actual, requested)
    if requested > actual:
        bucket.refund(amount=requested - actual)
    payload["extensions"] = {
        "cost": throttle.cost_extension(requested=requested, actual=actual, bucket=bucket)
    }
    return 200, payload


def _bucket(world: World, shop: Any) -> throttle.LeakyBucket:
    with world.lock:  # the registry is created lazily, once per world (and again after reset)
        if world.buckets is None:
            world.buckets = throttle.BucketRegistry()
        registry = world.buckets
    return registry.bucket(shop_domain=shop.domain, plan=shop.plan)
