"""The AppSubscription object and ``QueryRoot.currentAppInstallation``."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.connections import paginate
from shopify_emulator.admin_graphql.registry import field, object_type, shop_of
from shopify_emulator.admin_graphql.values import money, now_iso
from shopify_emulator.domains.billing.models import ACTIVE, LIVE_STATUSES, AppSubscription
from shopify_emulator.ids import GID_PREFIX, gid

Info = GraphQLResolveInfo
Q = "QueryRoot"
S = "AppSubscription"
INSTALLATION = "AppInstallation"

object_type(model=AppSubscription, type_name=S)


@field(S, "trialDays")
def _trial_days(obj: AppSubscription, info: Info) -> int:
    return obj.trial_days


@field(S, "returnUrl")
def _return_url(obj: AppSubscription, info: Info) -> str:
    return obj.return_url


@field(S, "currentPeriodEnd")
def _current_period_end(obj: AppSubscription, info: Info) -> str | None:
    # "Returns null if the subscription isn't active."
    return now_iso(obj.current_period_end) if obj.status == ACTIVE else None


@field(S, "lineItems")
def _line_items(obj: AppSubscription, info: Info) -> list[dict]:
    pricing = {
        "__typename": "AppRecurringPricing",
        "price": money(obj.price, obj.currency),
        "interval": obj.interval,
        "planHandle": None,
        "discount": None,
    }
    return [{
        "__typename": "AppSubscriptionLineItem",
        # Shopify's form: the subscription's number, a version and the item's position.
        "id": f"{GID_PREFIX}AppSubscriptionLineItem/{obj.id}?v=1&index=0",
        "plan": {"__typename": "AppPlanV2", "pricingDetails": pricing},
    }]


@field(Q, "currentAppInstallation")
def _current_app_installation(root: Any, info: Info) -> dict:
    return {"__typename": INSTALLATION, "id": gid("AppInstallation", shop_of(info).id)}


@field(INSTALLATION, "activeSubscriptions", "subscriptions")
def _active_subscriptions(obj: Any, info: Info) -> list[AppSubscription]:
    # FROZEN ones stay listed (still the installation's subscription, billing on hold): the
    # app reads `status` to tell them apart.
    return sorted((s for s in shop_of(info).app_subscriptions.values()
                   if s.status in LIVE_STATUSES), key=lambda s: s.id)


@field(INSTALLATION, "allSubscriptions")
def _all_subscriptions(obj: Any, info: Info, sortKey: str | None = None,
                       **args: Any) -> dict:
    sort_fn = {"CREATED_AT": lambda s: s.created_at}.get(sortKey or "CREATED_AT")
    return paginate(info, list(shop_of(info).app_subscriptions.values()), sort_fn=sort_fn,
                    **args)
