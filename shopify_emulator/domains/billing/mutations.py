"""appSubscriptionCreate and appSubscriptionCancel."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.registry import ctx, field
from shopify_emulator.admin_graphql.values import id_of, user_error
from shopify_emulator.domains.billing.models import LIVE_STATUSES, PENDING
from shopify_emulator.domains.billing.operations import (
    confirmation_url,
    subscription_cancel,
    subscription_create,
    subscription_input,
)

Info = GraphQLResolveInfo
M = "Mutation"


@field(M, "appSubscriptionCreate")
def app_subscription_create(root: Any, info: Info, name: str, returnUrl: str,
                            lineItems: list[dict], test: bool | None = None,
                            trialDays: int | None = None,
                            replacementBehavior: str | None = None) -> dict:
    context = ctx(info)
    data, errors = subscription_input(
        name=name, return_url=returnUrl, line_items=lineItems, test=test,
        trial_days=trialDays, replacement_behavior=replacementBehavior,
    )
    if data is None:
        return {"__typename": "AppSubscriptionCreatePayload", "appSubscription": None,
                "confirmationUrl": None,
                "userErrors": [user_error(path, message) for path, message in errors]}
    subscription = subscription_create(world=context.world, shop_domain=context.shop.domain,
                                       data=data)
    return {
        "__typename": "AppSubscriptionCreatePayload",
        "appSubscription": subscription,
        "confirmationUrl": confirmation_url(world=context.world,
                                            shop_domain=context.shop.domain,
                                            subscription=subscription),
        "userErrors": [],
    }


@field(M, "appSubscriptionCancel")
def app_subscription_cancel(root: Any, info: Info, id: str,  # noqa: A002
                            prorate: bool | None = None) -> dict:
    context = ctx(info)
    numeric = id_of(id, "AppSubscription")
    subscription = context.shop.app_subscriptions.get(numeric or 0)
    if subscription is None:
        return _cancel_payload(None, [user_error(["id"], "Subscription doesn't exist")])
    if subscription.status not in (*LIVE_STATUSES, PENDING):
        message = f"Subscription is already {subscription.status.lower()}"
        return _cancel_payload(None, [user_error(["id"], message)])
    # `prorate` would credit the merchant's invoice: nothing is invoiced here.
    cancelled = subscription_cancel(world=context.world, shop_domain=context.shop.domain,
                                    number=subscription.id)
    return _cancel_payload(cancelled, [])


def _cancel_payload(subscription: Any, errors: list[dict]) -> dict:
    return {"__typename": "AppSubscriptionCancelPayload", "appSubscription": subscription,
            "userErrors": errors}
