"""Map existing products by SKU: the health report first, then exactly the unique matches."""

import pytest

from products.imports import ImportRefused
from products.mapping import map_start, sku_scan_start
from products.models import ProductLink, SyncEvent, VariantLink
from tests.products.catalogue_world import DEST_1, SOURCE, TAGS_ADD, build, connection

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
    assert sorted(m["sku"] for m in report["matches"]) == ["ALPHA-M", "ALPHA-S", "GAMMA-1"]
    assert (report["match_count"], report["product_count"]) == (3, 2)
    assert {(d["side"], d["sku"], d["count"]) for d in report["duplicates"]} == {
        ("source", "DUP-1", 2), ("destination", "OWN-1", 2)}
    assert (report["blank"]["source"], report["blank"]["destination"]) == (1, 1)
    assert report["blank"]["source_products"] == ["Gamma"]
    assert report["near"] == [{"destination_sku": "beta-1", "source_sku": "BETA-1",
                               "destination_product": "Beta (ours)", "source_product": "Beta"}]
    assert report["variant_count_mismatch"] == [
        {"source_product": "Alpha", "destination_product": "Alpha (ours)",
         "source_variants": 2, "destination_variants": 3, "matched": 2},
        {"source_product": "Gamma", "destination_product": "Gamma (ours)",
         "source_variants": 2, "destination_variants": 1, "matched": 1}]
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
    assert [m["sku"] for m in scan.report["matches"]] == ["GAMMA-1"]
