"""Reads for the orders screens. Everything is scoped to the shop that asks."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from orders import payloads as p
from orders.models import (
    DestinationOrder,
    OrderFulfillment,
    OrderLine,
    OrderPush,
    OrderPushLine,
    OrderSettings,
    ShippingRateRule,
)
from stores.models import Connection, Shop
from syncer.health import Trouble, trouble_read, work_stuck_after

Fulfillment = DestinationOrder.FulfillmentStatus
PushState = DestinationOrder.PushState
ZERO = Decimal("0.00")


def shop_label(shop: Shop) -> str:
    return shop.name or shop.domain


# --- the source's view ----------------------------------------------------------------------


def order_counts_for_connection(*, connection: Connection) -> dict[str, int]:
    """Orders this destination pushed to this source, split by the source's fulfilment."""
    pushed = OrderPush.objects.filter(source=connection.source,
                                      order__shop=connection.destination,
                                      status=OrderPush.Status.PUSHED)
    counts = pushed.aggregate(
        total=Count("pk"),
        fulfilled=Count("pk", filter=Q(source_fulfillment_status=Fulfillment.FULFILLED)),
        partial=Count("pk", filter=Q(source_fulfillment_status=Fulfillment.PARTIAL)),
        unfulfilled=Count("pk", filter=Q(source_fulfillment_status=Fulfillment.UNFULFILLED)),
    )
    return counts


def received_order_list(*, connection: Connection, fulfillment: str = "",
                        search: str = "") -> QuerySet[OrderPush]:
    """Orders a source received from one connected store, newest first."""
    pushes = (OrderPush.objects.filter(source=connection.source,
                                       order__shop=connection.destination,
                                       status=OrderPush.Status.PUSHED)
              .select_related("order")
              .annotate(items=Subquery(OrderPushLine.objects.filter(push=OuterRef("pk"))
                                       .values("push").annotate(total=Sum("quantity"))
                                       .values("total")))
              .prefetch_related(Prefetch("fulfillments", queryset=OrderFulfillment.objects
                                         .exclude(source_status__in=["cancelled", "error",
                                                                     "failure"])
                                         .order_by("pk")))
              .order_by("-pushed_at", "-pk"))
    if fulfillment in Fulfillment.values:
        pushes = pushes.filter(source_fulfillment_status=fulfillment)
    if search:
        pushes = pushes.filter(Q(source_order_name__icontains=search)
                               | Q(order__name__icontains=search))
    return pushes


# --- the destination's view -----------------------------------------------------------------


def order_settings_for(*, shop: Shop) -> OrderSettings:
    """The shop's settings, or the defaults (unsaved) if it never changed them."""
    return OrderSettings.objects.filter(shop=shop).first() or OrderSettings(shop=shop)


def shipping_rules_for(*, shop: Shop) -> list[ShippingRateRule]:
    return list(ShippingRateRule.objects.filter(shop=shop).select_related("source")
                .order_by("source__name", "min_subtotal"))


def connected_sources_for(*, shop: Shop) -> list[Shop]:
    return [c.source for c in Connection.objects.filter(
        destination=shop, status=Connection.Status.CONNECTED).select_related("source")
        .order_by("source__name")]


def order_tab_counts(*, shop: Shop) -> dict[str, int]:
    counts = DestinationOrder.objects.filter(shop=shop).aggregate(**{
        state: Count("pk", filter=Q(push_state=state)) for state in PushState.values})
    return counts


def order_list_for_destination(*, shop: Shop, tab: str,
                               search: str = "") -> QuerySet[DestinationOrder]:
    # A correlated subquery, not a join + GROUP BY: only the page's rows are summed.
    synced_items = (OrderLine.objects.filter(order=OuterRef("pk"), source__isnull=False)
                    .values("order").annotate(total=Sum("current_quantity")).values("total"))
    orders = (DestinationOrder.objects.filter(shop=shop, push_state=tab)
              .annotate(synced_items=Subquery(synced_items))
              .prefetch_related(Prefetch("pushes", queryset=OrderPush.objects
                                         .select_related("source").order_by("pk")))
              .order_by("-processed_at", "-pk"))
    if search:
        term = search.lstrip("#")
        orders = orders.filter(Q(name__icontains=term) | Q(customer_name__icontains=search)
                               | Q(email__icontains=search) | Q(tags__icontains=search))
    return orders


def order_for_destination(*, shop: Shop, order_id: int) -> DestinationOrder | None:
    return DestinationOrder.objects.filter(shop=shop, pk=order_id).select_related("shop").first()


def shipping_fee_from_rules(*, shop: Shop, source: Shop, subtotal: Decimal) -> Decimal:
    """The fee of the highest threshold the subtotal reaches; a source's own rules replace the
    rules for every source. No rule reached: free shipping."""
    rules = list(ShippingRateRule.objects.filter(shop=shop).filter(
        Q(source=source) | Q(source__isnull=True)))
    own = [rule for rule in rules if rule.source_id == source.pk]
    reached = [rule for rule in (own or rules) if rule.min_subtotal <= subtotal]
    if not reached:
        return ZERO
    return max(reached, key=lambda rule: rule.min_subtotal).fee


def push_refusal(*, order: DestinationOrder, source: Shop, connection: Connection | None,
                 lines: list[OrderLine]) -> str | None:
    """Why this order cannot be pushed to this source, in words for the merchant; None if it
    can. `lines` are the order's lines synced from that source."""
    if order.cancelled_at is not None:
        return "This order was cancelled, so it cannot be pushed."
    if order.financial_status not in p.PAID_STATUSES:
        status = (order.financial_status or "unknown").replace("_", " ")
        return f"This order is not paid (payment status: {status}). Only paid orders are pushed."
    if not order.customer_name:
        return ("This order has no customer name. Add the customer's name to its shipping "
                "address in Shopify, then push again.")
    if not p.address_is_complete(order.shipping_address):
        return ("This order has no complete shipping address (street, city and country). "
                "Add it in Shopify, then push again.")
    if order.total_price <= 0:
        return "This order's total is 0.00. Only orders with a total above 0 are pushed."
    name = shop_label(source)
    if connection is None or connection.status == Connection.Status.DISCONNECTED:
        return f"Your store is disconnected from {name}. Reconnect to push orders to it."
    if connection.status == Connection.Status.BLOCKED:
        return f"{name} has blocked your store, so orders cannot be pushed to it."
    if not source.is_installed:
        return f"{name} has uninstalled Syncer, so it cannot receive orders."
    if not [line for line in lines if line.current_quantity > 0]:
        if lines:
            return f"Every item from {name} in this order was refunded or removed."
        return f"None of this order's items are synced from {name}."
    return None


@dataclass
class SourceGroup:
    """One source's part of a destination order, for the order page."""

    source: Shop
    connection: Connection | None
    push: OrderPush | None
    lines: list[OrderLine]
    refusal: str | None
    fulfillments: list[OrderFulfillment] = field(default_factory=list)
    subtotal: Decimal = ZERO
    rules_fee: Decimal | None = None

    @property
    def name(self) -> str:
        return shop_label(self.source)

    @property
    def can_push(self) -> bool:
        pushed = self.push is not None and self.push.status in (OrderPush.Status.PUSHED,
                                                                 OrderPush.Status.PENDING)
        return not pushed and self.refusal is None


@dataclass
class OrderDetail:
    order: DestinationOrder
    groups: list[SourceGroup]
    unsynced_lines: list[OrderLine]
    settings: OrderSettings

    @property
    def pending(self) -> bool:
        return any(g.push and g.push.status == OrderPush.Status.PENDING for g in self.groups)

    @property
    def pushable(self) -> list[SourceGroup]:
        return [group for group in self.groups if group.can_push]

    @property
    def order_refusal(self) -> str | None:
        """When nothing can be pushed and nothing was: the first reason, for the header."""
        if self.pushable or any(g.push and g.push.status != OrderPush.Status.FAILED
                                for g in self.groups):
            return None
        reasons = [group.refusal for group in self.groups if group.refusal]
        if not self.groups:
            return "This order has no synced items, so there is nothing to push."
        return reasons[0] if reasons else None


def order_detail(*, order: DestinationOrder) -> OrderDetail:
    lines = list(order.lines.select_related("source").order_by("pk"))
    pushes = {push.source_id: push for push in order.pushes.select_related("source")
              .prefetch_related(Prefetch("lines", queryset=OrderPushLine.objects.order_by("pk")),
                                Prefetch("fulfillments",
                                         queryset=OrderFulfillment.objects.order_by("pk")))}
    connections = {c.source_id: c for c in Connection.objects.filter(destination=order.shop)}
    settings = order_settings_for(shop=order.shop)
    groups = []
    for source_id in dict.fromkeys(line.source_id for line in lines if line.source_id):
        source_lines = [line for line in lines if line.source_id == source_id]
        source = source_lines[0].source
        push = pushes.get(source_id)
        if push is not None:
            by_line = {push_line.line_id: push_line for push_line in push.lines.all()}
            for line in source_lines:
                line.push_line = by_line.get(line.pk)
        group = SourceGroup(
            source=source, connection=connections.get(source_id), push=push, lines=source_lines,
            refusal=push_refusal(order=order, source=source,
                                 connection=connections.get(source_id), lines=source_lines),
            fulfillments=list(push.fulfillments.all()) if push else [],
            subtotal=sum((line.price * line.current_quantity for line in source_lines), ZERO),
        )
        if settings.shipping_rules_enabled:
            group.rules_fee = shipping_fee_from_rules(shop=order.shop, source=source,
                                                      subtotal=group.subtotal)
        groups.append(group)
    return OrderDetail(order=order, groups=groups, settings=settings,
                       unsynced_lines=[line for line in lines if line.source_id is None])


def order_list_reasons(*, shop: Shop, orders: list[DestinationOrder]) -> dict[int, str]:
    """For a page of not-pushed orders: why each cannot be pushed (orders that can are absent)."""
    if not orders:
        return {}
    connections = {c.source_id: c for c in Connection.objects.filter(destination=shop)
                   .select_related("source")}
    lines_by_order: dict[int, list[OrderLine]] = {}
    for line in OrderLine.objects.filter(order__in=orders, source__isnull=False).select_related(
            "source"):
        lines_by_order.setdefault(line.order_id, []).append(line)
    reasons = {}
    for order in orders:
        lines = lines_by_order.get(order.pk, [])
        pushed = {push.source_id for push in order.pushes.all()
                  if push.status != OrderPush.Status.FAILED}
        refusals = []
        for source_id in dict.fromkeys(line.source_id for line in lines):
            if source_id in pushed:
                continue
            source_lines = [line for line in lines if line.source_id == source_id]
            refusal = push_refusal(order=order, source=source_lines[0].source,
                                   connection=connections.get(source_id), lines=source_lines)
            if refusal is None:
                break
            refusals.append(refusal)
        else:
            if refusals:
                reasons[order.pk] = refusals[0]
    return reasons


def _stalled(*, pending: str, older_than: timedelta) -> Q:
    """Pending, nobody working on it (broker down, worker lost, retries exhausted)."""
    now = timezone.now()
    return ((Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            & Q(status=pending, updated_at__lt=now - older_than))


def order_work_stalled(*, older_than: timedelta = timedelta(minutes=10)
                       ) -> tuple[list[int], list[int]]:
    """Pending pushes and fulfilments nobody is working on: the resume task queues them
    again."""
    pushes = list(OrderPush.objects.filter(
        _stalled(pending=OrderPush.Status.PENDING, older_than=older_than))
        .values_list("pk", flat=True)[:200])
    fulfillments = list(OrderFulfillment.objects.filter(
        _stalled(pending=OrderFulfillment.Status.PENDING, older_than=older_than))
                        .exclude(source_status__in=["cancelled", "error", "failure"])
                        .values_list("pk", flat=True)[:200])
    return pushes, fulfillments


def order_pushes_troubled(*, shop: Shop) -> QuerySet[OrderPush]:
    """A destination's failed pushes, and those pending longer than work_stuck_after() with
    nobody working on them."""
    return OrderPush.objects.filter(
        Q(status=OrderPush.Status.FAILED)
        | _stalled(pending=OrderPush.Status.PENDING, older_than=work_stuck_after()),
        order__shop=shop)


def order_pushes_trouble(*, shop: Shop) -> Trouble:
    # Within order_pushes_troubled, a pending push is a stalled one.
    return trouble_read(order_pushes_troubled(shop=shop), failed=Q(status=OrderPush.Status.FAILED),
                        failed_oldest="updated_at", stuck=Q(status=OrderPush.Status.PENDING),
                        stuck_oldest="updated_at", latest_first="updated_at")
