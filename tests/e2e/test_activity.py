"""Browser: a destination owner, inside the emulated Shopify admin, opens Activity from the app's
menu, narrows it to failures (the table follows without a page load, the address keeps the
filter through a reload), reads why the failed stock update failed, and downloads the same rows
as CSV."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from products.models import SourceProduct, SourceVariant, SyncEvent
from tests.e2e.admin import (
    DEST,
    admin_address,
    go_to,
    open_app,
    source_and_destination_connected,
    wait_for_title,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REFUSED = "Shopify refused the stock change: the location does not stock this item."


def test_a_destination_filters_its_activity_to_failures_and_downloads_them(page, embedded,
                                                                          artifacts):
    page.set_default_timeout(60_000)  # the shared CI box can be slow; every wait is an event
    # given a connected destination with two stock updates of a shirt: one applied in 0.8 s,
    # one refused by Shopify
    connection = source_and_destination_connected(embedded)
    shirt = SourceProduct.objects.create(shop=connection.source, shopify_id=1,
                                         title="Linen shirt")
    small = SourceVariant.objects.create(product=shirt, shop=connection.source, shopify_id=11,
                                         inventory_item_id=111, title="S", sku="SHIRT-S")
    now = timezone.now()
    for minutes_ago, result, error, latency in ((30, "ok", "", 800),
                                                (10, "failed", REFUSED, None)):
        event = SyncEvent.objects.create(
            connection=connection, kind="inventory", source_product=shirt, source_variant=small,
            from_value="10", to_value="7", result=result, error=error, latency_ms=latency)
        SyncEvent.objects.filter(pk=event.pk).update(
            created_at=now - timedelta(minutes=minutes_ago))

    # when the owner opens Activity from the app's menu
    app = open_app(page, embedded, DEST)
    go_to(page, "Activity")
    wait_for_title(page, "Activity")
    # then it lists them and the connection, newest first
    rows = app.locator("#activity-table tbody tr")
    expect(rows).to_have_count(3)
    assert [rows.nth(n).locator("td").nth(1).inner_text() for n in range(3)] == [
        "Connection", "Inventory", "Inventory"]
    assert rows.nth(2).locator("td").nth(6).inner_text() == "800 ms"
    page.screenshot(path=str(artifacts / "1-activity.png"))

    # and shows failures only
    app.get_by_label("Show", exact=True).select_option(label="Failures only")
    expect(app.locator('#activity-table tbody tr[data-result="ok"]')).to_have_count(0)
    # then the failed update is the one row, with Shopify's reason
    expect(rows).to_have_count(1)
    failed = rows.first
    expect(failed).to_contain_text("Linen shirt / S · SKU SHIRT-S")
    expect(failed.locator("[data-error]")).to_have_text(REFUSED)
    assert app.locator("h1.page-title").count() == 1  # swapped in place, not a nested page
    page.frames[1].wait_for_function("() => location.search.includes('kind=failures')")
    assert "kind=failures" in admin_address(page)
    page.screenshot(path=str(artifacts / "2-failures.png"))

    # a reload comes back to the same filter
    page.reload()  # `app` finds the new frame: locators are lazy
    wait_for_title(page, "Activity")
    expect(app.get_by_label("Show", exact=True)).to_have_value("failures")
    expect(app.locator("#activity-table tbody tr")).to_have_count(1)

    # and the CSV has the same row, with the error and the latency column
    with page.expect_download() as download_info:
        app.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("syncer-activity-demo-dest-1-")
    lines = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert lines[0][-1] == "Latency (ms)"
    assert [(line[1], line[3], line[5], line[8], line[9]) for line in lines[1:]] == [
        ("Inventory", "Linen shirt", "SHIRT-S", "Failed", REFUSED)]
