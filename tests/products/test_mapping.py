"""Map existing products by SKU or barcode: the report first, then exactly the unique matches
of the products not skipped."""

import re

import pytest

from products.imports import ImportRefused
from products.mapping import (
    connection_match_by_set,
    map_plan,
    map_product_choice_set,
    map_start,
    sku_scan_start,
)
from products.models import ProductLink, SourceProduct, SyncEvent, VariantLink
from tests.htmx_events import said
from tests.products.catalogue_world import (
    DEST_1,
    SOURCE,
    TAGS_ADD,
    build,
    connection,
    headers,
)

pytestmark = pytest.mark.django_db(transaction=True)

SOURCE_CATALOGUE = [
    ("Alpha", [("ALPHA-S", 5), ("ALPHA-M", 6)], []),
    ("Beta", [("BETA-1", 7)], []),
    ("Gamma", [("GAMMA-1", 8), ("", 1)], []),
    ("Delta", [("DUP-1", 2)], []),
    ("Epsilon", [("DUP-1", 3)], []),
    ("Zeta", [("ZETA-1", 4)], ["syncer-hidden"]),
]
DESTINATION_CATALOGUE = [
    ("Alpha (ours)", [("ALPHA-S", 0), ("ALPHA-M", 0), ("ALPHA-L", 0)]),
    ("Beta (ours)", [("beta-1 ", 0)]),
    ("Gamma (ours)", [(" GAMMA-1 ", 0)]),
    ("Delta (ours)", [("DUP-1", 0)]),
    ("Own product", [("OWN-1", 0), ("OWN-1", 0), ("", 0)]),
    ("Zeta (ours)", [("ZETA-1", 0)]),
]


def catalogue(emulator, shop, products):
    for title, variants, *tags in products:
        emulator.product_create(shop, title=title, vendor="Acme", tags=(tags or [[]])[0],
                                variants=[{"sku": sku, "price": "10.00", "available": stock,
                                           "option1": f"V{n}"}
                                          for n, (sku, stock) in enumerate(variants)])


@pytest.fixture
def world(emulator):
    world = build(emulator)
    catalogue(emulator, SOURCE, SOURCE_CATALOGUE)
    catalogue(emulator, DEST_1, DESTINATION_CATALOGUE)
    world.settle()
    return world


def test_health_report_then_link_exactly_the_unique_matches(world):
    conn = connection()
    # when the destination checks its SKUs
    scan = sku_scan_start(connection=conn)
    world.settle()
    scan.refresh_from_db()
    assert (scan.status, scan.products, scan.variants) == ("done", 6, 10)
    report = scan.report
    # then the report lists what would be linked and everything that would not
    assert report["key"] == "sku"
    assert sorted(m["value"] for m in report["matches"]) == ["ALPHA-M", "ALPHA-S", "GAMMA-1"]
    assert (report["match_count"], report["product_count"]) == (3, 2)
    assert {(d["side"], d["value"], d["count"]) for d in report["duplicates"]} == {
        ("source", "DUP-1", 2), ("destination", "OWN-1", 2)}
    assert (report["blank"]["source"], report["blank"]["destination"]) == (1, 1)
    assert report["blank"]["source_products"] == ["Gamma"]
    assert report["near"] == [{"destination_value": "beta-1", "source_value": "BETA-1",
                               "destination_product": "Beta (ours)", "source_product": "Beta"}]
    alpha, gamma = (SourceProduct.objects.get(title=title).pk for title in ("Alpha", "Gamma"))
    destination_ids = {p["title"]: p["id"] for p in world.emulator.shop(DEST_1)["products"]}
    assert report["variant_count_mismatch"] == [
        {"source_product_id": alpha, "destination_product_id": destination_ids["Alpha (ours)"],
         "source_product": "Alpha", "destination_product": "Alpha (ours)",
         "source_variants": 2, "destination_variants": 3, "matched": 2},
        {"source_product_id": gamma, "destination_product_id": destination_ids["Gamma (ours)"],
         "source_product": "Gamma", "destination_product": "Gamma (ours)",
         "source_variants": 2, "destination_variants": 1, "matched": 1}]
    assert report["skipped_products"] == []
    assert ProductLink.objects.count() == 0  # nothing linked before the merchant confirms
    # when the merchant links the matches
    job = map_start(connection=conn, scan=scan, actor_user_id="1")
    world.settle()
    job.refresh_from_db()
    assert (job.kind, job.status, job.done, job.failed) == ("map", "done", 2, 0)
    # then exactly the unique matches are linked, and their stock follows the source
    assert sorted(ProductLink.objects.values_list("origin", "source_product__title")) == [
        ("mapped", "Alpha"), ("mapped", "Gamma")]
    assert sorted(VariantLink.objects.values_list("source_variant__sku",
                                                  "last_written_quantity")) == [
        ("ALPHA-M", 6), ("ALPHA-S", 5), ("GAMMA-1", 8)]
    levels = {v["sku"]: v["inventory_quantity"] for p in world.emulator.shop(DEST_1)["products"]
              for v in p["variants"]}
    assert (levels["ALPHA-S"], levels["ALPHA-M"], levels[" GAMMA-1 "], levels["ALPHA-L"],
            levels["DUP-1"], levels["beta-1 "]) == (5, 6, 8, 0, 0, 0)
    # mapping syncs inventory only: the destination's product data is untouched
    assert sorted(p["title"] for p in world.emulator.shop(DEST_1)["products"])[0] == (
        "Alpha (ours)")
    assert SyncEvent.objects.filter(kind="mapped", field="product").count() == 2
    assert SyncEvent.objects.filter(kind="inventory", result="ok").count() == 3


def test_a_second_check_reports_what_is_already_linked(world):
    conn = connection()
    scan = sku_scan_start(connection=conn)
    world.settle()
    scan.refresh_from_db()
    map_start(connection=conn, scan=scan)
    world.settle()
    with pytest.raises(ImportRefused, match="linked already"):
        map_start(connection=conn, scan=scan)
    again = sku_scan_start(connection=conn)
    world.settle()
    again.refresh_from_db()
    assert (again.report["match_count"], again.report["already_linked"]) == (0, 3)
    with pytest.raises(ImportRefused, match="nothing to link"):
        map_start(connection=conn, scan=again)


def test_hidden_source_products_are_never_matched(world):
    conn = connection()
    product = next(p for p in world.emulator.shop(SOURCE)["products"] if p["title"] == "Alpha")
    world.admin(SOURCE, TAGS_ADD, {"id": product["admin_graphql_api_id"],
                                   "tags": ["syncer-hidden"]})
    world.settle()
    scan = sku_scan_start(connection=conn)
    world.settle()
    scan.refresh_from_db()
    assert [m["value"] for m in scan.report["matches"]] == ["GAMMA-1"]


def barcode_catalogues(emulator) -> None:
    """The same products on both sides, their barcodes matching where their SKUs do not."""
    emulator.product_create(SOURCE, title="Kettle", variants=[
        {"sku": "K-RED", "barcode": "4006381333931", "price": "40.00", "available": 3,
         "option1": "Red"},
        {"sku": "K-BLUE", "barcode": "", "price": "40.00", "available": 4, "option1": "Blue"}])
    emulator.product_create(DEST_1, title="Our kettle", variants=[
        {"sku": "OUR-RED", "barcode": " 4006381333931 ", "price": "45.00", "available": 0,
         "option1": "Red"},
        {"sku": "K-BLUE", "barcode": "", "price": "45.00", "available": 0, "option1": "Blue"}])


def test_matching_by_barcode_links_by_barcode_only(emulator):
    world = build(emulator)
    barcode_catalogues(emulator)
    world.settle()
    conn = connection()
    # when the destination chooses to match by barcode and checks
    assert connection_match_by_set(connection=conn, match_by="barcode") is True
    assert connection_match_by_set(connection=conn, match_by="barcode") is False
    conn.refresh_from_db()
    scan = sku_scan_start(connection=conn)
    world.settle()
    scan.refresh_from_db()
    report = scan.report
    # then the barcode matches (spaces around it ignored); the SKU that matches does not count,
    # and a blank barcode never matches
    assert (report["key"], [m["value"] for m in report["matches"]]) == (
        "barcode", ["4006381333931"])
    assert (report["blank"]["source"], report["blank"]["destination"]) == (1, 1)
    assert [(p["source_product"], p["matched"], p["source_variants"])
            for p in report["variant_count_mismatch"]] == [("Kettle", 1, 2)]
    # when the matches are linked
    job = map_start(connection=conn, scan=scan)
    world.settle()
    job.refresh_from_db()
    # then the link says it was made by barcode, and the stock follows
    assert (job.status, job.done) == ("done", 1)
    assert list(ProductLink.objects.values_list("origin", flat=True)) == ["barcode"]
    assert list(VariantLink.objects.values_list("source_variant__sku",
                                                "last_written_quantity")) == [("K-RED", 3)]
    assert list(SyncEvent.objects.filter(kind="mapped").exclude(field="product").values_list(
        "field", "to_value")) == [("variant 4006381333931", "linked by barcode")]


def test_a_check_by_the_other_key_is_not_linked(emulator):
    world = build(emulator)
    barcode_catalogues(emulator)
    world.settle()
    conn = connection()
    scan = sku_scan_start(connection=conn)
    world.settle()
    scan.refresh_from_db()
    assert [m["value"] for m in scan.report["matches"]] == ["K-BLUE"]
    # when the merchant switches to barcode after checking by SKU, and links that check
    connection_match_by_set(connection=conn, match_by="barcode")
    conn.refresh_from_db()
    with pytest.raises(ImportRefused, match="did not match by barcode"):
        map_start(connection=conn, scan=scan)
    # then nothing is linked
    assert (ProductLink.objects.count(), VariantLink.objects.count()) == (0, 0)


def test_a_skipped_product_is_not_linked(world):
    conn = connection()
    scan = sku_scan_start(connection=conn)
    world.settle()
    scan.refresh_from_db()
    alpha = SourceProduct.objects.get(title="Alpha").pk
    # when the merchant skips Alpha (2 of its 3 variants match), changes their mind, skips again
    map_product_choice_set(connection=conn, scan=scan, source_product_id=alpha, link=False)
    map_product_choice_set(connection=conn, scan=scan, source_product_id=alpha, link=True)
    report = map_product_choice_set(connection=conn, scan=scan, source_product_id=alpha,
                                    link=False)
    plan = map_plan(report=report)
    assert (plan.product_count, plan.variant_count, plan.skipped_count) == (1, 1, 1)
    # a product whose variants all match (or that is not in the check) has nothing to choose
    with pytest.raises(ImportRefused, match="nothing to choose"):
        map_product_choice_set(connection=conn, scan=scan,
                               source_product_id=SourceProduct.objects.get(title="Beta").pk,
                               link=False)
    # when the matches are linked
    map_start(connection=conn, scan=scan)
    world.settle()
    # then only Gamma's are
    assert list(ProductLink.objects.values_list("source_product__title", flat=True)) == [
        "Gamma"]
    assert list(VariantLink.objects.values_list("source_variant__sku", flat=True)) == [
        "GAMMA-1"]
    # and the choice can no longer change once linked
    with pytest.raises(ImportRefused, match="linked already"):
        map_product_choice_set(connection=conn, scan=scan, source_product_id=alpha, link=True)


def test_choose_the_key_and_skip_a_product_on_the_map_page(client, world):
    conn = connection()
    as_dest = headers(world.emulator, DEST_1)
    url = f"/products/sources/{conn.pk}/map/"
    client.post(f"{url}check", headers=as_dest)
    world.settle()
    # a key that is neither SKU nor barcode is refused in words, and changes nothing
    wrong = client.post(f"{url}match-by", {"match_by": "title"}, headers=as_dest)
    assert (wrong.status_code, said(wrong)["message"]) == (422, "Choose SKU or barcode.")
    # skipping a product of which only some variants match updates what will be linked
    html = client.get(url, headers=as_dest).content.decode()
    assert "Link 3 variants of 2 products." in html
    alpha = SourceProduct.objects.get(title="Alpha").pk
    scan = re.search(r'name="scan" value="(\d+)"', html).group(1)
    skipped = client.post(f"{url}choice", {"scan": scan, "product": alpha, "choice": "skip"},
                          headers=as_dest)
    assert skipped.status_code == 200
    assert "Link 1 variant of 1 product (1 product skipped)." in skipped.content.decode()
    # when the merchant switches to barcode, the SKU check no longer counts
    switched = client.post(f"{url}match-by", {"match_by": "barcode"}, headers=as_dest)
    assert said(switched)["message"] == ("Variants now match by barcode. Check again to see "
                                         "the matches.")
    assert 'id="report-other-key"' in switched.content.decode()
    conn.refresh_from_db()
    assert conn.match_by == "barcode"
    refused = client.post(f"{url}link", {"scan": scan}, headers=as_dest)
    assert (refused.status_code, said(refused)["message"]) == (
        409, "This check did not match by barcode. Check again, then link the matches.")
    assert ProductLink.objects.count() == 0
