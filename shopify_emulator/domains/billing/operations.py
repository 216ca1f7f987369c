"""Recurring app subscriptions: created PENDING by the app, approved or declined by the merchant
on the confirmation page, cancelled by the app, replaced by the next approved one, cancelled
by an uninstall. Every status change sends ``app_subscriptions/update``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from shopify_emulator.domains.billing import rest
from shopify_emulator.domains.billing.models import (
    ACTIVE,
    CANCELLED,
    DECLINED,
    INTERVAL_DAYS,
    LIVE_STATUSES,
    PENDING,
    STATUSES,
    AppSubscription,
)
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.formats import money_str, ts
from shopify_emulator.ids import gid
from shopify_emulator.world import EmulatorError, World

TOPIC = "app_subscriptions/update"
NAME_MAX_LENGTH = 255


@dataclass(frozen=True)
class SubscriptionInput:
    """appSubscriptionCreate's arguments, checked."""

    name: str
    return_url: str
    price: str
    currency: str
    interval: str
    test: bool
    trial_days: int
    replacement_behavior: str


def subscription_input(
    *,
    name: Any,
    return_url: Any,
    line_items: Any,
    test: Any = None,
    trial_days: Any = None,
    replacement_behavior: Any = None,
) -> tuple[SubscriptionInput | None, list[tuple[list[str], str]]]:
    """(the input, []) or (None, [(field path, message), ...]) in Shopify's words."""
    errors: list[tuple[list[str], str]] = []
    name = str(name or "").strip()
    if not name:
        errors.append((["name"], "Name can't be blank"))
    elif len(name) > NAME_MAX_LENGTH:
        errors.append((["name"], f"Name is too long (maximum is {NAME_MAX_LENGTH} characters)"))
    return_url = str(return_url or "").strip()
    parts = urlsplit(return_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.append((["returnUrl"], "Return url is invalid"))
    trial = 0 if trial_days is None else trial_days
    if not isinstance(trial, int) or isinstance(trial, bool) or trial < 0:
        errors.append((["trialDays"], "Trial days must be greater than or equal to 0"))
        trial = 0
    recurring, line_errors = _recurring_line(line_items)
    errors.extend(line_errors)
    if errors or recurring is None:
        return None, errors
    price, currency, interval = recurring
    return SubscriptionInput(
        name=name, return_url=return_url, price=price, currency=currency, interval=interval,
        test=bool(test), trial_days=trial,
        replacement_behavior=str(replacement_behavior or "STANDARD"),
    ), []


def _recurring_line(
    line_items: Any,
) -> tuple[tuple[str, str, str] | None, list[tuple[list[str], str]]]:
    """(price, currency, interval) of the one recurring line item Syncer may sell."""
    if not isinstance(line_items, list) or not line_items:
        return None, [(["lineItems"], "Line items can't be blank")]
    recurring = []
    for index, item in enumerate(line_items):
        plan = (item or {}).get("plan") or {}
        if plan.get("appUsagePricingDetails") is not None:
            # Usage charges (capped amounts, usage records) are not emulated.
            return None, [(["lineItems", str(index), "plan", "appUsagePricingDetails"],
                           "Usage pricing is not supported by the Shopify emulator")]
        details = plan.get("appRecurringPricingDetails")
        if details is None:
            return None, [(["lineItems", str(index), "plan"],
                           "Plan must have either recurring or usage pricing details")]
        recurring.append((index, details))
    if len(recurring) > 1:
        return None, [(["lineItems"],
                       "Only one pricing plan can be defined for each available type")]
    index, details = recurring[0]
    path = ["lineItems", str(index), "plan", "appRecurringPricingDetails"]
    if details.get("discount") is not None:
        return None, [([*path, "discount"], "Discounts are not supported by the Shopify emulator")]
    price = details.get("price") or {}
    try:
        amount = Decimal(str(price.get("amount")))
    except (InvalidOperation, ValueError):
        amount = Decimal(0)
    if not amount.is_finite() or amount <= 0:
        return None, [([*path, "price", "amount"], "Price must be greater than 0")]
    currency = str(price.get("currencyCode") or "USD")
    interval = str(details.get("interval") or "EVERY_30_DAYS")
    if interval not in INTERVAL_DAYS:
        return None, [([*path, "interval"], "Interval is not included in the list")]
    return (money_str(amount), currency, interval), []


def subscription_create(*, world: World, shop_domain: str,
                        data: SubscriptionInput) -> AppSubscription:
    """A PENDING subscription, waiting for the merchant on its confirmation page."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        now = world.now()
        subscription = AppSubscription(
            id=world.next_id(), name=data.name, status=PENDING, test=data.test,
            trial_days=data.trial_days, return_url=data.return_url, price=data.price,
            currency=data.currency, interval=data.interval,
            replacement_behavior=data.replacement_behavior,
            signature=secrets.token_hex(20), created_at=now, updated_at=now,
        )
        shop.app_subscriptions[subscription.id] = subscription
        return subscription


def confirmation_path(*, shop_domain: str, subscription: AppSubscription) -> str:
    return (f"/admin/{shop_domain}/charges/{subscription.id}"
            f"/confirm_recurring_application_charge")


def confirmation_url(*, world: World, shop_domain: str, subscription: AppSubscription) -> str:
    path = confirmation_path(shop_domain=shop_domain, subscription=subscription)
    return f"{world.base_url}{path}?{urlencode({'signature': subscription.signature})}"


def signature_valid(subscription: AppSubscription, signature: str | None) -> bool:
    return bool(signature) and secrets.compare_digest(subscription.signature, str(signature))


def require_subscription(shop: Shop, number: int) -> AppSubscription:
    subscription = shop.app_subscriptions.get(int(number))
    if subscription is None:
        raise EmulatorError(f"Unknown subscription {number} in {shop.domain}")
    return subscription


def subscription_approve(*, world: World, shop_domain: str, number: int) -> str:
    """The merchant approves: ACTIVE now, billed after the trial; the shop's other live
    subscription is replaced (cancelled). Returns where Shopify sends the merchant."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        subscription = require_subscription(shop, number)
        _require_pending(subscription)
        _activate(world, shop, subscription)
        return return_url_with_charge(subscription)


def subscription_decline(*, world: World, shop_domain: str, number: int) -> None:
    with world.transaction():
        shop = world.require_shop(shop_domain)
        subscription = require_subscription(shop, number)
        _require_pending(subscription)
        _set_status(world, shop, subscription, DECLINED)


def subscription_cancel(*, world: World, shop_domain: str, number: int,
                        notify: bool = True) -> AppSubscription:
    with world.transaction():
        shop = world.require_shop(shop_domain)
        subscription = require_subscription(shop, number)
        _set_status(world, shop, subscription, CANCELLED, notify=notify)
        return subscription


def subscription_status_set(*, world: World, shop_domain: str, number: int,
                            status: str) -> AppSubscription:
    """Whatever Shopify's billing does on its own (payment failed: FROZEN, never approved:
    EXPIRED, payment back: ACTIVE), for tests and demos."""
    if status not in STATUSES:
        raise EmulatorError(f"status must be one of {', '.join(STATUSES)}")
    with world.transaction():
        shop = world.require_shop(shop_domain)
        subscription = require_subscription(shop, number)
        if status == ACTIVE:
            _activate(world, shop, subscription)
        else:
            _set_status(world, shop, subscription, status)
        return subscription


def subscriptions_cancel_on_uninstall(*, world: World, shop_domain: str) -> int:
    """Shopify cancels an uninstalled app's charges; the app, gone, hears nothing of it."""
    with world.transaction():
        shop = world.require_shop(shop_domain)
        live = [s for s in shop.app_subscriptions.values()
                if s.status in (*LIVE_STATUSES, PENDING)]
        for subscription in live:
            _set_status(world, shop, subscription, CANCELLED, notify=False)
        return len(live)


def _require_pending(subscription: AppSubscription) -> None:
    if subscription.status != PENDING:
        raise EmulatorError(
            f"Subscription {subscription.id} is {subscription.status}, not PENDING")


def _activate(world: World, shop: Shop, subscription: AppSubscription) -> None:
    # One live subscription per installation: the newly approved one replaces the others.
    for other in shop.app_subscriptions.values():
        if other.id != subscription.id and other.status in LIVE_STATUSES:
            _set_status(world, shop, other, CANCELLED)
    _set_status(world, shop, subscription, ACTIVE)


def _set_status(world: World, shop: Shop, subscription: AppSubscription, status: str,
                *, notify: bool = True) -> None:
    subscription.status = status
    subscription.updated_at = world.now()
    # Billing starts after the trial; a frozen subscription coming back keeps its period.
    if status == ACTIVE and subscription.current_period_end is None:
        subscription.current_period_end = world.now() + timedelta(
            days=subscription.trial_days + INTERVAL_DAYS[subscription.interval])
    if notify:
        world.emit(shop, TOPIC, rest.app_subscription(shop, subscription))


def return_url_with_charge(subscription: AppSubscription) -> str:
    """The app's returnUrl with ``charge_id=<n>`` added to its query."""
    parts = urlsplit(subscription.return_url)
    charge = urlencode({"charge_id": subscription.id})
    query = f"{parts.query}&{charge}" if parts.query else charge
    return urlunsplit(parts._replace(query=query))


def subscription_dict(subscription: AppSubscription) -> dict:
    """A subscription as the control API lists it."""
    return {
        "id": subscription.id,
        "admin_graphql_api_id": gid("AppSubscription", subscription.id),
        "name": subscription.name,
        "status": subscription.status,
        "test": subscription.test,
        "trial_days": subscription.trial_days,
        "price": subscription.price,
        "currency": subscription.currency,
        "interval": subscription.interval,
        "current_period_end": ts(subscription.current_period_end),
        "return_url": subscription.return_url,
        "created_at": ts(subscription.created_at),
        "updated_at": ts(subscription.updated_at),
    }


def subscriptions_list(*, world: World, shop_domain: str) -> list[dict]:
    with world.lock:
        shop = world.require_shop(shop_domain)
        return [subscription_dict(s) for s in shop.app_subscriptions.values()]
