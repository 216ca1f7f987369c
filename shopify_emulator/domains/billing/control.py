"""Control routes for app subscriptions: list them, answer the confirmation page as the
merchant would, and set what Shopify's billing decides on its own (FROZEN, EXPIRED, ...)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from shopify_emulator.control_support import (
    SHOP_PATH,
    ControlError,
    Emulator,
    Route,
    act,
    json_reply,
    read_body,
    require_shop,
    str_field,
)
from shopify_emulator.domains.billing.models import PENDING, STATUSES
from shopify_emulator.domains.billing.operations import (
    subscription_approve,
    subscription_decline,
    subscription_dict,
    subscription_status_set,
    subscriptions_list,
)

SUBSCRIPTIONS_PATH = f"{SHOP_PATH}/subscriptions"
SUBSCRIPTION_PATH = f"{SUBSCRIPTIONS_PATH}/<int:number>"


def _require_subscription(*, emulator: Emulator, domain: str, number: int) -> Any:
    shop = require_shop(emulator=emulator, domain=domain)
    with emulator.world.lock:
        subscription = shop.app_subscriptions.get(number)
    if subscription is None:
        raise ControlError(f"Unknown subscription {number} in {domain}", status=404)
    return subscription


def do_subscriptions(*, emulator: Emulator, request: Request, domain: str) -> Response:
    require_shop(emulator=emulator, domain=domain)
    return json_reply({"subscriptions": subscriptions_list(world=emulator.world,
                                                           shop_domain=domain)})


def _answer(*, emulator: Emulator, domain: str, number: int,
            operation: Callable[..., Any]) -> Any:
    subscription = _require_subscription(emulator=emulator, domain=domain, number=number)
    if subscription.status != PENDING:
        raise ControlError(f"Subscription {number} is {subscription.status}, not PENDING",
                           status=409)
    return act(emulator=emulator, operation=operation, shop_domain=domain, number=number)


def do_approve(*, emulator: Emulator, request: Request, domain: str, number: int) -> Response:
    """What the merchant's Approve button does; replies where the browser would go."""
    redirect = _answer(emulator=emulator, domain=domain, number=number,
                       operation=subscription_approve)
    subscription = _require_subscription(emulator=emulator, domain=domain, number=number)
    return json_reply({"redirect": redirect, "subscription": subscription_dict(subscription)})


def do_decline(*, emulator: Emulator, request: Request, domain: str, number: int) -> Response:
    _answer(emulator=emulator, domain=domain, number=number, operation=subscription_decline)
    subscription = _require_subscription(emulator=emulator, domain=domain, number=number)
    base = emulator.config.base_url or ""
    redirect = f"{base}/admin/{domain}/apps/{emulator.config.app_handle}"
    return json_reply({"redirect": redirect, "subscription": subscription_dict(subscription)})


def do_status(*, emulator: Emulator, request: Request, domain: str, number: int) -> Response:
    _require_subscription(emulator=emulator, domain=domain, number=number)
    status = str_field(read_body(request), "status").upper()
    if status not in STATUSES:
        raise ControlError(f"status must be one of {', '.join(STATUSES)}")
    subscription = act(emulator=emulator, operation=subscription_status_set,
                       shop_domain=domain, number=number, status=status)
    return json_reply(subscription_dict(subscription))


ROUTES = [
    Route(path=SUBSCRIPTIONS_PATH, name="app_subscriptions", methods=("GET",),
          handler=do_subscriptions),
    Route(path=f"{SUBSCRIPTION_PATH}/approve", name="app_subscription_approve",
          methods=("POST",), handler=do_approve),
    Route(path=f"{SUBSCRIPTION_PATH}/decline", name="app_subscription_decline",
          methods=("POST",), handler=do_decline),
    Route(path=f"{SUBSCRIPTION_PATH}/status", name="app_subscription_status",
          methods=("POST",), handler=do_status),
]
