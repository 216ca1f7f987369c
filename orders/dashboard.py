"""Reads for the dashboards: the source's (orders received, revenue, what sold) and the
destination's (its sources, its orders by push status, sync health).

Date ranges are whole days in the shop's time zone: from 00:00 of the first day (included) to
00:00 of the day after the last (excluded), i.e. [first, last + 1 day).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, Max, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Greatest
from django.utils import timezone

from orders.charts import (
    DESTINATION_ORDERS,
    ORDERS_REVENUE,
    STOCK_UPDATES,
    Bucket,
    Chart,
    Sparkline,
    Tally,
    bar_chart,
    latency_sparkline,
)
from orders.destination_stats import (
    destination_orders_by_day,
    destination_stock_updates_by_day,
    destination_write_latency,
)
from orders.models import DestinationOrder, OrderPush, SourceStatsClosed
from orders.stats import (
    ZERO,
    TopVariants,
    day_start,
    source_figures_by_store,
    source_orders_by_day,
    source_top_variants,
)
from orders.sync_health import WorkHealth, destination_work_health
from products.inventory.health import destination_stock_waiting
from products.models import (
    InventoryEffect,
    ProductLink,
    ReconciliationRun,
    SourceProduct,
    SyncEvent,
    VariantLink,
)
from products.selectors import source_product_counts
from stores.models import Connection, Shop

TOP_PRODUCTS = 10
DAILY_UP_TO_DAYS = 92  # longer ranges are charted by week, beyond two years by month
WEEKLY_UP_TO_DAYS = 731

# --- date ranges --------------------------------------------------------------------------------

PRESETS: dict[str, tuple[str, int]] = {
    "7d": ("Past week", 7),
    "30d": ("Last 30 days", 30),
    "60d": ("Last two months", 60),
}
DEFAULT_PRESET = "30d"
# The source dashboard starts from the overall view: every day since its first push or sale
# (read from the roll-ups' month rows, so as fast as two months).
ALL_TIME = "all"
SOURCE_PRESETS: dict[str, tuple[str, int]] = {ALL_TIME: ("All time", 0), **PRESETS}
SOURCE_DEFAULT_PRESET = ALL_TIME


@dataclass(frozen=True)
class DateRange:
    """The days `first`..`last`, both included, in `zone`."""

    first: date
    last: date
    zone: ZoneInfo
    preset: str = ""

    @property
    def starts_at(self) -> datetime:
        return day_start(self.first, self.zone)

    @property
    def ends_before(self) -> datetime:
        return day_start(self.last + timedelta(days=1), self.zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        if self.preset in SOURCE_PRESETS:
            return SOURCE_PRESETS[self.preset][0]
        return f"{self.first:%b %-d, %Y} – {self.last:%b %-d, %Y}"


def shop_today(*, shop: Shop, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(shop.zone).date()


def date_range_preset(*, shop: Shop, preset: str, now: datetime | None = None) -> DateRange:
    """The last N days up to and including today, in the shop's zone."""
    days = PRESETS[preset][1]
    today = shop_today(shop=shop, now=now)
    return DateRange(first=today - timedelta(days=days - 1), last=today, zone=shop.zone,
                     preset=preset)


def date_range_all_time(*, shop: Shop, first_day: date | None,
                        now: datetime | None = None) -> DateRange:
    """From `first_day` (the roll-ups' first, SourceStatsClosed.first_day; None: nothing
    rolled up yet, so today) through today, in the shop's zone."""
    today = shop_today(shop=shop, now=now)
    return DateRange(first=min(first_day or today, today), last=today, zone=shop.zone,
                     preset=ALL_TIME)


# --- source dashboard ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductSales:
    source_variant_id: int | None
    title: str
    sku: str
    units: int
    revenue: Decimal
    share: int  # percent of the range's units, for the bar


@dataclass(frozen=True)
class StoreChoice:
    connection_id: int
    name: str


@dataclass(frozen=True)
class StoreSales:
    """One store's line of "Sales by store" (`connection_id` None: a store whose connection
    is gone, its figures still in the total)."""

    connection_id: int | None
    name: str
    status: str
    status_label: str
    units: int  # sold at the store, pushed or not
    sales: Decimal  # those units at the source's prices
    orders: int  # pushed to the source
    revenue: Decimal  # of those orders


@dataclass(frozen=True)
class SourceDashboard:
    date_range: DateRange
    store: Connection | None
    store_counts: dict[str, int]
    available_products: int
    synced_products: int
    orders: int  # pushed to the source
    revenue: Decimal  # of those orders
    units: int  # sold at the stores, pushed or not
    sales: Decimal  # those units at the source's prices
    currency: str
    top_products: list[ProductSales]
    chart: Chart
    granularity: str
    # Every store that ever connected, by status, for the store picker.
    store_choices: list[tuple[str, list[StoreChoice]]] = field(default_factory=list)
    # All stores only: each store that pushed or sold in the range, most sales first, and
    # their total.
    stores: list[StoreSales] = field(default_factory=list)
    stores_total: StoreSales | None = None


StoreRow = tuple[int, str, str, str, int]  # connection, status, name, domain, destination


def _store_rows(source: Shop) -> list[StoreRow]:
    return list(Connection.objects.filter(source=source)
                .values_list("pk", "status", "destination__name", "destination__domain",
                             "destination"))


def _store_choices(rows: list[StoreRow]) -> list[tuple[str, list[StoreChoice]]]:
    """Every store that ever connected, by status (connected, then blocked, then
    disconnected), for the store picker."""
    groups: dict[str, list[StoreChoice]] = {status: [] for status in Connection.Status.values}
    for pk, status, name, domain, _ in rows:
        groups[status].append(StoreChoice(pk, name or domain))
    return [(label, sorted(groups[status], key=lambda choice: choice.name.lower()))
            for status, label in Connection.Status.choices]


def _store_sales(source: Shop, date_range: DateRange, rows: list[StoreRow],
                 stats: SourceStatsClosed | None) -> tuple[list[StoreSales], StoreSales]:
    """Sales by store: each store (whatever its status now) that pushed or sold in the range,
    most sales first, then most units, orders and revenue, then by name; and the total."""
    figures = source_figures_by_store(source=source, first=date_range.first,
                                      last=date_range.last, stats=stats)
    labels = dict(Connection.Status.choices)
    by_destination = {destination: (pk, status, name or domain)
                      for pk, status, name, domain, destination in rows}
    stores = []
    for destination, store in figures.items():
        pk, status, name = by_destination.get(destination, (None, "", "A former store"))
        stores.append(StoreSales(
            connection_id=pk, name=name, status=status, status_label=labels.get(status, ""),
            units=store.units, sales=store.sales, orders=store.orders, revenue=store.revenue))
    stores.sort(key=lambda row: (-row.sales, -row.units, -row.orders, -row.revenue,
                                 row.name.lower()))
    total = StoreSales(connection_id=None, name="Total", status="", status_label="",
                       units=sum(row.units for row in stores),
                       sales=sum((row.sales for row in stores), ZERO),
                       orders=sum(row.orders for row in stores),
                       revenue=sum((row.revenue for row in stores), ZERO))
    return stores, total


def _granularity(date_range: DateRange) -> str:
    if date_range.days <= DAILY_UP_TO_DAYS:
        return "day"
    return "week" if date_range.days <= WEEKLY_UP_TO_DAYS else "month"


def _bucket_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def _buckets(date_range: DateRange, days: dict[date, Tally],
             granularity: str) -> list[Bucket]:
    """Every bucket of the range, empty ones included, clipped to the range's ends."""
    totals: dict[date, tuple[date, date, Tally]] = {}
    day = date_range.first
    while day <= date_range.last:  # at most a few hundred days, never orders
        start = _bucket_start(day, granularity)
        first, _, tally = totals.get(start, (max(start, date_range.first), day, Tally()))
        totals[start] = (first, day, tally + days.get(day, Tally()))
        day += timedelta(days=1)
    formats = {"day": "{:%b %-d}", "week": "{:%b %-d}", "month": "{:%b %Y}"}
    return [Bucket(start=first, end=last, label=formats[granularity].format(first), tally=tally)
            for first, last, tally in totals.values()]


def _top_products(top: TopVariants) -> list[ProductSales]:
    products = []
    for variant in top.variants:
        if variant.sku is not None:  # the source still has it (names read with the sales)
            title, sku = variant.product_title, variant.sku
            if variant.variant_title and variant.variant_title != "Default Title":
                title = f"{title} – {variant.variant_title}"
        else:
            title = f"Variant {variant.source_variant_id}" if variant.source_variant_id \
                else "Unknown variant"
            sku = ""
        products.append(ProductSales(
            source_variant_id=variant.source_variant_id, title=title, sku=sku,
            units=variant.units, revenue=variant.revenue,
            share=round(100 * variant.units / top.total_units) if top.total_units else 0))
    return products


def source_dashboard(*, source: Shop, date_range: DateRange,
                     store: Connection | None = None,
                     stats: SourceStatsClosed | None = None) -> SourceDashboard:
    """The source's figures over `date_range`, for all stores or one of its connections.

    Orders received = pushes that created an order on this source (status pushed), counted on
    the day they were pushed; revenue = those orders' totals (items at the source's prices plus
    the shipping fee charged). Units, sales and the products sold = every paid destination
    sale of the source's synced variants (products.DestinationSale), pushed or not, counted on
    the day it was recorded, at the source's price then (quantity × price, no shipping).
    `stats`: the roll-up state source_stats_current just returned (else it is read).

    Eight reads for all stores (the stores, the roll-up state, the days' rows, today's pushes,
    the top variants with their names and the totals of every sale, the product counts, the
    figures by store), whatever the number of orders and sales, over two months as over all
    time.
    """
    if store is not None and store.source_id != source.pk:
        raise ValueError("That store is not connected to this source.")
    destination = store.destination if store is not None else None
    if stats is None:
        stats = SourceStatsClosed.objects.filter(source=source, zone=source.zone.key).first()
    days = source_orders_by_day(source=source, first=date_range.first, last=date_range.last,
                                destination=destination, stats=stats)
    top = source_top_variants(source=source, first=date_range.first, last=date_range.last,
                              limit=TOP_PRODUCTS, destination=destination, stats=stats)
    store_rows = _store_rows(source)
    counts = dict.fromkeys(Connection.Status.values, 0)
    connected = []
    for pk, status, _, _, _ in store_rows:
        counts[status] += 1
        if status == Connection.Status.CONNECTED:
            connected.append(pk)
    products = SourceProduct.objects.filter(shop=source, deleted_at__isnull=True)
    if store is None and connected:
        # Per product, stop at its first link to a connected store: ~1 index probe each,
        # instead of reading every link of every store. Counted with the visible ones.
        product_counts = products.aggregate(
            visible=Count("pk", filter=Q(hidden=False)),
            synced=Count("pk", filter=Q(Exists(ProductLink.objects.filter(
                source_product=OuterRef("pk"), connection_id__in=connected)))))
        available, synced = product_counts["visible"], product_counts["synced"]
    else:
        available = source_product_counts(source=source)["visible"]
        synced = ProductLink.objects.filter(connection=store).count() if store is not None \
            else 0
    granularity = _granularity(date_range)
    buckets = _buckets(date_range, {day: Tally(count=figures.orders, amount=figures.revenue)
                                    for day, figures in days.items()}, granularity)
    currency = source.currency or "USD"
    stores, stores_total = _store_sales(source, date_range, store_rows, stats) \
        if store is None else ([], None)
    return SourceDashboard(
        date_range=date_range, store=store, store_counts=counts,
        available_products=available,
        synced_products=synced,
        orders=sum(figures.orders for figures in days.values()),
        revenue=sum((figures.revenue for figures in days.values()), ZERO),
        units=top.total_units, sales=top.total_revenue, currency=currency,
        top_products=_top_products(top),
        chart=bar_chart(words=ORDERS_REVENUE, buckets=buckets, granularity=granularity,
                        currency=currency, money_format=source.money_format),
        granularity=granularity, store_choices=_store_choices(store_rows), stores=stores,
        stores_total=stores_total)


# --- destination dashboard ----------------------------------------------------------------------


@dataclass(frozen=True)
class SourceHealth:
    connection: Connection
    synced_products: int
    last_stock_write: datetime | None
    last_reconciliation: ReconciliationRun | None
    drift_found: int
    drift_fixed: int
    failed_updates: int


@dataclass(frozen=True)
class DestinationDashboard:
    date_range: DateRange
    sources: list[SourceHealth]
    synced_products: int
    orders: int
    order_states: list[tuple[str, str, int]]  # (push state, label, orders)
    failed_pushes: int
    last_stock_write: datetime | None
    pending_writes: int
    drift_found: int
    drift_fixed: int
    failed_updates: int
    failed_source_moves: int
    # The range's orders (pushed darker, totals as a line) and stock updates, per day, week or
    # month; and the past day's delay of those updates, hour by hour.
    orders_chart: Chart
    stock_chart: Chart
    latency: Sparkline
    recent_failures: list[SyncEvent] = field(default_factory=list)
    # Failed and stuck work of each kind, with Try again (orders.sync_health).
    work: list[WorkHealth] = field(default_factory=list)

    @property
    def needs_attention(self) -> int:
        return self.failed_pushes + self.failed_updates + self.failed_source_moves


def destination_dashboard(*, destination: Shop, date_range: DateRange,
                          now: datetime | None = None) -> DestinationDashboard:
    """A destination's sources and sync health, and its orders placed within `date_range`.

    Drift and failed updates count what happened within the range; failed pushes and failed
    source-stock moves count what is failed now, whenever it happened (they wait for action).
    The charts: the range's orders and stock updates per day (week or month for long ranges;
    one grouped read each), and the delay of the stock updates of the 24 hours up to `now`
    (one read).
    """
    in_range = {"gte": date_range.starts_at, "lt": date_range.ends_before}
    latest_run = (ReconciliationRun.objects.filter(connection=OuterRef("pk"))
                  .order_by("-started_at", "-pk").values("pk")[:1])
    connections = list(Connection.objects.filter(destination=destination)
                       .select_related("source").annotate(latest_run=Subquery(latest_run))
                       .order_by("status", "source__name"))
    links = dict(ProductLink.objects.filter(connection__destination=destination)
                 .values("connection").annotate(n=Count("pk")).values_list("connection", "n"))
    # The engine's writes are on the stock rows; imports and mappings write the links.
    writes = dict(VariantLink.objects.filter(connection__destination=destination)
                  .values("connection")
                  .annotate(last=Max(Greatest("last_written_at", "stock__last_written_at")))
                  .values_list("connection", "last"))
    runs = {row["connection"]: row for row in ReconciliationRun.objects.filter(
        connection__destination=destination, started_at__gte=in_range["gte"],
        started_at__lt=in_range["lt"]).values("connection").annotate(
        found=Sum("drift_found"), fixed=Sum("drift_fixed"))}
    latest_runs = {run.connection_id: run for run in ReconciliationRun.objects.filter(
        pk__in=[c.latest_run for c in connections if c.latest_run])}
    failed_events = SyncEvent.objects.filter(
        connection__destination=destination, result=SyncEvent.Result.FAILED,
        created_at__gte=in_range["gte"], created_at__lt=in_range["lt"])
    failures_by_connection = dict(failed_events.values("connection").annotate(n=Count("pk"))
                                  .values_list("connection", "n"))
    sources = [SourceHealth(
        connection=c, synced_products=links.get(c.pk, 0), last_stock_write=writes.get(c.pk),
        last_reconciliation=latest_runs.get(c.pk),
        drift_found=(runs.get(c.pk) or {}).get("found") or 0,
        drift_fixed=(runs.get(c.pk) or {}).get("fixed") or 0,
        failed_updates=failures_by_connection.get(c.pk, 0)) for c in connections]

    order_days = destination_orders_by_day(destination=destination, first=date_range.first,
                                           last=date_range.last)
    states = {state: sum(day.states[state] for day in order_days.values())
              for state in DestinationOrder.PushState.values}
    stock_days = destination_stock_updates_by_day(destination=destination,
                                                  first=date_range.first, last=date_range.last)
    granularity = _granularity(date_range)
    currency = destination.currency or "USD"
    connected = {c.pk for c in connections if c.status == Connection.Status.CONNECTED}
    return DestinationDashboard(
        date_range=date_range, sources=sources,
        synced_products=sum(n for pk, n in links.items() if pk in connected),
        orders=sum(states.values()),
        order_states=[(value, label, states[value])
                      for value, label in DestinationOrder.PushState.choices],
        failed_pushes=OrderPush.objects.filter(order__shop=destination,
                                               status=OrderPush.Status.FAILED).count(),
        last_stock_write=max((w for w in writes.values() if w), default=None),
        pending_writes=destination_stock_waiting(destination=destination),
        drift_found=sum(source.drift_found for source in sources),
        drift_fixed=sum(source.drift_fixed for source in sources),
        failed_updates=sum(failures_by_connection.values()),
        failed_source_moves=InventoryEffect.objects.filter(
            destination=destination, status=InventoryEffect.Status.FAILED).count(),
        orders_chart=bar_chart(
            words=DESTINATION_ORDERS, granularity=granularity, currency=currency,
            money_format=destination.money_format,
            buckets=_buckets(date_range, {
                day: Tally(count=figures.orders, part=figures.pushed, amount=figures.total)
                for day, figures in order_days.items()}, granularity)),
        stock_chart=bar_chart(
            words=STOCK_UPDATES, granularity=granularity, currency=currency,
            buckets=_buckets(date_range, {
                day: Tally(count=figures.written, aside=figures.failed)
                for day, figures in stock_days.items()}, granularity)),
        latency=latency_sparkline(hours=destination_write_latency(
            destination=destination, now=now or timezone.now())),
        recent_failures=list(failed_events.select_related("connection__source",
                                                          "source_product")
                             .order_by("-created_at", "-pk")[:5]),
        work=destination_work_health(destination=destination),
    )
