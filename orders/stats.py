"""What each source received and sold, day by day: the roll-ups behind the dashboards, and
their reads.

A source with a million received orders cannot sum its pushes and sales on every dashboard
view (the 60-day range alone is ~160,000 pushes and ~330,000 sold lines: seconds, not
milliseconds). So the pushes are summed per day into `SourceDayStat`, and every paid
destination sale of its variants (products.DestinationSale, pushed or not) into
`SourceProductDayStat` (per destination and for all of them; products also per whole week and
whole month); `SourceDayStat` also holds each day's units and sales (its product rows summed
over the variants), and per store whole weeks and months too, for the figures by store. A
dashboard reads those small rows plus, live, the few pushes and sales made since they were
last summed.

Two kinds of rows:
* closed days — every day that ended `CLOSE_GRACE` ago, summed once from the pushes and never
  again. Safe to freeze because a push counts on the day of its `pushed_at`, which the push
  service sets to "now" when the source order is created, and a pushed push never changes its
  status, total or lines again (a sale likewise counts on its `sold_at`, "now" when it is
  recorded, and never changes); the grace covers a transaction still committing.
* provisional days — the days after those (today, and yesterday for an hour): at most every
  `REFRESH_EVERY` the pushes since `provisional_until` (up to `LIVE_GRACE` ago) are added as
  more rows, so a refresh sums minutes of pushes, never a whole day. When the day closes its
  provisional rows are replaced by the closed ones, summed afresh: a push that committed more
  than LIVE_GRACE after its `pushed_at` (none should) is counted from then on.

Rows are summed when read, so several rows for one day (or variant) are fine.

Erasing a shop (`source_stats_forget`) throws the affected roll-ups away; they are rebuilt on
the next view. Pushes and sales written straight into the database in the past (tests,
benchmarks) are only counted if they exist before the days they fall on are summed.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import cast
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from orders.models import (
    OrderPush,
    SourceDayStat,
    SourceProductDayStat,
    SourceStatsClosed,
)
from products.models import DestinationSale, SourceProduct, SourceVariant
from stores.models import Connection, Shop

CLOSE_GRACE = timedelta(hours=1)
LIVE_GRACE = timedelta(minutes=5)
REFRESH_EVERY = timedelta(minutes=2)
DAY, WEEK, MONTH = (SourceProductDayStat.Span.DAY, SourceProductDayStat.Span.WEEK,
                    SourceProductDayStat.Span.MONTH)
ONE_DAY = timedelta(days=1)
ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)


class Percentile(Aggregate):
    """PostgreSQL's percentile_cont: the value below which `fraction` of the rows fall,
    interpolated between the two nearest."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"
    output_field = FloatField()

    def __init__(self, expression: str, *, fraction: float) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("A percentile's fraction is between 0 and 1.")
        # A float written into the SQL: never a value from a request.
        super().__init__(expression, fraction=float(fraction))


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


def _sold_between(source: Shop, starts: datetime, ends: datetime) -> QuerySet[DestinationSale]:
    return DestinationSale.objects.filter(source=source, sold_at__gte=starts, sold_at__lt=ends)


def month_after(day: date) -> date:
    """The 1st of the month after `day`'s."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


# --- building -----------------------------------------------------------------------------------


def _insert_select(model: type, columns: list[str], constants: list, rows: QuerySet) -> None:
    """INSERT INTO model (columns) SELECT constants, <rows>: the database sums, Python never
    sees a push. `rows` is a values_list() whose fields follow `columns` after the constants."""
    sql, params = rows.query.sql_with_params()
    _insert_rows(model, columns, constants, f"SELECT sub.* FROM ({sql}) sub", list(params))


def _insert_rows(model: type, columns: list[str], constants: list, sql: str,
                 params: list) -> None:
    quote = connection.ops.quote_name
    names = ", ".join(quote(model._meta.get_field(name).column) for name in columns)
    leading = "".join("%s, " for _ in constants)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({names}) "
                       f"SELECT {leading}rows.* FROM ({sql}) rows", [*constants, *params])


def _summed(parts: list[QuerySet], *, keys: int) -> tuple[str, list]:
    """SQL and params summing `parts` together, one row per key whichever parts it is in:
    values_list()s of `keys` key columns, then orders, revenue, units and sales."""
    names = [f"c{index}" for index in range(keys + 4)]
    union, params = [], []
    for part in parts:
        sql, part_params = part.query.sql_with_params()
        union.append(f"SELECT * FROM ({sql}) part")
        params.extend(part_params)
    figures = ", ".join(f"SUM({name})" for name in names[keys:])
    grouped = ", ".join(names[:keys])
    return (f"SELECT {grouped}, {figures} FROM ({' UNION ALL '.join(union)})"
            f" parts({', '.join(names)}) GROUP BY {grouped}", params)


NONE, NOTHING = Value(0), Value(ZERO, output_field=MONEY)


def _pushed_rows(pushes: QuerySet[OrderPush], *keys: str) -> QuerySet:
    """The orders and revenue of `pushes` per `keys` (and no sales): a part for _summed."""
    return (pushes.values(*keys).annotate(o=Count("pk"), r=Sum("total_price"), u=NONE,
                                          s=NOTHING)
            .values_list(*keys, "o", "r", "u", "s"))


def _sold_rows(sales: QuerySet[DestinationSale], *keys: str) -> QuerySet:
    """The units and sales of `sales` per `keys` (and no orders): a part for _summed."""
    return (sales.values(*keys).annotate(o=NONE, r=NOTHING, u=Sum("quantity"),
                                         s=Sum(F("quantity") * F("price"), output_field=MONEY))
            .values_list(*keys, "o", "r", "u", "s"))


def _build_days(*, source: Shop, zone: ZoneInfo, first: date, last: date,
                since: datetime | None = None, until: datetime | None = None) -> None:
    """Rows for the pushes and sales of the days `first`..`last`: all of them (closing those
    days), or those made in [since, until) (a provisional refresh, adding to the rows already
    there)."""
    provisional = until is not None
    starts = since or day_start(first, zone)
    ends = until or day_start(last + timedelta(days=1), zone)
    pushes = OrderPush.objects.filter(_pushed_between(source, starts, ends)).annotate(
        day=TruncDate("pushed_at", tzinfo=zone))
    sales = _sold_between(source, starts, ends).annotate(day=TruncDate("sold_at", tzinfo=zone))
    sale_sums = {"units": Sum("quantity"),
                 "revenue": Sum(F("quantity") * F("price"), output_field=MONEY)}
    _insert_select(SourceProductDayStat, ["source", "zone", "span", "destination", "day",
                                          "source_variant_id", "units", "revenue"],
                   [source.pk, zone.key, DAY],
                   sales.values("destination", "day", "source_variant_id")
                   .annotate(**sale_sums)
                   .values_list("destination", "day", "source_variant_id", "units", "revenue"))
    built = Q(source=source, zone=zone.key, destination__isnull=False, day__gte=first,
              day__lte=last)
    # A store's day: its pushes and its sales in one row (also when it only pushed, or only
    # sold). Closing, the sales are summed from the product rows just written (fewer rows than
    # sales); a refresh adds to rows already there, so it sums its own sales.
    store_sales = _sold_rows(sales, "destination", "day") if provisional else (
        SourceProductDayStat.objects.filter(built, span=DAY).values("destination", "day")
        .annotate(o=NONE, r=NOTHING, u=Sum("units"), s=Sum("revenue"))
        .values_list("destination", "day", "o", "r", "u", "s"))
    _insert_rows(SourceDayStat, ["source", "zone", "destination", "day", "orders", "revenue",
                                 "units", "sales"], [source.pk, zone.key],
                 *_summed([_pushed_rows(pushes, "order__shop", "day"), store_sales], keys=2))
    if provisional:  # "all stores" rows of just these, the others have theirs already
        all_days = _summed([_pushed_rows(pushes, "day"), _sold_rows(sales, "day")], keys=1)
        all_products = (sales.values("day", "source_variant_id").annotate(**sale_sums)
                        .values_list("day", "source_variant_id", "units", "revenue"))
    else:  # "all stores" rows summed from the per-destination rows just written (fewer rows)
        all_days = _summed([SourceDayStat.objects.filter(built, span=DAY).values_list(
            "day", "orders", "revenue", "units", "sales")], keys=1)
        all_products = (SourceProductDayStat.objects.filter(built, span=DAY)
                        .values("day", "source_variant_id")
                        .annotate(total_units=Sum("units"), total_revenue=Sum("revenue"))
                        .values_list("day", "source_variant_id", "total_units",
                                     "total_revenue"))
    _insert_rows(SourceDayStat, ["source", "zone", "day", "orders", "revenue", "units", "sales"],
                 [source.pk, zone.key], *all_days)
    _insert_select(SourceProductDayStat, ["source", "zone", "span", "day",
                                          "source_variant_id", "units", "revenue"],
                   [source.pk, zone.key, DAY], all_products)
    if provisional:
        return
    # Every week and every month that ended in these days, summed from its day rows (all
    # closed by now).
    monday = first - timedelta(days=first.weekday())
    while monday + timedelta(days=6) <= last:
        if monday + timedelta(days=6) >= first:
            _sum_span(source, zone, WEEK, monday, monday + timedelta(days=6))
        monday += timedelta(days=7)
    month = first.replace(day=1)
    while month_after(month) - ONE_DAY <= last:
        _sum_span(source, zone, MONTH, month, month_after(month) - ONE_DAY)
        month = month_after(month)


def _sum_span(source: Shop, zone: ZoneInfo, span: str, first: date, last: date) -> None:
    """The product rows, and the stores' rows, of the week or month `first`..`last`, summed
    from its day rows. (No "all stores" row: nothing reads one; the chart reads days.)"""
    days = Q(source=source, zone=zone.key, span=DAY, day__gte=first, day__lte=last)
    _insert_select(SourceProductDayStat, ["source", "zone", "span", "day", "destination",
                                          "source_variant_id", "units", "revenue"],
                   [source.pk, zone.key, span, first],
                   SourceProductDayStat.objects.filter(days)
                   .values("destination", "source_variant_id")
                   .annotate(total_units=Sum("units"), total_revenue=Sum("revenue"))
                   .values_list("destination", "source_variant_id", "total_units",
                                "total_revenue"))
    _insert_rows(SourceDayStat, ["source", "zone", "span", "day", "destination", "orders",
                                 "revenue", "units", "sales"], [source.pk, zone.key, span, first],
                 *_summed([SourceDayStat.objects.filter(days, destination__isnull=False)
                           .values_list("destination", "orders", "revenue", "units", "sales")],
                          keys=1))


def _is_fresh(state: SourceStatsClosed | None, target: date, now: datetime) -> bool:
    return (state is not None and state.closed_through is not None
            and state.closed_through >= target and state.provisional_until is not None
            and state.provisional_until > now - REFRESH_EVERY - LIVE_GRACE)


def source_stats_close(*, source: Shop, now: datetime | None = None) -> date:
    """Rolls up every finished day not rolled up yet and, at most every REFRESH_EVERY, the
    days since (provisionally); returns the last closed day.

    Cheap when there is nothing to do (one indexed read), so views call it before reading.
    Concurrent callers queue on the state row's lock; the second finds the work done.
    """
    # Always set on the row source_stats_current returns.
    return cast(date, source_stats_current(source=source, now=now).closed_through)


def source_stats_current(*, source: Shop, now: datetime | None = None) -> SourceStatsClosed:
    """source_stats_close, returning what was rolled up (the state row): a reader given it
    (`stats=`) knows what to read from the roll-ups without reading the row again."""
    zone = source.zone
    now = now or timezone.now()
    target = stats_closable_through(zone=zone, now=now)
    state = SourceStatsClosed.objects.filter(source=source, zone=zone.key).first()
    if state is not None and _is_fresh(state, target, now):
        return state
    with transaction.atomic():
        SourceStatsClosed.objects.get_or_create(source=source, zone=zone.key)
        state = SourceStatsClosed.objects.select_for_update().get(source=source, zone=zone.key)
        if _is_fresh(state, target, now):
            return state
        until = now - LIVE_GRACE
        if state.closed_through is None or state.closed_through < target:
            if state.closed_through is not None:
                # The provisional days go: closed below, or provisional again from scratch.
                for model in (SourceDayStat, SourceProductDayStat):
                    model.objects.filter(source=source, zone=zone.key,
                                         day__gt=state.closed_through).delete()
                first = state.closed_through + timedelta(days=1)
            else:
                earliest = min(filter(None, (
                    received_pushes(source=source).aggregate(at=Min("pushed_at"))["at"],
                    DestinationSale.objects.filter(source=source).aggregate(
                        at=Min("sold_at"))["at"])), default=None)
                first = (earliest.astimezone(zone).date() if earliest
                         else target + timedelta(days=1))
            if first <= target:
                _build_days(source=source, zone=zone, first=first, last=target)
            since = day_start(target + timedelta(days=1), zone)
        else:
            since = state.provisional_until or day_start(target + timedelta(days=1), zone)
        if until > since:
            _build_days(source=source, zone=zone, first=since.astimezone(zone).date(),
                        last=until.astimezone(zone).date(), since=since, until=until)
        state.closed_through = target
        state.provisional_until = max(until, since)
        if state.first_day is None:  # nothing was rolled up before: maybe now
            state.first_day = min(filter(None, (
                rows.filter(source=source, zone=zone.key, destination=None)
                .aggregate(day=Min("day"))["day"]
                for rows in (SourceDayStat.objects.filter(span=DAY),
                             SourceProductDayStat.objects.filter(span=DAY)))), default=None)
        state.save(update_fields=["closed_through", "provisional_until", "first_day",
                                  "updated_at"])
    return state


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
class _Coverage:
    """How a range `first`..`last` is read: days up to `rows_through` from the day rows (None:
    none), whole weeks up to `weeks_through` from the week rows, and the pushes from `live_from`
    to the range's end live (None: nothing live)."""

    rows_through: date | None
    weeks_through: date | None
    live_from: datetime | None


def _coverage(source: Shop, first: date, last: date,
              stats: SourceStatsClosed | None) -> _Coverage:
    zone = source.zone
    starts, ends = day_start(first, zone), day_start(last + timedelta(days=1), zone)
    given = stats is not None and stats.source_id == source.pk and stats.zone == zone.key
    state = stats if given else (
        SourceStatsClosed.objects.filter(source=source, zone=zone.key).first())
    if state is None or state.closed_through is None:
        return _Coverage(None, None, starts)
    summed_until = state.provisional_until or day_start(
        state.closed_through + timedelta(days=1), zone)
    rows_day = min(summed_until.astimezone(zone).date(), last)
    if rows_day < first:
        return _Coverage(None, None, starts)
    live_from = max(starts, summed_until)
    return _Coverage(rows_day, state.closed_through, live_from if live_from < ends else None)


def _rolled_up(source: Shop, first: date, last: date,
               stats: SourceStatsClosed | None) -> tuple[_Coverage, list[Q]]:
    """What of `first`..`last` is rolled up, and the filters of the roll-up rows covering it
    (_spans). Nothing was pushed or sold before the first day with anything rolled up, so a
    range starting earlier (All time) reads that day's whole month as month rows."""
    coverage = _coverage(source, first, last, stats)
    first_day = stats.first_day if stats is not None and stats.source_id == source.pk \
        and stats.zone == source.zone.key else None
    if first_day is not None and first <= first_day:
        first = first_day.replace(day=1)
    if coverage.rows_through is None:
        return coverage, []
    return coverage, _spans(first, coverage.rows_through, coverage.weeks_through)


def source_orders_by_day(*, source: Shop, first: date, last: date,
                         destination: Shop | None = None,
                         stats: SourceStatsClosed | None = None) -> dict[date, DayFigures]:
    """Orders received and their revenue per day from `first` to `last` (both included, days in
    the source's zone), from one destination or all. Days without orders are absent. `stats`:
    the source's roll-up state as source_stats_current returned it (else it is read)."""
    zone = source.zone
    coverage = _coverage(source, first, last, stats)
    days: dict[date, DayFigures] = {}

    def add(day: date, orders: int, revenue: Decimal) -> None:
        before = days.get(day, DayFigures(0, ZERO))
        days[day] = DayFigures(before.orders + orders, before.revenue + revenue)

    if coverage.rows_through is not None:
        for row in SourceDayStat.objects.filter(
                source=source, zone=zone.key, destination=destination, span=DAY, day__gte=first,
                day__lte=coverage.rows_through).values_list("day", "orders", "revenue"):
            add(*row)
    if coverage.live_from is not None:
        live = OrderPush.objects.filter(_pushed_between(
            source, coverage.live_from, day_start(last + timedelta(days=1), zone)))
        if destination is not None:
            live = live.filter(order__shop=destination)
        for row in (live.annotate(day=TruncDate("pushed_at", tzinfo=zone)).values("day")
                    .annotate(n=Count("pk"), total=Sum("total_price"))
                    .values_list("day", "n", "total")):
            add(*row)
    return days


@dataclass(frozen=True)
class StoreFigures:
    orders: int
    revenue: Decimal
    units: int
    sales: Decimal


def source_figures_by_store(*, source: Shop, first: date, last: date,
                            stats: SourceStatsClosed | None = None) -> dict[int, StoreFigures]:
    """Per destination (its Shop id) that pushed or sold from `first` to `last`: the orders
    it pushed to the source and their revenue, as source_orders_by_day counts them, and the
    units it sold and their sales at the source's prices, as source_top_variants does.
    `stats` as for source_orders_by_day.

    One statement: the stores' rows of the whole months, weeks and days of the range (all
    time over a year: ~12 months and a few weeks and days per store) and, live, the pushes and
    sales since they were summed, added up per store.
    """
    zone = source.zone
    coverage, spans = _rolled_up(source, first, last, stats)
    parts = [SourceDayStat.objects.filter(part, source=source, zone=zone.key,
                                          destination__isnull=False)
             .values_list("destination", "orders", "revenue", "units", "sales")
             for part in spans]
    if coverage.live_from is not None:
        ends = day_start(last + timedelta(days=1), zone)
        parts += [_pushed_rows(OrderPush.objects.filter(
                      _pushed_between(source, coverage.live_from, ends)), "order__shop"),
                  _sold_rows(_sold_between(source, coverage.live_from, ends), "destination")]
    sql, params = _summed(parts, keys=1)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {destination: StoreFigures(int(orders), Decimal(revenue).quantize(ZERO), int(units),
                                      Decimal(sales).quantize(ZERO))
            for destination, orders, revenue, units, sales in rows if orders or units}


def _weeks_and_days(first: date, last: date, weeks_through: date | None) -> list[Q]:
    """The rows covering `first`..`last`: whole closed weeks inside it as week rows, the days
    at either end as day rows (a 60-day range reads ~8 weeks and ~12 days, not 60 days). One Q
    per part, each read on its own: ORed together the planner filters every row instead."""
    monday = first + timedelta(days=-first.weekday() % 7)
    weeks_end = min(last, weeks_through) if weeks_through is not None else first
    weeks = ((weeks_end - monday).days + 1) // 7 if monday <= weeks_end else 0
    if weeks <= 0:
        return [Q(span=DAY, day__gte=first, day__lte=last)]
    after = monday + timedelta(days=7 * weeks)
    parts = [Q(span=WEEK, day__gte=monday, day__lt=after)]
    if first < monday:
        parts.append(Q(span=DAY, day__gte=first, day__lt=monday))
    if after <= last:
        parts.append(Q(span=DAY, day__gte=after, day__lte=last))
    return parts


def _spans(first: date, last: date, closed_through: date | None) -> list[Q]:
    """The rows covering `first`..`last`: whole closed months inside it as month rows, the
    rest as _weeks_and_days (a year reads ~12 months and a few weeks and days)."""
    start = first if first.day == 1 else month_after(first)
    end = min(last, closed_through) if closed_through is not None else first
    after = start
    while month_after(after) - ONE_DAY <= end:  # a few dozen months at most, never rows
        after = month_after(after)
    if after == start:
        return _weeks_and_days(first, last, closed_through)
    parts = [Q(span=MONTH, day__gte=start, day__lt=after)]
    if first < start:
        parts += _weeks_and_days(first, start - ONE_DAY, closed_through)
    if after <= last:
        parts += _weeks_and_days(after, last, closed_through)
    return parts


@dataclass(frozen=True)
class VariantSales:
    source_variant_id: int | None
    units: int
    revenue: Decimal
    # The source's variant as it is now (absent: "" and None), read in the same statement.
    product_title: str = ""
    variant_title: str = ""
    sku: str | None = None


@dataclass(frozen=True)
class TopVariants:
    total_units: int
    variants: list[VariantSales]  # the best sellers, most units first
    total_revenue: Decimal = ZERO


def source_top_variants(*, source: Shop, first: date, last: date, limit: int,
                        destination: Shop | None = None,
                        stats: SourceStatsClosed | None = None) -> TopVariants:
    """The `limit` best-selling source variants over the days `first`..`last` (included) —
    every paid sale of them at the destinations (products.DestinationSale), pushed or not —
    by units then revenue at the source's prices, and the units and revenue of all variants
    together, each with its title and SKU at the source. `stats` as for source_orders_by_day.

    The rows of the rolled-up parts and the live sales are summed per variant and ranked in
    one statement: the database hands back `limit` rows, not one per variant.
    """
    zone = source.zone
    coverage, spans = _rolled_up(source, first, last, stats)
    parts = [SourceProductDayStat.objects.filter(part, source=source, zone=zone.key,
                                                 destination=destination)
             .values(variant=F("source_variant_id"), u=F("units"), r=F("revenue"))
             for part in spans]
    if coverage.live_from is not None:
        live = _sold_between(source, coverage.live_from,
                             day_start(last + timedelta(days=1), zone))
        if destination is not None:
            live = live.filter(destination=destination)
        parts.append(live.values(variant=F("source_variant_id"), u=F("quantity"),
                                 r=ExpressionWrapper(F("quantity") * F("price"),
                                                     output_field=MONEY)))
    union, params = [], []
    for index, part in enumerate(parts):
        sql, part_params = part.query.sql_with_params()
        union.append(f"SELECT * FROM ({sql}) part{index}")
        params.extend(part_params)
    # The names of the `limit` rows only, joined after the ranking (a variant is unique per
    # source and Shopify id). Without parallel workers: starting two for a few thousand rows
    # doubled the statement's time (15.7 → 7.5 ms for All time at 1,000,000 orders).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(
            "SELECT top.variant, top.units, top.revenue, top.total, top.total_revenue,"
            " p.title, v.title, v.sku"
            " FROM (SELECT variant, units, revenue, SUM(units) OVER () AS total,"
            "  SUM(revenue) OVER () AS total_revenue FROM ("
            "  SELECT variant, SUM(u) AS units, SUM(r) AS revenue"
            f"  FROM ({' UNION ALL '.join(union)}) sales GROUP BY variant"
            " ) totals ORDER BY units DESC, revenue DESC, variant LIMIT %s) top"
            f" LEFT JOIN {SourceVariant._meta.db_table} v"
            "  ON v.shop_id = %s AND v.shopify_id = top.variant"
            f" LEFT JOIN {SourceProduct._meta.db_table} p ON p.id = v.product_id"
            " ORDER BY top.units DESC, top.revenue DESC, top.variant",
            [*params, limit, source.pk])
        rows = cursor.fetchall()
    return TopVariants(
        total_units=int(rows[0][3]) if rows else 0,
        total_revenue=Decimal(rows[0][4]).quantize(ZERO) if rows else ZERO,
        variants=[VariantSales(variant, int(units), Decimal(revenue).quantize(ZERO),
                               product_title=product_title or "",
                               variant_title=variant_title or "", sku=sku)
                  for variant, units, revenue, _, _, product_title, variant_title, sku in rows])
