"""Before an action that sets a destination's quantities (syncing products, linking a check's
matches or two variants by hand, turning auto sync on, Resync now), the merchant sees how many
of them will change and by how much in total, from Syncer's record or read just now; confirmed,
the action then does exactly that."""

import re
from html import unescape

import pytest

from products.autosync import product_links_auto_sync_set
from products.inventory.locations import shop_location_ids
from products.inventory.settings import connection_inventory_save
from products.mapping import sku_scan_start
from products.models import (
    CatalogueScan,
    ProductJob,
    ProductLink,
    ReconciliationRun,
    SourceProduct,
    SourceVariant,
    VariantLink,
)
from products.override_preview import (
    UNAVAILABLE,
    Freshness,
    OverridePreview,
    QuantityChange,
    auto_sync_on_preview,
    import_preview,
    manual_link_preview,
    map_preview,
    resync_preview,
)
from stores.models import Connection
from syncer.shopify.client import admin_client
from tests.products import catalogue_world, inventory_world
from tests.products.catalogue_world import DEST_1, SOURCE, headers, shirt

pytestmark = pytest.mark.django_db(transaction=True)


def text(html: str) -> str:
    """What the merchant reads: inline tags run on, blocks are apart."""
    inline = re.sub(r"</?(strong|em|a|span)\b[^>]*>", "", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def figures(preview: OverridePreview) -> tuple[int, ...]:
    """(variants, changing, units up, units down, unknown, units of the unknown, all units)"""
    return (preview.variants, preview.changing, preview.units_up, preview.units_down,
            preview.unknown, preview.unknown_units, preview.total_units)


def stock_rules(connection: Connection, *, safety_stock: int = 0,
                stock_max: int | None = None) -> None:
    connection_inventory_save(
        connection=connection,
        destination_location_id=shop_location_ids(shop=connection.destination)[0],
        safety_stock=safety_stock, count_pending_orders=False, stock_percent=100,
        stock_max=stock_max, draft_below=None)


def destination_levels(emulator, shop: str) -> dict[str, int]:
    return {variant["sku"].strip(): variant["inventory_quantity"]
            for product in emulator.shop(shop)["products"] for variant in product["variants"]}


# --- Resync now -------------------------------------------------------------------------------


def test_resync_now_first_says_what_it_changes_from_syncers_record(client, emulator):
    world = inventory_world.build(emulator, destinations=1)
    destination = world.destinations[0]
    connection = Connection.objects.select_related("source", "destination").get()
    as_dest = headers(emulator, destination)
    url = f"/inventory/sources/{connection.pk}/resync"
    # given a destination never resynced: Syncer has no record of its quantities (of the
    # source's levels it has the webhooks' record, never checked yet)
    unseen = resync_preview(connection=connection)
    assert figures(unseen) == (3, 0, 0, 0, 3, 43, 43)
    assert (unseen.source, unseen.destination) == (Freshness(recorded=3), Freshness())
    # when it is resynced: the preview of another resync says nothing changes
    assert client.post(url, headers=as_dest).status_code == 200
    run = ReconciliationRun.objects.get()
    assert run.status == "done"
    in_line = resync_preview(connection=connection)
    assert (figures(in_line), in_line.nothing_changes) == ((3, 0, 0, 0, 0, 0, 43), True)
    assert in_line.source == Freshness(recorded=3, checked_at=run.finished_at)
    assert in_line.destination == Freshness(recorded=3, checked_at=run.finished_at)
    answer = client.get(url, headers=as_dest)
    assert answer.status_code == 200
    assert text(answer.content.decode()).startswith(
        "Resync now? No quantities will change. 3 variants already show the source's stock "
        "after your stock rules. The source's stock is Syncer's record of it, last checked "
        "with Shopify just now. Your quantities are Syncer's record of them, last checked with "
        "Shopify just now.")
    # when the merchant edits two quantities in the store (Syncer hears of it)
    world.emulator._json("POST", f"/_emulator/shops/{destination}/inventory",
                         json={"sku": "TOTE-1", "available": 31})
    world.emulator._json("POST", f"/_emulator/shops/{destination}/inventory",
                         json={"sku": "SHIRT-M", "available": 3})
    emulator.flush_webhooks()
    # then Resync now first says the two will change, and by how much
    preview = resync_preview(connection=connection)
    assert figures(preview) == (3, 2, 5, 6, 0, 0, 43)
    tote, shirt_m = (SourceVariant.objects.get(sku=sku) for sku in ("TOTE-1", "SHIRT-M"))
    assert preview.examples == (
        QuantityChange(label=f"Canvas tote{suffix(tote)}", current=31, new=25),
        QuantityChange(label=f"Linen shirt{suffix(shirt_m)}", current=3, new=8))
    answer = client.get(url, headers=as_dest)
    html = answer.content.decode()
    assert text(html).startswith(
        "Resync now? 2 quantities in your store will change: 5 units up and 6 units down in "
        "total. 1 variant already shows the source's stock.")
    assert "The resync reads both stores again" in html
    assert f'hx-post="{url}"' in html
    assert f'hx-target="#resync-{connection.pk}"' in html
    assert ReconciliationRun.objects.count() == 1  # the preview started nothing
    assert world.levels(destination) == {"SHIRT-S": 10, "SHIRT-M": 3, "TOTE-1": 31}
    # when confirmed, the resync sets exactly what the preview said
    assert client.post(url, headers=as_dest).status_code == 200
    assert world.levels(destination) == {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}


def suffix(variant: SourceVariant) -> str:
    """" / S" for a variant with a title of its own; nothing for a product's only variant."""
    return f" / {variant.title}" if variant.title and variant.title != "Default Title" else ""


def test_a_preview_shopify_cannot_answer_says_so_and_changes_nothing(client, emulator):
    # given the source's shirt and the store's own with the same SKUs, checked
    world = catalogue_world.build(emulator)
    shirt(world)  # SHIRT-S 10, SHIRT-M 4
    emulator.product_create(DEST_1, title="Our shirt", variants=[
        {"sku": "SHIRT-S", "price": "30.00", "available": 3, "option1": "Small"},
        {"sku": "SHIRT-M", "price": "30.00", "available": 6, "option1": "Medium"}])
    world.settle()
    connection = catalogue_world.connection()
    scan = sku_scan_start(connection=connection)
    world.settle()
    admin_client().max_attempts = 1  # (the client's own retries would only slow the test)
    # when the merchant asks what linking changes while the store's Shopify answers 503
    emulator.faults(error_rate=1.0, shop=DEST_1)
    answer = client.get(f"/products/sources/{connection.pk}/map/link", {"scan": scan.pk},
                        headers=headers(emulator, DEST_1))
    emulator.faults(error_rate=0.0, shop=DEST_1)
    # then the preview says it cannot tell, still offering Confirm; nothing was linked
    assert answer.status_code == 200
    assert text(answer.content.decode()) == (
        f"Link 2 variants by SKU? {UNAVAILABLE} From then on their quantities follow the "
        "source's stock. Confirm Cancel")
    assert VariantLink.objects.count() == 0
    assert destination_levels(emulator, DEST_1) == {"SHIRT-S": 3, "SHIRT-M": 6}


# --- Auto sync on -----------------------------------------------------------------------------


def test_auto_sync_on_first_says_what_the_source_overwrites(client, emulator):
    world = inventory_world.build(emulator, destinations=1)
    destination = world.destinations[0]
    connection = Connection.objects.select_related("source", "destination").get()
    as_dest = headers(emulator, destination)
    client.post(f"/inventory/sources/{connection.pk}/resync", headers=as_dest)
    shirt_product = SourceProduct.objects.get(title="Linen shirt")
    # given the shirt's auto sync is off while the source's shirt stock changes
    product_links_auto_sync_set(connection=connection, source_product_ids=[shirt_product.pk],
                                enabled=False)
    inventory_world.source_adjust(world, "SHIRT-S", available=4)
    inventory_world.source_adjust(world, "SHIRT-M", available=12)
    emulator.flush_webhooks()
    assert world.levels(destination) == {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}
    url = f"/products/sources/{connection.pk}/auto-sync"
    # when the merchant selects the shirt and the tote (synced already) and asks for auto sync
    selection = {"product": [shirt_product.pk, SourceProduct.objects.get(title="Canvas tote").pk],
                 "enabled": "on"}
    answer = client.get(url, selection, headers=as_dest)
    # then they are told the shirt's two quantities change, by the source's recorded stock
    preview = auto_sync_on_preview(connection=connection,
                                   source_product_ids=selection["product"])
    assert (figures(preview), preview.products) == ((2, 2, 4, 6, 0, 0, 16), 1)
    assert preview.source.recorded == 2
    assert preview.source.read_now == 0
    assert preview.destination == Freshness(recorded=2,
                                            checked_at=ReconciliationRun.objects.get().finished_at)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert text(html).startswith(
        "Turn auto sync on for 1 product? 2 quantities in your store will change: 4 units up "
        "and 6 units down in total.")
    assert ProductLink.objects.get(source_product=shirt_product).auto_sync is False
    # and the shirt's own switch says the same before it turns auto sync on
    row_url = f"/products/sources/{connection.pk}/products/{shirt_product.pk}/auto-sync"
    switch = client.get(row_url, headers=as_dest).content.decode()
    assert text(switch).startswith(
        "Turn auto sync on for this product? 2 quantities in your store will change: 4 units "
        "up and 6 units down in total.")
    assert f'data-confirm-revert="#auto-sync-switch-{shirt_product.pk}"' in switch
    assert f'hx-post="{row_url}" hx-target="#catalogue-row-{shirt_product.pk}"' in switch
    assert ProductLink.objects.get(source_product=shirt_product).auto_sync is False
    # and when they confirm, the quantities become what the preview said
    response = client.post(url, selection, headers=as_dest)
    assert response.status_code == 200
    assert world.levels(destination) == {"SHIRT-S": 4, "SHIRT-M": 12, "TOTE-1": 25}
    # and turning auto sync off has nothing to preview
    refused = client.get(url, {**selection, "enabled": "off"}, headers=as_dest)
    assert refused.status_code == 422
    # and nothing selected is said, as the action says it
    empty = client.get(url, {"enabled": "on"}, headers=as_dest)
    assert empty.status_code == 422
    assert "Select at least one product first." in empty.headers["HX-Trigger"]


# --- Sync selected (import) -------------------------------------------------------------------


def test_syncing_products_first_says_what_it_creates(client, emulator):
    world = catalogue_world.build(emulator)
    shirt(world)  # SHIRT-S 10, SHIRT-M 4
    world.settle()
    connection = catalogue_world.connection()
    stock_rules(connection, safety_stock=2)
    connection.refresh_from_db()
    as_dest = headers(emulator, DEST_1)
    product = SourceProduct.objects.get(title="Linen shirt")
    url = f"/products/sources/{connection.pk}/import"
    # when the merchant selects the shirt and asks to sync it
    answer = client.get(url, {"product": [product.pk]}, headers=as_dest)
    # then they are told what will be created: the source's stock less the safety stock
    preview = import_preview(connection=connection, source_product_ids=[product.pk])
    assert (preview.creates, preview.products, figures(preview)) == (
        True, 1, (2, 0, 0, 0, 0, 0, 10))
    assert preview.examples == (QuantityChange(label="Linen shirt / S", current=None, new=8),
                                QuantityChange(label="Linen shirt / M", current=None, new=2))
    assert answer.status_code == 200
    assert text(answer.content.decode()).startswith(
        "Sync 1 product? Creates 1 product with 2 variants in your store: 10 units in total, "
        "the source's stock after your stock rules. No quantity of your own products changes.")
    assert ProductJob.objects.count() == 0
    # when they confirm, the product is created with exactly those quantities
    assert client.post(url, {"product": [product.pk]}, headers=as_dest).status_code == 200
    world.settle()
    assert destination_levels(emulator, DEST_1) == {"SHIRT-S": 8, "SHIRT-M": 2}
    # and syncing it again would create nothing
    again = import_preview(connection=connection, source_product_ids=[product.pk])
    assert figures(again) == (0, 0, 0, 0, 0, 0, 0)
    assert "Nothing will be created" in client.get(
        url, {"product": [product.pk]}, headers=as_dest).content.decode()


# --- Link the matches, link by hand -----------------------------------------------------------


def test_linking_the_matches_first_says_what_changes_in_the_store(client, emulator):
    world = catalogue_world.build(emulator)
    shirt(world)  # SHIRT-S 10, SHIRT-M 4
    emulator.product_create(SOURCE, title="Enamel mug", variants=[
        {"sku": "MUG-1", "price": "8.00", "available": 7}])
    # the store's own products with the same SKUs, and one no SKU of the source's pairs
    emulator.product_create(DEST_1, title="Our shirt", variants=[
        {"sku": "SHIRT-S", "price": "30.00", "available": 3, "option1": "Small"},
        {"sku": "SHIRT-M", "price": "30.00", "available": 6, "option1": "Medium"}])
    emulator.product_create(DEST_1, title="Our mug", variants=[
        {"sku": "MUG-1", "price": "8.00", "available": 7}])
    emulator.product_create(DEST_1, title="Our cap", variants=[
        {"sku": "CAP-1", "price": "9.00", "available": 2}])
    world.settle()
    connection = catalogue_world.connection()
    stock_rules(connection, stock_max=8)
    connection.refresh_from_db()
    as_dest = headers(emulator, DEST_1)
    scan = sku_scan_start(connection=connection)
    world.settle()
    scan.refresh_from_db()
    assert scan.status == CatalogueScan.Status.DONE
    url = f"/products/sources/{connection.pk}/map/link"
    # when the merchant asks to link the check's matches
    answer = client.get(url, {"scan": scan.pk}, headers=as_dest)
    # then they are told what the store shows now (read just now) and what it will show
    preview = map_preview(connection=connection, scan=scan)
    assert (figures(preview), preview.products) == ((3, 2, 5, 2, 0, 0, 19), 2)
    assert preview.examples == (QuantityChange(label="Our shirt / Small", current=3, new=8),
                                QuantityChange(label="Our shirt / Medium", current=6, new=4))
    assert preview.destination == Freshness(read_now=3)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert text(html).startswith(
        "Link 3 variants by SKU? 2 quantities in your store will change: 5 units up and 2 "
        "units down in total. 1 variant already shows the source's stock. For example: "
        "Our shirt / Small: 3 → 8 Our shirt / Medium: 6 → 4")
    assert "Your quantities were read from Shopify just now." in text(html)
    assert f'hx-post="{url}"' in html
    assert 'hx-target="#map-panel"' in html
    assert VariantLink.objects.count() == 0
    # when they confirm, the store shows exactly that
    assert client.post(url, {"scan": scan.pk}, headers=as_dest).status_code == 200
    world.settle()
    assert destination_levels(emulator, DEST_1) == {"SHIRT-S": 8, "SHIRT-M": 4, "MUG-1": 7,
                                                    "CAP-1": 2}
    # and the same check has nothing left to change
    assert figures(map_preview(connection=connection, scan=scan)) == (0, 0, 0, 0, 0, 0, 0)
    # and a check that is not done (or not there) has nothing to confirm
    missing = client.get(url, {"scan": scan.pk + 100}, headers=as_dest)
    assert missing.status_code == 409
    assert "Check your SKUs first, then link the matches." in missing.headers["HX-Trigger"]


def test_linking_two_variants_by_hand_first_says_what_changes(client, emulator):
    world = catalogue_world.build(emulator)
    shirt(world)  # SHIRT-S 10, SHIRT-M 4
    ours = emulator.product_create(DEST_1, title="Our linen shirt", variants=[
        {"sku": "OUR-SMALL", "price": "30.00", "available": 2, "option1": "Small"}])
    world.settle()
    connection = catalogue_world.connection()
    as_dest = headers(emulator, DEST_1)
    client.post(f"/products/sources/{connection.pk}/map/check", headers=as_dest)
    world.settle()
    url = f"/products/sources/{connection.pk}/map/by-hand/link"
    pair = {"source_variant": SourceVariant.objects.get(sku="SHIRT-S").pk,
            "destination_variant": ours["variants"][0]["id"]}
    # when the merchant picks the source's S and their Small and asks to link them
    answer = client.get(url, pair, headers=as_dest)
    # then they are told their Small goes from 2 to 10
    preview = manual_link_preview(connection=connection,
                                  source_variant_id=pair["source_variant"],
                                  destination_variant_id=pair["destination_variant"])
    assert figures(preview) == (1, 1, 8, 0, 0, 0, 10)
    assert preview.examples == (QuantityChange(label="Our linen shirt / Small", current=2,
                                               new=10),)
    assert answer.status_code == 200
    assert text(answer.content.decode()).startswith(
        "Link these two variants? 1 quantity in your store will change: 8 units up and 0 units "
        "down in total. For example: Our linen shirt / Small: 2 → 10")
    assert VariantLink.objects.count() == 0
    # when they confirm, it does
    assert client.post(url, pair, headers=as_dest).status_code == 200
    world.settle()
    assert destination_levels(emulator, DEST_1)["OUR-SMALL"] == 10
    # and an incomplete pick is refused in words, as the link itself refuses it
    refused = client.get(url, {"source_variant": pair["source_variant"]}, headers=as_dest)
    assert refused.status_code == 422
    assert "Choose one of your variants." in refused.headers["HX-Trigger"]
