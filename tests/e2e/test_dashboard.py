"""Browser: a source merchant opens the Dashboard inside the Shopify admin (the emulator's),
switches to a custom range and to one store — figures and chart follow without a page load —
then opens that store's report and downloads it as CSV. A destination's Dashboard charts its
orders and stock updates and, under Sync health, how long those updates took to arrive."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from products.models import SyncEvent
from stores.connections import connection_create
from stores.models import Shop
from stores.services import shop_role_choose
from tests.e2e.admin import go_to, open_app, source_and_destination_connected, wait_for_title
from tests.orders.dashboard_world import V1, pushed_order
from tests.orders.factories import DestinationOrderFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SOURCE = "demo-source.myshopify.com"
DEST_1 = "demo-dest-1.myshopify.com"
DEST_2 = "demo-dest-2.myshopify.com"


def test_dashboard_custom_range_one_store_and_report_download(page, embedded, artifacts):
    page.set_default_timeout(60_000)  # the shared CI box can be slow; every wait is an event
    for shop, name in ((SOURCE, "Demo Source"), (DEST_1, "Demo Dest 1"),
                       (DEST_2, "Demo Dest 2")):
        embedded.shop_create(shop, name=name)
        embedded.install(shop)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role="source")
    stores = {}
    for domain in (DEST_1, DEST_2):
        destination = shop_role_choose(shop=Shop.objects.get(domain=domain), role="destination")
        stores[domain] = connection_create(destination=destination, store_key=source.store_key)
    now = timezone.now()
    # Dest 1: three orders 10 days ago and one 45 days ago; Dest 2: two 5 days ago, four 50
    for domain, days_ago, count in ((DEST_1, 10, 3), (DEST_1, 45, 1), (DEST_2, 5, 2),
                                    (DEST_2, 50, 4)):
        for _ in range(count):
            pushed_order(store=stores[domain].destination, source=source,
                         at=now - timedelta(days=days_ago), lines=[(V1, 2, "15.00")])

    # the source owner opens the Dashboard: all time (since 50 days ago), every store
    app = open_app(page, embedded, SOURCE)
    go_to(page, "Dashboard")  # in the admin's left column
    orders = app.locator('[data-figure="orders"]')
    orders.wait_for()
    assert orders.inner_text() == "10"
    assert app.locator('[data-figure="stores"]').inner_text() == "2"
    assert app.locator("#store-key-prefix").input_value() == f"{source.store_key[:11]}…"
    chart = app.locator("svg.chart-svg")
    assert chart.get_attribute("data-buckets") == "51"
    page.screenshot(path=str(artifacts / "1-dashboard-all-time.png"))
    # each store's sales, most first, and the total
    by_store = app.locator("#sales-by-store")
    assert by_store.locator("tbody tr td:first-child").all_inner_texts() == ["Demo Dest 2",
                                                                             "Demo Dest 1"]
    assert by_store.locator("tfoot td").all_inner_texts()[2:] == ["20", "$300.00", "10",
                                                                  "$300.00"]
    by_store.screenshot(path=str(artifacts / "1b-sales-by-store.png"))

    # the last 30 days
    app.get_by_text("Last 30 days", exact=True).click()
    app.locator('[data-figure="orders"]', has_text="5").wait_for()
    assert chart.get_attribute("data-orders") == "5"
    assert chart.get_attribute("data-buckets") == "30"
    page.screenshot(path=str(artifacts / "2-dashboard-30-days.png"))

    # a custom range back to 55 days ago
    app.get_by_text("Custom range", exact=True).click()
    start = app.get_by_label("From", exact=True)
    start.wait_for()
    start.fill(f"{timezone.now().date() - timedelta(days=55):%Y-%m-%d}")
    # (the range "Custom range" swapped in first, the All time days, also has 10 orders)
    app.locator('svg.chart-svg[data-buckets="56"]').wait_for()
    assert orders.inner_text() == "10"
    assert app.locator('[data-figure="revenue"]').inner_text() == "$300.00"
    assert chart.get_attribute("data-buckets") == "56"
    assert app.locator("h1.page-title").count() == 1  # swapped in place, not a nested page
    page.screenshot(path=str(artifacts / "3-dashboard-custom-range.png"))

    # one store
    app.get_by_label("Store", exact=True).select_option(label="Demo Dest 2")
    app.locator('[data-figure="status"]').wait_for()
    assert orders.inner_text() == "6"
    assert app.locator('[data-figure="units"]').inner_text() == "12"
    assert chart.get_attribute("data-orders") == "6"
    page.screenshot(path=str(artifacts / "4-dashboard-one-store.png"))

    # its report, same range, and the CSV
    app.get_by_role("link", name="Generate report").click()
    wait_for_title(page, "Report: Demo Dest 2")
    assert app.locator("#report-table tbody tr").count() == 6
    page.screenshot(path=str(artifacts / "5-report.png"))
    with page.expect_download() as download_info:
        app.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("syncer-orders-demo-dest-2-")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0][:3] == ["Your order", "Your order ID", "Store order"]
    assert [(row[5], row[8], row[13]) for row in rows[1:]] == [("SHIRT-S", "2", "30.00")] * 6


# Every layout shift in the app's frame without recent input (what CLS counts), from its start.
SHIFTS = """() => new Promise((resolve) => {
  const shifts = [];
  new PerformanceObserver((list) => list.getEntries().forEach(
    (e) => { if (!e.hadRecentInput) shifts.push(e.value); })).observe(
    {type: "layout-shift", buffered: true});
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(shifts)));
})"""


def test_destination_dashboard_charts_orders_stock_updates_and_their_delay(page, embedded,
                                                                           artifacts):
    page.set_default_timeout(60_000)
    # given a connected destination with orders and stock updates over the last weeks, and
    # updates this hour that took 1.5 s and 2.5 s to arrive
    connection = source_and_destination_connected(embedded)
    shop = connection.destination
    now = timezone.now()
    for days_ago, state in ((2, "pushed"), (2, "not_pushed"), (12, "pushed")):
        DestinationOrderFactory(shop=shop, processed_at=now - timedelta(days=days_ago),
                                push_state=state, total_price=Decimal("25.00"))
    for days_ago, latency_ms in ((0, 1500), (0, 2500), (3, None), (20, None)):
        written = SyncEvent.objects.create(connection=connection, kind="inventory",
                                           latency_ms=latency_ms)
        SyncEvent.objects.filter(pk=written.pk).update(
            created_at=now - timedelta(days=days_ago))

    # when its owner opens the Dashboard (the last 30 days)
    app = open_app(page, embedded, DEST_1, "/dashboard/")
    charts = app.locator("svg.chart-svg")
    charts.first.wait_for()
    # then the orders and the stock updates are charted, a bar a day, and summarised
    assert [charts.nth(n).get_attribute("aria-label") for n in range(charts.count())] == [
        "Orders by day: 3 orders, 2 pushed, $75.00",
        "Stock updates by day: 4 stock updates, 0 failed"]
    assert charts.first.get_attribute("data-buckets") == "30"
    # ...Sync health says how long this hour's updates took (the median of 1.5 s and 2.5 s)
    summary = app.locator("#latency-summary")
    assert "the median per hour stayed at 2.0 s" in summary.inner_text()
    assert "95% within 2.5 s" in summary.inner_text()
    assert app.get_by_role("img", name=summary.inner_text()).count() == 1
    # ...and drawing them moved nothing on the page
    assert sum(page.frames[1].evaluate(SHIFTS)) <= 0.02
    heights = [charts.nth(n).bounding_box()["height"] for n in range(2)]
    page.screenshot(path=str(artifacts / "1-destination-dashboard.png"), full_page=True)
    app.locator("#latency-sparkline").screenshot(path=str(artifacts / "2-latency.png"))

    # when the range is the past week: the charts follow in place, at the same size
    app.get_by_text("Past week", exact=True).click()
    app.locator('svg.chart-svg[data-buckets="7"]').first.wait_for()
    assert charts.first.get_attribute("aria-label") == (
        "Orders by day: 2 orders, 1 pushed, $50.00")
    assert charts.nth(1).get_attribute("aria-label") == (
        "Stock updates by day: 3 stock updates, 0 failed")
    assert [charts.nth(n).bounding_box()["height"] for n in range(2)] == heights
    page.screenshot(path=str(artifacts / "3-past-week.png"), full_page=True)
