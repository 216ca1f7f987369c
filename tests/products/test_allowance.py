"""The plan's synced-product allowance where a merchant's action would sync new products: an
import, linking a check's matches, linking by hand. Refused whole (nothing created, the store
told by an alert and shown the way to Plan & billing); used + adding == allowance passes;
products in jobs still running count; a source is never limited; a store over its allowance
after a downgrade keeps syncing what it has."""

import json
import re

import pytest
from django.urls import reverse

from products.allowance import (
    AllowanceRefusal,
    allowance_check,
    destination_products_queued,
    destination_products_synced,
)
from products.imports import ImportRefused, product_import_start
from products.manual_mapping import ManualLinkRefused, variant_link_by_hand
from products.mapping import map_start, sku_scan_start
from products.models import ProductJob, ProductLink, SourceProduct, SourceVariant, VariantLink
from stores.billing import subscription_confirm, subscription_request
from stores.models import AlertDigest, AlertKind, Shop, Subscription
from syncer.celery import app as celery_app
from tests.htmx_events import said
from tests.products.catalogue_world import DEST_1, SOURCE, build, connection, headers
from tests.stores.factories import subscription_active

pytestmark = pytest.mark.django_db(transaction=True)

BILLING = "/billing/"


def mugs(emulator, count: int, *, shop: str = SOURCE, first: int = 0) -> None:
    for n in range(first, first + count):
        emulator.product_create(shop, title=f"Mug {n:02d}", variants=[
            {"sku": f"MUG-{n:02d}", "price": "8.00", "available": n + 1}])


@pytest.fixture
def world(emulator):
    """A source with 12 mugs (MUG-00 … MUG-11) and a destination on Free (10 products)."""
    world = build(emulator)
    mugs(emulator, 12)
    world.settle()
    world.conn = connection()
    world.destination = world.conn.destination
    return world


def ids(*numbers: int) -> list[int]:
    return [SourceProduct.objects.get(title=f"Mug {n:02d}").pk for n in numbers]


def alerts() -> int:
    """Allowance alerts raised: emailed (the first at once) or waiting for the window."""
    digest = AlertDigest.objects.filter(kind=AlertKind.ALLOWANCE_REACHED).first()
    return digest.sent_count + digest.pending_count if digest else 0


def test_the_refusal_in_words():
    refusal = AllowanceRefusal(plan_name="Starter", allowance=25, synced=20, queued=0, adding=8)
    assert refusal.message == ("Your Starter plan syncs up to 25 products. 20 are synced, so 5 "
                               "more can be; you chose 8. Choose fewer, or upgrade your plan.")
    assert refusal.upgrade_url == reverse("orders:billing") == BILLING


def test_an_import_past_the_allowance_is_refused_whole_and_creates_nothing(world):
    # when the Free destination syncs 11 products
    with pytest.raises(ImportRefused) as refused:
        product_import_start(connection=world.conn, source_product_ids=ids(*range(11)))
    world.settle()
    # then nothing is queued, linked or created in its store, and it is told why and where
    assert str(refused.value) == ("Your Free plan syncs up to 10 products. 0 are synced, so 10 "
                                  "more can be; you chose 11. Choose fewer, or upgrade your "
                                  "plan.")
    assert refused.value.upgrade_url == BILLING
    assert (ProductJob.objects.count(), ProductLink.objects.count()) == (0, 0)
    assert world.products(DEST_1) == []
    assert alerts() == 1


def test_exactly_the_allowance_passes_then_nothing_more(world):
    # when the Free destination syncs 10 products: exactly its allowance
    job = product_import_start(connection=world.conn, source_product_ids=ids(*range(10)))
    world.settle()
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("done", 10, 0)
    assert destination_products_synced(shop=world.destination) == 10
    assert alerts() == 1  # it is full now: the store hears of it
    # then one more is refused, whole
    with pytest.raises(ImportRefused, match=r"^Your Free plan syncs up to 10 products\. 10 are "
                                            r"synced, so no more can be\. Upgrade your plan"):
        product_import_start(connection=world.conn, source_product_ids=ids(10))
    assert ProductLink.objects.count() == 10
    assert len(world.products(DEST_1)) == 10
    assert alerts() == 2


@pytest.fixture
def no_worker(redis_db):
    """Tasks really queued (on this test's Redis) with no worker to run them yet."""
    conf = celery_app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = False
    yield
    conf.task_always_eager = saved
    celery_app.control.purge()


def test_products_of_jobs_not_done_yet_count_so_two_clicks_cannot_pass_it(world, no_worker):
    # given a first click queued 6 products, which no worker has synced yet
    first = product_import_start(connection=world.conn, source_product_ids=ids(*range(6)))
    assert first.status == ProductJob.Status.QUEUED
    assert destination_products_queued(shop=world.destination) == 6
    # when a second click asks for 5 more, it is refused: 6 + 5 > 10
    with pytest.raises(ImportRefused) as refused:
        product_import_start(connection=world.conn, source_product_ids=ids(*range(6, 11)))
    assert str(refused.value).startswith("Your Free plan syncs up to 10 products. 6 are synced "
                                         "or being synced, so 4 more can be; you chose 5.")
    assert ProductJob.objects.count() == 1
    # and 4 fit exactly
    product_import_start(connection=world.conn, source_product_ids=ids(*range(6, 10)))
    assert ProductJob.objects.count() == 2
    assert destination_products_queued(shop=world.destination) == 10


def test_a_paid_plan_syncs_more_and_a_source_is_never_limited(world):
    # the merchant subscribes to Starter, approves on Shopify's page and comes back
    confirmation = subscription_request(shop=world.destination, plan_handle="starter",
                                        orders_addon=False)
    charge = int(re.search(r"/charges/(\d+)/", confirmation).group(1))
    world.emulator.subscription_approve(DEST_1, charge)
    subscription_confirm(shop=world.destination, charge_id=charge)
    job = product_import_start(connection=world.conn, source_product_ids=ids(*range(12)))
    world.settle()
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 12)
    source = Shop.objects.get(domain=SOURCE)
    assert allowance_check(shop=source, adding=1_000_000) is None


def test_over_the_allowance_after_a_cancel_stock_keeps_syncing_new_links_are_refused(world):
    # given 12 products synced on Starter, then the plan cancelled: Free allows 10
    subscription_active(world.destination, plan="starter", orders_addon=False)
    product_import_start(connection=world.conn, source_product_ids=ids(*range(12)))
    world.settle()
    Subscription.objects.filter(shop=world.destination).update(
        status=Subscription.Status.CANCELLED)
    # when the source's stock of the last mug changes, the destination still follows
    world.stock(SOURCE, "MUG-11", 40)
    world.settle()
    link = VariantLink.objects.get(source_variant__sku="MUG-11")
    assert world.level(DEST_1, link.destination_inventory_item_id) == 40
    # but no new product can be synced, and it is said why
    mugs(world.emulator, 1, first=12)
    world.settle()
    with pytest.raises(ImportRefused, match=r"^Your Free plan syncs up to 10 products\. 12 are "
                                            r"synced, more than it allows: they keep syncing, "
                                            r"but no more can be added\."):
        product_import_start(connection=world.conn, source_product_ids=ids(12))


# --- map by SKU and by hand --------------------------------------------------------------------


def test_linking_matches_past_the_allowance_is_refused_and_links_nothing(world):
    # given 8 synced and the destination's own copies of 3 more (same SKUs)
    product_import_start(connection=world.conn, source_product_ids=ids(*range(8)))
    mugs(world.emulator, 3, shop=DEST_1, first=8)
    world.settle()
    scan = sku_scan_start(connection=world.conn)
    world.settle()
    scan.refresh_from_db()
    # when it links the check's matches: 3 new products, 2 fit
    with pytest.raises(ImportRefused) as refused:
        map_start(connection=world.conn, scan=scan)
    assert str(refused.value) == ("Your Free plan syncs up to 10 products. 8 are synced, so 2 "
                                  "more can be; these matches would link 3. Skip some products, "
                                  "or upgrade your plan.")
    assert (ProductLink.objects.count(), ProductJob.objects.filter(kind="map").count()) == (8, 0)


def test_the_link_matches_button_is_refused_with_the_way_to_upgrade(client, world):
    product_import_start(connection=world.conn, source_product_ids=ids(*range(8)))
    mugs(world.emulator, 3, shop=DEST_1, first=8)
    world.settle()
    scan = sku_scan_start(connection=world.conn)
    world.settle()
    response = client.post(f"/products/sources/{world.conn.pk}/map/link", {"scan": scan.pk},
                           headers=headers(world.emulator, DEST_1))
    assert response.status_code == 409
    assert said(response) == {"error": True, "message": (
        "Your Free plan syncs up to 10 products. 8 are synced, so 2 more can be; these matches "
        "would link 3. Skip some products, or upgrade your plan.")}
    assert json.loads(response["HX-Trigger"])["failed"]["link"] == {
        "url": BILLING, "label": "Upgrade your plan"}
    assert ProductLink.objects.count() == 8


def test_linking_by_hand_a_variant_of_a_new_product_is_refused_at_the_allowance(world):
    # given 10 synced, and the destination's own product, read by a check
    product_import_start(connection=world.conn, source_product_ids=ids(*range(10)))
    ours = world.emulator.product_create(DEST_1, title="Our big mug", variants=[
        {"sku": "OUR-BIG", "price": "9.00", "available": 0, "option1": "Big"},
        {"sku": "OUR-HUGE", "price": "9.00", "available": 0, "option1": "Huge"}])
    world.settle()
    sku_scan_start(connection=world.conn)
    world.settle()
    # when it links the source's Mug 11 to it by hand: one product more than Free allows
    with pytest.raises(ManualLinkRefused) as refused:
        variant_link_by_hand(connection=world.conn,
                             source_variant_id=SourceVariant.objects.get(sku="MUG-11").pk,
                             destination_variant_id=ours["variants"][0]["id"])
    assert str(refused.value).startswith("Your Free plan syncs up to 10 products. 10 are synced, "
                                         "so no more can be.")
    assert refused.value.upgrade_url == BILLING
    assert (ProductLink.objects.count(), VariantLink.objects.count()) == (10, 10)
    assert alerts() == 2  # reached, then refused


def test_linking_by_hand_a_variant_of_a_synced_product_adds_no_product(client, world):
    # given 10 synced (full), the variant of one of them unlinked since
    product_import_start(connection=world.conn, source_product_ids=ids(*range(10)))
    world.settle()
    link = ProductLink.objects.get(source_product__title="Mug 00")
    variant_ids = [v["id"] for v in world.product(DEST_1, link.destination_product_id)[
        "variants"]["nodes"]]
    VariantLink.objects.filter(product_link=link).delete()  # its one variant unlinked
    sku_scan_start(connection=world.conn)
    world.settle()
    # when it links that product's variant by hand again, it is no new product: it passes
    response = client.post(f"/products/sources/{world.conn.pk}/map/by-hand/link", {
        "source_variant": SourceVariant.objects.get(sku="MUG-00").pk,
        "destination_variant": int(variant_ids[0].rsplit("/", 1)[1])},
        headers=headers(world.emulator, DEST_1))
    assert response.status_code == 200, said(response)
    assert VariantLink.objects.filter(product_link=link).count() == 1
    assert ProductLink.objects.count() == 10


def test_the_hand_mapper_refusal_shows_the_way_to_upgrade(client, world):
    product_import_start(connection=world.conn, source_product_ids=ids(*range(10)))
    ours = world.emulator.product_create(DEST_1, title="Our big mug", variants=[
        {"sku": "OUR-BIG", "price": "9.00", "available": 0}])
    world.settle()
    sku_scan_start(connection=world.conn)
    world.settle()
    response = client.post(f"/products/sources/{world.conn.pk}/map/by-hand/link", {
        "source_variant": SourceVariant.objects.get(sku="MUG-11").pk,
        "destination_variant": ours["variants"][0]["id"]},
        headers=headers(world.emulator, DEST_1))
    assert response.status_code == 409
    failed = json.loads(response["HX-Trigger"])["failed"]
    assert failed["message"].startswith("Your Free plan syncs up to 10 products.")
    assert failed["link"] == {"url": BILLING, "label": "Upgrade your plan"}
    assert VariantLink.objects.count() == 10


# --- the catalogue's Sync button ----------------------------------------------------------------


def test_the_sync_button_is_refused_in_words_with_the_way_to_upgrade(client, world):
    response = client.post(f"/products/sources/{world.conn.pk}/import",
                           {"product": ids(*range(11))}, headers=headers(world.emulator, DEST_1))
    assert response.status_code == 409
    failed = json.loads(response["HX-Trigger"])["failed"]
    assert failed == {"message": ("Your Free plan syncs up to 10 products. 0 are synced, so 10 "
                                  "more can be; you chose 11. Choose fewer, or upgrade your "
                                  "plan."),
                      "link": {"url": BILLING, "label": "Upgrade your plan"}}
    assert ProductJob.objects.count() == 0
    # the same 10 go through
    response = client.post(f"/products/sources/{world.conn.pk}/import",
                           {"product": ids(*range(10))}, headers=headers(world.emulator, DEST_1))
    assert response.status_code == 200
    assert said(response)["message"].startswith("Syncing 10 products.")
