"""The dashboards through the real view (session tokens, HTMX fragments), every figure checked
against the hand-counted world of tests/orders/dashboard_world.py."""

import re
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.dashboard import DateRange, source_dashboard
from orders.models import (
    DestinationOrder,
    OrderPush,
    SourceDayStat,
    SourceProductDayStat,
    SourceStatsClosed,
)
from orders.stats import source_stats_close, source_stats_forget
from products.models import (
    DestinationStock,
    InventoryEffect,
    ProductLink,
    ReconciliationRun,
    SourceProduct,
    SourceVariant,
    SyncEvent,
    VariantLink,
)
from stores.services import shop_redact
from tests.orders.dashboard_world import (
    ONE_MICROSECOND,
    V1,
    V3,
    ZONE,
    figures,
    pushed_order,
    sale_sold,
    sales_world,
    session_headers,
    start_of,
)
from tests.orders.factories import DestinationOrderFactory
from tests.stores.factories import ConnectionFactory, DestinationFactory, SourceFactory

__all__ = ["sales_world"]  # the fixture, imported for pytest

pytestmark = pytest.mark.django_db


def top_products(html: str) -> list[list[str]]:
    table = re.search(r'<table class="data-table" id="top-products">(.*?)</table>', html, re.S)
    if table is None:
        return []
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:]
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).split())
             for cell in re.findall(r"<td>(.*?)</td>", row, re.S)] for row in rows]


def bar_titles(html: str) -> list[str]:
    return re.findall(r'<rect class="chart-bar"[^>]*><title>(.*?)</title>', html)


def dashboard(client, shop, *, htmx: bool = False, **params):
    return client.get("/dashboard/", params, headers=session_headers(shop, htmx=htmx))


def test_source_figures_for_all_stores_over_a_custom_range(client, sales_world):
    # when the source opens its dashboard for [D0, D0 + 2]
    response = dashboard(client, sales_world.source, **sales_world.custom())
    # then p1 (00:00 of D0), p3 (last instant of D0 + 2), p5 (blocked store) and p9
    # (disconnected store) count; p2 and p4 (just outside), p6/p7 (not pushed) and p8 (another
    # source) do not
    html = response.content.decode()
    assert response.status_code == 200
    assert figures(html) == {"stores": "2", "available-products": "3", "synced-products": "2",
                             "orders": "4", "revenue": "83.00 USD", "units": "11",
                             "sales": "77.50 USD"}
    assert top_products(html) == [
        ["Stoneware mug", "MUG-1", "5", "25.00 USD", "45%"],
        ["Linen shirt – S", "SHIRT-S", "3", "30.00 USD", "27%"],
        ["Canvas tote", "TOTE-1", "3", "22.50 USD", "27%"],
    ]
    d0 = sales_world.d0
    assert bar_titles(html) == [
        f"{d0:%b} {d0.day}: 1 order, 28.00 USD",
        f"{d0 + timedelta(days=1):%b} {(d0 + timedelta(days=1)).day}: 1 order, 25.00 USD",
        f"{sales_world.d2:%b} {sales_world.d2.day}: 2 orders, 30.00 USD",
    ]
    assert 'data-orders="4" data-revenue="83.00" data-buckets="3"' in html
    assert "Asia/Kolkata" in html
    assert "Including the orders 1 blocked and 1 disconnected store sent you" in html


@pytest.mark.parametrize(("store", "expected", "products"), [
    ("a", {"status": "Connected", "synced-products": "2", "orders": "1",
           "revenue": "28.00 USD", "units": "3", "sales": "25.00 USD"},
     [["Linen shirt – S", "SHIRT-S", "2", "20.00 USD", "67%"],
      ["Stoneware mug", "MUG-1", "1", "5.00 USD", "33%"]]),
    ("b", {"status": "Connected", "synced-products": "1", "orders": "1",
           "revenue": "20.00 USD", "units": "4", "sales": "20.00 USD"},
     [["Stoneware mug", "MUG-1", "4", "20.00 USD", "100%"]]),
    ("c", {"status": "Blocked", "synced-products": "1", "orders": "1",
           "revenue": "25.00 USD", "units": "3", "sales": "22.50 USD"},
     [["Canvas tote", "TOTE-1", "3", "22.50 USD", "100%"]]),
    ("d", {"status": "Disconnected", "synced-products": "0", "orders": "1",
           "revenue": "10.00 USD", "units": "1", "sales": "10.00 USD"},
     [["Linen shirt – S", "SHIRT-S", "1", "10.00 USD", "100%"]]),
])
def test_the_store_selector_narrows_every_figure(client, sales_world, store, expected,
                                                   products):
    connection = getattr(sales_world, store)
    # when the merchant picks one store (an HTMX request: only the figures come back)
    response = dashboard(client, sales_world.source, htmx=True,
                         **sales_world.custom(store=connection.pk))
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="dashboard-results"')
    assert "<nav" not in html
    assert "<select" not in html  # the filters stay as the merchant set them
    # then every figure is that store's; the catalogue size stays the source's
    assert figures(html) == {**expected, "available-products": "3"}
    assert top_products(html) == products
    assert f'href="/stores/{connection.pk}/report?range=custom' in html
    # and a page loaded with that address has the store chosen
    page = dashboard(client, sales_world.source, **sales_world.custom(store=connection.pk))
    assert f'<option value="{connection.pk}" selected>' in page.content.decode()


def test_a_range_starts_at_00_00_of_its_first_day_and_ends_before_the_next_day(
        client, sales_world):
    d0 = sales_world.d0
    # [D0 - 1, D0 + 1]: p2 (the last instant of D0 - 1) now counts, p3 and p9 (D0 + 2) not
    earlier = figures(dashboard(client, sales_world.source,
                                **sales_world.custom(d0 - timedelta(days=1),
                                                     d0 + timedelta(days=1))).content.decode())
    assert (earlier["orders"], earlier["revenue"], earlier["units"]) == ("3", "103.00 USD", "11")
    # [D0 + 3, D0 + 3]: only p4, pushed at its 00:00
    after = figures(dashboard(client, sales_world.source,
                              **sales_world.custom(d0 + timedelta(days=3),
                                                   d0 + timedelta(days=3))).content.decode())
    assert (after["orders"], after["revenue"], after["units"]) == ("1", "10.00 USD", "1")


def test_figures_are_the_same_read_live_or_from_the_roll_ups(sales_world):
    days = DateRange(first=sales_world.d0 - timedelta(days=1), last=sales_world.d2, zone=ZONE)
    # three whole weeks (Monday to Sunday) around the pushes: read as week rows once rolled up
    monday = sales_world.d0 - timedelta(days=sales_world.d0.weekday())
    weeks = DateRange(first=monday - timedelta(days=7), last=monday + timedelta(days=13),
                      zone=ZONE)
    cases = [(date_range, store) for date_range in (days, weeks)
             for store in (None, sales_world.a)]
    # given nothing rolled up yet: every figure is summed from the pushes
    assert not SourceStatsClosed.objects.exists()
    live = [source_dashboard(source=sales_world.source, date_range=date_range, store=store)
            for date_range, store in cases]
    # when the finished days are rolled up
    closed = source_stats_close(source=sales_world.source)
    assert closed == (timezone.now() - timedelta(hours=1)).astimezone(ZONE).date() \
        - timedelta(days=1)
    assert SourceDayStat.objects.filter(source=sales_world.source, destination=None,
                                        day=sales_world.d0).get().orders == 1
    assert SourceProductDayStat.objects.filter(source=sales_world.source, span="week",
                                               day=monday, destination=None).exists()
    # then the same figures come from the roll-ups
    rolled = [source_dashboard(source=sales_world.source, date_range=date_range, store=store)
              for date_range, store in cases]
    for before, after in zip(live, rolled, strict=True):
        assert (after.orders, after.revenue, after.units) == (before.orders, before.revenue,
                                                              before.units)
        assert after.top_products == before.top_products
        assert after.chart == before.chart
    assert [(r.orders, r.revenue, r.units) for r in rolled] == [
        (5, Decimal("133.00"), 16), (2, Decimal("78.00"), 8),  # [D0 - 1, D0 + 2]
        (6, Decimal("143.00"), 17), (2, Decimal("78.00"), 8),  # the three weeks
    ]
    # and closing again does nothing more
    assert source_stats_close(source=sales_world.source) == closed
    assert SourceDayStat.objects.filter(source=sales_world.source, destination=None,
                                        day=sales_world.d0).count() == 1


def test_todays_figures_are_summed_every_few_minutes_and_read_live_since(sales_world):
    now = timezone.now()
    today = now.astimezone(ZONE).date()
    a, source = sales_world.a.destination, sales_world.source
    date_range = DateRange(first=today - timedelta(days=1), last=today + timedelta(days=1),
                           zone=ZONE)

    def orders() -> int:
        return source_dashboard(source=source, date_range=date_range).orders

    def summed_today() -> int:
        return SourceDayStat.objects.filter(source=source, destination=None,
                                            day__gte=today - timedelta(days=1)
                                            ).aggregate(n=Sum("orders"))["n"] or 0

    # given a push ten minutes ago: summed into today's provisional rows
    pushed_order(store=a, source=source, at=now - timedelta(minutes=10), lines=[(V1, 1, "10.00")])
    source_stats_close(source=source, now=now)
    assert SourceStatsClosed.objects.get(source=source).provisional_until == \
        now - timedelta(minutes=5)
    assert summed_today() == 1
    # when another arrives after that: it is read live
    pushed_order(store=a, source=source, at=now - timedelta(minutes=1), lines=[(V1, 1, "10.00")])
    assert orders() == 2
    # a minute later nothing is summed (not due), three minutes later the pushes since are
    source_stats_close(source=source, now=now + timedelta(minutes=1))
    assert summed_today() == 1
    source_stats_close(source=source, now=now + timedelta(minutes=7))
    assert summed_today() == 2
    assert orders() == 2
    # a push whose transaction committed very late (pushed before the last sum) waits for the
    # day to close; then the day is summed afresh from its pushes
    pushed_order(store=a, source=source, at=now - timedelta(minutes=6), lines=[(V1, 1, "10.00")])
    assert orders() == 2
    source_stats_close(source=source, now=now + timedelta(days=1, hours=2))
    assert SourceStatsClosed.objects.get(source=source).closed_through >= today
    assert orders() == 3
    assert SourceDayStat.objects.filter(source=source, destination=None,
                                        day=(now - timedelta(minutes=10)).astimezone(ZONE).date()
                                        ).count() == 1


def test_presets_end_today_and_count_today_live(client, sales_world):
    today = timezone.now().astimezone(ZONE).date()
    a, source = sales_world.a.destination, sales_world.source
    week_start, tomorrow = start_of(today - timedelta(days=6)), start_of(today + timedelta(days=1))
    for at in (week_start, week_start - ONE_MICROSECOND, timezone.now(),
               tomorrow - ONE_MICROSECOND, tomorrow):
        pushed_order(store=a, source=source, at=at, lines=[(V1, 1, "10.00")])
    counts = {preset: figures(dashboard(client, source, range=preset,
                                        store=sales_world.a.pk).content.decode())["orders"]
              for preset in ("7d", "30d", "60d", "all")}
    # the past week = today and the six days before: 00:00 six days ago through today's end
    # 30 days also has p1 and p2 (20 and 21 days ago) and the push just before the week; all
    # time has no more (tomorrow's is not yet)
    assert counts == {"7d": "3", "30d": "6", "60d": "6", "all": "6"}
    html = dashboard(client, source, range="7d").content.decode()
    assert f'data-range="{today - timedelta(days=6):%Y-%m-%d}/{today:%Y-%m-%d}"' in html
    assert 'value="7d" checked' in html


def test_the_source_dashboard_reads_as_much_for_many_stores_as_for_a_few(client, sales_world):
    source = sales_world.source

    def reads(**params) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = dashboard(client, source, **sales_world.custom(**params))
        assert response.status_code == 200
        return len(captured)

    reads()  # the first view rolls the past days up
    few = (reads(), reads(store=sales_world.a.pk))
    # given five more connected stores, each with a synced product and an order pushed
    for number in range(5):
        store = ConnectionFactory(
            source=source, status="connected", destination=DestinationFactory(
                name=f"Store {number}", domain=f"more-{number}.myshopify.com"))
        ProductLink.objects.create(connection=store, source_product=SourceProduct.objects.get(
            shop=source, shopify_id=1), destination_product_id=5000 + number, origin="imported")
        pushed_order(store=store.destination, source=source, at=start_of(sales_world.d0),
                     lines=[(V1, 1, "10.00")])
    source_stats_forget(shop=source)  # their past days are rolled up again on the next view
    reads()
    # then the dashboard reads no more for them: no query per store or per product
    assert (reads(), reads(store=sales_world.a.pk)) == few
    html = dashboard(client, source, **sales_world.custom()).content.decode()
    assert figures(html)["stores"] == "7"
    assert figures(html)["orders"] == "9"
    assert html.count("<option value=") == 1 + 9


def test_long_ranges_are_charted_by_week(client, sales_world):
    monday = sales_world.d0 - timedelta(days=sales_world.d0.weekday() + 91)
    html = dashboard(client, sales_world.source,
                     **sales_world.custom(monday, monday + timedelta(days=97))).content.decode()
    assert 'data-buckets="14"' in html
    assert "one bar per week" in html


def test_range_errors_are_shown_and_the_default_range_is_used(client, sales_world):
    # the last day before the first
    response = dashboard(client, sales_world.source, htmx=True,
                         **sales_world.custom(sales_world.d2, sales_world.d0))
    html = response.content.decode()
    assert response.status_code == 422
    assert "The last day is before the first day." in html
    assert "All stores · All time" in html
    # loaded as a page, what was typed stays in the fields
    page = dashboard(client, sales_world.source,
                     **sales_world.custom(sales_world.d2, sales_world.d0)).content.decode()
    assert f'name="start" value="{sales_world.d2:%Y-%m-%d}"' in page
    # "Custom" chosen without dates: the last 30 days, shown in the date fields
    today = timezone.now().astimezone(ZONE).date()
    picked = dashboard(client, sales_world.source, range="custom")
    assert picked.status_code == 200
    assert f'name="start" value="{today - timedelta(days=29):%Y-%m-%d}"' in picked.content.decode()
    # a preset fills them with its own days, ready for "Custom range"
    week = dashboard(client, sales_world.source, range="7d").content.decode()
    assert f'name="start" value="{today - timedelta(days=6):%Y-%m-%d}"' in week
    assert f'name="end" value="{today:%Y-%m-%d}"' in week
    # more than ten years (month roll-ups make long ranges cheap: the cap catches typos)
    assert dashboard(client, sales_world.source, **sales_world.custom(
        sales_world.d0 - timedelta(days=2000))).status_code == 200
    too_long = dashboard(client, sales_world.source,
                         **sales_world.custom(sales_world.d0 - timedelta(days=3700)))
    assert too_long.status_code == 422
    assert "Choose at most 3660 days." in too_long.content.decode()


def test_another_sources_store_is_not_found(client, sales_world):
    foreign = ConnectionFactory(source=sales_world.other_source)
    assert dashboard(client, sales_world.source, store=foreign.pk).status_code == 404
    assert dashboard(client, sales_world.source, store=999_999).status_code == 404
    # the other source sees only its own push (p8), never the first source's stores
    html = dashboard(client, sales_world.other_source, **sales_world.custom()).content.decode()
    assert figures(html)["orders"] == "1"
    assert "Store B" not in html


def test_the_source_dashboard_shows_the_key_and_is_in_the_nav(client, sales_world):
    html = dashboard(client, sales_world.source).content.decode()
    # (only its first characters: the full key is shown once, when it is made)
    key = sales_world.source.store_key
    assert f'value="{key[:11]}…" readonly' in html
    assert key not in html
    assert "Generate a new key</button>" in html
    assert re.search(r'<ui-nav-menu>.*<a href="/dashboard/">Dashboard</a>.*</ui-nav-menu>', html,
                     re.S)  # in the admin's left column


def test_a_store_without_a_role_is_told_to_choose_one(client):
    shop = SourceFactory(role="")
    response = dashboard(client, shop)
    assert response.status_code == 403
    assert "This page is for source and destination stores." in response.content.decode()


# --- all time and every sale (issue 23) --------------------------------------------------------


def test_the_source_dashboard_opens_on_all_time_from_its_first_day(client, sales_world):
    today = timezone.now().astimezone(ZONE).date()
    first = sales_world.d0 - timedelta(days=1)  # p2, the instant before D0
    # when the source opens its dashboard without choosing a range
    html = dashboard(client, sales_world.source).content.decode()
    # then it shows every day from its first push or sale through today
    assert 'value="all" checked' in html
    assert "All stores · All time" in html
    assert f'data-range="{first:%Y-%m-%d}/{today:%Y-%m-%d}"' in html
    assert f'data-buckets="{(today - first).days + 1}"' in html
    # orders received: p1, p2, p3, p4, p5 and p9 (pushed); units and sales: those and p6 and p7
    # too (paid today at store A, their pushes failed or still pending), never p8 (another
    # source's)
    assert figures(html) == {"stores": "2", "available-products": "3", "synced-products": "2",
                             "orders": "6", "revenue": "143.00 USD", "units": "34",
                             "sales": "307.50 USD"}
    assert top_products(html) == [
        ["Linen shirt – S", "SHIRT-S", "26", "260.00 USD", "76%"],
        ["Stoneware mug", "MUG-1", "5", "25.00 USD", "15%"],
        ["Canvas tote", "TOTE-1", "3", "22.50 USD", "9%"],
    ]
    assert "whether or not the order was pushed to you" in html


def test_a_store_that_sells_without_pushing_shows_its_sales(client, sales_world):
    # given store B sells 6 totes at the source's 7.50 yesterday and pushes nothing of it
    yesterday = timezone.now() - timedelta(days=1)
    sale_sold(store=sales_world.b.destination, source=sales_world.source, variant=V3[0],
              quantity=6, price="7.50", at=yesterday)
    # when the source picks store B over all time
    html = dashboard(client, sales_world.source, store=sales_world.b.pk).content.decode()
    # then its orders are still p3 and p4, its sales have the totes too
    assert figures(html) == {"status": "Connected", "available-products": "3",
                             "synced-products": "1", "orders": "2", "revenue": "30.00 USD",
                             "units": "11", "sales": "75.00 USD"}
    assert top_products(html) == [["Canvas tote", "TOTE-1", "6", "45.00 USD", "55%"],
                                  ["Stoneware mug", "MUG-1", "4", "20.00 USD", "36%"],
                                  ["Linen shirt – S", "SHIRT-S", "1", "10.00 USD", "9%"]]
    # and a report link for the same days (the report has no "All time": a custom range)
    first = sales_world.d0 - timedelta(days=1)
    assert (f'href="/stores/{sales_world.b.pk}/report?range=custom&amp;'
            f'start={first:%Y-%m-%d}') in html


def test_all_time_reads_month_rows_once_rolled_up(client):
    # given sales and pushes spread over five months, the first 140 days ago
    source = SourceFactory(name="Long Source", currency="USD", iana_timezone=ZONE.key)
    store = ConnectionFactory(source=source, status="connected").destination
    product = SourceProduct.objects.create(shop=source, shopify_id=1, title=V1[2])
    SourceVariant.objects.create(product=product, shop=source, shopify_id=V1[0],
                                 inventory_item_id=501, sku=V1[1], title=V1[3])
    now = timezone.now()
    sold = []
    for days_ago, quantity in ((140, 1), (100, 2), (70, 3), (40, 4), (0, 5)):
        sold.append(now - timedelta(days=days_ago, minutes=10))
        pushed_order(store=store, source=source, at=sold[-1], lines=[(V1, quantity, "10.00")])
    sold.append(now - timedelta(days=95))
    sale_sold(store=store, source=source, variant=V1[0], quantity=6, price="10.00",
              at=sold[-1])  # sold, never pushed
    today = now.astimezone(ZONE).date()
    first = sold[0].astimezone(ZONE).date()
    # when the source opens All time: the first view rolls everything up
    html = dashboard(client, source).content.decode()
    state = SourceStatsClosed.objects.get(source=source)
    assert state.first_day == first
    # (a row for each month that ended with sales in it)
    months = SourceProductDayStat.objects.filter(source=source, span="month", destination=None)
    assert set(months.values_list("day", flat=True)) == {
        at.astimezone(ZONE).date().replace(day=1) for at in sold} - {today.replace(day=1)}
    # then every push and sale counts, read from month, week and day rows
    assert f'data-range="{first:%Y-%m-%d}/{today:%Y-%m-%d}"' in html
    expected = {"orders": "5", "revenue": "150.00 USD", "units": "21", "sales": "210.00 USD"}
    assert {name: figures(html)[name] for name in expected} == expected
    assert top_products(html) == [["Linen shirt – S", "SHIRT-S", "21", "210.00 USD", "100%"]]
    # the same as a custom range over the same days, and as the live sums (nothing rolled up)
    custom = dashboard(client, source, range="custom", start=first.isoformat(),
                       end=today.isoformat()).content.decode()
    assert {name: figures(custom)[name] for name in expected} == expected
    source_stats_forget(shop=source)
    live = source_dashboard(source=source, date_range=DateRange(first=first, last=today,
                                                                zone=ZONE))
    assert (live.orders, live.revenue, live.units, live.sales) == (
        5, Decimal("150.00"), 21, Decimal("210.00"))


def test_all_time_reads_as_much_as_two_months(client, sales_world):
    def reads(**params) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = dashboard(client, sales_world.source, **params)
        assert response.status_code == 200
        return len(captured)

    reads()  # the first view rolls the past days up
    assert reads() == reads(range="60d")
    assert reads(store=sales_world.a.pk) == reads(range="60d", store=sales_world.a.pk)


# --- destination ------------------------------------------------------------------------------


def test_destination_dashboard_figures(client):
    source, other = SourceFactory(name="North Source"), SourceFactory(name="South Source")
    shop = DestinationFactory(name="Solo Dest")
    connected = ConnectionFactory(source=source, destination=shop)
    blocked = ConnectionFactory(source=other, destination=shop, status="blocked")
    first = timezone.now().date() - timedelta(days=10)
    starts, ends = start_of(first, UTC), start_of(first + timedelta(days=2), UTC)
    # orders: three placed in [first, first + 1] (UTC: the shop has no time zone yet), one
    # the instant before
    placed = {state: DestinationOrderFactory(shop=shop, push_state=state, processed_at=at)
              for state, at in (("pushed", starts), ("not_pushed", ends - ONE_MICROSECOND),
                                ("partial", starts + timedelta(hours=30)),
                                ("cancelled", starts - ONE_MICROSECOND))}
    OrderPush.objects.create(order=placed["pushed"], source=source, status="pushed",
                             pushed_at=starts)
    OrderPush.objects.create(order=placed["partial"], source=other, status="failed",
                             error="refused")
    # products: two synced from the connected source, one left from the blocked one
    products = [SourceProduct.objects.create(shop=source, shopify_id=n, title=f"North {n}")
                for n in (1, 2)]
    links = [ProductLink.objects.create(connection=connected, source_product=product,
                                        destination_product_id=product.pk + 100,
                                        origin="imported") for product in products]
    ProductLink.objects.create(
        connection=blocked, destination_product_id=9,
        source_product=SourceProduct.objects.create(shop=other, shopify_id=1, title="South"),
        origin="imported")
    variant = SourceVariant.objects.create(product=products[0], shop=source, shopify_id=11,
                                           inventory_item_id=21, sku="N-1")
    written = timezone.now() - timedelta(hours=2)
    variant_link = VariantLink.objects.create(
        product_link=links[0], connection=connected, source_variant=variant,
        destination_variant_id=31, destination_inventory_item_id=41,
        last_written_quantity=5, last_written_at=written)
    DestinationStock.objects.create(variant_link=variant_link, destination=shop, location_id=1,
                                    target=4, known_quantity=5, dirty=True)
    # sync health: a check in the range (3 found, 2 fixed) and one before it (not counted)
    for found, fixed, at in ((3, 2, starts + timedelta(hours=2)), (5, 5, starts - timedelta(
            hours=1))):
        run = ReconciliationRun.objects.create(connection=connected, status="done",
                                               drift_found=found, drift_fixed=fixed)
        ReconciliationRun.objects.filter(pk=run.pk).update(started_at=at)
    for result, at in (("failed", starts + timedelta(hours=3)), ("failed", ends),
                       ("ok", starts + timedelta(hours=4))):
        event = SyncEvent.objects.create(connection=connected, kind="inventory", result=result,
                                         error="Shopify said no" if result == "failed" else "")
        SyncEvent.objects.filter(pk=event.pk).update(created_at=at)
    for status in ("failed", "applied"):
        InventoryEffect.objects.create(destination=shop, source=source, kind="sale",
                                       key=status, order_id=1, line_item_id=1,
                                       inventory_item_id=21, location_id=1, delta=-1,
                                       idempotency_key=status, status=status)

    response = dashboard(client, shop, range="custom", start=first.isoformat(),
                         end=(first + timedelta(days=1)).isoformat())
    html = response.content.decode()
    assert response.status_code == 200
    assert figures(html) == {
        "synced-products": "2", "orders": "3", "orders-not_pushed": "1", "orders-pushed": "1",
        "orders-partial": "1", "orders-cancelled": "0", "attention": "3",
        "last-sync": "2 hours ago", "pending-writes": "1", "drift-found": "3",
        "drift-fixed": "2", "failed-updates": "1", "failed-moves": "1", "failed-pushes": "1",
    }
    sources = re.search(r'id="dashboard-sources">(.*?)</table>', html, re.S).group(1)
    rows = [[" ".join(re.sub(r"<[^>]+>", " ", cell).split())
             for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", sources, re.S)[1:]]
    assert [row[:3] + row[5:] for row in rows] == [
        ["South Source", "Blocked", "1", "0 / 0", "0"],
        ["North Source", "Connected", "2", "3 / 2", "1"],
    ]
    assert "Shopify said no" in html
    assert re.search(r'<ui-nav-menu>.*<a href="/dashboard/">Dashboard</a>.*</ui-nav-menu>', html,
                     re.S)  # in the admin's left column


def test_destination_dashboard_updates_by_htmx(client):
    shop = DestinationFactory()
    DestinationOrderFactory(shop=shop, push_state=DestinationOrder.PushState.NOT_PUSHED,
                            processed_at=timezone.now() - timedelta(days=10))
    week = dashboard(client, shop, htmx=True, range="7d").content.decode()
    month = dashboard(client, shop, htmx=True, range="30d").content.decode()
    assert week.lstrip().startswith('<div id="dashboard-results"')
    assert (figures(week)["orders"], figures(month)["orders"]) == ("0", "1")


def test_erasing_a_store_takes_its_orders_out_of_the_roll_ups(client, sales_world):
    # given the source's roll-ups are built
    before = figures(dashboard(client, sales_world.source, **sales_world.custom()).content
                     .decode())
    assert (before["orders"], before["revenue"]) == ("4", "83.00 USD")
    # when store B is erased (shop/redact, 48 h after it uninstalled)
    shop_redact(shop_domain=sales_world.b.destination.domain)
    # then the roll-ups are thrown away and rebuilt without p3
    assert not SourceStatsClosed.objects.filter(source=sales_world.source).exists()
    after = figures(dashboard(client, sales_world.source, **sales_world.custom()).content
                    .decode())
    assert (after["orders"], after["revenue"], after["units"]) == ("3", "63.00 USD", "7")


def test_destination_last_stock_update_counts_the_engines_writes_too(client):
    source, shop = SourceFactory(name="North Source"), DestinationFactory(name="Solo Dest")
    connection = ConnectionFactory(source=source, destination=shop)
    product = SourceProduct.objects.create(shop=source, shopify_id=1, title="North 1")
    product_link = ProductLink.objects.create(connection=connection, source_product=product,
                                              destination_product_id=101, origin="imported")
    links = [VariantLink.objects.create(
        product_link=product_link, connection=connection, destination_variant_id=30 + n,
        destination_inventory_item_id=40 + n, last_written_quantity=5,
        last_written_at=timezone.now() - timedelta(days=3),
        source_variant=SourceVariant.objects.create(product=product, shop=source,
                                                    shopify_id=10 + n, inventory_item_id=20 + n))
        for n in range(2)]
    # given an import three days ago, and the inventory engine's write to one variant since
    DestinationStock.objects.create(variant_link=links[0], destination=shop, location_id=1,
                                    target=4, known_quantity=4,
                                    last_written_at=timezone.now() - timedelta(hours=5))
    DestinationStock.objects.create(variant_link=links[1], destination=shop, location_id=1,
                                    target=5, known_quantity=5)
    # when the destination's owner looks at the dashboard
    html = dashboard(client, shop).content.decode()
    # then the last stock update is the engine's
    assert figures(html)["last-sync"] == "5 hours ago"
