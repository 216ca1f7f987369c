"""Map by hand through the map page: search both sides, link one variant to one, refusals in
words, the stock following from then on, and unlinking."""

import re

import pytest

from products.models import ProductLink, SourceVariant, SyncEvent, VariantLink
from tests.htmx_events import said
from tests.products.catalogue_world import DEST_1, SOURCE, build, connection, headers, shirt

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(emulator):
    """The source's shirt (SHIRT-S/M, stock 10/4) and mug; the destination's own shirt with SKUs
    of its own (no key pairs them) and its own cap. The destination's products were checked."""
    world = build(emulator)
    shirt(world)
    emulator.product_create(SOURCE, title="Enamel mug", variants=[
        {"sku": "MUG-1", "barcode": "MUGBAR", "price": "8.00", "available": 7}])
    world.ours = emulator.product_create(DEST_1, title="Our linen shirt", variants=[
        {"sku": "OUR-SMALL", "price": "30.00", "available": 0, "option1": "Small"},
        {"sku": "OUR-MEDIUM", "price": "30.00", "available": 0, "option1": "Medium"}])
    world.cap = emulator.product_create(DEST_1, title="Our cap", variants=[
        {"sku": "CAP-1", "price": "9.00", "available": 2}])
    world.settle()
    world.conn = connection()
    world.client_headers = headers(emulator, DEST_1)
    return world


def variant_id(world, product: dict, title: str) -> int:
    return next(v["id"] for v in product["variants"] if v["title"] == title)


def source_variant(sku: str) -> int:
    return SourceVariant.objects.get(sku=sku).pk


def check(client, world) -> None:
    response = client.post(f"/products/sources/{world.conn.pk}/map/check",
                           headers=world.client_headers)
    assert response.status_code == 200
    world.settle()


def link(client, world, source_sku: str, destination_variant: int):
    return client.post(f"/products/sources/{world.conn.pk}/map/by-hand/link",
                       {"source_variant": source_variant(source_sku),
                        "destination_variant": destination_variant},
                       headers=world.client_headers)


def search(client, world, target: str, **query) -> str:
    response = client.get(f"/products/sources/{world.conn.pk}/map/", query,
                          headers={**world.client_headers, "HX-Target": target})
    assert response.status_code == 200
    return response.content.decode()


def radio_values(html: str, name: str) -> list[int]:
    return [int(value) for value in re.findall(rf'name="{name}" value="(\d+)"', html)]


def test_the_hand_mapper_needs_a_check_first(client, world):
    page = client.get(f"/products/sources/{world.conn.pk}/map/",
                      headers={"Authorization": world.client_headers["Authorization"]})
    assert 'id="manual-needs-check"' in page.content.decode()
    refused = link(client, world, "SHIRT-S", variant_id(world, world.ours, "Small"))
    assert refused.status_code == 409
    assert said(refused)["message"] == ("That variant is not in the last read of your store's "
                                        "products. Check again to read them, then link it.")
    assert VariantLink.objects.count() == 0


def test_search_both_sides(client, world):
    check(client, world)
    # the source's variants by SKU, barcode or title; this store's by the same, as checked
    assert radio_values(search(client, world, "manual-source-results", q_source="shirt-m"),
                        "source_variant") == [source_variant("SHIRT-M")]
    assert radio_values(search(client, world, "manual-source-results", q_source="mugbar"),
                        "source_variant") == [source_variant("MUG-1")]
    assert radio_values(search(client, world, "manual-destination-results",
                               q_destination="our-med"),
                        "destination_variant") == [variant_id(world, world.ours, "Medium")]
    everything = search(client, world, "manual-mapper")
    assert len(radio_values(everything, "source_variant")) == 3
    assert len(radio_values(everything, "destination_variant")) == 3
    assert "As your products were read" in everything


def test_a_check_already_listed_does_not_reload_the_hand_mapper(client, world):
    # given the hand mapper listing the last check's variants
    check(client, world)
    listed = search(client, world, "manual-mapper")
    shown = re.search(r'"shown_scan": "(\d+)"', listed)[1]
    # when the end of that check is said again (two overlapping polls), nothing is redrawn
    again = client.get(f"/products/sources/{world.conn.pk}/map/", {"shown_scan": shown},
                       headers={**world.client_headers, "HX-Target": "manual-mapper"})
    assert (again.status_code, again.content) == (204, b"")
    # but a mapper drawn before that check is redrawn with it
    before = client.get(f"/products/sources/{world.conn.pk}/map/", {"shown_scan": ""},
                        headers={**world.client_headers, "HX-Target": "manual-mapper"})
    assert before.status_code == 200
    assert "As your products were read" in before.content.decode()


def test_link_by_hand_then_the_stock_follows(client, world):
    check(client, world)
    small = variant_id(world, world.ours, "Small")
    # when the merchant links the source's S to their Small
    linked = link(client, world, "SHIRT-S", small)
    world.settle()
    # then the product and variant are linked, by hand, and Small's stock is the source's
    assert linked.status_code == 200
    assert said(linked)["message"] == ("Linked “Linen shirt / S”. Its stock in your store now "
                                       "follows the source's.")
    product_link = ProductLink.objects.get()
    assert (product_link.origin, product_link.destination_product_id) == (
        "manual", world.ours["id"])
    assert list(VariantLink.objects.values_list("source_variant__sku", "destination_variant_id",
                                                "last_written_quantity")) == [
        ("SHIRT-S", small, 10)]
    assert world.level(DEST_1, VariantLink.objects.get().destination_inventory_item_id) == 10
    assert list(SyncEvent.objects.filter(kind="mapped").values_list("field", "to_value")) == [
        ("product", "Our linen shirt"), ("variant SHIRT-S", "linked by hand")]
    # and both are gone from the lists, and the link is listed
    html = search(client, world, "manual-mapper")
    assert source_variant("SHIRT-S") not in radio_values(html, "source_variant")
    assert small not in radio_values(html, "destination_variant")
    assert "Our linen shirt / Small · SKU OUR-SMALL" in html
    # when the source's stock changes, Small follows
    world.stock(SOURCE, "SHIRT-S", 6)
    world.settle()
    assert world.level(DEST_1, VariantLink.objects.get().destination_inventory_item_id) == 6
    # when the second variant of the same pair is linked, the product link is extended
    assert link(client, world, "SHIRT-M", variant_id(world, world.ours, "Medium")
                ).status_code == 200
    world.settle()
    assert ProductLink.objects.count() == 1
    assert sorted(VariantLink.objects.values_list("source_variant__sku",
                                                  "last_written_quantity")) == [
        ("SHIRT-M", 4), ("SHIRT-S", 6)]


def test_refusals_say_why_and_change_nothing(client, world):
    check(client, world)
    small, medium = (variant_id(world, world.ours, title) for title in ("Small", "Medium"))
    cap = world.cap["variants"][0]["id"]
    assert link(client, world, "SHIRT-S", small).status_code == 200
    world.settle()
    events = SyncEvent.objects.count()
    refusals = [
        # the source's S is taken
        (("SHIRT-S", medium), "The source's “Linen shirt / S” is already linked to a variant "
                              "in your store. Unlink it first to link it to another."),
        # Small is taken
        (("SHIRT-M", small), "Your “Our linen shirt / Small” is already linked to a source "
                             "variant. Unlink it first to link it to another."),
        # the shirt follows "Our linen shirt": its M cannot go to the cap
        (("SHIRT-M", cap), "The source product “Linen shirt” already follows another product "
                           "in your store: its variants can only be linked to that product's "
                           "variants. Unsync it first to link it to this one."),
        # "Our linen shirt" follows the shirt: the mug cannot be linked to it
        (("MUG-1", medium), "Your product “Our linen shirt” already follows the source product "
                            "“Linen shirt”, and a product of yours follows one source product "
                            "only. Pick one of that product's variants, or unsync it first."),
    ]
    for (sku, destination), words in refusals:
        refused = link(client, world, sku, destination)
        assert refused.status_code == 409, sku
        assert said(refused) == {"message": words, "error": True}
    assert (ProductLink.objects.count(), VariantLink.objects.count()) == (1, 1)
    assert SyncEvent.objects.count() == events
    # a form sent without a choice says what is missing
    missing = client.post(f"/products/sources/{world.conn.pk}/map/by-hand/link",
                          {"destination_variant": small}, headers=world.client_headers)
    assert (missing.status_code, said(missing)["message"]) == (
        422, "Choose one of the source's variants.")


def test_unlink_a_hand_link(client, world):
    check(client, world)
    small = variant_id(world, world.ours, "Small")
    link(client, world, "SHIRT-S", small)
    world.settle()
    variant_link = VariantLink.objects.get()
    inventory_item = variant_link.destination_inventory_item_id
    # when the merchant unlinks it
    response = client.post(f"/products/sources/{world.conn.pk}/map/by-hand/unlink",
                           {"variant_link": variant_link.pk}, headers=world.client_headers)
    # then the variant and (its last variant gone) the product are unlinked
    assert response.status_code == 200
    assert said(response)["message"] == ("Unlinked “Linen shirt / S”. It stays in your store "
                                         "with the stock it has now.")
    assert (ProductLink.objects.count(), VariantLink.objects.count()) == (0, 0)
    assert list(SyncEvent.objects.filter(kind="unlinked").values_list("field", flat=True)) == [
        "variant SHIRT-S", "product"]
    # and the stock no longer follows the source
    world.stock(SOURCE, "SHIRT-S", 3)
    world.settle()
    assert world.level(DEST_1, inventory_item) == 10
    # a second unlink finds nothing to unlink
    again = client.post(f"/products/sources/{world.conn.pk}/map/by-hand/unlink",
                        {"variant_link": variant_link.pk}, headers=world.client_headers)
    assert again.status_code == 409


def test_a_mapped_link_is_not_unlinked_here(client, world):
    world.emulator.product_create(DEST_1, title="Same mug", variants=[
        {"sku": "MUG-1", "price": "8.00", "available": 0}])
    world.settle()
    check(client, world)
    scan_html = client.get(f"/products/sources/{world.conn.pk}/map/",
                           headers=world.client_headers).content.decode()
    scan_id = re.search(r'name="scan" value="(\d+)"', scan_html).group(1)
    client.post(f"/products/sources/{world.conn.pk}/map/link", {"scan": scan_id},
                headers=world.client_headers)
    world.settle()
    mapped = VariantLink.objects.get()
    response = client.post(f"/products/sources/{world.conn.pk}/map/by-hand/unlink",
                           {"variant_link": mapped.pk}, headers=world.client_headers)
    assert response.status_code == 409
    assert VariantLink.objects.filter(pk=mapped.pk).exists()
