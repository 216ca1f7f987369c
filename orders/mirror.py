"""The destination order mirror: every order of a destination with at least one synced line,
kept from its webhooks (an older payload never wins), pushed when automatic push is on, flagged
on its sources when it is cancelled after the push; and its customer's data redacted on request.

Writes only; no Shopify call.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from orders import payloads as p
from orders.models import DestinationOrder, OrderLine, OrderPush, OrderSettings
from orders.push import order_fulfillment_status_refresh, order_push_state_refresh
from orders.selectors import auto_push_applies, order_settings_for
from orders.services import order_push_automatic
from orders.tasks import order_push_flag_cancelled_task, task_enqueue_on_commit
from products.models import VariantLink
from stores.models import Connection, Shop
from webhooks.services import webhook_deliveries_redact_orders

PushState = DestinationOrder.PushState
PushStatus = OrderPush.Status


def _links_for(*, shop: Shop, variant_ids: Iterable[int]) -> dict[int, VariantLink]:
    return {link.destination_variant_id: link for link in VariantLink.objects.filter(
        connection__destination=shop, connection__status=Connection.Status.CONNECTED,
        destination_variant_id__in=list(variant_ids),
    ).select_related("source_variant", "connection")}


def _order_fields(payload: dict, *, redacted: bool) -> dict:
    shipping_lines = [p.as_dict(line) for line in p.as_list(payload.get("shipping_lines"))]
    fields = {
        "name": p.as_str(payload.get("name"), limit=64) or f"#{payload.get('order_number')}",
        "order_number": p.as_int(payload.get("order_number")),
        "processed_at": (p.as_datetime(payload.get("processed_at"))
                         or p.as_datetime(payload.get("created_at")) or timezone.now()),
        "financial_status": p.as_str(payload.get("financial_status"), limit=32),
        "shopify_fulfillment_status": p.fulfillment_status(payload.get("fulfillment_status")),
        "tags": p.tags_parse(payload.get("tags")),
        "shipping_method": (p.as_str(shipping_lines[0].get("title")) if shipping_lines else ""),
        "currency": p.as_str(payload.get("currency"), limit=3),
        "subtotal_price": p.as_decimal(payload.get("subtotal_price")),
        "total_price": p.as_decimal(payload.get("total_price")),
        "total_refunded": p.refunded_total(payload),
        "cancelled_at": p.as_datetime(payload.get("cancelled_at")),
        "shopify_updated_at": p.as_datetime(payload.get("updated_at")),
        "customer_id": p.as_int(p.as_dict(payload.get("customer")).get("id")),
    }
    if not redacted:
        shipping = p.address_parse(payload.get("shipping_address"))
        fields.update({
            "customer_name": p.customer_name(payload),
            "email": p.as_str(payload.get("email") or payload.get("contact_email")),
            "phone": p.as_str(payload.get("phone") or (shipping or {}).get("phone"), limit=64),
            "shipping_address": shipping,
        })
    return fields


def _line_fields(line: dict) -> dict:
    quantity = max(p.as_int(line.get("quantity")) or 0, 0)
    current = p.as_int(line.get("current_quantity"))
    properties = [{"name": p.as_str(prop.get("name")), "value": p.as_str(prop.get("value"))}
                  for prop in map(p.as_dict, p.as_list(line.get("properties")))
                  if p.as_str(prop.get("name"))]
    return {
        "destination_variant_id": p.as_int(line.get("variant_id")),
        "sku": p.as_str(line.get("sku")),
        "title": p.as_str(line.get("title"), limit=512) or "Item",
        "variant_title": p.as_str(line.get("variant_title")),
        "quantity": quantity,
        "current_quantity": max(current if current is not None else quantity, 0),
        "price": p.as_decimal(line.get("price")),
        "properties": properties,
    }


def order_mirror_upsert_from_webhook(*, shop: Shop, payload: dict) -> DestinationOrder | None:
    """orders/create|updated|paid|cancelled of a destination: keep the mirror of every order
    with at least one synced line; push it when automatic push is on; flag its source orders
    when it was cancelled after the push. Idempotent, and an older payload never wins."""
    order_id = p.as_int(payload.get("id"))
    if order_id is None:
        return None
    lines = [line for line in map(p.as_dict, p.as_list(payload.get("line_items")))
             if p.as_int(line.get("id")) is not None]
    links = _links_for(shop=shop, variant_ids={p.as_int(line.get("variant_id")) for line in lines}
                       - {None})
    with transaction.atomic():
        order = DestinationOrder.objects.select_for_update().filter(
            shop=shop, shopify_id=order_id).first()
        if order is None:
            if not any(p.as_int(line.get("variant_id")) in links for line in lines):
                return None
            fields = _order_fields(payload, redacted=False)
            order, created = DestinationOrder.objects.get_or_create(
                shop=shop, shopify_id=order_id, defaults=fields)
            order = DestinationOrder.objects.select_for_update().get(pk=order.pk)
        else:
            created = False
        was_paid = not created and order.financial_status in p.PAID_STATUSES
        incoming_at = p.as_datetime(payload.get("updated_at"))
        if (not created and incoming_at and order.shopify_updated_at
                and incoming_at < order.shopify_updated_at):
            return order  # a late, older payload
        if not created:
            fields = _order_fields(payload, redacted=order.redacted_at is not None)
            if any(getattr(order, name) != value for name, value in fields.items()):
                for name, value in fields.items():
                    setattr(order, name, value)
                order.save(update_fields=[*fields, "updated_at"])
        _lines_upsert(order=order, lines=lines, links=links)
        order_fulfillment_status_refresh(order=order)
        # Not pushed stays not pushed until a push completes (which refreshes it itself).
        order_push_state_refresh(order=order, has_pushes=order.push_state != PushState.NOT_PUSHED)
        _after_mirror(order=order, just_paid=(order.financial_status in p.PAID_STATUSES
                                              and not was_paid))
    return order


def _lines_upsert(*, order: DestinationOrder, lines: list[dict],
                  links: dict[int, VariantLink]) -> None:
    existing = {line.shopify_id: line for line in order.lines.all()}
    for payload_line in lines:
        line_id = p.as_int(payload_line["id"])
        fields = _line_fields(payload_line)
        link = links.get(fields["destination_variant_id"])
        if link is not None:
            # A line keeps the source it was sold from even if the link goes later.
            fields["source_id"] = link.connection.source_id
            fields["source_variant_id"] = link.source_variant.shopify_id
        line = existing.get(line_id)
        if line is None:
            OrderLine.objects.create(order=order, shopify_id=line_id, **fields)
        elif any(getattr(line, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(line, name, value)
            line.save(update_fields=list(fields))


def _after_mirror(*, order: DestinationOrder, just_paid: bool) -> None:
    if order.cancelled_at is not None:
        for push_id in order.pushes.filter(status=PushStatus.PUSHED,
                                           cancel_flagged_at__isnull=True
                                           ).values_list("pk", flat=True):
            task_enqueue_on_commit(order_push_flag_cancelled_task, push_id)
        if order.auto_push_waiting_since is not None:
            order_push_automatic(order=order, waiting_only=True)  # nothing waits any more
        return
    # Automatic push: when the order arrives paid or becomes paid, and on later updates only
    # while it waits for a part (an address added, an item linked since); an order it never
    # took on stays as the merchant left it.
    if order.auto_push_waiting_since is not None:
        order_push_automatic(order=order, waiting_only=True)
    elif just_paid and auto_push_applies(settings=order_settings_for(shop=order.shop),
                                         shop=order.shop):
        order_push_automatic(order=order)


# --- privacy --------------------------------------------------------------------------------------


@transaction.atomic
def order_mirror_redact_customer(*, shop_domain: str, customer_id: int | None, email: str,
                                 order_ids: list[int]) -> int:
    """customers/redact: strip the customer's name, email, phone and address from the orders
    we mirror for that shop, the email from pushes made with it, and the personal data from
    the copies of those orders its sources' webhooks brought us."""
    match = Q(shopify_id__in=order_ids)
    if customer_id is not None:
        match |= Q(customer_id=customer_id)
    if email:
        match |= Q(email__iexact=email)
    order_pks = list(DestinationOrder.objects.filter(match, shop__domain=shop_domain)
                     .values_list("pk", flat=True))
    orders = DestinationOrder.objects.filter(pk__in=order_pks)
    # The sources' copies first (their webhooks about the orders pushed to them): one
    # transaction, so a retry finds the orders again by the email it is about to clear.
    for domain, source_order_ids in _pushed_copies(
            OrderPush.objects.filter(order__in=orders)).items():
        webhook_deliveries_redact_orders(shop_domain=domain, order_ids=source_order_ids)
    emails = {address.lower() for address in orders.values_list("email", flat=True) if address}
    if email:
        emails.add(email.lower())
    redacted = orders.update(customer_name="", email="", phone="", shipping_address=None,
                             redacted_at=timezone.now(), updated_at=timezone.now())
    OrderLine.objects.filter(order__in=orders).update(properties=[])
    for address in emails:
        # Pushes of those orders, and (for a source store's own customer) pushes it received.
        OrderPush.objects.filter(Q(order__in=orders) | Q(source__domain=shop_domain),
                                 contact_email__iexact=address).update(contact_email="")
    return redacted


def _pushed_copies(pushes: QuerySet[OrderPush]) -> dict[str, list[int]]:
    """Source shop domain → the ids of its orders made by `pushes`."""
    copies: dict[str, list[int]] = defaultdict(list)
    for domain, order_id in pushes.exclude(source_order_id=None).order_by("pk").values_list(
            "source__domain", "source_order_id"):
        copies[domain].append(order_id)
    return dict(copies)


def order_copies_erase(*, shop: Shop) -> None:
    """shop/redact (a shop eraser): what other shops hold about the erased shop. Its sources'
    webhooks about the orders it pushed them lose the personal data in them and every
    mention of the shop: its name, domain and owner's email (the contact email of a push)."""
    settings = OrderSettings.objects.filter(shop=shop).first()
    pushes = OrderPush.objects.filter(order__shop=shop)
    identifying = sorted({text for text in (
        shop.email, shop.name, shop.domain, settings.custom_email if settings else "",
        *pushes.values_list("contact_email", flat=True).distinct(),
    ) if text})
    for domain, source_order_ids in _pushed_copies(pushes).items():
        webhook_deliveries_redact_orders(shop_domain=domain, order_ids=source_order_ids,
                                         identifying=identifying)


def order_mirror_for_customer(*, shop_domain: str, customer_id: int | None, email: str,
                              order_ids: list[int]) -> list[dict]:
    """customers/data_request (a stores collector): the customer's orders as we mirror them,
    and where they were pushed (kept after the webhook bodies they came in are dropped)."""
    match = Q(shopify_id__in=order_ids)
    if customer_id is not None:
        match |= Q(customer_id=customer_id)
    if email:
        match |= Q(email__iexact=email)
    orders = (DestinationOrder.objects.filter(match, shop__domain=shop_domain)
              .prefetch_related("lines", "pushes__source").order_by("pk"))
    return [{"topic": "syncer/order", "received_at": order.created_at.isoformat(), "payload": {
        "id": order.shopify_id, "name": order.name, "processed_at": order.processed_at.isoformat(),
        "customer_id": order.customer_id, "customer_name": order.customer_name,
        "email": order.email, "phone": order.phone, "shipping_address": order.shipping_address,
        "lines": [{"title": line.title, "variant_title": line.variant_title, "sku": line.sku,
                   "quantity": line.quantity, "price": str(line.price),
                   "properties": line.properties} for line in order.lines.all()],
        "pushed_to": [{"store": push.source.name or push.source.domain,
                       "order": push.source_order_name, "contact_email": push.contact_email}
                      for push in order.pushes.all()],
    }} for order in orders]
