"""What each source received, day by day: the roll-ups behind the dashboards, and their reads.

A source with a million received orders cannot sum its pushes and lines on every dashboard
view (the 60-day range alone is ~160,000 pushes and ~330,000 lines: seconds, not
milliseconds). So every day that is over is summed once into `SourceDayStat` and
`SourceProductDayStat` (per destination and for all of them), and a dashboard reads those
small rows plus, live, the pushes of the days not rolled up yet (today, usually).

What makes a finished day safe to freeze: a push counts on the day of its `pushed_at`, which the
push service sets to "now" when the source order is created, and a pushed push never changes
its status, total or lines again. A day is rolled up only once it ended `CLOSE_GRACE` ago, so a
push whose transaction is still committing cannot be missed. Erasing a shop
(`source_stats_forget`) throws the affected roll-ups away; they are rebuilt on the next view.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, DecimalField, F, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from orders.models import (
    OrderPush,
    OrderPushLine,
    SourceDayStat,
    SourceProductDayStat,
    SourceStatsClosed,
)
from stores.models import Connection, Shop

CLOSE_GRACE = timedelta(hours=1)
ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """00:00 of `day` in `zone`: where that day's figures begin (inclusive)."""
    return datetime.combine(day, time.min, tzinfo=zone)


def stats_closable_through(*, zone: ZoneInfo, now: datetime) -> date:
    """The last day that ended at least CLOSE_GRACE ago in `zone`."""
    return (now - CLOSE_GRACE).astimezone(zone).date() - timedelta(days=1)


def received_pushes(*, source: Shop) -> QuerySet[OrderPush]:
    """The orders a source received: pushes that created an order on it."""
    return OrderPush.objects.filter(source=source, status=OrderPush.Status.PUSHED)


def _pushed_between(source: Shop, starts: datetime, ends: datetime) -> Q:
    return Q(source=source, status=OrderPush.Status.PUSHED, pushed_at__gte=starts,
             pushed_at__lt=ends)


# --- building -----------------------------------------------------------------------------------


def _insert_select(model: type, columns: list[str], constants: list, rows: QuerySet) -> None:
    """INSERT INTO model (columns) SELECT constants, <rows>: the database sums, Python never
    sees a push. `rows` is a values_list() whose fields follow `columns` after the constants."""
    sql, params = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    names = ", ".join(quote(model._meta.get_field(name).column) for name in columns)
    leading = "".join("%s, " for _ in constants)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({names}) "
                       f"SELECT {leading}sub.* FROM ({sql}) sub", [*constants, *params])


def _build_days(*, source: Shop, zone: ZoneInfo, first: date, last: date) -> None:
    starts, ends = day_start(first, zone), day_start(last + timedelta(days=1), zone)
    day = TruncDate("pushed_at", tzinfo=zone)
    per_destination = (
        OrderPush.objects.filter(_pushed_between(source, starts, ends))
        .annotate(day=day).values("order__shop", "day")
        .annotate(orders=Count("pk"), revenue=Sum("total_price"))
        .values_list("order__shop", "day", "orders", "revenue"))
    _insert_select(SourceDayStat, ["source", "zone", "destination", "day", "orders", "revenue"],
                   [source.pk, zone.key], per_destination)
    lines = (
        OrderPushLine.objects.filter(push__source=source, push__status=OrderPush.Status.PUSHED,
                                     push__pushed_at__gte=starts, push__pushed_at__lt=ends)
        .annotate(day=TruncDate("push__pushed_at", tzinfo=zone))
        .values("push__order__shop", "day", "line__source_variant_id")
        .annotate(units=Sum("quantity"),
                  revenue=Sum(F("quantity") * F("price"), output_field=MONEY))
        .values_list("push__order__shop", "day", "line__source_variant_id", "units", "revenue"))
    _insert_select(SourceProductDayStat, ["source", "zone", "destination", "day",
                                          "source_variant_id", "units", "revenue"],
                   [source.pk, zone.key], lines)
    # "All stores" rows, summed from the per-destination rows just written (far fewer rows).
    built = Q(source=source, zone=zone.key, destination__isnull=False, day__gte=first,
              day__lte=last)
    _insert_select(SourceDayStat, ["source", "zone", "day", "orders", "revenue"],
                   [source.pk, zone.key],
                   SourceDayStat.objects.filter(built).values("day")
                   .annotate(total_orders=Sum("orders"), total_revenue=Sum("revenue"))
                   .values_list("day", "total_orders", "total_revenue"))
    _insert_select(SourceProductDayStat, ["source", "zone", "day", "source_variant_id",
                                          "units", "revenue"],
                   [source.pk, zone.key],
                   SourceProductDayStat.objects.filter(built)
                   .values("day", "source_variant_id")
                   .annotate(total_units=Sum("units"), total_revenue=Sum("revenue"))
                   .values_list("day", "source_variant_id", "total_units", "total_revenue"))


def source_stats_close(*, source: Shop, now: datetime | None = None) -> date:
    """Rolls up every finished day not rolled up yet; returns the last day rolled up.

    Cheap when there is nothing to do (one indexed read), so views call it before reading.
    Concurrent callers queue on the state row's lock; the second finds the work done.
    """
    zone = source.zone
    target = stats_closable_through(zone=zone, now=now or timezone.now())
    state = SourceStatsClosed.objects.filter(source=source, zone=zone.key).first()
    if state is not None and state.closed_through is not None and state.closed_through >= target:
        return state.closed_through
    with transaction.atomic():
        SourceStatsClosed.objects.get_or_create(source=source, zone=zone.key)
        state = SourceStatsClosed.objects.select_for_update().get(source=source, zone=zone.key)
        if state.closed_through is not None and state.closed_through >= target:
            return state.closed_through
        if state.closed_through is not None:
            first = state.closed_through + timedelta(days=1)
        else:
            earliest = received_pushes(source=source).aggregate(at=Min("pushed_at"))["at"]
            first = earliest.astimezone(zone).date() if earliest else target + timedelta(days=1)
        if first <= target:
            _build_days(source=source, zone=zone, first=first, last=target)
        state.closed_through = target
        state.save(update_fields=["closed_through", "updated_at"])
    return target


@transaction.atomic
def source_stats_forget(*, shop: Shop) -> None:
    """Drops the roll-ups a shop's erasure makes wrong: its own, and the "all stores" rows of
    every source it sent orders to. They are rebuilt from what remains on the next view."""
    sources = list(Connection.objects.filter(destination=shop).values_list("source", flat=True))
    for model in (SourceDayStat, SourceProductDayStat, SourceStatsClosed):
        model.objects.filter(Q(source=shop) | Q(source__in=sources)).delete()


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayFigures:
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class VariantFigures:
    units: int
    revenue: Decimal


def _closed_through(source: Shop, zone: ZoneInfo) -> date | None:
    return (SourceStatsClosed.objects.filter(source=source, zone=zone.key)
            .values_list("closed_through", flat=True).first())


def _split(source: Shop, first: date, last: date) -> tuple[date | None, date]:
    """The range's rolled-up part ends at the first value (None: nothing rolled up); its live
    part starts at the second."""
    closed = _closed_through(source, source.zone)
    if closed is None or closed < first:
        return None, first
    return min(closed, last), min(closed, last) + timedelta(days=1)


def source_orders_by_day(*, source: Shop, first: date, last: date,
                         destination: Shop | None = None) -> dict[date, DayFigures]:
    """Orders received and their revenue per day from `first` to `last` (both included, days in
    the source's zone), from one destination or all. Days without orders are absent."""
    zone = source.zone
    rolled_up_until, live_from = _split(source, first, last)
    days: dict[date, DayFigures] = {}
    if rolled_up_until is not None:
        for day, orders, revenue in SourceDayStat.objects.filter(
                source=source, zone=zone.key, destination=destination, day__gte=first,
                day__lte=rolled_up_until).values_list("day", "orders", "revenue"):
            days[day] = DayFigures(orders, revenue)
    if live_from <= last:
        live = OrderPush.objects.filter(_pushed_between(
            source, day_start(live_from, zone), day_start(last + timedelta(days=1), zone)))
        if destination is not None:
            live = live.filter(order__shop=destination)
        for day, orders, revenue in (live.annotate(day=TruncDate("pushed_at", tzinfo=zone))
                                     .values("day").annotate(n=Count("pk"),
                                                             total=Sum("total_price"))
                                     .values_list("day", "n", "total")):
            days[day] = DayFigures(orders, revenue)
    return days


def source_sales_by_variant(*, source: Shop, first: date, last: date,
                            destination: Shop | None = None) -> dict[int | None, VariantFigures]:
    """Units and line revenue per source variant over the days `first`..`last` (included)."""
    zone = source.zone
    rolled_up_until, live_from = _split(source, first, last)
    sales: dict[int | None, VariantFigures] = {}

    def add(variant_id: int | None, units: int, revenue: Decimal) -> None:
        before = sales.get(variant_id, VariantFigures(0, ZERO))
        sales[variant_id] = VariantFigures(before.units + units, before.revenue + revenue)

    if rolled_up_until is not None:
        for row in (SourceProductDayStat.objects.filter(
                source=source, zone=zone.key, destination=destination, day__gte=first,
                day__lte=rolled_up_until)
                .values("source_variant_id").annotate(u=Sum("units"), r=Sum("revenue"))
                .values_list("source_variant_id", "u", "r")):
            add(*row)
    if live_from <= last:
        live = OrderPushLine.objects.filter(
            push__source=source, push__status=OrderPush.Status.PUSHED,
            push__pushed_at__gte=day_start(live_from, zone),
            push__pushed_at__lt=day_start(last + timedelta(days=1), zone))
        if destination is not None:
            live = live.filter(push__order__shop=destination)
        for row in (live.values("line__source_variant_id")
                    .annotate(u=Sum("quantity"),
                              r=Sum(F("quantity") * F("price"), output_field=MONEY))
                    .values_list("line__source_variant_id", "u", "r")):
            add(*row)
    return sales
