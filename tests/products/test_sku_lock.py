"""The SKU lock: a destination merchant's edit of a linked variant's SKU (or, mapped by barcode,
its barcode) is put back from the destination's products/update webhook; nothing else is."""

import json

import pytest

from products.imports import product_import_start
from products.manual_mapping import variant_link_by_hand
from products.mapping import connection_match_by_set, map_start, sku_scan_start
from products.models import ProductLink, SourceProduct, SourceVariant, SyncEvent, VariantLink
from tests.products.catalogue_world import (
    DEST_1,
    VARIANTS_UPDATE,
    build,
    connection,
    shirt,
)
from tests.webhooks.conftest import webhook_headers
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)

PUT_BACK_SKU = "changed in your store, put back: the SKU links it to the source"
PUT_BACK_BARCODE = "changed in your store, put back: the barcode links it to the source"


def destination_variants(world) -> dict[str, dict]:
    """The destination's variants by title ("S", "M", ...), as the store has them now."""
    return {variant["title"]: {**variant, "product_id": product["id"]}
            for product in world.emulator.shop(DEST_1)["products"]
            for variant in product["variants"]}


def merchant_edits(world, variant: dict, **fields) -> None:
    """The destination's merchant changes a variant in their Shopify admin."""
    spec = {"id": variant["admin_graphql_api_id"]}
    if "sku" in fields:
        spec["inventoryItem"] = {"sku": fields["sku"]}
    if "barcode" in fields:
        spec["barcode"] = fields["barcode"]
    result = world.admin(DEST_1, VARIANTS_UPDATE, {
        "p": f"gid://shopify/Product/{variant['product_id']}", "v": [spec]})
    assert result["productVariantsBulkUpdate"]["userErrors"] == []
    world.settle()


def mapped_world(emulator, *, match_by: str = "sku"):
    """A source shirt (SKUs SHIRT-S/M, barcodes BAR-SHIRT-S/M) mapped onto the destination's own
    shirt by `match_by`, and an unlinked product of the destination's own."""
    world = build(emulator)
    shirt(world)
    emulator.product_create(DEST_1, title="Our shirt", variants=[
        {"sku": "SHIRT-S", "barcode": "BAR-SHIRT-S", "price": "30.00", "option1": "S"},
        {"sku": "SHIRT-M", "barcode": "BAR-SHIRT-M", "price": "30.00", "option1": "M"}])
    emulator.product_create(DEST_1, title="Own mug", variants=[
        {"sku": "MUG-1", "barcode": "MUG-BAR", "price": "8.00", "option1": "Blue"}])
    world.settle()
    conn = connection()
    connection_match_by_set(connection=conn, match_by=match_by)
    conn.refresh_from_db()
    scan = sku_scan_start(connection=conn)
    world.settle()
    scan.refresh_from_db()
    map_start(connection=conn, scan=scan)
    world.settle()
    assert VariantLink.objects.count() == 2
    return world


@pytest.fixture
def world(emulator):
    return mapped_world(emulator)


def test_a_linked_variants_sku_edited_in_the_store_is_put_back(world):
    # when the destination's merchant changes a linked variant's SKU
    merchant_edits(world, destination_variants(world)["S"], sku="MY-OWN-S")
    # then Syncer puts the source's back, and says why in the product's history
    variants = destination_variants(world)
    assert (variants["S"]["sku"], variants["M"]["sku"]) == ("SHIRT-S", "SHIRT-M")
    events = list(SyncEvent.objects.filter(kind="sku").values_list(
        "field", "from_value", "to_value", "result"))
    assert events == [("variant S SKU", "MY-OWN-S", "SHIRT-S", "ok")]
    event = SyncEvent.objects.get(kind="sku")
    assert event.cause.startswith(PUT_BACK_SKU + " (products/update webhook #")
    assert event.product_link == ProductLink.objects.get()
    # and the echo of that write (a products/update with the right SKU) did nothing more
    assert WebhookDelivery.objects.filter(shop_domain=DEST_1, topic="products/update",
                                          status="processed").count() == 2


def test_a_late_copy_of_the_edit_changes_nothing_twice(world, client):
    merchant_edits(world, destination_variants(world)["S"], sku="MY-OWN-S")
    edit = WebhookDelivery.objects.filter(shop_domain=DEST_1,
                                          topic="products/update").order_by("pk").first()
    assert '"MY-OWN-S"' in edit.raw_body
    # when the same edit arrives again (another delivery of it, after the put-back)
    body = edit.raw_body.encode()
    response = client.post("/webhooks/shopify", data=body, content_type="application/json",
                           headers=webhook_headers(topic="products/update", shop=DEST_1,
                                                   body=body))
    world.settle()
    # then the store is as the source says, and nothing was written or recorded twice
    assert response.status_code == 200
    assert destination_variants(world)["S"]["sku"] == "SHIRT-S"
    assert SyncEvent.objects.filter(kind="sku").count() == 1
    assert json.loads(body)["variants"][0]["sku"] == "MY-OWN-S"


def test_an_unlinked_variants_sku_edit_is_left_alone(world):
    # when the merchant changes the SKU of a variant that follows nothing
    merchant_edits(world, destination_variants(world)["Blue"], sku="MUG-2")
    # then it stays as they typed it, and nothing is recorded
    assert destination_variants(world)["Blue"]["sku"] == "MUG-2"
    assert SyncEvent.objects.filter(kind="sku").count() == 0


def test_other_edits_of_a_linked_product_are_left_alone(world):
    # when the merchant changes a linked variant's barcode (mapped by SKU: not the lock)
    merchant_edits(world, destination_variants(world)["M"], barcode="NEW-BAR")
    # then the barcode stays and nothing is recorded
    assert destination_variants(world)["M"]["barcode"] == "NEW-BAR"
    assert SyncEvent.objects.filter(kind="sku").count() == 0


def test_a_product_with_auto_sync_off_is_left_alone(world):
    ProductLink.objects.update(auto_sync=False)
    merchant_edits(world, destination_variants(world)["S"], sku="MY-OWN-S")
    assert destination_variants(world)["S"]["sku"] == "MY-OWN-S"
    assert SyncEvent.objects.filter(kind="sku").count() == 0


def test_mapped_by_barcode_the_barcode_is_the_lock(emulator):
    world = mapped_world(emulator, match_by="barcode")
    assert list(ProductLink.objects.values_list("origin", flat=True)) == ["barcode"]
    # when the merchant changes a linked variant's barcode, then its SKU
    merchant_edits(world, destination_variants(world)["M"], barcode="0000")
    merchant_edits(world, destination_variants(world)["S"], sku="MY-OWN-S")
    # then the barcode is put back; the SKU (not what links them here) stays
    variants = destination_variants(world)
    assert (variants["M"]["barcode"], variants["S"]["sku"]) == ("BAR-SHIRT-M", "MY-OWN-S")
    event = SyncEvent.objects.get(kind="sku")
    assert (event.field, event.from_value, event.to_value) == (
        "variant M barcode", "0000", "BAR-SHIRT-M")
    assert event.cause.startswith(PUT_BACK_BARCODE)


def test_a_variant_linked_by_hand_has_no_lock(emulator):
    world = build(emulator)
    shirt(world)
    ours = emulator.product_create(DEST_1, title="Our shirt", variants=[
        {"sku": "OURS-S", "price": "30.00", "option1": "Small"}])
    world.settle()
    conn = connection()
    sku_scan_start(connection=conn)
    world.settle()
    variant_link_by_hand(connection=conn,
                         source_variant_id=SourceVariant.objects.get(sku="SHIRT-S").pk,
                         destination_variant_id=ours["variants"][0]["id"])
    world.settle()
    # when the merchant changes that variant's SKU
    merchant_edits(world, destination_variants(world)["Small"], sku="OURS-SMALL")
    # then it stays: nothing but the merchant's choice links the two
    assert destination_variants(world)["Small"]["sku"] == "OURS-SMALL"
    assert SyncEvent.objects.filter(kind="sku").count() == 0
    assert SourceVariant.objects.get(pk=VariantLink.objects.get().source_variant_id).sku == (
        "SHIRT-S")


def test_an_imported_variants_sku_edited_in_the_store_is_put_back(emulator):
    # given a source shirt imported into the destination (linked by the SKUs it was made with)
    world = build(emulator)
    shirt(world)
    world.settle()
    job = product_import_start(connection=connection(),
                               source_product_ids=[SourceProduct.objects.get().pk])
    world.settle()
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 1)
    assert list(ProductLink.objects.values_list("origin", flat=True)) == ["imported"]
    # when the destination's merchant changes one variant's SKU
    merchant_edits(world, destination_variants(world)["M"], sku="MY-OWN-M")
    # then the source's SKU is back, and the history says why
    assert {title: v["sku"] for title, v in destination_variants(world).items()} == {
        "S": "SHIRT-S", "M": "SHIRT-M"}
    event = SyncEvent.objects.get(kind="sku")
    assert (event.field, event.from_value, event.to_value, event.result) == (
        "variant M SKU", "MY-OWN-M", "SHIRT-M", "ok")
    assert event.cause.startswith(PUT_BACK_SKU)
