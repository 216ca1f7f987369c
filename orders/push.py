"""Sending one prepared push: the source order is created exactly once, and a destination order's
push state follows its pushes.

`order_push_execute` runs in `orders.tasks.order_push_task`; it queues no task itself (the task
queues the cancellation flag when one is due), so the tasks module can import it.
"""

import logging

from django.db import transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from orders import payloads as p
from orders.claims import row_claim, row_release
from orders.models import DestinationOrder, OrderLine, OrderPush, OrderPushLine, OrderSettings
from orders.selectors import order_settings_for, push_refusal, shop_label
from stores.alerts import alert_raise_on_commit
from stores.models import AlertKind, Connection
from stores.services import shop_admin_session
from syncer.shopify import ShopifyError, ShopifyOutcomeUnknown, ShopifyRetryable
from syncer.shopify.admin_session import AdminSession
from syncer.shopify.operations.orders import (
    LineItemProperty,
    MailingAddress,
    NewOrder,
    NewOrderCustomer,
    NewOrderLine,
    OrderCreated,
    OrderFound,
    OrderLineItem,
    ShippingLine,
    order_create,
    orders_find_by_tag,
)

logger = logging.getLogger(__name__)

PushState = DestinationOrder.PushState
PushStatus = OrderPush.Status
Fulfilled = DestinationOrder.FulfillmentStatus


def push_tag(order: DestinationOrder) -> str:
    """The tag (and source identifier) that finds the source order made for this order.

    Shopify order ids are unique across shops, so one tag per destination order is unique on
    any source store; the same destination order pushed to two sources gets it on both.
    """
    return f"syncer-{order.shopify_id}"


def tag_safe(text: str) -> str:
    # Shopify splits tags on commas and caps them at 255 characters.
    return text.replace(",", " ").strip()[:255]


FULFILLMENT_RANK = {Fulfilled.UNFULFILLED: 0, Fulfilled.PARTIAL: 1, Fulfilled.FULFILLED: 2}


def fulfillment_status_of(quantities: list[tuple[int, int]]) -> str:
    """Fulfilled, partially fulfilled or unfulfilled, from each line's (ordered, shipped)."""
    if quantities and all(shipped >= ordered for ordered, shipped in quantities):
        return Fulfilled.FULFILLED
    if any(shipped for _, shipped in quantities):
        return Fulfilled.PARTIAL
    return Fulfilled.UNFULFILLED


def order_fulfillment_status_refresh(*, order: DestinationOrder) -> str:
    """The status the order's header and list show: the destination's own (Shopify's), or the
    one its lines say when the sources shipped more. The destination only catches up once our
    copy of a source's fulfilment reaches it and its webhook comes back (a queue, a retry, a
    failed or skipped copy, a same-second webhook handled late): until then the lines already
    said "1 of 2 fulfilled by the source" while the header said "Unfulfilled"."""
    lines = list(OrderLine.objects.filter(order=order, current_quantity__gt=0).annotate(
        shipped=Coalesce(Sum("push_lines__fulfilled_quantity",
                             filter=Q(push_lines__push__status=PushStatus.PUSHED)), 0)))
    by_lines = fulfillment_status_of(
        [(line.current_quantity, line.shipped) for line in lines])
    status = max(order.shopify_fulfillment_status, by_lines,
                 key=lambda value: FULFILLMENT_RANK.get(value, 0))
    if status != order.fulfillment_status:
        DestinationOrder.objects.filter(pk=order.pk).update(fulfillment_status=status,
                                                            updated_at=timezone.now())
        order.fulfillment_status = status
    return status


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


def _source_order(push: OrderPush, lines: list[OrderPushLine]) -> NewOrder:
    order, destination = push.order, push.order.shop
    currency = push.currency or order.currency or "USD"
    address = order.shipping_address or {}
    settings = order_settings_for(shop=destination)
    store = shop_label(destination)
    customer = None
    if push.contact_email:
        if settings.contact_email_method == OrderSettings.ContactEmail.CUSTOMER:
            customer = NewOrderCustomer(
                email=push.contact_email,
                first_name=address.get("first_name") or order.customer_name,
                last_name=address.get("last_name") or "")
        else:
            customer = NewOrderCustomer(email=push.contact_email, first_name=store)
    return NewOrder(
        currency=currency,
        lines=tuple(
            NewOrderLine(
                variant_id=push_line.line.source_variant_id, quantity=push_line.quantity,
                price=push_line.price,
                properties=tuple(LineItemProperty(name=prop["name"], value=prop["value"])
                                 for prop in push_line.line.properties
                                 if not prop["name"].startswith("_")))
            for push_line in lines
        ),
        shipping_address=MailingAddress(**{
            key: address.get(key) or "" for key in (
                "first_name", "last_name", "company", "address1", "address2", "city",
                "province_code", "country_code", "zip", "phone", "country", "province")}),
        shipping_lines=(ShippingLine(title="Shipping", code="syncer", source="syncer",
                                     price=push.shipping_fee),),
        tags=(tag_safe(store), tag_safe(f"{store} {order.name}"), push_tag(order)),
        note=(f"Pushed by Syncer from {store} ({destination.domain}), order {order.name}. "
              "Fulfil it here: the tracking goes back to that store automatically."),
        source_identifier=push_tag(order),
        financial_status="PENDING",
        email=push.contact_email or None,
        customer=customer,
    )


def _source_order_find(*, push: OrderPush, session: AdminSession) -> OrderFound | None:
    for found in orders_find_by_tag(session=session, tag=push_tag(push.order)):
        if found.source_identifier in (None, push_tag(push.order)):
            return found
    return None


def _lines_map(lines: list[OrderPushLine], items: tuple[OrderLineItem, ...]) -> None:
    """Source line ids onto our push lines: by position (Shopify keeps the input order), else
    by variant."""
    free = list(items)
    for push_line in lines:
        wanted = push_line.line.source_variant_id
        match = next((item for item in free
                      if wanted is not None and item.variant_id == wanted), None)
        if match is None:
            continue
        free.remove(match)
        push_line.source_line_item_id = match.id
    OrderPushLine.objects.bulk_update(lines, ["source_line_item_id"])


def _push_done(*, push: OrderPush, made: OrderCreated | OrderFound,
               lines: list[OrderPushLine]) -> OrderPush:
    with transaction.atomic():
        # The order first, then its push: the same lock order as order_push_prepare.
        order = DestinationOrder.objects.select_for_update().get(pk=push.order_id)
        _lines_map(lines, made.line_items)
        push.status = PushStatus.PUSHED
        push.source_order_id = made.id
        push.source_order_name = p.as_str(made.name, limit=64)
        push.pushed_at = timezone.now()
        push.error = ""
        push.save(update_fields=["status", "source_order_id", "source_order_name", "pushed_at",
                                 "error", "updated_at"])
        order_push_state_refresh(order=order)
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
    if final:
        alert_raise_on_commit(shop_ids=[push.order.shop_id], kind=AlertKind.PUSH_FAILED,
                              detail=f"Order {push.order.name} to "
                                     f"{shop_label(push.source)}: {message}")


def order_push_execute(*, push_id: int) -> OrderPush | None:
    """Create the source order for one pending push, exactly once.

    Raises ShopifyRetryable / ShopifyOutcomeUnknown (push stays pending, the task retries);
    a retry after a call that may have landed looks the order up by its tag first.
    """
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
                    push=push, session=shop_admin_session(shop_domain=push.source.domain))
                if found is not None:
                    return _push_done(push=push, made=found, lines=lines)
            connection = Connection.objects.filter(source=push.source,
                                                   destination=push.order.shop).first()
            refusal = push_refusal(order=push.order, source=push.source, connection=connection,
                                   lines=[line.line for line in lines]) if lines else (
                "Nothing to push: none of the order's synced items are left.")
            if refusal:
                _push_fail(push, refusal, final=True)
                return push
            session = shop_admin_session(shop_domain=push.source.domain)
            OrderPush.objects.filter(pk=push.pk).update(attempts=F("attempts") + 1)
            made = order_create(session=session, order=_source_order(push, lines),
                                inventory_behaviour="BYPASS", send_receipt=False,
                                send_fulfillment_receipt=True)
            return _push_done(push=push, made=made, lines=lines)
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


def order_push_cancel_flag_due(*, push_id: int) -> bool:
    """Is the push done while its destination order is cancelled, and the source not told yet?
    (The order was cancelled while the push was under way.)"""
    return OrderPush.objects.filter(
        pk=push_id, status=PushStatus.PUSHED, cancel_flagged_at__isnull=True,
        order__cancelled_at__isnull=False).exists()
