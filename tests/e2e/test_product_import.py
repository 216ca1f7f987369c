"""A destination owner syncs three products from the Products page in a real browser inside
the emulated admin; a real Celery worker runs the import while the progress bar polls."""

import re

import pytest

from products.models import ProductJob, ProductLink, SourceProduct
from stores.connections import connection_create
from stores.models import Shop
from stores.services import shop_role_choose
from tests.e2e.admin import go_to
from tests.products.stack import Stack

pytestmark = [pytest.mark.serial, pytest.mark.e2e, pytest.mark.django_db(transaction=True),
              pytest.mark.timeout(300)]

SOURCE = "demo-source.myshopify.com"
DEST = "demo-dest-1.myshopify.com"
PRODUCTS = ["Linen shirt", "Canvas tote", "Wool cap", "Silk scarf"]


@pytest.fixture
def stack(live_server, tmp_path, settings):
    stack = Stack(live_server=live_server, tmp_path=tmp_path, workers=1, concurrency=2)
    stack.start()
    settings.SHOPIFY_FRAME_ANCESTORS_EXTRA = [stack.emulator.url]
    yield stack
    stack.stop()


def test_import_three_products_with_the_progress_bar(page, stack, artifacts):
    emulator = stack.emulator
    for shop, name in ((SOURCE, "Demo Source"), (DEST, "Demo Dest 1")):
        emulator.shop_create(shop, name=name)
        emulator.install(shop)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role="source")
    destination = shop_role_choose(shop=Shop.objects.get(domain=DEST), role="destination")
    connection_create(destination=destination, store_key=source.store_key)
    for n, title in enumerate(PRODUCTS):
        emulator.product_create(SOURCE, title=title, vendor="Acme", variants=[
            {"sku": f"P{n}-S", "price": "20.00", "available": 5 + n, "option1": "S"},
            {"sku": f"P{n}-M", "price": "20.00", "available": 7 + n, "option1": "M"}])
    # the source's products/create webhooks reach the worker through the inbox
    assert stack.wait_until(lambda: SourceProduct.objects.count() == len(PRODUCTS), timeout=60)

    # the destination owner opens Syncer's Products page in the admin
    page.goto(f"{emulator.url}/admin/{DEST}")
    app = page.frame_locator("iframe")
    app.locator("h1.page-title").wait_for()
    go_to(page, "Products")
    app.get_by_text("Linen shirt", exact=True).wait_for()
    for title in PRODUCTS[:3]:
        app.get_by_label(f"Select {title}").check()
    page.screenshot(path=str(artifacts / "1-three-selected.png"))

    # when they sync the selection, a progress bar appears and runs to completion
    app.get_by_role("button", name="Sync selected").click()
    # (first what the sync creates, then Confirm: tests/e2e/test_override_warnings.py)
    app.locator("[data-confirm-panel]").get_by_role("button", name="Confirm").click()
    bar = app.locator("#job-progress-bar")
    bar.wait_for()
    seen = [int(bar.get_attribute("value"))]
    assert bar.get_attribute("max") == "3"
    page.screenshot(path=str(artifacts / "2-progress.png"))
    done = app.get_by_text("Done: 3 of 3 products synced.")
    while not done.is_visible():
        seen.append(int(bar.get_attribute("value") or 0))
        page.wait_for_timeout(100)
        assert len(seen) < 600, f"the import did not finish: {seen[-5:]}"
    seen.append(int(bar.get_attribute("value")))
    assert seen == sorted(seen)  # it only ever moved forward
    assert seen[-1] == 3
    # the list refreshed itself: the three are synced, the fourth is not
    app.locator("[role=tab]", has_text="Synced").get_by_text("3").wait_for()
    page.screenshot(path=str(artifacts / "3-done.png"))

    job = ProductJob.objects.get()
    assert (job.status, job.done, job.failed) == ("done", 3, 0)
    assert sorted(ProductLink.objects.values_list("source_product__title", flat=True)) == sorted(
        PRODUCTS[:3])
    titles = sorted(p["title"] for p in emulator.shop(DEST)["products"])
    assert titles == sorted(PRODUCTS[:3])
    row = app.locator("tr", has_text="Silk scarf")
    assert re.search(r"Not synced", row.inner_text())
