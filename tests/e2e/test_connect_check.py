"""Browser: a destination owner, inside the emulated Shopify admin, pastes a source's key, sees
how their products' SKUs compare with the source's before anything is connected (then by
barcode), then confirms and is connected, matching by barcode."""

import pytest
from playwright.sync_api import expect

from products.models import CatalogueScan
from stores.models import Connection, Shop
from stores.services import shop_role_choose
from tests.e2e.admin import DEST, SOURCE, open_app
from tests.walkthrough import accessibility_problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_paste_a_key_see_the_check_then_confirm(page, embedded, artifacts):
    page.set_default_timeout(60_000)  # the shared CI box can be slow; every wait is an event
    # given a source and a destination, not connected, each with products of its own
    for shop, name in ((SOURCE, "Demo Source"), (DEST, "Demo Dest 1")):
        embedded.shop_create(shop, name=name)
        embedded.install(shop)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role="source")
    shop_role_choose(shop=Shop.objects.get(domain=DEST), role="destination")
    embedded.product_create(SOURCE, title="Linen shirt", variants=[
        {"sku": "SHIRT-S", "price": "30.00", "available": 10, "option1": "S"},
        {"sku": "SHIRT-M", "price": "30.00", "available": 4, "option1": "M"}])
    embedded.product_create(SOURCE, title="Canvas tote", variants=[
        {"sku": "TOTE", "price": "12.00", "available": 3, "option1": "One"}])
    embedded.product_create(DEST, title="Our shirt", variants=[
        {"sku": "SHIRT-S", "price": "30.00", "available": 0, "option1": "S"},
        {"sku": "shirt-m", "price": "30.00", "available": 0, "option1": "M"},
        {"sku": "", "price": "30.00", "available": 0, "option1": "L"}])
    embedded.flush_webhooks()

    # when the destination owner pastes the source's key on Sources and presses Connect
    app = open_app(page, embedded, DEST, "/sources/")
    app.locator("#store-key-field").fill(source.store_key or "")
    app.get_by_role("button", name="Connect").click()
    # then the check appears, prepared while both catalogues are read
    card = app.locator("#connect-check")
    heading = card.get_by_role("heading", name="Check before connecting to Demo Source")
    expect(heading).to_be_visible()
    for _ in range(300):  # the bulk queries' finish webhooks, once Shopify has finished them
        embedded.flush_webhooks()
        if CatalogueScan.objects.filter(status="done").count() == 2:
            break
        page.wait_for_timeout(100)
    # and, read, it shows what will match and what will not
    expect(card.locator("#check-figures")).to_be_visible(timeout=30_000)
    assert card.locator("#check-matches").inner_text().split()[0] == "1"
    assert card.locator("#check-near").inner_text() == "1"
    assert card.locator("#check-blanks").inner_text() == "1"
    assert card.locator("#check-mismatches").inner_text() == "1"
    expect(card.locator("#check-near-list")).to_contain_text(
        "Your shirt-m (Our shirt) ≈ the source's SHIRT-M (Linen shirt)")
    page.screenshot(path=str(artifacts / "1-check.png"))
    assert accessibility_problems(page.frames[1], path="/sources/ (check)") == []
    assert Connection.objects.count() == 0  # nothing connected before Confirm

    # when they compare by barcode instead (no variant here has one)
    card.get_by_label("Barcode").check()
    # then the same read is compared again: nothing matches, every variant is blank
    expect(card.locator("#check-blanks")).to_have_text("6")
    assert card.locator("#check-matches").inner_text().split()[0] == "0"
    assert CatalogueScan.objects.filter(shop__domain=DEST).count() == 1

    # when they confirm
    card.get_by_role("button", name="Confirm connection").click()
    # then they are connected, and the check is gone
    app.get_by_text("Demo Source", exact=True).wait_for()
    expect(app.locator("#sources .badge-success")).to_have_text("Connected")
    expect(app.locator("#connect-check")).to_have_count(0)
    page.screenshot(path=str(artifacts / "2-connected.png"))
    assert Connection.objects.values_list("status", "match_by").get() == ("connected",
                                                                          "barcode")
