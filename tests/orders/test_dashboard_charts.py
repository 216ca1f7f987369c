"""The destination dashboard's charts: its orders and the stock updates Syncer wrote to it per
day of the chosen range, and Sync health's sparkline of how long those updates took, hour by
hour. Selectors against hand-counted rows, then the page through the real view."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.charts import NO_LATENCY, LatencyHour, latency_sparkline
from orders.destination_stats import (
    OrderDay,
    StockDay,
    destination_orders_by_day,
    destination_stock_updates_by_day,
    destination_write_latency,
)
from orders.models import DestinationOrder
from products.models import SyncEvent
from stores.models import Connection, Shop
from tests.orders.dashboard_world import ONE_MICROSECOND, session_headers, start_of
from tests.orders.factories import DestinationOrderFactory
from tests.stores.factories import ConnectionFactory, DestinationFactory

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Asia/Kolkata")  # UTC+05:30: neither days nor hours start on UTC's
PUSHED, NOT_PUSHED = DestinationOrder.PushState.PUSHED, DestinationOrder.PushState.NOT_PUSHED
PARTIAL, CANCELLED = DestinationOrder.PushState.PARTIAL, DestinationOrder.PushState.CANCELLED
OK, FAILED, SKIPPED = SyncEvent.Result.OK, SyncEvent.Result.FAILED, SyncEvent.Result.SKIPPED
INVENTORY = SyncEvent.Kind.INVENTORY


def destination(**fields) -> Shop:
    return DestinationFactory.create(
        name="Solo Dest", currency="USD", iana_timezone=ZONE.key, **fields
    )


def order(shop: Shop, at: datetime, state: str, total: str) -> DestinationOrder:
    return DestinationOrderFactory.create(
        shop=shop, processed_at=at, push_state=state, total_price=Decimal(total)
    )


def event(
    connection: Connection,
    at: datetime,
    *,
    result: str = OK,
    kind: str = INVENTORY,
    latency_ms: int | None = None,
) -> SyncEvent:
    written = SyncEvent.objects.create(
        connection=connection, kind=kind, result=result, latency_ms=latency_ms
    )
    SyncEvent.objects.filter(pk=written.pk).update(created_at=at)  # created_at is auto_now_add
    return written


def states(**counts: int) -> dict[str, int]:
    return {PUSHED: 0, NOT_PUSHED: 0, PARTIAL: 0, CANCELLED: 0, **counts}


def dashboard(client, shop: Shop, **params) -> str:
    response = client.get("/dashboard/", params, headers=session_headers(shop))
    assert response.status_code == 200
    return response.content.decode()


def svg_labels(html: str) -> list[str]:
    return re.findall(r'<svg class="chart-svg"[^>]*?aria-label="([^"]*)"', html, re.S)


def bar_titles(html: str, count_key: str) -> list[str]:
    chart = re.search(rf'<svg class="chart-svg"[^>]*data-{count_key}=.*?</svg>', html, re.S)
    assert chart is not None
    return re.findall(r'<rect class="chart-bar"[^>]*><title>(.*?)</title>', chart.group(0))


def chart_tables(html: str) -> list[list[list[str]]]:
    """Each chart's table (what a screen reader reads): rows of cell texts."""
    return [
        [
            re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
        ]
        for table in re.findall(
            r"<table class=\"visually-hidden\" data-chart-table>(.*?)"
            r"</table>",
            html,
            re.S,
        )
    ]


def latency_summary(html: str) -> str:
    found = re.search(
        r'<figcaption class="chart-legend" id="latency-summary">(.*?)</figcaption>', html, re.S
    )
    assert found is not None
    return found.group(1)


# --- selectors ----------------------------------------------------------------------------------


def test_orders_per_day_are_counted_by_push_state_in_the_shops_days():
    # given a destination in UTC+05:30 and orders on the edges of its days D0 and D0 + 1
    shop = destination()
    d0 = date(2026, 3, 10)
    first, second, after = (
        start_of(d0, ZONE),
        start_of(d0 + timedelta(days=1), ZONE),
        start_of(d0 + timedelta(days=2), ZONE),
    )
    order(shop, first, PUSHED, "10.00")
    order(shop, first + timedelta(hours=5), NOT_PUSHED, "20.50")
    order(shop, second - ONE_MICROSECOND, PUSHED, "5.00")
    order(shop, second, PARTIAL, "7.25")
    order(shop, after - ONE_MICROSECOND, CANCELLED, "1.00")
    order(shop, first - ONE_MICROSECOND, PUSHED, "99.00")  # the day before
    order(shop, after, PUSHED, "99.00")  # the day after
    order(destination(), first, PUSHED, "99.00")  # another store's
    # when its orders are read per day
    days = destination_orders_by_day(destination=shop, first=d0, last=d0 + timedelta(days=1))
    # then each day has its own, by state, with their totals
    assert days == {
        d0: OrderDay(states=states(pushed=2, not_pushed=1), total=Decimal("35.50")),
        d0 + timedelta(days=1): OrderDay(
            states=states(partial=1, cancelled=1), total=Decimal("8.25")
        ),
    }
    assert (days[d0].orders, days[d0].pushed) == (3, 2)


def test_stock_updates_per_day_count_the_writes_at_the_store_and_the_failed_ones():
    # given a connection into a UTC+05:30 destination and its audit events around day D0
    connection = ConnectionFactory(destination=destination())
    d0 = date(2026, 3, 10)
    day, next_day = start_of(d0, ZONE), start_of(d0 + timedelta(days=1), ZONE)
    event(connection, day)
    event(connection, next_day - ONE_MICROSECOND)
    event(connection, day + timedelta(hours=3), result=FAILED)
    event(connection, next_day)
    event(connection, next_day + timedelta(hours=1), result=FAILED)
    event(connection, next_day + timedelta(hours=2), result=FAILED)
    # ...and what is not a stock update written at this store
    event(connection, day + timedelta(hours=1), result=SKIPPED)  # a zero held back
    event(connection, day + timedelta(hours=1), kind=SyncEvent.Kind.DRIFT)
    event(connection, day + timedelta(hours=1), kind=SyncEvent.Kind.SOURCE_DECREMENT)
    event(connection, day - ONE_MICROSECOND)
    event(ConnectionFactory(destination=destination()), day)
    # when the stock updates of D0 and D0 + 1 are read
    days = destination_stock_updates_by_day(
        destination=connection.destination, first=d0, last=d0 + timedelta(days=1)
    )
    # then
    assert days == {
        d0: StockDay(written=2, failed=1),
        d0 + timedelta(days=1): StockDay(written=1, failed=2),
    }


def test_write_latency_is_the_median_and_95th_percentile_of_each_hour_of_the_last_day():
    # given a UTC+05:30 destination at 14:20 on its clock, and stock updates that took...
    connection = ConnectionFactory(destination=destination())
    now = datetime(2026, 3, 10, 14, 20, tzinfo=ZONE)
    this_hour = datetime(2026, 3, 10, 14, 0, tzinfo=ZONE)
    for latency in (100, 200, 300, 400, 1000):  # ...this hour
        event(connection, this_hour + timedelta(minutes=latency // 100), latency_ms=latency)
    event(connection, this_hour - timedelta(hours=23), latency_ms=50)  # the window's first hour
    event(connection, this_hour - timedelta(minutes=1), latency_ms=70)  # the hour before
    # ...and what is not timed or not in the window
    event(connection, this_hour, latency_ms=None)
    event(connection, this_hour, result=FAILED, latency_ms=9000)
    event(connection, this_hour - timedelta(hours=23, microseconds=1), latency_ms=9000)
    event(connection, now + timedelta(hours=1), latency_ms=9000)
    # when the last day's latency is read
    hours = destination_write_latency(destination=connection.destination, now=now)
    # then 24 hours on the shop's clock, the current one last, each with its own figures
    assert len(hours) == 24
    assert [hour.clock for hour in hours[:2] + hours[-2:]] == ["15:00", "16:00", "13:00", "14:00"]
    # (95th percentile of 100..400, 1000: 400 + 0.8 × (1000 − 400), interpolated)
    assert hours[-1] == LatencyHour(this_hour, writes=5, median_ms=300, p95_ms=880)
    assert hours[-2] == LatencyHour(
        this_hour - timedelta(hours=1), writes=1, median_ms=70, p95_ms=70
    )
    assert hours[0] == LatencyHour(
        this_hour - timedelta(hours=23), writes=1, median_ms=50, p95_ms=50
    )
    assert [hour.writes for hour in hours[1:-2]] == [0] * 21
    assert {hour.median_ms for hour in hours[1:-2]} == {None}


def test_the_sparkline_labels_its_fastest_slowest_and_latest_hours():
    # given five hours: none timed, 100 ms (p95 300), 400 ms (p95 800), none, 200 ms (p95 250)
    start = datetime(2026, 3, 10, 9, tzinfo=ZONE)
    figures = [(0, None, None), (3, 100, 300), (2, 400, 800), (0, None, None), (4, 200, 250)]
    hours = [
        LatencyHour(start + timedelta(hours=n), writes, median, p95)
        for n, (writes, median, p95) in enumerate(figures)
    ]
    # when they are drawn
    spark = latency_sparkline(hours=hours)
    # then the two neighbouring hours are a line over their band, the last one a lone point
    assert spark.median_runs == ["78.0,63.75 148.0,45.0"]
    assert spark.band_runs == ["78.0,51.25 148.0,20.0 148.0,45.0 78.0,63.75"]
    assert [(point.x, point.median_y, point.p95_y) for point in spark.lone_points] == [
        (288.0, 57.5, 54.38)
    ]
    assert [(mark.kind, mark.label, mark.anchor) for mark in spark.marks] == [
        ("min", "min 100 ms", "start"),
        ("max", "max 400 ms", "end"),
        ("last", "last 200 ms", "start"),
    ]
    assert spark.summary == (
        "Time from a stock change at the source to your store, past 24 hours (9 stock "
        "updates): the median per hour went from 100 ms (fastest, 10:00) to 400 ms (slowest, "
        "11:00); latest, 13:00: 200 ms, 95% within 250 ms."
    )


def test_a_sparkline_of_one_value_only_labels_it_last():
    hours = [LatencyHour(datetime(2026, 3, 10, 9, tzinfo=UTC), 2, 1500, 2000)]
    spark = latency_sparkline(hours=hours)
    assert [(mark.kind, mark.label) for mark in spark.marks] == [
        ("min", ""),
        ("max", ""),
        ("last", "last 1.5 s"),
    ]
    assert spark.summary == (
        "Time from a stock change at the source to your store, past 24 hours (2 stock "
        "updates): the median per hour stayed at 1.5 s; latest, 09:00: 1.5 s, 95% within 2.0 s."
    )


# --- the page -----------------------------------------------------------------------------------


def test_the_destination_dashboard_charts_the_ranges_orders_and_stock_updates(client):
    # given a UTC+05:30 destination with orders and stock updates on D0 and D0 + 2 of a
    # three-day range (none on D0 + 1), and some outside it
    shop = destination()
    connection = ConnectionFactory(destination=shop)
    d0 = timezone.now().astimezone(ZONE).date() - timedelta(days=10)
    day = [start_of(d0 + timedelta(days=n), ZONE) for n in range(4)]
    order(shop, day[0], PUSHED, "12.00")
    order(shop, day[0] + timedelta(hours=2), NOT_PUSHED, "8.50")
    order(shop, day[2], PARTIAL, "30.00")
    order(shop, day[3], PUSHED, "99.00")  # the day after the range
    for at in (day[0], day[0], day[2]):
        event(connection, at + timedelta(hours=1))
    event(connection, day[2] + timedelta(hours=2), result=FAILED)
    event(connection, day[3], result=OK)  # after the range
    # when its owner opens the dashboard on [D0, D0 + 2]
    html = dashboard(
        client, shop, range="custom", start=d0.isoformat(), end=(d0 + timedelta(days=2)).isoformat()
    )
    # then both charts summarise the range, one bar a day
    assert svg_labels(html) == [
        "Orders by day: 3 orders, 1 pushed, 50.50 USD",
        "Stock updates by day: 3 stock updates, 1 failed",
    ]
    assert 'data-orders="3" data-amount="50.50" data-buckets="3"' in html
    assert 'data-updates="3" data-buckets="3"' in html
    labels = [f"{d:%b} {d.day}" for d in (d0 + timedelta(days=n) for n in range(3))]
    assert bar_titles(html, "orders") == [
        f"{labels[0]}: 2 orders, 1 pushed, 20.50 USD",
        f"{labels[1]}: 0 orders, 0 pushed, 0.00 USD",
        f"{labels[2]}: 1 order, 0 pushed, 30.00 USD",
    ]
    assert bar_titles(html, "updates") == [
        f"{labels[0]}: 2 stock updates, 0 failed",
        f"{labels[1]}: 0 stock updates, 0 failed",
        f"{labels[2]}: 1 stock update, 1 failed",
    ]
    # ...pushed orders drawn darker (one bar has some)...
    assert html.count('<rect class="chart-bar-part"') == 1
    # ...with the same figures as tables for screen readers (money as the shop writes it)
    orders_table, stock_table = chart_tables(html)[:2]
    assert orders_table == [
        ["Day", "Orders", "Pushed", "Order totals"],
        [labels[0], "2", "1", "20.50 USD"],
        [labels[1], "0", "0", "0.00 USD"],
        [labels[2], "1", "0", "30.00 USD"],
    ]
    assert stock_table == [
        ["Day", "Stock updates written", "Failed"],
        [labels[0], "2", "0"],
        [labels[1], "0", "0"],
        [labels[2], "1", "1"],
    ]
    assert "No orders in this range" not in html


def test_sync_health_shows_how_long_the_last_days_stock_updates_took(client):
    # given stock updates this hour (1 s, 3 s) and three hours ago (0.5 s), on the shop's clock
    shop = destination(money_format="${{amount}}")
    connection = ConnectionFactory(destination=shop)
    this_hour = timezone.now().astimezone(ZONE).replace(minute=0, second=0, microsecond=0)
    event(connection, this_hour, latency_ms=1000)
    event(connection, this_hour, latency_ms=3000)
    event(connection, this_hour - timedelta(hours=3), latency_ms=500)
    # when its owner opens the dashboard
    html = dashboard(client, shop)
    # then Sync health summarises the hours (the median of 1 s and 3 s is 2 s) and labels them
    earlier = this_hour - timedelta(hours=3)
    assert latency_summary(html) == (
        "Time from a stock change at the source to your store, past 24 hours (3 stock "
        f"updates): the median per hour went from 500 ms (fastest, {earlier:%H:%M}) to 2.0 s "
        f"(slowest, {this_hour:%H:%M}); latest, {this_hour:%H:%M}: 2.0 s, 95% within 2.9 s."
    )
    sparkline = re.search(r'<svg class="sparkline-svg".*?</svg>', html, re.S).group(0)
    assert 'aria-labelledby="latency-summary" data-writes="3"' in sparkline
    # (the slowest hour is the latest: its label says it once)
    assert re.findall(r'data-mark="(\w+)"[^>]*>(.*?)</text>', sparkline) == [
        ("min", "min 500 ms"),
        ("last", "last 2.0 s"),
    ]
    assert chart_tables(html)[-1] == [
        ["Hour", "Stock updates", "Median", "95% within"],
        [f"{earlier:%H:%M}", "1", "500 ms", "500 ms"],
        [f"{this_hour:%H:%M}", "2", "2.0 s", "2.9 s"],
    ]


def test_a_destination_with_nothing_yet_gets_empty_charts_that_say_so(client):
    # given a destination with no orders and no stock updates
    shop = destination()
    # when its owner opens the dashboard
    html = dashboard(client, shop, range="7d")
    # then every chart is there, its size kept, saying it has nothing to show
    assert svg_labels(html) == [
        "Orders by day: no orders in this range",
        "Stock updates by day: no stock updates in this range",
    ]
    assert '<text class="chart-empty"' in html
    assert ">No orders in this range</text>" in html
    assert ">No stock updates in this range</text>" in html
    assert 'data-orders="0" data-amount="0.00" data-buckets="7"' in html
    assert html.count('viewBox="0 0 720 240" width="720" height="240"') == 2
    assert latency_summary(html) == NO_LATENCY
    assert ">No stock updates in the past 24 hours</text>" in html
    assert 'viewBox="0 0 400 90" width="400" height="90"' in html


def test_a_long_range_is_charted_by_week(client):
    shop = destination()
    monday = timezone.now().astimezone(ZONE).date() - timedelta(days=200)
    monday -= timedelta(days=monday.weekday())
    order(shop, start_of(monday + timedelta(days=8), ZONE), PUSHED, "10.00")
    html = dashboard(
        client,
        shop,
        range="custom",
        start=monday.isoformat(),
        end=(monday + timedelta(days=97)).isoformat(),
    )
    assert 'data-orders="1" data-amount="10.00" data-buckets="14"' in html
    assert 'data-updates="0" data-buckets="14"' in html
    assert bar_titles(html, "orders")[1] == (
        f"{monday + timedelta(days=7):%b} {(monday + timedelta(days=7)).day} – "
        f"{monday + timedelta(days=13):%b} {(monday + timedelta(days=13)).day}: 1 order, "
        "1 pushed, 10.00 USD"
    )


def test_the_charts_read_the_same_number_of_queries_for_a_busy_store(client):
    # given an empty destination, its dashboard read once (whatever is made on a first visit)
    shop = destination()
    connection = ConnectionFactory(destination=shop)
    dashboard(client, shop)

    def queries() -> int:
        with CaptureQueriesContext(db) as captured:
            dashboard(client, shop)
        return len(captured)

    few = queries()
    # when it has orders and stock updates on every day of the range and every hour of the day
    now = timezone.now()
    for days_ago in range(30):
        order(shop, now - timedelta(days=days_ago), PUSHED, "10.00")
        order(shop, now - timedelta(days=days_ago), NOT_PUSHED, "10.00")
        event(connection, now - timedelta(days=days_ago))
    for hours_ago in range(24):
        event(connection, now - timedelta(hours=hours_ago), latency_ms=100 * hours_ago)
    # then reading it takes no more queries
    assert queries() == few
