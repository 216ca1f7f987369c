"""Browser: before Syncer sets a destination's quantities, the owner sees how many will change
and by how much, then confirms or cancels: Resync now on Inventory, Link the matches on the map
page, and Sync selected then Auto sync on (and a row's switch) on Products."""

import pytest
from playwright.sync_api import expect

from products.models import CatalogueScan, ProductJob, ProductLink, ReconciliationRun, VariantLink
from tests.e2e.admin import confirm_in_admin, open_app, wait_for_title
from tests.products import inventory_world
from tests.products.catalogue_world import DEST_1, SOURCE, build, connection, shirt
from tests.walkthrough import accessibility_problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def levels(emulator, shop: str) -> dict[str, int]:
    return {variant["sku"]: variant["inventory_quantity"]
            for product in emulator.shop(shop)["products"] for variant in product["variants"]}


def test_resync_now_shows_what_it_changes_then_cancel_or_confirm(page, embedded, artifacts):
    page.set_default_timeout(60_000)  # the shared CI box can be slow; every wait is an event
    # given a destination linked to the source's three variants but never resynced
    world = inventory_world.build(embedded, destinations=1)
    destination = world.destinations[0]
    app = open_app(page, embedded, destination, "/inventory/")
    wait_for_title(page, "Inventory")
    # when the owner clicks Resync now, they are told what it will do before it runs
    app.get_by_role("button", name="Resync now").click()
    preview = app.locator("[data-confirm-panel]")
    expect(preview.locator("[data-preview-summary]")).to_have_text(
        "3 variants Syncer has not seen in your store yet will be set to 43 units in total.")
    expect(preview.locator("[data-preview-freshness]")).to_have_text(
        "The source's stock is Syncer's record of it, as Shopify last reported it.")
    page.screenshot(path=str(artifacts / "1-preview.png"))
    assert accessibility_problems(page.frames[1], path="/inventory/ (resync preview)") == []
    # and Cancel closes it with nothing done
    preview.get_by_role("button", name="Cancel").click()
    expect(preview).to_have_count(0)
    assert ReconciliationRun.objects.count() == 0
    assert world.levels(destination) == {"SHIRT-S": 0, "SHIRT-M": 0, "TOTE-1": 0}
    # when they ask again and confirm, the resync runs and sets what the preview said
    app.get_by_role("button", name="Resync now").click()
    preview.get_by_role("button", name="Confirm").click()
    expect(app.get_by_text("3 variants checked")).to_be_visible()
    assert world.levels(destination) == {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}
    page.screenshot(path=str(artifacts / "2-resynced.png"))
    # and another resync, in line now, would change nothing
    app.get_by_role("button", name="Resync now").click()
    expect(preview.locator("[data-preview-summary]")).to_have_text(
        "No quantities will change. 3 variants already show the source's stock after your "
        "stock rules.")
    page.screenshot(path=str(artifacts / "3-nothing-changes.png"))


def test_linking_the_matches_shows_what_changes_in_the_store(page, embedded, artifacts):
    page.set_default_timeout(60_000)
    # given the source's shirt (S 10, M 4) and the store's own with the same SKUs (S 3, M 4)
    world = build(embedded)
    shirt(world)
    embedded.product_create(DEST_1, title="Our shirt", variants=[
        {"sku": "SHIRT-S", "price": "30.00", "available": 3, "option1": "Small"},
        {"sku": "SHIRT-M", "price": "30.00", "available": 4, "option1": "Medium"}])
    world.settle()
    app = open_app(page, embedded, DEST_1, f"/products/sources/{connection().pk}/map/")
    wait_for_title(page, "Map existing products")
    app.get_by_role("button", name="Check SKUs").click()
    for _ in range(300):  # the bulk query's finish webhook, once Shopify has finished it
        embedded.flush_webhooks()
        if CatalogueScan.objects.filter(status="done").exists():
            break
        page.wait_for_timeout(100)
    # when the owner clicks Link 2 matches, they are told what the store will show
    app.get_by_role("button", name="Link 2 matches").click()
    preview = app.locator("[data-confirm-panel]")
    expect(preview.locator("[data-preview-summary]")).to_have_text(
        "1 quantity in your store will change: 7 units up and 0 units down in total. 1 variant "
        "already shows the source's stock.")
    expect(preview.get_by_role("listitem")).to_have_text(["Our shirt / Small: 3 → 10"])
    page.screenshot(path=str(artifacts / "1-preview.png"))
    assert accessibility_problems(page.frames[1], path="map (link preview)") == []
    assert VariantLink.objects.count() == 0
    # when they confirm, the matches are linked and the store shows it
    preview.get_by_role("button", name="Confirm").click()
    expect(app.get_by_text("The matches of this check were linked")).to_be_visible()
    assert VariantLink.objects.count() == 2
    assert levels(embedded, DEST_1) == {"SHIRT-S": 10, "SHIRT-M": 4}
    page.screenshot(path=str(artifacts / "2-linked.png"))


def test_sync_selected_then_auto_sync_on_show_what_they_set(page, embedded, artifacts):
    page.set_default_timeout(60_000)
    # given the source's shirt (S 10, M 4), not synced yet
    world = build(embedded)
    shirt(world)
    world.settle()
    app = open_app(page, embedded, DEST_1, f"/products/sources/{connection().pk}/")
    app.get_by_text("Linen shirt", exact=True).wait_for()
    # when the owner selects it and clicks Sync selected, they are told what will be created
    app.get_by_label("Select Linen shirt").check()
    app.get_by_role("button", name="Sync selected").click()
    preview = app.locator("[data-confirm-panel]")
    expect(preview.locator("[data-preview-summary]")).to_have_text(
        "Creates 1 product with 2 variants in your store: 14 units in total, the source's "
        "stock after your stock rules. No quantity of your own products changes.")
    page.screenshot(path=str(artifacts / "1-sync-preview.png"))
    # and unticking the product closes the preview: Confirm must not act on another selection
    app.get_by_label("Select Linen shirt").uncheck()
    expect(preview).to_have_count(0)
    app.get_by_label("Select Linen shirt").check()
    app.get_by_role("button", name="Sync selected").click()
    preview.get_by_role("button", name="Confirm").click()
    # (the import ran inline here: the row says synced, with its auto sync switch on)
    expect(app.get_by_role("switch", name="Auto sync for Linen shirt")).to_be_checked()
    assert ProductJob.objects.get().status == "done"
    assert levels(embedded, DEST_1) == {"SHIRT-S": 10, "SHIRT-M": 4}
    # given its auto sync turned off, and the source's S selling down to 6 meanwhile
    app.get_by_label("Select Linen shirt").check()
    app.get_by_role("button", name="Auto sync off").click()
    confirm_in_admin(page, "Auto sync off")
    expect(app.get_by_role("switch", name="Auto sync for Linen shirt")).not_to_be_checked()
    world.stock(SOURCE, "SHIRT-S", 6)
    world.settle()
    assert levels(embedded, DEST_1) == {"SHIRT-S": 10, "SHIRT-M": 4}
    # when the owner turns auto sync on again, they are told what the source will overwrite
    app.get_by_label("Select Linen shirt").check()
    app.get_by_role("button", name="Auto sync on").click()
    expect(preview.locator("[data-preview-summary]")).to_have_text(
        "1 quantity in your store will change: 0 units up and 4 units down in total. 1 variant "
        "already shows the source's stock.")
    expect(preview.get_by_role("listitem")).to_have_text(["Linen shirt / S: 10 → 6"])
    page.screenshot(path=str(artifacts / "2-auto-sync-preview.png"))
    preview.get_by_role("button", name="Confirm").click()
    expect(app.get_by_role("switch", name="Auto sync for Linen shirt")).to_be_checked()
    assert ProductLink.objects.get().auto_sync is True
    assert levels(embedded, DEST_1) == {"SHIRT-S": 6, "SHIRT-M": 4}
    # the row's own switch: off at once; on after its preview, and back off when cancelled
    switch = app.get_by_role("switch", name="Auto sync for Linen shirt")
    label = app.locator("tr", has_text="Linen shirt").locator(".switch-label")
    switch.click()
    expect(label).to_have_text("Off")
    switch.click()
    expect(preview.locator("[data-preview-summary]")).to_have_text(
        "No quantities will change. 2 variants already show the source's stock after your "
        "stock rules.")
    preview.get_by_role("button", name="Cancel").click()
    expect(switch).not_to_be_checked()
    assert ProductLink.objects.get().auto_sync is False
    switch.click()
    preview.get_by_role("button", name="Confirm").click()
    expect(label).to_have_text("On")
    expect(preview).to_have_count(0)
    assert ProductLink.objects.get().auto_sync is True
