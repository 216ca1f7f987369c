"""Pushing destination orders to their sources: the order settings and shipping fees, and the
push request, which checks the requirements and writes one pending push per source before
anything is sent (`orders.push` then sends each one from its task).

The mirror of destination orders is in `orders.mirror`, the source's side after the push in
`orders.source_orders`, fulfilments in `orders.fulfillments` and `orders.fulfillment_sync`.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from orders.models import (
    DestinationOrder,
    OrderLine,
    OrderPush,
    OrderPushLine,
    OrderSettings,
    ShippingRateRule,
)
from orders.push import order_push_state_refresh
from orders.selectors import (
    auto_push_plan_for,
    order_pushes_troubled,
    push_refusal,
    shipping_fee_from_rules,
    shop_label,
    waiting_orders_for_source,
)
from orders.tasks import order_push_task, task_enqueue_on_commit
from products.models import SourceVariant, VariantLink
from stores.models import Connection, Shop

PushStatus = OrderPush.Status
ZERO = Decimal("0.00")


class OrderPushRefused(Exception):
    """A push that must not happen; the message is shown to the merchant as it is."""


# --- settings ----------------------------------------------------------------------------------


def order_settings_get_or_create(*, shop: Shop) -> OrderSettings:
    settings, _ = OrderSettings.objects.get_or_create(shop=shop)
    return settings


@transaction.atomic
def order_settings_update(*, shop: Shop, auto_push: bool, contact_email_method: str,
                          custom_email: str, shipping_rules_enabled: bool,
                          notify_customer: bool, partial_push: str | None = None,
                          source_auto_push: dict[int, str] | None = None) -> OrderSettings:
    """`partial_push` None keeps it; `source_auto_push` is {connection id: Connection.AutoPush}
    for some of the shop's connected sources (the others keep theirs)."""
    if source_auto_push:
        # First: a connection that is not this shop's refuses the whole save.
        connection_auto_push_set(shop=shop, choices=source_auto_push)
    settings = OrderSettings.objects.select_for_update().get(
        pk=order_settings_get_or_create(shop=shop).pk)
    settings.auto_push = auto_push
    if partial_push is not None:
        settings.partial_push = partial_push
    settings.contact_email_method = contact_email_method
    settings.custom_email = custom_email if contact_email_method == "custom" else ""
    settings.shipping_rules_enabled = shipping_rules_enabled
    settings.notify_customer = notify_customer
    settings.full_clean()
    settings.save()
    return settings


@transaction.atomic
def connection_auto_push_set(*, shop: Shop, choices: dict[int, str]) -> list[Connection]:
    """Each source's own automatic push ("" as the store-wide setting, "on", "off"), by
    connection id. Only the shop's connected sources; anything else refuses all of it."""
    connections = list(Connection.objects.select_for_update().filter(
        destination=shop, status=Connection.Status.CONNECTED, pk__in=list(choices))
        .order_by("pk"))
    if {connection.pk for connection in connections} != set(choices):
        raise ValidationError("That source is not connected to your store. Reload the page "
                              "and try again.", code="not_connected")
    if any(choice not in Connection.AutoPush.values for choice in choices.values()):
        raise ValidationError("Choose As store-wide, Always or Never.", code="invalid_choice")
    now = timezone.now()
    for connection in connections:
        choice = choices[connection.pk]
        if connection.auto_push != choice:
            Connection.objects.filter(pk=connection.pk).update(auto_push=choice, updated_at=now)
            connection.auto_push = choice
    return connections


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
    result = order_push_prepare(order=order, source_ids=source_ids, shipping_fee=shipping_fee,
                                trigger=trigger)
    if not result.pushes and not result.already_pushed and result.refusals and not quiet:
        raise OrderPushRefused(" ".join(dict.fromkeys(result.refusals.values())))
    for push in result.pushes:
        task_enqueue_on_commit(order_push_task, push.pk)
    return result


# --- automatic push ---------------------------------------------------------------------------


@dataclass
class AutoPushResult:
    pushes: list[OrderPush] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)  # source name → why its part waits


def _order_lines_relink(*, order: DestinationOrder) -> None:
    """Items that were not linked when the order came (mapped since, or their source blocked
    then) join their source's part, as the order's next webhook would have them."""
    unlinked: dict[int, list[int]] = {}
    for pk, variant_id in order.lines.filter(
            source__isnull=True, destination_variant_id__isnull=False).values_list(
            "pk", "destination_variant_id"):
        unlinked.setdefault(variant_id, []).append(pk)
    if not unlinked:
        return
    links = VariantLink.objects.filter(
        connection__destination_id=order.shop_id, connection__status=Connection.Status.CONNECTED,
        destination_variant_id__in=list(unlinked)).select_related("source_variant", "connection")
    relinked = 0
    for link in links:
        relinked += OrderLine.objects.filter(pk__in=unlinked[link.destination_variant_id]).update(
            source_id=link.connection.source_id, source_variant_id=link.source_variant.shopify_id)
    if relinked:
        order_push_state_refresh(
            order=order, has_pushes=order.push_state != DestinationOrder.PushState.NOT_PUSHED)


@transaction.atomic
def order_push_automatic(*, order: DestinationOrder,
                         trigger: str = OrderPush.Trigger.AUTOMATIC,
                         waiting_only: bool = False) -> AutoPushResult:
    """Push the parts of an order that automatic push pushes now (orders.selectors
    auto_push_plan: each source's own setting, and "each" or "all" for the others' parts), and
    remember on the order whether it still owes one (`auto_push_waiting_since`), so the
    order's next update, an unblock or "Push waiting parts" looks again.

    `waiting_only`: only an order it already owes a part (a look again, not a new order). A
    part pushed or being pushed is never pushed again (order_push_prepare, one push per
    source)."""
    order = DestinationOrder.objects.select_for_update().select_related("shop").get(pk=order.pk)
    result = AutoPushResult()
    if waiting_only and order.auto_push_waiting_since is None:
        return result
    if order.cancelled_at is None:
        _order_lines_relink(order=order)
        plan = auto_push_plan_for(order=order)
        result.waiting = {part.name: part.waiting for part in plan.waiting}
        if plan.source_ids:
            pushed = order_push_request(order=order, source_ids=plan.source_ids,
                                        trigger=trigger, quiet=True)
            result.pushes = pushed.pushes
            # Refused since the plan looked (a webhook of the same moment): it still waits.
            for name, refusal in pushed.refusals.items():
                result.waiting[name] = f"Waiting to be pushed automatically: {refusal}"
    since = (order.auto_push_waiting_since or timezone.now()) if result.waiting else None
    if since != order.auto_push_waiting_since:
        DestinationOrder.objects.filter(pk=order.pk).update(auto_push_waiting_since=since)
        order.auto_push_waiting_since = since
    return result


# How many waiting orders one unblock looks at again; the rest on their next update.
RECHECK_LIMIT = 500


def order_auto_push_recheck(*, destination_id: int, source_id: int | None) -> int:
    """Look again at the destination's orders automatic push owes a part with items from that
    source (it just unblocked the store), or from any source (None: the Orders add-on was just
    added). Returns how many pushes were queued."""
    destination = Shop.objects.filter(pk=destination_id).first()
    source = Shop.objects.filter(pk=source_id).first() if source_id is not None else None
    if destination is None or (source is None and source_id is not None):
        return 0
    waiting = (waiting_orders_for_source(destination=destination, source=source)
               if source is not None else DestinationOrder.objects.filter(
                   shop=destination, auto_push_waiting_since__isnull=False).order_by("pk"))
    queued = 0
    for order in waiting[:RECHECK_LIMIT]:
        queued += len(order_push_automatic(order=order, waiting_only=True).pushes)
    return queued


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
