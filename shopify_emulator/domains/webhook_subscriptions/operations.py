"""Webhook subscriptions: made by the Admin API or by an install from the app's TOML, read by
the delivery engine for every event."""

from __future__ import annotations

from shopify_emulator.domains.webhook_subscriptions.models import WebhookSubscription
from shopify_emulator.formats import ts
from shopify_emulator.ids import gid
from shopify_emulator.world import World


def subscription_create(
    *,
    world: World,
    shop_domain: str,
    topic: str,
    uri: str,
    source: str = "api",
    include_fields: list[str] | None = None,
    filter: str | None = None,  # noqa: A002 - Shopify's name
    name: str | None = None,
) -> dict:
    with world.transaction():
        shop = world.require_shop(shop_domain)
        now = world.now()
        subscription = WebhookSubscription(
            id=world.next_id(),
            topic=topic,
            uri=uri,
            created_at=now,
            updated_at=now,
            source=source,
            include_fields=list(include_fields or []),
            filter=filter,
            name=name,
        )
        shop.subscriptions[subscription.id] = subscription
        return subscription_dict(subscription)


def subscription_delete(*, world: World, shop_domain: str, subscription_id: int) -> bool:
    with world.transaction():
        shop = world.require_shop(shop_domain)
        return shop.subscriptions.pop(int(subscription_id), None) is not None


def subscriptions_for(*, world: World, shop_domain: str, topic: str) -> list[dict]:
    shop = world.shops.get(shop_domain)
    if shop is None or not shop.subscriptions:
        # Asked once per webhook-worthy change (250 times by a 250-item inventory write),
        # mostly for shops that subscribe to nothing: answered without queueing for the
        # lock (a dict lookup and a length are atomic).
        return []
    with world.lock:
        shop = world.shops.get(shop_domain)
        if shop is None:
            return []
        return [
            subscription_dict(s) for s in shop.subscriptions.values() if s.topic == topic
        ]


def subscription_dict(subscription: WebhookSubscription) -> dict:
    return {
        "id": subscription.id,
        "admin_graphql_api_id": gid("WebhookSubscription", subscription.id),
        "topic": subscription.topic,
        "uri": subscription.uri,
        "address": subscription.uri,
        "source": subscription.source,
        "format": subscription.format.lower(),
        "include_fields": list(subscription.include_fields),
        "filter": subscription.filter,
        "name": subscription.name,
        "created_at": ts(subscription.created_at),
        "updated_at": ts(subscription.updated_at),
    }
