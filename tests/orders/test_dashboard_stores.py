"""The source dashboard's "Sales by store" (issue 23, "per store and in total"): on the
all-stores view, each store that sold or pushed in the range — whatever its status now — with
its units, sales at the source's prices, orders received and their revenue, most sales first,
and the total; read from the stores' day roll-ups, and the same read live."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import SourceDayStat, SourceStatsClosed
from orders.stats import StoreFigures, source_figures_by_store, source_stats_current
from tests.orders.dashboard_world import (
    V1,
    V2,
    V3,
    ZONE,
    figures,
    pushed_order,
    sale_sold,
    sales_world,
    session_headers,
)
from tests.stores.factories import ConnectionFactory, DestinationFactory, SourceFactory

__all__ = ["sales_world"]  # the fixture, imported for pytest

pytestmark = pytest.mark.django_db


def cells(row: str) -> list[str]:
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]


def _group(pattern: str, text: str) -> str:
    found = re.search(pattern, text, re.S)
    assert found is not None, pattern
    return found.group(1)


def sales_by_store(html: str) -> tuple[list[list[str]], list[str]] | None:
    """The table's store rows and its total row, as text (None: no table)."""
    table = re.search(r'<table class="data-table" id="sales-by-store">(.*?)</table>', html, re.S)
    if table is None:
        return None
    body = _group(r"<tbody>(.*?)</tbody>", table.group(1))
    foot = _group(r"<tfoot>(.*?)</tfoot>", table.group(1))
    return [cells(row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)], cells(foot)


def store_links(html: str) -> dict[str, str]:
    table = _group(r'id="sales-by-store">(.*?)</table>', html)
    return {name: href.replace("&amp;", "&")
            for href, name in re.findall(r'<a href="([^"]+)">(.*?)</a>', table)}


def dashboard(client, shop, *, htmx: bool = False, **params):
    return client.get("/dashboard/", params, headers=session_headers(shop, htmx=htmx))


@pytest.fixture
def three_stores(db):
    """A store that pushes its orders, one that only sells (never pushes), a blocked one that
    pushed a month ago, and a connected one that did nothing."""
    source = SourceFactory(name="Main Source", currency="USD", iana_timezone=ZONE.key)
    stores = {}
    for key, name, status in (("pushing", "Pushing Store", "connected"),
                              ("selling", "Selling Store", "connected"),
                              ("blocked", "Blocked Store", "blocked"),
                              ("quiet", "Quiet Store", "connected")):
        stores[key] = ConnectionFactory(source=source, status=status, destination=(
            DestinationFactory(name=name, domain=f"{key}.myshopify.com")))
    now = timezone.now()
    pushing, selling = stores["pushing"].destination, stores["selling"].destination
    # pushing: 10 days ago (a closed day), and half an hour ago (today's provisional rows)
    pushed_order(store=pushing, source=source, at=now - timedelta(days=10), shipping="4.00",
                 lines=[(V1, 2, "10.00")])
    pushed_order(store=pushing, source=source, at=now - timedelta(minutes=30),
                 lines=[(V2, 1, "5.00")])
    # selling: 4 totes at 7.50 three days ago, a shirt a minute ago (read live); no push
    sale_sold(store=selling, source=source, variant=V3[0], quantity=4, price="7.50",
              at=now - timedelta(days=3))
    sale_sold(store=selling, source=source, variant=V1[0], quantity=1, price="10.00",
              at=now - timedelta(minutes=1))
    # blocked: a month ago, while connected
    pushed_order(store=stores["blocked"].destination, source=source,
                 at=now - timedelta(days=30), lines=[(V1, 1, "10.00")])
    return source, stores


def test_each_store_that_sold_or_pushed_is_listed_with_the_total(client, three_stores):
    source, stores = three_stores
    # when the source opens its dashboard (all time, all stores): the past days are rolled up
    html = dashboard(client, source).content.decode()
    # then each store that sold or pushed has its line, most sales first: the selling store's
    # units count though it pushed nothing, the blocked store is still there, the quiet one
    # is not; the total is the figures above
    rows, total = sales_by_store(html)
    assert rows == [
        ["Selling Store", "Connected", "5", "40.00 USD", "0", "0.00 USD"],
        ["Pushing Store", "Connected", "3", "25.00 USD", "2", "29.00 USD"],
        ["Blocked Store", "Blocked", "1", "10.00 USD", "1", "10.00 USD"],
    ]
    assert total == ["Total", "", "9", "75.00 USD", "3", "39.00 USD"]
    shown = figures(html)
    assert (shown["units"], shown["sales"], shown["orders"], shown["revenue"]) == (
        "9", "75.00 USD", "3", "39.00 USD")
    # (read from the stores' day rows: the selling store's closed day holds its sales alone)
    sold_day = (timezone.now() - timedelta(days=3)).astimezone(ZONE).date()
    assert list(SourceDayStat.objects.filter(
        source=source, span="day", day=sold_day).order_by("destination").values_list(
        "destination", "orders", "revenue", "units", "sales")) == [
        (stores["selling"].destination_id, 0, Decimal("0.00"), 4, Decimal("30.00")),
        (None, 0, Decimal("0.00"), 4, Decimal("30.00"))]


def test_a_stores_line_links_to_the_dashboard_with_that_store_picked(client, three_stores):
    source, stores = three_stores
    html = dashboard(client, source, range="60d").content.decode()
    today = timezone.now().astimezone(ZONE).date()
    blocked = stores["blocked"]
    # the same range, that store
    assert store_links(html)["Blocked Store"] == (
        f"/dashboard/?range=60d&start={today - timedelta(days=59):%Y-%m-%d}"
        f"&end={today:%Y-%m-%d}&store={blocked.pk}")
    # when the merchant follows it: that store's figures, as its line said
    picked = dashboard(client, source, range="60d", start=f"{today - timedelta(days=59)}",
                       end=f"{today}", store=blocked.pk).content.decode()
    assert f'<option value="{blocked.pk}" selected>' in picked
    assert figures(picked) == {"status": "Blocked", "available-products": "0",
                               "synced-products": "0", "orders": "1", "revenue": "10.00 USD",
                               "units": "1", "sales": "10.00 USD"}
    # and one store's view has no table of stores
    assert sales_by_store(picked) is None
    assert "Sales by store" not in picked


def test_the_figures_by_store_are_the_same_read_live_or_from_the_roll_ups(three_stores):
    source, stores = three_stores
    today = timezone.now().astimezone(ZONE).date()
    first = today - timedelta(days=40)
    expected = {
        stores["pushing"].destination_id: StoreFigures(2, Decimal("29.00"), 3, Decimal("25.00")),
        stores["selling"].destination_id: StoreFigures(0, Decimal("0.00"), 5, Decimal("40.00")),
        stores["blocked"].destination_id: StoreFigures(1, Decimal("10.00"), 1, Decimal("10.00")),
    }
    # given nothing rolled up: summed from the pushes and sales
    assert not SourceStatsClosed.objects.exists()
    assert source_figures_by_store(source=source, first=first, last=today) == expected
    # when the days are rolled up: the same from the day rows (and today's, and live)
    stats = source_stats_current(source=source)
    assert source_figures_by_store(source=source, first=first, last=today,
                                   stats=stats) == expected
    # a range that ends before the blocked store's push and starts after it
    assert set(source_figures_by_store(source=source, first=today - timedelta(days=20),
                                       last=today, stats=stats)) == {
        stores["pushing"].destination_id, stores["selling"].destination_id}
    assert source_figures_by_store(source=source, first=today - timedelta(days=35),
                                   last=today - timedelta(days=25), stats=stats) == {
        stores["blocked"].destination_id: expected[stores["blocked"].destination_id]}


def test_all_time_reads_each_stores_months_once_rolled_up(client):
    # given a store pushing (and selling) over five months and a blocked one only selling
    source = SourceFactory(name="Long Source", currency="USD", iana_timezone=ZONE.key)
    a, b = (ConnectionFactory(source=source, status=status, destination=DestinationFactory(
        name=name, domain=f"long-{status}.myshopify.com"))
        for name, status in (("Store A", "connected"), ("Store B", "blocked")))
    now = timezone.now()
    pushed = [now - timedelta(days=days_ago, minutes=10) for days_ago in (140, 100, 70, 40, 0)]
    for quantity, at in enumerate(pushed, start=1):
        pushed_order(store=a.destination, source=source, at=at, lines=[(V1, quantity, "10.00")])
    for days_ago in (120, 95, 10):
        sale_sold(store=b.destination, source=source, variant=V3[0], quantity=2, price="7.50",
                  at=now - timedelta(days=days_ago))
    today, first = now.astimezone(ZONE).date(), pushed[0].astimezone(ZONE).date()
    expected = {a.destination_id: StoreFigures(5, Decimal("150.00"), 15, Decimal("150.00")),
                b.destination_id: StoreFigures(0, Decimal("0.00"), 6, Decimal("45.00"))}
    assert source_figures_by_store(source=source, first=first, last=today) == expected
    # when the days are rolled up: each store has a row for each month that ended
    stats = source_stats_current(source=source)
    assert stats.first_day == first
    open_from = (stats.closed_through + timedelta(days=1)).replace(day=1)
    assert set(SourceDayStat.objects.filter(source=source, destination=a.destination,
                                            span="month").values_list("day", flat=True)) == {
        at.astimezone(ZONE).date().replace(day=1) for at in pushed} - {
        day for day in (open_from, today.replace(day=1)) if day >= open_from}
    # then all time reads those months: without the days and weeks in them, the same figures
    SourceDayStat.objects.filter(source=source, destination__isnull=False,
                                 span__in=["day", "week"], day__lt=open_from).delete()
    assert source_figures_by_store(source=source, first=first, last=today,
                                   stats=stats) == expected
    rows, total = sales_by_store(dashboard(client, source).content.decode())
    assert rows == [["Store A", "Connected", "15", "150.00 USD", "5", "150.00 USD"],
                    ["Store B", "Blocked", "6", "45.00 USD", "0", "0.00 USD"]]
    assert total == ["Total", "", "21", "195.00 USD", "5", "150.00 USD"]


def test_the_table_is_one_more_read_of_the_roll_ups(client, three_stores):
    source, stores = three_stores
    dashboard(client, source)  # the first view rolls the past days up

    def day_row_reads(**params) -> int:
        with CaptureQueriesContext(db) as captured:
            assert dashboard(client, source, **params).status_code == 200
        return sum("orders_sourcedaystat" in query["sql"] for query in captured)

    # all stores: the days (the chart) and the stores; one store: the days only
    assert day_row_reads() == 2
    assert day_row_reads(store=stores["pushing"].pk) == 1


def test_the_all_stores_table_over_the_sales_world(client, sales_world):
    # all time: p1, p2, p6 and p7 (failed and pending: sold, not received) at A; p3, p4 at
    # B; p5 at blocked C; p9 at disconnected D; never p8 (another source's)
    html = dashboard(client, sales_world.source, htmx=True).content.decode()
    rows, total = sales_by_store(html)
    assert rows == [
        ["Store A", "Connected", "25", "245.00 USD", "2", "78.00 USD"],
        ["Store B", "Connected", "5", "30.00 USD", "2", "30.00 USD"],
        ["Store C", "Blocked", "3", "22.50 USD", "1", "25.00 USD"],
        ["Store D", "Disconnected", "1", "10.00 USD", "1", "10.00 USD"],
    ]
    assert total == ["Total", "", "34", "307.50 USD", "6", "143.00 USD"]
    # [D0, D0 + 2]: p1, p3, p5 and p9 only
    rows, total = sales_by_store(dashboard(client, sales_world.source,
                                           **sales_world.custom()).content.decode())
    assert [row[0] for row in rows] == ["Store A", "Store C", "Store B", "Store D"]
    assert total == ["Total", "", "11", "77.50 USD", "4", "83.00 USD"]


def test_a_source_with_no_sales_shows_the_empty_table_state(client):
    source = SourceFactory(name="New Source", currency="USD")
    ConnectionFactory(source=source, status="connected")
    html = dashboard(client, source).content.decode()
    assert sales_by_store(html) is None
    assert "No store sold or pushed in this range" in html
