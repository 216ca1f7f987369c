"""What a destination's dashboard charts: its orders and the stock updates Syncer wrote to it,
per day of a range, and how long those updates took to arrive, hour by hour.

One grouped query each, whatever the range or the store's size: the database counts, Python
sees a row per day (or hour), never an order or an event. Days and hours are the shop's.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate, TruncHour

from orders.charts import LatencyHour
from orders.models import DestinationOrder
from orders.stats import ZERO, Percentile, day_start
from products.models import SyncEvent
from stores.models import Shop

LATENCY_HOURS = 24


@dataclass(frozen=True)
class OrderDay:
    """A day's orders (placed that day in the shop's zone) by push state, and their totals."""

    states: dict[str, int]
    total: Decimal

    @property
    def orders(self) -> int:
        return sum(self.states.values())

    @property
    def pushed(self) -> int:
        return self.states.get(DestinationOrder.PushState.PUSHED, 0)


@dataclass(frozen=True)
class StockDay:
    """A day's stock updates at the store: written, and attempts that failed."""

    written: int
    failed: int


def destination_orders_by_day(
    *, destination: Shop, first: date, last: date
) -> dict[date, OrderDay]:
    """The destination's orders placed from `first` to `last` (both included), per day. Days
    without orders are absent."""
    zone = destination.zone
    push_states = DestinationOrder.PushState.values
    rows = (
        DestinationOrder.objects.filter(
            shop=destination,
            processed_at__gte=day_start(first, zone),
            processed_at__lt=day_start(last + timedelta(days=1), zone),
        )
        .annotate(day=TruncDate("processed_at", tzinfo=zone))
        .values("day")
        .annotate(
            total=Sum("total_price"),
            **{state: Count("pk", filter=Q(push_state=state)) for state in push_states},
        )
        .values_list("day", "total", *push_states)
    )
    return {
        day: OrderDay(states=dict(zip(push_states, counts, strict=True)), total=total or ZERO)
        for day, total, *counts in rows
    }


def _stock_writes(destination: Shop) -> QuerySet[SyncEvent]:
    """The audit events of the stock Syncer writes at the destination: imports and mappings
    setting a variant's first quantity, and the inventory engine's writes (as the Stores list
    counts them, orders.store_figures)."""
    return SyncEvent.objects.filter(
        connection__destination=destination, kind=SyncEvent.Kind.INVENTORY
    )


def destination_stock_updates_by_day(
    *, destination: Shop, first: date, last: date
) -> dict[date, StockDay]:
    """Stock updates Syncer wrote at the destination from `first` to `last` (both included),
    and those that failed, per day. Days with neither are absent; a held-back zero (skipped)
    is neither."""
    zone = destination.zone
    rows = (
        _stock_writes(destination)
        .filter(
            result__in=(SyncEvent.Result.OK, SyncEvent.Result.FAILED),
            created_at__gte=day_start(first, zone),
            created_at__lt=day_start(last + timedelta(days=1), zone),
        )
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(
            written=Count("pk", filter=Q(result=SyncEvent.Result.OK)),
            failed=Count("pk", filter=Q(result=SyncEvent.Result.FAILED)),
        )
        .values_list("day", "written", "failed")
    )
    return {day: StockDay(written=written, failed=failed) for day, written, failed in rows}


def destination_write_latency(
    *, destination: Shop, now: datetime, hours: int = LATENCY_HOURS
) -> list[LatencyHour]:
    """The last `hours` hours of the shop's clock, oldest first (the current one, begun, last):
    per hour, the stock updates written at the destination that know their latency (the time
    from the source change to the write, as the sync history shows it) with its median and
    95th percentile. Hours without one are there too, without times."""
    zone = destination.zone
    # The hour's start on the shop's clock (30- and 45-minute zones start hours off UTC's),
    # then whole hours back on the absolute clock, so a DST change has no hole or overlap.
    this_hour = now.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    starts = [
        this_hour.astimezone(UTC) - timedelta(hours=back) for back in range(hours - 1, -1, -1)
    ]
    rows = (
        _stock_writes(destination)
        .filter(
            result=SyncEvent.Result.OK,
            latency_ms__isnull=False,
            created_at__gte=starts[0],
            created_at__lt=starts[-1] + timedelta(hours=1),
        )
        .annotate(hour=TruncHour("created_at", tzinfo=zone))
        .values("hour")
        .annotate(
            writes=Count("pk"),
            median=Percentile("latency_ms", fraction=0.5),
            p95=Percentile("latency_ms", fraction=0.95),
        )
        .values_list("hour", "writes", "median", "p95")
    )
    by_hour = {
        hour.astimezone(UTC): (writes, round(median), round(p95))
        for hour, writes, median, p95 in rows
    }
    return [
        LatencyHour(start.astimezone(zone), *by_hour.get(start, (0, None, None)))
        for start in starts
    ]
