"""Lifecycle and privacy webhooks. Each handler is idempotent."""

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from stores.connections import connections_end_for_uninstall
from stores.models import CustomerDataRequest
from stores.registry import customer_data_collect
from stores.selectors import shop_for_domain
from stores.services import shop_redact, shop_scopes_update, shop_uninstall
from webhooks.registry import webhook_handler_register, webhook_time_plausible
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
    only recorded where it cannot (the destination itself uninstalled)."""
    shop_uninstall(shop_domain=shop_domain)
    shop = shop_for_domain(domain=shop_domain)
    if shop is not None:
        connections_end_for_uninstall(shop=shop)


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
