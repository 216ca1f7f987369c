"""Browser: a destination owner inside the emulated Shopify admin searches the source's
products, ticks the page, takes the banner's "Select all 27 matching" and turns auto sync off
for all of them (two pages' worth); then flips one product with its row's switch."""

import pytest
from playwright.sync_api import expect

from products.models import ProductLink, SourceProduct
from stores.connections import connection_create
from stores.models import Shop
from stores.services import shop_role_choose
from tests.e2e.admin import confirm_in_admin, go_to

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SOURCE = "demo-source.myshopify.com"
DEST = "demo-dest-1.myshopify.com"


def auto_sync_by_title() -> dict[str, bool]:
    return dict(ProductLink.objects.values_list("source_product__title", "auto_sync"))


def test_select_all_matching_banner_and_the_row_switch(page, embedded, artifacts):
    page.set_default_timeout(60_000)  # the shared CI box can be slow; every wait is an event
    for shop, name in ((SOURCE, "Demo Source"), (DEST, "Demo Dest 1")):
        embedded.shop_create(shop, name=name)
        embedded.install(shop)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role="source")
    destination = shop_role_choose(shop=Shop.objects.get(domain=DEST), role="destination")
    connection = connection_create(destination=destination, store_key=source.store_key)
    # 27 shirts and 3 mugs, all synced with auto sync on (straight in the catalogue mirror)
    titles = [f"Linen shirt {n:02d}" for n in range(27)] + [f"Stoneware mug {n}"
                                                           for n in range(3)]
    for n, title in enumerate(titles):
        product = SourceProduct.objects.create(shop=source, shopify_id=9_000 + n, title=title,
                                               vendor="Acme")
        ProductLink.objects.create(connection=connection, source_product=product,
                                   destination_product_id=70_000 + n,
                                   origin=ProductLink.Origin.IMPORTED)
    native: list[str] = []
    page.on("dialog", lambda dialog: (native.append(dialog.message), dialog.dismiss()))

    # the destination owner opens Products: with nothing ticked, the actions do nothing
    page.goto(f"{embedded.url}/admin/{DEST}")
    app = page.frame_locator("iframe")
    app.locator("h1.page-title").wait_for()
    go_to(page, "Products")
    app.get_by_text("Linen shirt 00", exact=True).wait_for()
    turn_off = app.get_by_role("button", name="Auto sync off")
    expect(turn_off).to_be_disabled()

    # they search "shirt" (27 matches over two pages) and tick the page's header box
    app.get_by_label("Search products").fill("shirt")
    # (the banner is there, hidden, once the search's 27 matches are in the table)
    select_all = app.get_by_role("button", name="Select all 27 matching", include_hidden=True)
    select_all.wait_for(state="attached")
    banner = app.locator("[data-bulk-banner]")
    expect(banner).to_be_hidden()
    app.get_by_label("Select all on this page").check()
    page_note, all_note = banner.locator("[data-bulk-page-note]"), banner.locator(
        "[data-bulk-all-note]")
    expect(page_note).to_be_visible()
    expect(page_note).to_have_text("All 25 on this page are selected. Select all 27 matching")
    expect(all_note).to_be_hidden()
    expect(turn_off).to_be_enabled()
    page.screenshot(path=str(artifacts / "1-page-selected.png"))

    # the banner's offer selects every match, and the action's confirmation says how many
    select_all.click()
    expect(all_note).to_be_visible()
    expect(all_note).to_have_text("All 27 matching products are selected. Clear selection")
    expect(page_note).to_be_hidden()
    page.screenshot(path=str(artifacts / "2-all-matching.png"))
    turn_off.click()
    questions = [confirm_in_admin(page, "Auto sync off")]
    shirt_switch = app.get_by_role("switch", name="Auto sync for Linen shirt 00")
    expect(shirt_switch).not_to_be_checked()
    assert questions == [("Turn auto sync off for all 27 matching products?", "Their stock and "
                          "SKU stop following the source until you turn it on again.")]
    state = auto_sync_by_title()
    assert sorted(title for title, on in state.items() if not on) == titles[:27]
    assert sorted(title for title, on in state.items() if on) == titles[27:]
    # the list stayed on the search, with nothing selected any more
    expect(app.get_by_label("Search products")).to_have_value("shirt")
    expect(turn_off).to_be_disabled()
    page.screenshot(path=str(artifacts / "3-turned-off.png"))

    # one mug's switch: its row changes in place, the ticked box of another row stays ticked
    app.get_by_label("Search products").fill("mug")
    mug_switch = app.get_by_role("switch", name="Auto sync for Stoneware mug 1")
    mug_switch.wait_for()
    app.get_by_label("Select Stoneware mug 0").check()
    mug_switch.click()
    mug_row = app.locator("tr", has_text="Stoneware mug 1")
    expect(mug_row.locator(".switch-label")).to_have_text("Off")
    expect(mug_switch).not_to_be_checked()
    expect(app.get_by_label("Select Stoneware mug 0")).to_be_checked()
    expect(app.locator("[data-bulk-count]")).to_have_text("1 selected")
    assert auto_sync_by_title()["Stoneware mug 1"] is False
    page.screenshot(path=str(artifacts / "4-row-switched-off.png"))
    mug_switch.click()
    # (switched on, it first shows what that changes: tests/e2e/test_override_warnings.py)
    app.locator("[data-confirm-panel]").get_by_role("button", name="Confirm").click()
    expect(mug_row.locator(".switch-label")).to_have_text("On")
    expect(mug_switch).to_be_checked()
    assert auto_sync_by_title()["Stoneware mug 1"] is True
    assert len(questions) == 1  # the switch asks nothing; only the bulk action did
    assert page.locator("#app-modal").is_visible() is False
    assert native == []
