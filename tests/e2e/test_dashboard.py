"""Browser: a source merchant opens the Dashboard inside the Shopify admin (the emulator's),
switches to a custom range and to one store — figures and chart follow without a page load —
then opens that store's report and downloads it as CSV."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from stores.connections import connection_create
from stores.models import Shop
from stores.services import shop_role_choose
from tests.orders.dashboard_world import V1, pushed_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SOURCE = "demo-source.myshopify.com"
DEST_1 = "demo-dest-1.myshopify.com"
DEST_2 = "demo-dest-2.myshopify.com"


def open_app(page, embedded, shop: str):
    page.goto(f"{embedded.url}/admin/{shop}")
    frame = page.frame_locator("iframe")
    frame.locator("h1.page-title").wait_for()
    return frame


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

    # the source owner opens the Dashboard: the last 30 days of every store
    app = open_app(page, embedded, SOURCE)
    app.get_by_role("link", name="Dashboard", exact=True).click()
    orders = app.locator('[data-figure="orders"]')
    orders.wait_for()
    assert orders.inner_text() == "5"
    assert app.locator('[data-figure="stores"]').inner_text() == "2"
    assert app.locator("#store-key-prefix").input_value() == f"{source.store_key[:11]}…"
    chart = app.locator("svg.chart-svg")
    assert chart.get_attribute("data-orders") == "5"
    assert chart.get_attribute("data-buckets") == "30"
    page.screenshot(path=str(artifacts / "1-dashboard-30-days.png"))

    # a custom range back to 55 days ago
    app.get_by_text("Custom range", exact=True).click()
    start = app.get_by_label("From", exact=True)
    start.wait_for()
    start.fill(f"{timezone.now().date() - timedelta(days=55):%Y-%m-%d}")
    app.locator('[data-figure="orders"]', has_text="10").wait_for()
    assert app.locator('[data-figure="revenue"]').inner_text() == "$300.00"
    assert chart.get_attribute("data-buckets") == "56"
    assert app.locator("nav.shell-nav").count() == 1  # swapped in place, not a nested page
    page.screenshot(path=str(artifacts / "2-dashboard-custom-range.png"))

    # one store
    app.get_by_label("Store", exact=True).select_option(label="Demo Dest 2")
    app.locator('[data-figure="status"]').wait_for()
    assert orders.inner_text() == "6"
    assert app.locator('[data-figure="units"]').inner_text() == "12"
    assert chart.get_attribute("data-orders") == "6"
    page.screenshot(path=str(artifacts / "3-dashboard-one-store.png"))

    # its report, same range, and the CSV
    app.get_by_role("link", name="Generate report").click()
    app.get_by_role("heading", name="Report: Demo Dest 2").wait_for()
    assert app.locator("#report-table tbody tr").count() == 6
    page.screenshot(path=str(artifacts / "4-report.png"))
    with page.expect_download() as download_info:
        app.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("syncer-orders-demo-dest-2-")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0][:3] == ["Your order", "Your order ID", "Store order"]
    assert [(row[5], row[8], row[13]) for row in rows[1:]] == [("SHIRT-S", "2", "30.00")] * 6
