"""Webhook subscription mutations."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.registry import ctx, field
from shopify_emulator.admin_graphql.values import id_of, user_error
from shopify_emulator.domains.webhook_subscriptions.operations import (
    subscription_create,
    subscription_delete,
)
from shopify_emulator.domains.webhook_subscriptions.resolvers import topic_to_rest
from shopify_emulator.ids import gid

Info = GraphQLResolveInfo
M = "Mutation"


@field(M, "webhookSubscriptionCreate")
def webhook_subscription_create(root: Any, info: Info, topic: str,
                                webhookSubscription: dict) -> dict:
    context = ctx(info)
    world, shop = context.world, context.shop

    def payload(subscription: Any, errors: list[dict]) -> dict:
        return {"__typename": "WebhookSubscriptionCreatePayload",
                "webhookSubscription": subscription, "userErrors": errors}

    uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl")
    if not uri:
        return payload(None, [user_error(["webhookSubscription", "callbackUrl"],
                                         "Address can't be blank")])
    rest_topic = topic_to_rest(topic)
    if any(s.topic == rest_topic and s.uri == uri for s in shop.subscriptions.values()):
        return payload(None, [user_error(["webhookSubscription", "callbackUrl"],
                                         "Address for this topic has already been taken")])
    created = subscription_create(
        world=world,
        shop_domain=shop.domain,
        topic=rest_topic,
        uri=uri,
        source="api",
        include_fields=webhookSubscription.get("includeFields"),
        filter=webhookSubscription.get("filter"),
        name=webhookSubscription.get("name"),
    )
    subscription = shop.subscriptions[created["id"]]
    if webhookSubscription.get("format"):
        subscription.format = webhookSubscription["format"]
    return payload(subscription, [])


@field(M, "webhookSubscriptionDelete")
def webhook_subscription_delete(root: Any, info: Info, id: str) -> dict:  # noqa: A002
    context = ctx(info)
    numeric = id_of(id, "WebhookSubscription")
    if numeric is None or numeric not in context.shop.subscriptions:
        return {"__typename": "WebhookSubscriptionDeletePayload",
                "deletedWebhookSubscriptionId": None,
                "userErrors": [user_error(["id"], "Webhook subscription does not exist")]}
    subscription_delete(
        world=context.world, shop_domain=context.shop.domain, subscription_id=numeric
    )
    return {"__typename": "WebhookSubscriptionDeletePayload",
            "deletedWebhookSubscriptionId": gid("WebhookSubscription", numeric),
            "userErrors": []}
