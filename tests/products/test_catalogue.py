"""The source catalogue mirror: full bulk load, then kept fresh by webhooks."""

import json
from decimal import Decimal

import pytest

from products.catalogue import source_catalogue_ensure, source_hidden_tag_set
from products.models import CatalogueScan, SourceProduct, SourceVariant
from stores.models import Shop
from tests.products.catalogue_world import (
    PRODUCT_UPDATE,
    SOURCE,
    TAGS_ADD,
    VARIANTS_UPDATE,
    build,
    shirt,
    source_choose,
)
from tests.webhooks.conftest import webhook_headers

pytestmark = pytest.mark.django_db(transaction=True)


def test_full_load_reads_the_catalogue_with_one_bulk_query(emulator):
    # Given a store with products before it becomes a source (no webhooks mirrored yet)
    world = build(emulator, destinations=(), source_role=False)
    shirt(world)
    emulator.product_create(SOURCE, title="Canvas tote", vendor="Acme",
                            variants=[{"sku": "TOTE", "price": "12.50", "available": 3}])
    world.settle()
    assert SourceProduct.objects.count() == 0
    before = emulator.stats()["shops"][SOURCE]["graphql_requests"]
    # When it chooses the source role and its catalogue loads
    source = source_choose(world)
    scan = source_catalogue_ensure(source=source)
    world.settle()
    # Then one bulk query read everything (start + status, no page-by-page reads)
    scan.refresh_from_db()
    assert (scan.status, scan.products, scan.variants) == ("done", 2, 3)
    assert emulator.stats()["shops"][SOURCE]["graphql_requests"] - before <= 3
    product = SourceProduct.objects.get(title="Linen shirt")
    assert (product.vendor, product.product_type, product.tags, product.status) == (
        "Acme", "Shirts", ["summer"], "ACTIVE")
    assert product.description_html == "<p>Cool linen.</p>"
    assert product.options == [{"name": "Size", "values": ["S", "M"]}]
    assert product.images == [{"src": "https://cdn.example/shirt-s.png", "alt": "Linen shirt"}]
    variants = list(product.variants.order_by("position").values_list(
        "sku", "price", "compare_at_price", "barcode", "option_values", "tracked"))
    assert variants == [
        ("SHIRT-S", Decimal("30.00"), Decimal("40.00"), "BAR-SHIRT-S",
         [{"name": "Size", "value": "S"}], True),
        ("SHIRT-M", Decimal("30.00"), Decimal("40.00"), "BAR-SHIRT-M",
         [{"name": "Size", "value": "M"}], True)]
    # and a second ensure does not load again
    assert source_catalogue_ensure(source=source) is None
    assert CatalogueScan.objects.count() == 1


def test_webhooks_keep_the_mirror_fresh(emulator):
    world = build(emulator, destinations=())
    product = shirt(world)
    world.settle()
    mirror = SourceProduct.objects.get()
    assert [v.sku for v in mirror.variants.order_by("position")] == ["SHIRT-S", "SHIRT-M"]
    # when the merchant renames it, reprices a variant, changes a SKU and lets it sell when out
    # of stock (backorders)
    world.admin(SOURCE, PRODUCT_UPDATE, {"product": {"id": product["id"], "title": "Shirt"}})
    small = product["variants"]["nodes"][0]
    world.admin(SOURCE, VARIANTS_UPDATE, {"p": product["id"], "v": [
        {"id": small["id"], "price": "25.00", "inventoryPolicy": "CONTINUE",
         "inventoryItem": {"sku": "SHIRT-SM"}}]})
    world.settle()
    mirror.refresh_from_db()
    assert mirror.title == "Shirt"
    assert list(mirror.variants.order_by("position").values_list(
        "sku", "price", "inventory_policy")) == [
        ("SHIRT-SM", Decimal("25.00"), "CONTINUE"), ("SHIRT-M", Decimal("30.00"), "DENY")]


def test_an_older_payload_never_overwrites_a_newer_one(emulator, client):
    world = build(emulator, destinations=())
    emulator.product_create(SOURCE, title="Tote", variants=[{"sku": "TOTE", "price": "5.00"}])
    world.settle()
    payload = emulator.shop(SOURCE)["products"][0]
    mirror = SourceProduct.objects.get()
    stale = dict(payload, title="Old title", updated_at="2020-01-01T00:00:00+00:00")
    body = json.dumps(stale).encode()
    # when a late products/update from 2020 arrives through the real endpoint
    response = client.post("/webhooks/shopify", data=body, content_type="application/json",
                           headers=webhook_headers(topic="products/update", shop=SOURCE,
                                                   body=body))
    assert response.status_code == 200
    mirror.refresh_from_db()
    assert mirror.title == "Tote"


def test_deleted_variants_and_products_leave_tombstones(emulator, client):
    world = build(emulator, destinations=())
    emulator.product_create(SOURCE, title="Tote", variants=[
        {"sku": "T-1", "price": "5.00", "option1": "Red"},
        {"sku": "T-2", "price": "5.00", "option1": "Blue"}])
    world.settle()
    payload = emulator.shop(SOURCE)["products"][0]
    later = dict(payload, variants=payload["variants"][:1], updated_at="2099-01-01T00:00:00Z")
    for topic, data in (("products/update", later), ("products/delete", {"id": payload["id"]})):
        body = json.dumps(data).encode()
        client.post("/webhooks/shopify", data=body, content_type="application/json",
                    headers=webhook_headers(topic=topic, shop=SOURCE, body=body))
        if topic == "products/update":
            assert list(SourceVariant.objects.filter(deleted_at__isnull=True)
                        .values_list("sku", flat=True)) == ["T-1"]
    assert SourceProduct.objects.get().deleted_at is not None


def test_the_hidden_tag_hides_products_and_is_configurable(emulator):
    world = build(emulator, destinations=())
    product = shirt(world)
    emulator.product_create(SOURCE, title="Tote", tags=["staff-only"],
                            variants=[{"sku": "TOTE", "price": "5.00"}])
    world.settle()
    world.admin(SOURCE, TAGS_ADD, {"id": product["id"], "tags": ["Syncer-Hidden"]})
    world.settle()
    assert dict(SourceProduct.objects.values_list("title", "hidden")) == {
        "Linen shirt": True, "Tote": False}
    # when the source picks its own tag
    changed = source_hidden_tag_set(source=Shop.objects.get(domain=SOURCE),
                                    hidden_tag="staff-only", cause="test")
    assert changed == 2
    assert Shop.objects.get(domain=SOURCE).hidden_tag == "staff-only"
    assert dict(SourceProduct.objects.values_list("title", "hidden")) == {
        "Linen shirt": False, "Tote": True}


def test_destination_products_are_not_mirrored(emulator):
    world = build(emulator)
    emulator.product_create("cat-dest-1.myshopify.com", title="Own product",
                            variants=[{"sku": "OWN", "price": "1.00"}])
    world.settle()
    assert SourceProduct.objects.count() == 0


def test_a_payload_from_the_same_second_is_checked_against_shopify(emulator, client):
    """Shopify's updated_at has one-second resolution: two edits in one second can arrive in
    either order. A same-second payload that differs from the mirror is settled by reading
    the product live; one that says the same (e.g. products/update for an order) costs nothing.
    """
    world = build(emulator, destinations=())
    emulator.product_create(SOURCE, title="Tote", variants=[{"sku": "TOTE", "price": "5.00"}])
    world.settle()
    deliveries = emulator._json("GET", f"/_emulator/shops/{SOURCE}/webhooks")["deliveries"]
    payload = next(d["payload"] for d in deliveries if d["topic"] == "products/create")
    mirror = SourceProduct.objects.get()

    def post(data):
        body = json.dumps(data).encode()
        client.post("/webhooks/shopify", data=body, content_type="application/json",
                    headers=webhook_headers(topic="products/update", shop=SOURCE, body=body))

    requests = emulator.stats()["shops"][SOURCE]["graphql_requests"]
    post(dict(payload))  # the same content again
    assert emulator.stats()["shops"][SOURCE]["graphql_requests"] == requests
    # an older edit of the same second arriving late says "Tote (draft name)"
    post(dict(payload, title="Tote (draft name)"))
    mirror.refresh_from_db()
    assert mirror.title == "Tote"  # Shopify's live state wins
    assert emulator.stats()["shops"][SOURCE]["graphql_requests"] == requests + 1


def test_the_sweeper_loads_sources_that_never_had_a_full_read(emulator):
    from products.tasks import product_jobs_sweep_task

    world = build(emulator, destinations=(), source_role=False)
    emulator.product_create(SOURCE, title="Tote", variants=[{"sku": "TOTE", "price": "5.00"}])
    world.settle()
    source_choose(world)
    assert CatalogueScan.objects.count() == 0
    product_jobs_sweep_task()
    # the scan's finish webhook and the sweep's poll race to apply it (one claims it): let the
    # webhook's delivery end too, or a loaded machine sees the other still "applying"
    world.settle()
    assert CatalogueScan.objects.get().status == "done"
    assert list(SourceProduct.objects.values_list("title", flat=True)) == ["Tote"]
    product_jobs_sweep_task()  # nothing more to do
    assert CatalogueScan.objects.count() == 1


def test_a_catalogue_read_when_shopify_is_down_waits_instead_of_failing(emulator):
    world = build(emulator, destinations=())
    emulator.faults(error_rate=1.0)
    scan = source_catalogue_ensure(source=Shop.objects.get(domain=SOURCE))
    scan.refresh_from_db()
    assert scan.status == "queued"
    assert scan.error == ("Shopify is not answering right now; the catalogue read is retried "
                          "shortly.")
    emulator.faults(error_rate=0)
    world.settle()
