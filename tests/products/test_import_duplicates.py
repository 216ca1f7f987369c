"""Importing never makes a second copy of a product the destination already has (by SKU), and
a product Shopify refuses says what Shopify refused and what to do."""

import pytest

from products.imports import product_import_start
from products.models import ProductJob, ProductLink, SourceProduct, SourceVariant
from stores.connections import (
    connection_block,
    connection_create,
    connection_disconnect,
    connection_on_link_end_set,
    connection_unblock,
)
from stores.models import Shop
from stores.services import store_key_rotate
from tests.products.catalogue_world import (
    DEST_1,
    SOURCE,
    build,
    connection,
    headers,
    shirt,
)

pytestmark = pytest.mark.django_db(transaction=True)


def sync(world, conn) -> ProductJob:
    """The destination syncs every product of the source (as Sync selected does)."""
    job = product_import_start(connection=conn,
                               source_product_ids=SourceProduct.objects.values_list("pk",
                                                                                    flat=True))
    world.settle()
    job.refresh_from_db()
    return job


def destination_skus(world) -> list[str]:
    return sorted(variant["sku"] for product in world.products(DEST_1)
                  for variant in product["variants"]["nodes"])


@pytest.mark.parametrize("ending", ["disconnect", "block"])
def test_syncing_again_after_the_link_ended_creates_no_second_copy(client, emulator, ending):
    # given a shirt and a tote synced into the destination, which keeps its copies when the
    # link ends
    world = build(emulator)
    shirt(world)
    emulator.product_create(SOURCE, title="Canvas tote", variants=[
        {"sku": "CAN-TOTE-SAND", "price": "12.00", "available": 5}])
    world.settle()
    conn = connection()
    destination, source = conn.destination, conn.source
    connection_on_link_end_set(connection=conn, actor=destination, choice="keep")
    assert sync(world, connection()).done == 2
    assert destination_skus(world) == ["CAN-TOTE-SAND", "SHIRT-M", "SHIRT-S"]
    # when the link ends and comes back (disconnect → reconnect, or block → unblock)
    if ending == "disconnect":
        connection_disconnect(connection=connection(), actor=destination)
        key = store_key_rotate(shop=Shop.objects.get(pk=source.pk)).store_key
        connection_create(destination=destination, store_key=key)
    else:
        connection_block(connection=connection(), actor=source)
        connection_unblock(connection=connection(), actor=source)
    world.settle()
    assert ProductLink.objects.count() == 0
    # and the destination syncs everything again
    job = sync(world, connection())
    # then nothing was created twice: both are reported, to be mapped instead
    assert destination_skus(world) == ["CAN-TOTE-SAND", "SHIRT-M", "SHIRT-S"]
    assert (job.status, job.done, job.failed, job.already_in_store, job.percent) == (
        "done", 0, 0, 2, 100)
    assert job.already_in_store_products == [
        {"product": "Canvas tote", "skus": ["CAN-TOTE-SAND"]},
        {"product": "Linen shirt", "skus": ["SHIRT-M", "SHIRT-S"]}]
    assert ProductLink.objects.count() == 0
    # and the job's result says so, with the way to map them
    page = client.get(f"/products/sources/{conn.pk}/jobs/{job.pk}",
                      headers=headers(emulator, DEST_1))
    html = " ".join(page.content.decode().split())
    assert ("<strong>2 products are already in your store by SKU — map them instead.</strong>"
            in html)
    assert ("<li><strong>Canvas tote</strong>: SKU CAN-TOTE-SAND is already in your store</li>"
            "<li><strong>Linen shirt</strong>: SKUs SHIRT-M, SHIRT-S are already in your store</li>"
            in html)
    assert f'href="/products/sources/{conn.pk}/map/"' in html
    assert "Done: 0 of 2 products synced, 2 not created." in html


def test_a_product_sharing_one_sku_with_the_destination_is_not_created(emulator):
    # given a destination that already sells the shirt's small size under its own product
    world = build(emulator)
    shirt(world)
    emulator.product_create(DEST_1, title="Our shirt", variants=[
        {"sku": "SHIRT-S", "price": "30.00", "available": 1}])
    world.settle()
    # when it syncs the source's shirt
    job = sync(world, connection())
    # then the shirt was not created, only reported
    assert (job.done, job.already_in_store, job.already_in_store_products) == (
        0, 1, [{"product": "Linen shirt", "skus": ["SHIRT-S"]}])
    assert destination_skus(world) == ["SHIRT-S"]


def test_a_product_shopify_refuses_says_why_on_the_job_and_the_product_row(client, emulator):
    # given a source product whose mirror holds two variants with the same option value (what
    # a product made by the emulator's CLI used to look like)
    world = build(emulator)
    emulator.product_create(SOURCE, title="Tote", variants=[
        {"sku": "TOTE-A", "price": "1.00", "available": 2},
        {"sku": "TOTE-B", "price": "1.00", "available": 3}])
    world.settle()
    product = SourceProduct.objects.get()
    SourceProduct.objects.filter(pk=product.pk).update(
        options=[{"name": "Title", "values": ["Default Title"]}])
    SourceVariant.objects.filter(product=product).update(
        title="Default Title", option_values=[{"name": "Title", "value": "Default Title"}])
    # when the destination syncs it
    job = sync(world, connection())
    # then Shopify's refusal is on the job in plain words, with what to do
    words = ("Shopify refused it: several of its variants have the same option value "
             "(Default Title). Give each variant its own value at the source (for example its "
             "size or colour), then sync it again.")
    assert (job.status, job.done, job.failed) == ("done", 0, 1)
    assert job.errors == [{"product": "Tote", "message": words}]
    assert world.products(DEST_1) == []
    # and on the product's row in the catalogue
    page = client.get(f"/products/sources/{connection().pk}/",
                      headers=headers(emulator, DEST_1))
    assert f"<span class=\"page-subtitle\" data-import-error>Last sync failed: {words}</span>" in (
        page.content.decode())
