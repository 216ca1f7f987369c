"""Browser: a destination owner, inside the emulated Shopify admin, checks their products on the
map page, then links one of the source's variants to one of theirs by hand (no SKU pairs them),
sees its stock become the source's, and unlinks it again."""

import pytest
from playwright.sync_api import expect

from products.models import CatalogueScan, ProductLink, SourceProduct, VariantLink
from stores.connections import connection_create
from stores.models import Shop
from stores.services import shop_role_choose
from tests.e2e.admin import confirm_in_admin, open_app, wait_for_title

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SOURCE = "demo-source.myshopify.com"
DEST = "demo-dest-1.myshopify.com"


def level(emulator, shop: str, inventory_item_id: int) -> int | None:
    snapshot = emulator.shop(shop, orders=False)
    return next((row["available"] for row in snapshot["inventory_levels"]
                 if row["inventory_item_id"] == inventory_item_id
                 and row["location_id"] == snapshot["primary_location_id"]), None)


def test_link_a_variant_by_hand_and_unlink_it(page, embedded, artifacts):
    page.set_default_timeout(60_000)  # the shared CI box can be slow; every wait is an event
    # given a source and a destination, connected, each with its own shirt and SKUs
    for shop, name in ((SOURCE, "Demo Source"), (DEST, "Demo Dest 1")):
        embedded.shop_create(shop, name=name)
        embedded.install(shop)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role="source")
    destination = shop_role_choose(shop=Shop.objects.get(domain=DEST), role="destination")
    connection = connection_create(destination=destination, store_key=source.store_key or "")
    embedded.product_create(SOURCE, title="Linen shirt", variants=[
        {"sku": "SHIRT-S", "price": "30.00", "available": 10, "option1": "S"},
        {"sku": "SHIRT-M", "price": "30.00", "available": 4, "option1": "M"}])
    ours = embedded.product_create(DEST, title="Our shirt", variants=[
        {"sku": "OURS-SMALL", "price": "30.00", "available": 0, "option1": "Small"}])
    embedded.flush_webhooks()
    assert SourceProduct.objects.count() == 1

    # the owner opens the map page and checks their products
    app = open_app(page, embedded, DEST, f"/products/sources/{connection.pk}/map/")
    wait_for_title(page, "Map existing products")
    expect(app.locator("#manual-needs-check")).to_be_visible()
    app.get_by_role("button", name="Check SKUs").click()
    for _ in range(300):  # the bulk query's finish webhook, once Shopify has finished it
        embedded.flush_webhooks()
        if CatalogueScan.objects.filter(status="done").exists():
            break
        page.wait_for_timeout(100)
    # the check ends; the hand mapper lists the store's variants as that check read them
    mapper = app.locator("#manual-mapper")
    expect(mapper.get_by_text("As your products were read")).to_be_visible(timeout=30_000)

    # when they search each side and pick one variant of each
    mapper.get_by_label("Search the source's variants").fill("shirt-s")
    source_results = mapper.locator("#manual-source-results")
    expect(source_results.locator("input[type=radio]")).to_have_count(1)
    source_results.get_by_text("Linen shirt / S").click()
    # (the store has one variant only: its list shows one before the search answers too, and
    # the answer would untick a variant picked before it lands)
    with page.expect_response(lambda response: "q_destination=small" in response.url):
        mapper.get_by_label("Search your variants").fill("small")
    destination_results = mapper.locator("#manual-destination-results")
    expect(destination_results.locator("input[type=radio]")).to_have_count(1)
    destination_results.get_by_text("Our shirt / Small").click()
    page.screenshot(path=str(artifacts / "1-picked.png"))
    # and link them
    mapper.get_by_role("button", name="Link the two").click()
    # first what linking changes in the store, then Confirm
    preview = mapper.locator("[data-confirm-panel]")
    expect(preview.locator("[data-preview-summary]")).to_have_text(
        "1 quantity in your store will change: 10 units up and 0 units down in total.")
    preview.get_by_role("button", name="Confirm").click()

    # then the link is listed, and the store's Small has the source's stock
    hand_links = app.locator("#hand-links")
    expect(hand_links.get_by_text("Our shirt / Small · SKU OURS-SMALL")).to_be_visible()
    page.screenshot(path=str(artifacts / "2-linked.png"))
    link = VariantLink.objects.get()
    assert (link.product_link.origin, link.source_variant.sku) == ("manual", "SHIRT-S")
    assert level(embedded, DEST, ours["variants"][0]["inventory_item_id"]) == 10

    # when they unlink it, it is gone from the list and from Syncer
    hand_links.get_by_role("button", name="Unlink").click()
    confirm_in_admin(page, "Unlink")
    expect(app.locator("#hand-links")).to_have_count(0)
    page.screenshot(path=str(artifacts / "3-unlinked.png"))
    assert (ProductLink.objects.count(), VariantLink.objects.count()) == (0, 0)
