"""The plans a destination can be on (settings.SYNCER_PLANS) and the plan a shop is on now.

Sources are free and unlimited. A destination's plan is its one ACTIVE subscription (Shopify
confirmed it); with none (never subscribed, declined, cancelled, expired or frozen) it is on the
free plan, without the Orders add-on.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from stores.models import Shop, Subscription

FREE = "free"


@dataclass(frozen=True, slots=True)
class Plan:
    handle: str
    name: str
    products: int | None  # the synced-product allowance; None: unlimited
    price: Decimal  # per 30 days, in settings.SYNCER_BILLING_CURRENCY

    @property
    def is_free(self) -> bool:
        return self.price == 0


@dataclass(frozen=True, slots=True)
class Entitlement:
    """What a shop may do now, as Shopify last confirmed it."""

    plan: Plan
    orders_addon: bool
    subscription: Subscription | None  # the ACTIVE one, if any

    @property
    def products(self) -> int | None:
        return self.plan.products


def plans() -> list[Plan]:
    return [Plan(handle=str(row["handle"]), name=str(row["name"]),
                 products=None if row.get("products") is None else int(row["products"]),
                 price=Decimal(str(row.get("price") or "0")))
            for row in settings.SYNCER_PLANS]


def plan_get(*, handle: str) -> Plan | None:
    return next((plan for plan in plans() if plan.handle == handle), None)


def plan_free() -> Plan:
    return plan_get(handle=FREE) or Plan(handle=FREE, name="Free", products=0, price=Decimal(0))


def orders_addon_price() -> Decimal:
    return Decimal(str(settings.SYNCER_ORDERS_ADDON_PRICE))


UNLIMITED = Plan(handle="source", name="Free for sources", products=None, price=Decimal(0))


def shop_entitlement(*, shop: Shop) -> Entitlement:
    if shop.role == Shop.Role.SOURCE:
        return Entitlement(plan=UNLIMITED, orders_addon=False, subscription=None)
    active = (Subscription.objects.filter(shop=shop, status=Subscription.Status.ACTIVE)
              .order_by("-status_changed_at", "-pk").first())
    if active is None:
        return Entitlement(plan=plan_free(), orders_addon=False, subscription=None)
    # A plan since removed from the settings keeps what it was sold with: never less than free.
    plan = plan_get(handle=active.plan) or Plan(handle=active.plan, name=active.name,
                                                products=None, price=active.price)
    return Entitlement(plan=plan, orders_addon=active.orders_addon, subscription=active)
