"""Destination order mirror, order push to sources, cancellation flags, settings, redaction.

Writes only. Shopify is reached through `syncer.shopify`; every call that can create
something twice (`orderCreate`) is guarded by a row that exists before the call.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from orders import payloads as p
from orders.models import (
    DestinationOrder,
    OrderLine,
    OrderPush,
    OrderPushLine,
    OrderSettings,
    ShippingRateRule,
)
from orders.selectors import order_pushes_troubled, push_refusal, shipping_fee_from_rules
from products.models import SourceVariant, VariantLink
from stores.models import Connection, Shop
from syncer.shopify import (
    ShopifyError,
    ShopifyOutcomeUnknown,
    ShopifyRetryable,
    admin_client,
    document,
    raise_for_user_errors,
)
from syncer.shopify.ids import gid, gid_id_or_none

logger = logging.getLogger(__name__)

PushState = DestinationOrder.PushState
PushStatus = OrderPush.Status
ZERO = Decimal("0.00")
# How long one worker may hold a push or fulfilment while it talks to Shopify.
CLAIM_FOR = timedelta(minutes=5)
CANCELLED_TAG = "syncer-cancelled"


class OrderPushRefused(Exception):
    """A push that must not happen; the message is shown to the merchant as it is."""


def push_tag(order: DestinationOrder) -> str:
    """The tag (and source identifier) that finds the source order made for this order.

    Shopify order ids are unique across shops, so one tag per destination order is unique on
    any source store; the same destination order pushed to two sources gets it on both.
    """
    return f"syncer-{order.shopify_id}"


def _tag_safe(text: str) -> str:
    # Shopify splits tags on commas and caps them at 255 characters.
    return text.replace(",", " ").strip()[:255]


def shop_label(shop: Shop) -> str:
    return shop.name or shop.domain


def _enqueue(task, *args) -> None:
    # robust: an eager task (tests, demo) that fails must not undo the caller's commit.
    transaction.on_commit(lambda: task.delay(*args), robust=True)


# --- claims: one worker at a time on a push / fulfilment -------------------------------------


def row_claim(model, pk: int) -> bool:
    now = timezone.now()
    return bool(model.objects.filter(pk=pk).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    ).update(claimed_until=now + CLAIM_FOR))


def row_release(model, pk: int) -> None:
    model.objects.filter(pk=pk).update(claimed_until=None)


# --- settings ----------------------------------------------------------------------------------


def order_settings_get_or_create(*, shop: Shop) -> OrderSettings:
    settings, _ = OrderSettings.objects.get_or_create(shop=shop)
    return settings


@transaction.atomic
def order_settings_update(*, shop: Shop, auto_push: bool, contact_email_method: str,
                          custom_email: str, shipping_rules_enabled: bool,
                          notify_customer: bool) -> OrderSettings:
    settings = OrderSettings.objects.select_for_update().get(
        pk=order_settings_get_or_create(shop=shop).pk)
    settings.auto_push = auto_push
    settings.contact_email_method = contact_email_method
    settings.custom_email = custom_email if contact_email_method == "custom" else ""
    settings.shipping_rules_enabled = shipping_rules_enabled
    settings.notify_customer = notify_customer
    settings.full_clean()
    settings.save()
    return settings


def order_auto_push_set(*, shop: Shop, enabled: bool) -> OrderSettings:
    settings = order_settings_get_or_create(shop=shop)
    OrderSettings.objects.filter(pk=settings.pk).update(auto_push=enabled,
                                                       updated_at=timezone.now())
    settings.auto_push = enabled
    return settings


def shipping_rule_add(*, shop: Shop, source: Shop | None, min_subtotal: Decimal,
                      fee: Decimal) -> ShippingRateRule:
    rule, _ = ShippingRateRule.objects.update_or_create(
        shop=shop, source=source, min_subtotal=min_subtotal, defaults={"fee": fee})
    return rule


def shipping_rule_delete(*, shop: Shop, rule_id: int) -> bool:
    deleted, _ = ShippingRateRule.objects.filter(shop=shop, pk=rule_id).delete()
    return bool(deleted)


def contact_email_for(*, settings: OrderSettings, order: DestinationOrder) -> str:
    method = settings.contact_email_method
    if method == OrderSettings.ContactEmail.CUSTOM and settings.custom_email:
        return settings.custom_email
    if method == OrderSettings.ContactEmail.CUSTOMER and order.email:
        return order.email
    return settings.shop.email or order.email


# --- the mirror ---------------------------------------------------------------------------------


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
        "fulfillment_status": p.fulfillment_status(payload.get("fulfillment_status")),
        "tags": p.tags_parse(payload.get("tags")),
        "shipping_method": (p.as_str(shipping_lines[0].get("title")) if shipping_lines else ""),
        "currency": p.as_str(payload.get("currency"), limit=3),
        "subtotal_price": p.as_decimal(payload.get("subtotal_price")),
        "total_price": p.as_decimal(payload.get("total_price")),
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


def order_push_state_refresh(*, order: DestinationOrder, has_pushes: bool = True) -> str:
    """`has_pushes=False` (the caller knows there are none) saves the queries."""
    if order.cancelled_at is not None:
        state = PushState.CANCELLED
    elif not has_pushes:
        state = PushState.NOT_PUSHED
    else:
        sources = set(order.lines.filter(source__isnull=False, current_quantity__gt=0)
                      .values_list("source_id", flat=True))
        pushed = set(order.pushes.filter(status=PushStatus.PUSHED)
                     .values_list("source_id", flat=True))
        if not pushed:
            state = PushState.NOT_PUSHED
        elif sources <= pushed:
            state = PushState.PUSHED
        else:
            state = PushState.PARTIAL
    if state != order.push_state:
        DestinationOrder.objects.filter(pk=order.pk).update(push_state=state,
                                                            updated_at=timezone.now())
        order.push_state = state
    return state


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
    from orders.tasks import order_push_flag_cancelled_task

    if order.cancelled_at is not None:
        for push_id in order.pushes.filter(status=PushStatus.PUSHED,
                                           cancel_flagged_at__isnull=True
                                           ).values_list("pk", flat=True):
            _enqueue(order_push_flag_cancelled_task, push_id)
        return
    # Automatic push: when the order arrives paid or becomes paid, not on every later update
    # (an order the merchant left alone, or pushed to some sources only, stays as it is).
    if not just_paid:
        return
    settings = OrderSettings.objects.filter(shop_id=order.shop_id).first()
    if settings is not None and settings.auto_push and not order.pushes.exists():
        order_push_request(order=order, trigger=OrderPush.Trigger.AUTOMATIC, quiet=True)


@dataclass
class PushRequestResult:
    pushes: list[OrderPush] = field(default_factory=list)
    already_pushed: list[str] = field(default_factory=list)  # source names
    refusals: dict[str, str] = field(default_factory=dict)  # source name → reason


def _source_prices(*, source: Shop, variant_ids: set[int]) -> dict[int, Decimal]:
    return {variant_id: price for variant_id, price in SourceVariant.objects.filter(
        shop=source, shopify_id__in=variant_ids, price__isnull=False,
    ).values_list("shopify_id", "price")}


@transaction.atomic
def order_push_prepare(*, order: DestinationOrder, source_ids: list[int] | None = None,
                       shipping_fee: Decimal | None = None,
                       trigger: str = OrderPush.Trigger.MANUAL) -> PushRequestResult:
    """Checks the requirements and writes one pending push per source that can be pushed,
    before anything is sent. A push already done (or under way) is left alone."""
    order = DestinationOrder.objects.select_for_update().select_related("shop").get(pk=order.pk)
    settings = order_settings_get_or_create(shop=order.shop)
    synced_lines = list(order.lines.filter(source__isnull=False).select_related("source")
                        .order_by("pk"))
    sources = {line.source_id: line.source for line in synced_lines}
    result = PushRequestResult()
    if not synced_lines:
        result.refusals[""] = "This order has no synced items, so there is nothing to push."
        return result
    wanted = list(sources) if source_ids is None else list(source_ids)
    connections = {c.source_id: c for c in Connection.objects.filter(
        destination=order.shop, source_id__in=list(sources))}
    existing = {push.source_id: push for push in order.pushes.select_for_update()}
    for source_id in wanted:
        source = sources.get(source_id)
        if source is None:
            result.refusals[str(source_id)] = ("None of this order's items are synced from "
                                               "that store.")
            continue
        push = existing.get(source_id)
        if push is not None and push.status == PushStatus.PUSHED:
            result.already_pushed.append(shop_label(source))
            continue
        if push is not None and push.status == PushStatus.PENDING:
            result.pushes.append(push)  # under way: queue it again, the claim keeps it single
            continue
        lines = [line for line in synced_lines if line.source_id == source_id]
        refusal = push_refusal(order=order, source=source, connection=connections.get(source_id),
                               lines=lines)
        if refusal:
            result.refusals[shop_label(source)] = refusal
            continue
        result.pushes.append(_push_write(order=order, source=source, push=push, lines=lines,
                                         settings=settings, shipping_fee=shipping_fee,
                                         trigger=trigger))
    return result


def _push_write(*, order: DestinationOrder, source: Shop, push: OrderPush | None,
                lines: list[OrderLine], settings: OrderSettings, shipping_fee: Decimal | None,
                trigger: str) -> OrderPush:
    lines = [line for line in lines if line.current_quantity > 0]
    prices = _source_prices(source=source, variant_ids={line.source_variant_id for line in lines})
    priced = [(line, prices.get(line.source_variant_id, line.price)) for line in lines]
    subtotal = sum((price * line.current_quantity for line, price in priced), ZERO)
    if settings.shipping_rules_enabled:
        fee = shipping_fee_from_rules(shop=order.shop, source=source, subtotal=subtotal)
    else:
        fee = shipping_fee if shipping_fee is not None and shipping_fee >= 0 else ZERO
    fields = {
        "status": PushStatus.PENDING, "trigger": trigger, "shipping_fee": fee,
        "contact_email": contact_email_for(settings=settings, order=order),
        "currency": source.currency or order.currency, "subtotal_price": subtotal,
        "total_price": subtotal + fee, "error": "", "attempts": 0,
    }
    if push is None:
        push = OrderPush.objects.create(order=order, source=source, **fields)
    else:
        # A failed push never reached Shopify's books (refused, not timed out): start afresh.
        for name, value in fields.items():
            setattr(push, name, value)
        push.save()
        push.lines.all().delete()
    OrderPushLine.objects.bulk_create([
        OrderPushLine(push=push, line=line, quantity=line.current_quantity, price=price)
        for line, price in priced
    ])
    return push


@transaction.atomic
def order_push_request(*, order: DestinationOrder, source_ids: list[int] | None = None,
                       shipping_fee: Decimal | None = None,
                       trigger: str = OrderPush.Trigger.MANUAL,
                       quiet: bool = False) -> PushRequestResult:
    """Prepare the pushes and send them in the background once committed.

    Raises OrderPushRefused when nothing could be pushed and something was refused, unless
    `quiet` (automatic push: the order's page shows the reason instead).
    """
    from orders.tasks import order_push_task

    result = order_push_prepare(order=order, source_ids=source_ids, shipping_fee=shipping_fee,
                                trigger=trigger)
    if not result.pushes and not result.already_pushed and result.refusals and not quiet:
        raise OrderPushRefused(" ".join(dict.fromkeys(result.refusals.values())))
    for push in result.pushes:
        _enqueue(order_push_task, push.pk)
    return result


@dataclass
class BulkPushResult:
    queued: list[str] = field(default_factory=list)  # order names
    refused: dict[str, str] = field(default_factory=dict)  # order name → reason


def order_push_request_many(*, shop: Shop, order_ids: list[int]) -> BulkPushResult:
    result = BulkPushResult()
    for order in DestinationOrder.objects.filter(shop=shop, pk__in=order_ids).order_by("pk"):
        try:
            pushed = order_push_request(order=order)
        except OrderPushRefused as exc:
            result.refused[order.name] = str(exc)
        else:
            if pushed.pushes:
                result.queued.append(order.name)
    return result


# How many pushes one Try again takes; the rest wait for the next one.
RETRY_LIMIT = 100


def order_pushes_retry(*, shop: Shop) -> int:
    """Try again on the Sync health card: each failed push is prepared afresh (requirements
    checked again, with the shipping fee it had) and each stalled one queued again. Returns
    how many were queued; a push refused again keeps its reason."""
    queued = 0
    pushes = order_pushes_troubled(shop=shop).select_related("order").order_by("pk")
    for push in pushes[:RETRY_LIMIT]:
        result = order_push_request(order=push.order, source_ids=[push.source_id],
                                    shipping_fee=push.shipping_fee, quiet=True)
        queued += len(result.pushes)
    return queued


# --- the push itself ---------------------------------------------------------------------------


def _source_order_input(push: OrderPush, lines: list[OrderPushLine]) -> dict:
    order, destination = push.order, push.order.shop
    currency = push.currency or order.currency or "USD"
    address = order.shipping_address or {}
    settings = order_settings_get_or_create(shop=destination)
    store = shop_label(destination)

    def money(amount: Decimal) -> dict:
        return {"shopMoney": {"amount": str(amount), "currencyCode": currency}}

    line_items = []
    for push_line in lines:
        line = push_line.line
        item = {"variantId": gid("ProductVariant", line.source_variant_id),
                "quantity": push_line.quantity, "priceSet": money(push_line.price)}
        properties = [prop for prop in line.properties if not prop["name"].startswith("_")]
        if properties:
            item["properties"] = properties
        line_items.append(item)
    shipping_address = {key: value for key, value in {
        "firstName": address.get("first_name"), "lastName": address.get("last_name"),
        "company": address.get("company"), "address1": address.get("address1"),
        "address2": address.get("address2"), "city": address.get("city"),
        "provinceCode": address.get("province_code"), "countryCode": address.get("country_code"),
        "zip": address.get("zip"), "phone": address.get("phone"),
    }.items() if value}
    if "countryCode" not in shipping_address and address.get("country"):
        shipping_address["country"] = address["country"]
    if "provinceCode" not in shipping_address and address.get("province"):
        shipping_address["province"] = address["province"]
    note = (f"Pushed by Syncer from {store} ({destination.domain}), order {order.name}. "
            "Fulfil it here: the tracking goes back to that store automatically.")
    order_input = {
        "lineItems": line_items,
        "shippingAddress": shipping_address,
        "shippingLines": [{"title": "Shipping", "code": "syncer", "source": "syncer",
                           "priceSet": money(push.shipping_fee)}],
        "tags": [_tag_safe(store), _tag_safe(f"{store} {order.name}"), push_tag(order)],
        "note": note,
        "sourceIdentifier": push_tag(order),
        "financialStatus": "PENDING",
        "currency": currency,
    }
    if push.contact_email:
        order_input["email"] = push.contact_email
        customer = {"email": push.contact_email}
        if settings.contact_email_method == OrderSettings.ContactEmail.CUSTOMER:
            customer.update({"firstName": address.get("first_name") or order.customer_name,
                             "lastName": address.get("last_name") or ""})
        else:
            customer.update({"firstName": store})
        order_input["customer"] = {"toUpsert": customer}
    return order_input


def _source_order_find(*, push: OrderPush, token: str) -> dict | None:
    data = admin_client().execute(
        shop_domain=push.source.domain, access_token=token, document=document("orders_find"),
        variables={"query": f'tag:"{push_tag(push.order)}"'})
    for node in data["orders"]["nodes"]:
        if node.get("sourceIdentifier") in (None, push_tag(push.order)):
            return node
    return None


def _lines_map(lines: list[OrderPushLine], nodes: list[dict]) -> None:
    """Source line ids onto our push lines: by position (Shopify keeps the input order), else
    by variant."""
    free = list(nodes)
    for push_line in lines:
        wanted = gid("ProductVariant", push_line.line.source_variant_id)
        match = next((node for node in free
                      if ((node.get("variant") or {}).get("id")) == wanted), None)
        if match is None:
            continue
        free.remove(match)
        push_line.source_line_item_id = gid_id_or_none(match["id"])
    OrderPushLine.objects.bulk_update(lines, ["source_line_item_id"])


def _push_done(*, push: OrderPush, node: dict, lines: list[OrderPushLine]) -> OrderPush:
    from orders.tasks import order_push_flag_cancelled_task

    with transaction.atomic():
        # The order first, then its push: the same lock order as order_push_prepare.
        order = DestinationOrder.objects.select_for_update().get(pk=push.order_id)
        _lines_map(lines, (node.get("lineItems") or {}).get("nodes") or [])
        push.status = PushStatus.PUSHED
        push.source_order_id = gid_id_or_none(node["id"])
        push.source_order_name = p.as_str(node.get("name"), limit=64)
        push.pushed_at = timezone.now()
        push.error = ""
        push.save(update_fields=["status", "source_order_id", "source_order_name", "pushed_at",
                                 "error", "updated_at"])
        order_push_state_refresh(order=order)
        if order.cancelled_at is not None:
            _enqueue(order_push_flag_cancelled_task, push.pk)
    logger.info("order pushed order=%s source=%s source_order=%s", push.order_id,
                push.source.domain, push.source_order_id)
    return push


def _push_fail(push: OrderPush, message: str, *, final: bool) -> None:
    push.error = message
    fields = ["error", "updated_at"]
    if final:
        push.status = PushStatus.FAILED
        fields.append("status")
    push.save(update_fields=fields)


def order_push_execute(*, push_id: int) -> OrderPush | None:
    """Create the source order for one pending push, exactly once.

    Raises ShopifyRetryable / ShopifyOutcomeUnknown (push stays pending, the task retries);
    a retry after a call that may have landed looks the order up by its tag first.
    """
    from stores.services import shop_access_token

    push = OrderPush.objects.filter(pk=push_id).first()
    if push is None or push.status != PushStatus.PENDING or not row_claim(OrderPush, push_id):
        return push
    try:
        push = OrderPush.objects.select_related("order", "order__shop", "source").get(pk=push_id)
        if push.status != PushStatus.PENDING:
            return push
        lines = list(push.lines.select_related("line").order_by("pk"))
        try:
            if push.attempts:
                # An earlier call may have created the order: find it before anything else.
                found = _source_order_find(
                    push=push, token=shop_access_token(shop_domain=push.source.domain))
                if found is not None:
                    return _push_done(push=push, node=found, lines=lines)
            connection = Connection.objects.filter(source=push.source,
                                                   destination=push.order.shop).first()
            refusal = push_refusal(order=push.order, source=push.source, connection=connection,
                                   lines=[line.line for line in lines]) if lines else (
                "Nothing to push: none of the order's synced items are left.")
            if refusal:
                _push_fail(push, refusal, final=True)
                return push
            token = shop_access_token(shop_domain=push.source.domain)
            OrderPush.objects.filter(pk=push.pk).update(attempts=F("attempts") + 1)
            data = admin_client().execute(
                shop_domain=push.source.domain, access_token=token,
                document=document("order_create"),
                variables={"order": _source_order_input(push, lines),
                           "options": {"inventoryBehaviour": "BYPASS", "sendReceipt": False,
                                       "sendFulfillmentReceipt": True}})
            payload = raise_for_user_errors(data.get("orderCreate"),
                                            shop_domain=push.source.domain,
                                            document="order_create")
            return _push_done(push=push, node=payload["order"], lines=lines)
        except (ShopifyOutcomeUnknown, ShopifyRetryable) as exc:
            _push_fail(push, exc.merchant_message, final=False)
            raise
        except ShopifyError as exc:
            # Refused by Shopify (userErrors, 4xx, lost access): no order was made.
            logger.warning("order push %s refused by %s: %s", push.pk, push.source.domain, exc)
            _push_fail(push, exc.merchant_message, final=True)
            return push
    finally:
        row_release(OrderPush, push_id)


# --- after the push: the source side -------------------------------------------------------------


def order_push_flag_cancelled(*, push_id: int) -> OrderPush | None:
    """The destination cancelled a pushed order: tell the source owner on the order itself
    (a tag and a line in the note). Idempotent: both writes only set state."""
    from stores.services import shop_access_token

    push = OrderPush.objects.select_related("order", "order__shop", "source").filter(
        pk=push_id).first()
    if (push is None or push.status != PushStatus.PUSHED or push.cancel_flagged_at is not None
            or push.order.cancelled_at is None):
        return push
    client = admin_client()
    token = shop_access_token(shop_domain=push.source.domain)
    store = shop_label(push.order.shop)
    found = client.execute(shop_domain=push.source.domain, access_token=token,
                           document=document("orders_find"),
                           variables={"query": f"id:{push.source_order_id}", "first": 1})
    nodes = found["orders"]["nodes"]
    note = (nodes[0].get("note") if nodes else "") or ""
    marker = f"CANCELLED by {store}"
    if marker not in note:
        when = timezone.localtime(push.order.cancelled_at).strftime("%Y-%m-%d")
        line = (f"{marker} on {when}: their order {push.order.name} was cancelled. Do not "
                f"fulfil this order; if it has already shipped, contact {store}.")
        data = client.execute(shop_domain=push.source.domain, access_token=token,
                              document=document("order_update"),
                              variables={"input": {"id": push.source_order_gid,
                                                   "note": f"{note}\n\n{line}".strip()}})
        raise_for_user_errors(data.get("orderUpdate"), shop_domain=push.source.domain,
                              document="order_update")
    data = client.execute(shop_domain=push.source.domain, access_token=token,
                          document=document("tags_add"),
                          variables={"id": push.source_order_gid,
                                     "tags": [CANCELLED_TAG, _tag_safe(f"Cancelled by {store}")]})
    raise_for_user_errors(data.get("tagsAdd"), shop_domain=push.source.domain,
                          document="tags_add")
    OrderPush.objects.filter(pk=push.pk).update(cancel_flagged_at=timezone.now(),
                                               updated_at=timezone.now())
    push.refresh_from_db()
    return push


def source_order_update_from_webhook(*, source: Shop, payload: dict) -> OrderPush | None:
    """orders/updated|cancelled on a source: note when the source cancels a pushed order."""
    order_id = p.as_int(payload.get("id"))
    if order_id is None:
        return None
    push = OrderPush.objects.filter(source=source, source_order_id=order_id).first()
    if push is None:
        return None
    cancelled_at = p.as_datetime(payload.get("cancelled_at"))
    if cancelled_at != push.source_cancelled_at:
        OrderPush.objects.filter(pk=push.pk).update(source_cancelled_at=cancelled_at,
                                                   updated_at=timezone.now())
        push.source_cancelled_at = cancelled_at
    return push


# --- privacy --------------------------------------------------------------------------------------


@transaction.atomic
def order_mirror_redact_customer(*, shop_domain: str, customer_id: int | None, email: str,
                                 order_ids: list[int]) -> int:
    """customers/redact: strip the customer's name, email, phone and address from the orders
    we mirror for that shop, and the email from pushes made with it."""
    match = Q(shopify_id__in=order_ids)
    if customer_id is not None:
        match |= Q(customer_id=customer_id)
    if email:
        match |= Q(email__iexact=email)
    order_pks = list(DestinationOrder.objects.filter(match, shop__domain=shop_domain)
                     .values_list("pk", flat=True))
    orders = DestinationOrder.objects.filter(pk__in=order_pks)
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
