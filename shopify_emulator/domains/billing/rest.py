"""The ``app_subscriptions/update`` webhook payload, shaped like Shopify's sample."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shopify_emulator.formats import ts
from shopify_emulator.ids import gid

if TYPE_CHECKING:
    from shopify_emulator.domains.billing.models import AppSubscription
    from shopify_emulator.domains.shop.models import Shop


def app_subscription(shop: Shop, subscription: AppSubscription) -> dict:
    return {
        "app_subscription": {
            "admin_graphql_api_id": gid("AppSubscription", subscription.id),
            "name": subscription.name,
            "status": subscription.status,
            "admin_graphql_api_shop_id": gid("Shop", shop.id),
            "created_at": ts(subscription.created_at),
            "updated_at": ts(subscription.updated_at),
            "currency": subscription.currency,
            "capped_amount": None,  # usage charges are not emulated
            "price": subscription.price,
            "interval": subscription.interval.lower(),
            "plan_handle": None,  # set by Shopify App Pricing plans only
        }
    }
