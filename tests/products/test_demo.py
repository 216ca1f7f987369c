"""The demo world's products, as `make run` seeds them (and seeds them again, changing
nothing)."""

import pytest

from demo.catalogue import DEST_1, DEST_2, SOURCE, demo_catalogue_seed
from products.models import CatalogueScan, ProductJob, ProductLink, SourceProduct
from stores.connections import connection_create
from stores.models import Shop
from stores.services import shop_role_choose
from tests.stores.factories import subscription_active

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_catalogue_is_seeded_once(emulator):
    for domain in (SOURCE, DEST_1, DEST_2):
        emulator.shop_create(domain)
        emulator.install(domain)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role="source")
    for domain in (DEST_1, DEST_2):
        destination = shop_role_choose(shop=Shop.objects.get(domain=domain), role="destination")
        subscription_active(destination)  # the demo's plan syncs its whole catalogue
        connection_create(destination=destination, store_key=source.store_key)

    summary = demo_catalogue_seed(emulator_url=emulator.url)
    emulator.flush_webhooks()

    products = SourceProduct.objects.filter(shop=source)
    assert products.count() >= 30
    assert all(p.variants.count() >= 2 for p in products)
    assert products.filter(hidden=True).count() == 3
    visible = products.filter(hidden=False).count()
    assert ProductLink.objects.filter(connection__destination__domain=DEST_1,
                                      origin="imported").count() == visible - 4
    assert summary["dest_1_import"] == {"status": "done", "done": visible - 4, "failed": 0}
    mapped = ProductLink.objects.filter(connection__destination__domain=DEST_2)
    assert set(mapped.values_list("origin", flat=True)) == {"mapped"}
    assert mapped.count() == 8  # the tote keeps one matching SKU, the mug one
    report = CatalogueScan.objects.get(connection__destination__domain=DEST_2).report
    assert [(d["side"], d["value"]) for d in report["duplicates"]] == [
        ("destination", "CAN-TOTE-SAND")]
    assert [n["source_value"] for n in report["near"]] == ["ENML-MUG-SAND"]

    again = demo_catalogue_seed(emulator_url=emulator.url)
    assert again["source_products_created"] == again["dest_2_products_created"] == 0
    assert ProductJob.objects.count() == 2
    assert len(emulator.shop(SOURCE)["products"]) == products.count()
