"""The WebhookSubscription object, topic names, and the ``QueryRoot`` subscription fields."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.connections import paginate
from shopify_emulator.admin_graphql.registry import ctx, field, object_type, shop_of
from shopify_emulator.admin_graphql.search import search_filter
from shopify_emulator.admin_graphql.values import id_of
from shopify_emulator.domains.webhook_subscriptions.models import WebhookSubscription

Info = GraphQLResolveInfo
Q = "QueryRoot"

object_type(model=WebhookSubscription, type_name="WebhookSubscription")


TOPIC_EXCEPTIONS = {
    "APP_SCOPES_UPDATE": "app/scopes_update",
    "CUSTOMERS_DATA_REQUEST": "customers/data_request",
    "ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled",
    "INVENTORY_LEVELS_CONNECT": "inventory_levels/connect",
    "APP_SUBSCRIPTIONS_UPDATE": "app_subscriptions/update",
    "APP_SUBSCRIPTIONS_APPROACHING_CAPPED_AMOUNT": "app_subscriptions/approaching_capped_amount",
    "APP_PURCHASES_ONE_TIME_UPDATE": "app_purchases_one_time/update",
    "FULFILLMENT_ORDERS_ORDER_ROUTING_COMPLETE": "fulfillment_orders/order_routing_complete",
    "FULFILLMENT_ORDERS_PLACED_ON_HOLD": "fulfillment_orders/placed_on_hold",
    "FULFILLMENT_ORDERS_HOLD_RELEASED": "fulfillment_orders/hold_released",
    "ORDER_TRANSACTIONS_CREATE": "order_transactions/create",
    "CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE": "customers_email_marketing_consent/update",
    "CUSTOMERS_MARKETING_CONSENT_UPDATE": "customers_marketing_consent/update",
    "DRAFT_ORDERS_CREATE": "draft_orders/create",
    "DRAFT_ORDERS_UPDATE": "draft_orders/update",
    "DRAFT_ORDERS_DELETE": "draft_orders/delete",
}


def topic_to_rest(enum_value: str) -> str:
    if enum_value in TOPIC_EXCEPTIONS:
        return TOPIC_EXCEPTIONS[enum_value]
    resource, _, action = enum_value.lower().rpartition("_")
    return f"{resource}/{action}"


def topic_to_enum(rest_topic: str) -> str:
    return rest_topic.replace("/", "_").upper()


@field("WebhookSubscription", "topic")
def _sub_topic(obj: WebhookSubscription, info: Info) -> str:
    return topic_to_enum(obj.topic)


@field("WebhookSubscription", "uri", "callbackUrl")
def _sub_uri(obj: WebhookSubscription, info: Info) -> str:
    return obj.uri


@field("WebhookSubscription", "format")
def _sub_format(obj: WebhookSubscription, info: Info) -> str:
    return obj.format


@field("WebhookSubscription", "includeFields")
def _sub_fields(obj: WebhookSubscription, info: Info) -> list[str]:
    return list(obj.include_fields)


@field("WebhookSubscription", "filter")
def _sub_filter(obj: WebhookSubscription, info: Info) -> str | None:
    return obj.filter


@field("WebhookSubscription", "name")
def _sub_name(obj: WebhookSubscription, info: Info) -> str | None:
    return obj.name


@field("WebhookSubscription", "metafieldNamespaces", "metafields")
def _sub_empty(obj: Any, info: Info) -> list:
    return []


@field("WebhookSubscription", "apiVersion")
def _sub_version(obj: WebhookSubscription, info: Info) -> dict:
    version = ctx(info).api_version
    return {"__typename": "ApiVersion", "handle": version, "displayName": version,
            "supported": True}


@field("WebhookSubscription", "endpoint")
def _sub_endpoint(obj: WebhookSubscription, info: Info) -> dict:
    return {"__typename": "WebhookHttpEndpoint", "callbackUrl": obj.uri}


@field(Q, "webhookSubscriptions")
def _webhook_subscriptions(root: Any, info: Info, topics: list[str] | None = None,
                           uri: str | None = None, callbackUrl: str | None = None,
                           format: str | None = None,  # noqa: A002
                           query: str | None = None, sortKey: str | None = None,
                           **args: Any) -> dict:
    shop = shop_of(info)
    subs = list(shop.subscriptions.values())
    if topics:
        wanted = {topic_to_rest(t) for t in topics}
        subs = [s for s in subs if s.topic in wanted]
    if uri or callbackUrl:
        subs = [s for s in subs if s.uri == (uri or callbackUrl)]
    if format:
        subs = [s for s in subs if s.format == format]
    subs = search_filter(subs, query, {
        "id": ("number", lambda s: s.id),
        "topic": ("text", lambda s: [s.topic, s.topic.replace("/", "_").upper()]),
        "created_at": ("time", lambda s: s.created_at),
        "updated_at": ("time", lambda s: s.updated_at),
    }, [])
    sort_fn = {"CREATED_AT": lambda s: s.created_at}.get(sortKey or "ID")
    return paginate(info, subs, sort_fn=sort_fn, **args)


@field(Q, "webhookSubscription")
def _webhook_subscription(root: Any, info: Info, id: str) -> Any:  # noqa: A002
    return shop_of(info).subscriptions.get(id_of(id, "WebhookSubscription") or 0)
