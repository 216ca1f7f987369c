"""Lifecycle and privacy webhooks. Each handler is idempotent."""

from decimal import Decimal, InvalidOperation

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from stores.billing import (
    SubscriptionUpdate,
    subscription_update_record,
    subscriptions_end_for_uninstall,
)
from stores.connections import connections_end_for_uninstall
from stores.models import CustomerDataRequest, Subscription
from stores.registry import customer_data_collect
from stores.selectors import shop_for_domain
from stores.services import shop_redact, shop_scopes_update, shop_uninstall
from syncer.shopify.ids import gid_id_or_none
from webhooks.registry import (
    WebhookPayloadInvalid,
    webhook_handler_register,
    webhook_time_plausible,
)
from webhooks.services import (
    webhook_deliveries_for_customer,
    webhook_deliveries_redact_customer,
)


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _customer(payload: dict) -> tuple[int | None, str]:
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    return _int_or_none(customer.get("id")), str(customer.get("email") or "")


def _order_ids(values) -> list[int]:
    return [i for i in (_int_or_none(v) for v in (values or [])) if i is not None]


@webhook_handler_register("app/uninstalled")
def app_uninstalled(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    """Tokens dropped, then every link of the shop's connections ends: the destination's
    choice is applied where the destination can still be reached (a source uninstalled), and
    only recorded where it cannot (the destination itself uninstalled). Shopify cancelled the
    shop's subscription, without telling us: it ends here too."""
    shop_uninstall(shop_domain=shop_domain)
    shop = shop_for_domain(domain=shop_domain)
    if shop is not None:
        connections_end_for_uninstall(shop=shop)
        subscriptions_end_for_uninstall(shop=shop)


@webhook_handler_register("shop/redact")
def shop_redact_requested(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    shop_redact(shop_domain=shop_domain)
    # The data requests we assembled for the shop are copies of its customers' data too.
    CustomerDataRequest.objects.filter(shop_domain=shop_domain).delete()


@webhook_handler_register("customers/redact")
def customers_redact(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    customer_id, email = _customer(payload)
    order_ids = _order_ids(payload.get("orders_to_redact"))
    webhook_deliveries_redact_customer(shop_domain=shop_domain, customer_id=customer_id,
                                       email=email, order_ids=order_ids)
    # A data request we assembled for the customer is a copy of their data too.
    asked_for = Q(pk__in=[])
    if customer_id is not None:
        asked_for |= Q(shopify_customer_id=customer_id)
    if email:
        asked_for |= Q(email__iexact=email)
    CustomerDataRequest.objects.filter(asked_for, shop_domain=shop_domain).delete()


@webhook_handler_register("customers/data_request")
def customers_data_request(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    customer_id, email = _customer(payload)
    order_ids = _order_ids(payload.get("orders_requested"))
    data_request = payload.get("data_request") if isinstance(payload.get("data_request"),
                                                             dict) else {}
    CustomerDataRequest.objects.update_or_create(
        shop_domain=shop_domain,
        data_request_id=_int_or_none(data_request.get("id")),
        defaults={
            "shopify_customer_id": customer_id, "email": email, "orders_requested": order_ids,
            "data": webhook_deliveries_for_customer(
                shop_domain=shop_domain, customer_id=customer_id, email=email,
                order_ids=order_ids,
            ) + customer_data_collect(shop_domain=shop_domain, customer_id=customer_id,
                                      email=email, order_ids=order_ids),
            "requested_at": timezone.now(),
        },
    )


@webhook_handler_register("app/scopes_update")
def app_scopes_update(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    try:
        stamped = parse_datetime(str(payload.get("updated_at") or ""))
    except ValueError:
        stamped = None
    changed_at = webhook_time_plausible(stamped) or timezone.now()
    shop_scopes_update(
        shop_domain=shop_domain,
        previous=[str(s) for s in payload.get("previous") or []],
        current=[str(s) for s in payload.get("current") or []],
        changed_at=changed_at,
    )


@webhook_handler_register("app_subscriptions/update")
def app_subscriptions_update(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    """Shopify's word on a subscription (approved, declined, cancelled, frozen, ...): the plan
    follows it. A body without an id or a known status can never be recorded."""
    body = payload.get("app_subscription")
    if not isinstance(body, dict):
        raise WebhookPayloadInvalid("no app_subscription object")
    shopify_id = gid_id_or_none(body.get("admin_graphql_api_id"))
    status = str(body.get("status") or "").upper()
    if shopify_id is None or shopify_id <= 0:
        raise WebhookPayloadInvalid("app_subscription.admin_graphql_api_id is not an id")
    if status not in Subscription.Status.values:
        raise WebhookPayloadInvalid(f"unknown subscription status {status[:40]!r}")
    try:
        price = Decimal(str(body.get("price")))
    except InvalidOperation:
        price = None
    currency = body.get("currency")
    try:
        updated_at = parse_datetime(str(body.get("updated_at") or ""))
    except ValueError:
        updated_at = None
    subscription_update_record(shop_domain=shop_domain, update=SubscriptionUpdate(
        shopify_id=shopify_id, name=str(body.get("name") or "")[:255], status=status,
        price=price if price is not None and price.is_finite() and 0 <= price < 10**8 else None,
        currency=currency if isinstance(currency, str) and len(currency) == 3 else "",
        updated_at=webhook_time_plausible(updated_at)))
