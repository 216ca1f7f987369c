"""Billing API operations: ask for a recurring subscription, cancel one, read the active ones.

Shopify allows one recurring line item per subscription, so a subscription here has one price
(per 30 days). Ids go in and come out as numbers. Refusals raise `BillingRefused`, whose
merchant message repeats Shopify's reasons in a sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from syncer.shopify.admin_session import AdminSession
from syncer.shopify.documents import document
from syncer.shopify.errors import ShopifyUserErrors
from syncer.shopify.ids import gid, gid_id


class BillingRefused(ShopifyUserErrors):
    """Shopify answered a billing mutation with userErrors."""

    @property
    def merchant_message(self) -> str:
        reasons = "; ".join(error.message.rstrip(".") for error in self.user_errors
                            if error.message)
        return (f"Shopify refused the change: {reasons}." if reasons
                else "Shopify refused the change.")


@dataclass(frozen=True, slots=True)
class AppSubscriptionRead:
    id: int
    name: str
    status: str  # PENDING, ACTIVE, DECLINED, EXPIRED, FROZEN, CANCELLED
    test: bool
    trial_days: int
    created_at: datetime | None
    current_period_end: datetime | None  # null until active
    price: Decimal | None  # the recurring line item's price per interval
    currency: str


@dataclass(frozen=True, slots=True)
class AppSubscriptionCreated:
    subscription: AppSubscriptionRead
    confirmation_url: str


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _subscription(node: Mapping[str, Any]) -> AppSubscriptionRead:
    price: Decimal | None = None
    currency = ""
    for item in node.get("lineItems") or ():
        details = ((item or {}).get("plan") or {}).get("pricingDetails") or {}
        if details.get("__typename") == "AppRecurringPricing":
            money = details.get("price") or {}
            try:
                price = Decimal(str(money.get("amount")))
            except InvalidOperation:
                price = None
            currency = str(money.get("currencyCode") or "")
            break
    return AppSubscriptionRead(
        id=gid_id(node["id"]), name=str(node.get("name") or ""),
        status=str(node.get("status") or ""), test=bool(node.get("test")),
        trial_days=int(node.get("trialDays") or 0), created_at=_time(node.get("createdAt")),
        current_period_end=_time(node.get("currentPeriodEnd")), price=price, currency=currency)


def _refused(payload: Mapping[str, Any] | None, *, session: AdminSession, name: str) -> None:
    errors: Sequence[Mapping[str, Any]] = (payload or {}).get("userErrors") or []
    if errors:
        raise BillingRefused(errors, shop_domain=session.shop_domain, document=name)
    if payload is None or not payload.get("appSubscription"):
        raise BillingRefused([{"field": None, "message": "Shopify returned no subscription"}],
                             shop_domain=session.shop_domain, document=name)


def app_subscription_create(
    *, session: AdminSession, name: str, return_url: str, price: Decimal, currency: str,
    test: bool, trial_days: int,
) -> AppSubscriptionCreated:
    """A PENDING subscription with one recurring price every 30 days, replacing the active one
    as soon as the merchant approves it."""
    variables = {
        "name": name, "returnUrl": return_url, "test": test, "trialDays": trial_days,
        "replacementBehavior": "APPLY_IMMEDIATELY",
        "lineItems": [{"plan": {"appRecurringPricingDetails": {
            "price": {"amount": str(price), "currencyCode": currency},
            "interval": "EVERY_30_DAYS"}}}],
    }
    payload = session.execute(document("app_subscription_create"),
                              variables)["appSubscriptionCreate"]
    _refused(payload, session=session, name="app_subscription_create")
    return AppSubscriptionCreated(subscription=_subscription(payload["appSubscription"]),
                                  confirmation_url=str(payload.get("confirmationUrl") or ""))


def app_subscription_cancel(*, session: AdminSession, subscription_id: int) -> str:
    """Cancels without proration; returns the status Shopify now gives it (CANCELLED)."""
    payload = session.execute(
        document("app_subscription_cancel"),
        {"id": gid("AppSubscription", subscription_id), "prorate": False},
    )["appSubscriptionCancel"]
    _refused(payload, session=session, name="app_subscription_cancel")
    return str(payload["appSubscription"].get("status") or "CANCELLED")


def app_subscriptions_active(*, session: AdminSession) -> list[AppSubscriptionRead]:
    installation = session.execute(document("current_app_installation"))["currentAppInstallation"]
    return [_subscription(node) for node in (installation or {}).get("activeSubscriptions") or ()]
