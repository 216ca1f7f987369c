"""Order webhooks. A destination's orders feed the mirror (and automatic push); a source's
orders and fulfilments feed what we pushed to it. Every handler is idempotent and ignores
shops and orders that are not ours to handle."""

from orders import payloads as p
from orders.fulfillments import order_fulfillment_upsert_from_webhook
from orders.mirror import order_mirror_redact_customer, order_mirror_upsert_from_webhook
from orders.source_orders import source_order_update_from_webhook
from stores.models import Shop
from webhooks.registry import webhook_handler_register


def _shop(shop_domain: str) -> Shop | None:
    return Shop.objects.filter(domain=shop_domain, uninstalled_at__isnull=True).first()


def _order_event(*, shop_domain: str, payload: dict) -> None:
    shop = _shop(shop_domain)
    if shop is None:
        return
    if shop.role == Shop.Role.DESTINATION:
        order_mirror_upsert_from_webhook(shop=shop, payload=payload)
    elif shop.role == Shop.Role.SOURCE:
        source_order_update_from_webhook(source=shop, payload=payload)


@webhook_handler_register("orders/create")
def order_created(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    _order_event(shop_domain=shop_domain, payload=payload)


@webhook_handler_register("orders/updated")
def order_updated(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    _order_event(shop_domain=shop_domain, payload=payload)


@webhook_handler_register("orders/paid")
def order_paid(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    _order_event(shop_domain=shop_domain, payload=payload)


@webhook_handler_register("orders/cancelled")
def order_cancelled(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    _order_event(shop_domain=shop_domain, payload=payload)


def _fulfillment_event(*, shop_domain: str, payload: dict) -> None:
    shop = _shop(shop_domain)
    if shop is not None and shop.role == Shop.Role.SOURCE:
        order_fulfillment_upsert_from_webhook(source=shop, payload=payload)


@webhook_handler_register("fulfillments/create")
def fulfillment_created(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    _fulfillment_event(shop_domain=shop_domain, payload=payload)


@webhook_handler_register("fulfillments/update")
def fulfillment_updated(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    _fulfillment_event(shop_domain=shop_domain, payload=payload)


@webhook_handler_register("customers/redact")
def customer_redact(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    customer = p.as_dict(payload.get("customer"))
    order_ids = [i for i in (p.as_int(v) for v in p.as_list(payload.get("orders_to_redact")))
                 if i is not None]
    order_mirror_redact_customer(shop_domain=shop_domain, customer_id=p.as_int(customer.get("id")),
                                 email=p.as_str(customer.get("email")), order_ids=order_ids)
