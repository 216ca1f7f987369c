"""Reads for the orders screens. Everything is scoped to the shop that asks."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
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
from stores.plans import shop_entitlement
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


def source_connections_for(*, shop: Shop) -> list[Connection]:
    """The shop's connected sources' connections (their per-source choices), by name."""
    return list(Connection.objects.filter(destination=shop, status=Connection.Status.CONNECTED)
                .select_related("source").order_by("source__name", "pk"))


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


# Order push, by hand or automatic, is the Orders add-on (stores.plans).
ORDERS_ADDON_REFUSAL = ("Pushing orders to your sources needs the Orders add-on. Add it to your "
                        "plan on the Plan & billing page.")
ORDERS_ADDON_WAITING = ("Auto push waits for the Orders add-on: add it on the Plan & billing "
                        "page and this part is pushed then.")
ORDERS_ADDON_LABEL = "Add the Orders add-on"


def orders_addon_on(*, shop: Shop) -> bool:
    return shop_entitlement(shop=shop).orders_addon


def push_refusal(*, order: DestinationOrder, source: Shop, connection: Connection | None,
                 lines: list[OrderLine], orders_addon: bool | None = None) -> str | None:
    """Why this order cannot be pushed to this source, in words for the merchant; None if it
    can. `lines` are the order's lines synced from that source; `orders_addon` whether the
    destination has the Orders add-on (read when not given). The add-on comes last: what is
    wrong with the order itself is said first."""
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
    if orders_addon is None:
        orders_addon = orders_addon_on(shop=order.shop)
    if not orders_addon:
        return ORDERS_ADDON_REFUSAL
    return None


# --- automatic push ---------------------------------------------------------------------------


def auto_push_on(*, settings: OrderSettings, connection: Connection | None) -> bool:
    """Does automatic push push this source's parts? Its own choice, else the store-wide one."""
    choice = connection.auto_push if connection is not None else Connection.AutoPush.STORE
    if choice == Connection.AutoPush.ON:
        return True
    if choice == Connection.AutoPush.OFF:
        return False
    return settings.auto_push


def auto_push_applies(*, settings: OrderSettings, shop: Shop) -> bool:
    """Could automatic push push anything of this shop's (store-wide on, or a source on)?"""
    return settings.auto_push or Connection.objects.filter(
        destination=shop, auto_push=Connection.AutoPush.ON).exists()


@dataclass(frozen=True)
class AutoPushPart:
    """One source's part of an order that is neither pushed nor being pushed, as automatic
    push sees it: pushed now (`push`), or why it waits (`waiting`, in words)."""

    source: Shop
    automatic: bool
    refusal: str | None
    push: bool
    waiting: str

    @property
    def name(self) -> str:
        return shop_label(self.source)


@dataclass(frozen=True)
class AutoPushPlan:
    parts: list[AutoPushPart]

    @property
    def source_ids(self) -> list[int]:
        return [part.source.pk for part in self.parts if part.push]

    @property
    def waiting(self) -> list[AutoPushPart]:
        """The parts automatic push still owes the order."""
        return [part for part in self.parts if part.automatic and not part.push]


def auto_push_plan(*, order: DestinationOrder, settings: OrderSettings, lines: list[OrderLine],
                   pushed_source_ids: set[int], connections: dict[int, Connection],
                   orders_addon: bool | None = None) -> AutoPushPlan:
    """Which of the order's open parts automatic push pushes now, and why the others wait.

    A part is open when it has items left and no push (a failed push is Sync health's to try
    again, not a part to push on every update). It is ready when `push_refusal` finds nothing.
    "each": every ready part whose source pushes automatically; "all": those, but only once
    every open part is ready (a part left to the merchant holds them back only while it could
    not be pushed either)."""
    open_parts = []
    if orders_addon is None:
        orders_addon = orders_addon_on(shop=order.shop)
    for source_id in dict.fromkeys(line.source_id for line in lines if line.source_id):
        part_lines = [line for line in lines if line.source_id == source_id]
        if source_id in pushed_source_ids or not any(line.current_quantity > 0
                                                     for line in part_lines):
            continue
        source, connection = part_lines[0].source, connections.get(source_id)
        assert source is not None
        open_parts.append((source, connection, push_refusal(
            order=order, source=source, connection=connection, lines=part_lines,
            orders_addon=orders_addon)))
    held_by = next(((source, refusal) for source, _, refusal in open_parts if refusal), None)
    together = settings.partial_push == OrderSettings.PartialPush.ALL
    parts = []
    for source, connection, refusal in open_parts:
        name = shop_label(source)
        automatic = auto_push_on(settings=settings, connection=connection)
        push, waiting = False, ""
        if not automatic:
            why = (f"automatic push is set to Never for {name}"
                   if connection is not None and connection.auto_push == Connection.AutoPush.OFF
                   else "automatic push is off")
            waiting = f"Waiting for you to push it: {why}."
        elif refusal == ORDERS_ADDON_REFUSAL:
            waiting = ORDERS_ADDON_WAITING
        elif refusal:
            waiting = f"Waiting to be pushed automatically: {refusal}"
        elif together and held_by is not None:
            other, reason = held_by
            waiting = (f"Waiting to be pushed together with the part from {shop_label(other)}, "
                       f"which cannot be pushed yet: {reason}")
        else:
            push = True
        parts.append(AutoPushPart(source=source, automatic=automatic, refusal=refusal,
                                  push=push, waiting=waiting))
    return AutoPushPlan(parts=parts)


def auto_push_plan_for(*, order: DestinationOrder,
                       settings: OrderSettings | None = None) -> AutoPushPlan:
    settings = settings or order_settings_for(shop=order.shop)
    lines = list(order.lines.filter(source__isnull=False).select_related("source")
                 .order_by("pk"))
    pushed = set(order.pushes.values_list("source_id", flat=True))
    connections = {c.source_id: c for c in Connection.objects.filter(
        destination_id=order.shop_id, source_id__in={line.source_id for line in lines})}
    return auto_push_plan(order=order, settings=settings, lines=lines,
                          pushed_source_ids=pushed, connections=connections)


def waiting_orders_for_source(*, destination: Shop, source: Shop) -> QuerySet[DestinationOrder]:
    """The destination's orders automatic push still owes a part, with items from `source`."""
    return DestinationOrder.objects.filter(
        Exists(OrderLine.objects.filter(order=OuterRef("pk"), source=source)),
        shop=destination, auto_push_waiting_since__isnull=False,
    ).order_by("pk")


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
    # Why automatic push left this part (to the merchant, or until it can be pushed), in
    # words; "" when automatic push has nothing to say about it.
    waiting: str = ""

    @property
    def name(self) -> str:
        return shop_label(self.source)

    @property
    def can_push(self) -> bool:
        pushed = self.push is not None and self.push.status in (OrderPush.Status.PUSHED,
                                                                 OrderPush.Status.PENDING)
        return not pushed and self.refusal is None

    @property
    def not_in_push(self) -> list[tuple[OrderLine, int]]:
        """Units of this source's lines not in the order pushed to it (each line, how many):
        the order gained them afterwards (an order edit), so the source will not ship them.
        Needs the lines' `push_line` (order_detail sets it)."""
        if self.push is None or self.push.status != OrderPush.Status.PUSHED:
            return []
        missing = []
        for line in self.lines:
            pushed = getattr(line, "push_line", None)
            extra = line.current_quantity - (pushed.quantity if pushed is not None else 0)
            if extra > 0:
                missing.append((line, extra))
        return missing

    @property
    def addon_missing(self) -> bool:
        """Only the Orders add-on stands in the way: the push button shows, disabled."""
        pushed = self.push is not None and self.push.status in (OrderPush.Status.PUSHED,
                                                                 OrderPush.Status.PENDING)
        return not pushed and self.refusal == ORDERS_ADDON_REFUSAL


@dataclass
class OrderDetail:
    order: DestinationOrder
    groups: list[SourceGroup]
    unsynced_lines: list[OrderLine]
    settings: OrderSettings
    orders_addon: bool = True

    @property
    def pending(self) -> bool:
        return any(g.push and g.push.status == OrderPush.Status.PENDING for g in self.groups)

    @property
    def waiting(self) -> bool:
        """Automatic push still owes this order a part."""
        return self.order.auto_push_waiting_since is not None

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
    orders_addon = orders_addon_on(shop=order.shop)
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
                                 connection=connections.get(source_id), lines=source_lines,
                                 orders_addon=orders_addon),
            fulfillments=list(push.fulfillments.all()) if push else [],
            subtotal=sum((line.price * line.current_quantity for line in source_lines), ZERO),
        )
        if settings.shipping_rules_enabled:
            group.rules_fee = shipping_fee_from_rules(shop=order.shop, source=source,
                                                      subtotal=group.subtotal)
        groups.append(group)
    # Automatic push has its say on the parts it left once it took the order on (it waits
    # for a part, or pushed one): which wait for it and which for the merchant, and why.
    if order.auto_push_waiting_since is not None or any(
            push.trigger == OrderPush.Trigger.AUTOMATIC for push in pushes.values()):
        plan = auto_push_plan(order=order, settings=settings,
                              lines=[line for line in lines if line.source_id],
                              pushed_source_ids=set(pushes), connections=connections,
                              orders_addon=orders_addon)
        waiting = {part.source.pk: part.waiting for part in plan.parts}
        for group in groups:
            group.waiting = waiting.get(group.source.pk, "")
    return OrderDetail(order=order, groups=groups, settings=settings,
                       unsynced_lines=[line for line in lines if line.source_id is None],
                       orders_addon=orders_addon)


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
    orders_addon = orders_addon_on(shop=shop)
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
                                   connection=connections.get(source_id), lines=source_lines,
                                   orders_addon=orders_addon)
            if refusal is None:
                break
            refusals.append(refusal)
        else:
            if refusals:
                reasons[order.pk] = refusals[0]
    return reasons


def order_list_waiting(*, shop: Shop, orders: list[DestinationOrder]) -> dict[int, str]:
    """For a page of orders: what automatic push still waits for on each order it owes a part
    ("Second Source: Waiting to be pushed automatically: …"); other orders are absent."""
    waiting_orders = [order for order in orders if order.auto_push_waiting_since is not None]
    if not waiting_orders:
        return {}
    settings = order_settings_for(shop=shop)
    connections = {c.source_id: c for c in Connection.objects.filter(destination=shop)}
    lines_by_order: dict[int, list[OrderLine]] = {}
    for line in OrderLine.objects.filter(order__in=waiting_orders, source__isnull=False
                                         ).select_related("source").order_by("pk"):
        lines_by_order.setdefault(line.order_id, []).append(line)
    words = {}
    orders_addon = orders_addon_on(shop=shop)
    for order in waiting_orders:
        plan = auto_push_plan(order=order, settings=settings,
                              lines=lines_by_order.get(order.pk, []),
                              pushed_source_ids={push.source_id for push in order.pushes.all()},
                              connections=connections, orders_addon=orders_addon)
        part = next(iter(plan.waiting), None)
        if part is not None:
            words[order.pk] = f"{part.name}: {part.waiting}"
    return words


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
