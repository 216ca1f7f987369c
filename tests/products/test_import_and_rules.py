"""Import into a destination, then auto-sync rules and the hidden tag, end to end through the
emulator (webhooks from the source's admin actions drive every change)."""

from decimal import Decimal

import pytest

from products.autosync import product_links_auto_sync_set, product_links_unsync
from products.imports import ImportRefused, product_import_start
from products.models import ProductJob, ProductLink, SourceProduct, SyncEvent, VariantLink
from products.product_settings import connection_product_settings_update
from stores.connections import connection_block
from tests.products.catalogue_world import (
    DEST_1,
    PRODUCT_UPDATE,
    SOURCE,
    TAGS_ADD,
    TAGS_REMOVE,
    VARIANTS_CREATE,
    VARIANTS_UPDATE,
    build,
    connection,
    shirt,
)
from tests.stores.factories import subscription_active

pytestmark = pytest.mark.django_db(transaction=True)


def choose(*, field_sync: dict[str, str] | None = None, sync_variants: bool = False,
           **rule) -> None:
    """The destination's product settings for DEST_1's source, saved as its screen does."""
    conn = connection()
    connection_product_settings_update(
        connection=conn, field_sync=field_sync or {},
        metafield_namespaces=rule.pop("metafield_namespaces", []), sync_variants=sync_variants,
        price_markup_percent=rule.pop("price_markup_percent", Decimal(0)),
        price_markup_fixed=rule.pop("price_markup_fixed", Decimal(0)),
        price_rounding=rule.pop("price_rounding", "none"),
        currency_rate=rule.pop("currency_rate", None),
        compare_at_rule=rule.pop("compare_at_rule", "copy"))
    assert not rule, rule


def imported(emulator, **shirt_args):
    """A source shirt imported into DEST_1; returns (world, source product, destination id)."""
    world = build(emulator)
    product = shirt(world, **shirt_args)
    world.settle()
    conn = connection()
    job = product_import_start(connection=conn, source_product_ids=[SourceProduct.objects.get(
        shopify_id=int(product["id"].rsplit("/", 1)[1])).pk])
    world.settle()
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("done", 1, 0), job.errors
    link = ProductLink.objects.get()
    return world, product, link.destination_product_id


def test_import_copies_exactly_the_listed_fields_and_sets_stock(emulator):
    world = build(emulator)
    product = shirt(world, stock=(10, 4))
    world.settle()
    conn = connection()
    conn.safety_stock = 1
    conn.save()
    mirror = SourceProduct.objects.get()
    # when the destination imports it
    job = product_import_start(connection=conn, source_product_ids=[mirror.pk])
    world.settle()
    # then the job finished and the product exists at the destination with the source's data
    job.refresh_from_db()
    assert (job.status, job.total, job.done, job.failed, job.percent) == ("done", 1, 1, 0, 100)
    link = ProductLink.objects.get()
    assert (link.origin, link.auto_sync, link.source_product) == ("imported", True, mirror)
    copy = world.product(DEST_1, link.destination_product_id)
    source = world.product(SOURCE, int(product["id"].rsplit("/", 1)[1]))
    for key in ("title", "descriptionHtml", "vendor", "productType", "status", "tags", "options",
                "media"):
        assert copy[key] == source[key], key
    fields = ("title", "sku", "barcode", "price", "compareAtPrice", "selectedOptions")
    assert [{k: v[k] for k in fields} | {"tracked": v["inventoryItem"]["tracked"]}
            for v in copy["variants"]["nodes"]] == [
        {k: v[k] for k in fields} | {"tracked": v["inventoryItem"]["tracked"]}
        for v in source["variants"]["nodes"]]
    # stock: source available less safety stock, recorded as last written
    assert [v["inventoryQuantity"] for v in copy["variants"]["nodes"]] == [9, 3]
    assert sorted(VariantLink.objects.values_list("source_variant__sku",
                                                  "last_written_quantity")) == [
        ("SHIRT-M", 3), ("SHIRT-S", 9)]
    items = {v["sku"]: int(v["inventoryItem"]["id"].rsplit("/", 1)[1])
             for v in copy["variants"]["nodes"]}
    assert set(VariantLink.objects.values_list("destination_inventory_item_id", flat=True)) == set(
        items.values())
    kinds = list(SyncEvent.objects.filter(source_product=mirror).values_list("kind", flat=True))
    assert sorted(kinds) == ["imported", "inventory", "inventory"]


def test_a_destination_title_edit_survives_a_source_title_change(emulator):
    world, product, destination_id = imported(emulator)
    world.admin(DEST_1, PRODUCT_UPDATE, {"product": {
        "id": f"gid://shopify/Product/{destination_id}", "title": "Our linen shirt"}})
    # when the source renames it and changes its price (price rule off)
    world.admin(SOURCE, PRODUCT_UPDATE, {"product": {"id": product["id"], "title": "Shirt 2"}})
    world.admin(SOURCE, VARIANTS_UPDATE, {"p": product["id"], "v": [
        {"id": v["id"], "price": "35.00"} for v in product["variants"]["nodes"]]})
    world.settle()
    # then nothing of the destination's product changed
    copy = world.product(DEST_1, destination_id)
    assert copy["title"] == "Our linen shirt"
    assert [v["price"] for v in copy["variants"]["nodes"]] == ["30.00", "30.00"]
    assert SourceProduct.objects.get().title == "Shirt 2"


def test_price_rule_on_makes_the_destination_price_follow(emulator):
    world, product, destination_id = imported(emulator)
    choose(field_sync={"price": "sync", "compare_at": "sync"})
    small = product["variants"]["nodes"][0]
    # when the source reprices one size
    world.admin(SOURCE, VARIANTS_UPDATE, {"p": product["id"], "v": [
        {"id": small["id"], "price": "27.50", "compareAtPrice": None}]})
    world.settle()
    copy = world.product(DEST_1, destination_id)
    assert [(v["price"], v["compareAtPrice"]) for v in copy["variants"]["nodes"]] == [
        ("27.50", None), ("30.00", "40.00")]
    events = list(SyncEvent.objects.filter(kind="price").values_list("field", "from_value",
                                                                    "to_value", "result"))
    # (what the store showed before is not read: the cause says the source's change)
    assert events == [("SHIRT-S price", "", "27.50", "ok"),
                      ("SHIRT-S compare-at price", "", "none", "ok")]
    assert list(SyncEvent.objects.filter(kind="price").values_list("cause", flat=True)) == [
        "A change at the source: 30.00 → 27.50 there",
        "A change at the source: 40.00 → none there"]


def test_a_variant_added_at_the_source_is_added_only_with_the_rule_on(emulator):
    world, product, destination_id = imported(emulator)
    world.admin(SOURCE, VARIANTS_CREATE, {"p": product["id"], "v": [{
        "optionValues": [{"optionName": "Size", "name": "L"}], "price": "32.00",
        "inventoryItem": {"sku": "SHIRT-L"}}]})
    world.stock(SOURCE, "SHIRT-L", 7)
    world.settle()
    assert len(world.product(DEST_1, destination_id)["variants"]["nodes"]) == 2
    # when the destination turns the variants rule on and the source adds another size
    choose(sync_variants=True)
    world.admin(SOURCE, VARIANTS_CREATE, {"p": product["id"], "v": [{
        "optionValues": [{"optionName": "Size", "name": "XL"}], "price": "33.00",
        "inventoryItem": {"sku": "SHIRT-XL"}}]})
    world.settle()
    # then both new sizes arrive (state-based: the missing L too), with their stock
    copy = world.product(DEST_1, destination_id)
    assert [(v["sku"], v["price"], v["inventoryQuantity"]) for v in copy["variants"]["nodes"]] == [
        ("SHIRT-S", "30.00", 10), ("SHIRT-M", "30.00", 4), ("SHIRT-L", "32.00", 7),
        ("SHIRT-XL", "33.00", 0)]
    assert VariantLink.objects.count() == 4
    assert copy["options"] == [{"name": "Size", "position": 1,
                                "values": ["S", "M", "L", "XL"]}]


def test_a_variant_removed_at_the_source_is_removed_with_the_rule_and_unlinked_without(emulator):
    world, product, destination_id = imported(emulator)
    link = ProductLink.objects.get()
    medium = product["variants"]["nodes"][1]
    choose(sync_variants=True)
    world.product_set(SOURCE, {"variants": [{
        "id": product["variants"]["nodes"][0]["id"],
        "optionValues": [{"optionName": "Size", "name": "S"}]}],
        "productOptions": [{"name": "Size", "values": [{"name": "S"}]}]},
        product_id=int(product["id"].rsplit("/", 1)[1]))
    world.settle()
    copy = world.product(DEST_1, destination_id)
    assert [v["sku"] for v in copy["variants"]["nodes"]] == ["SHIRT-S"]
    assert list(link.variant_links.values_list("source_variant__sku", flat=True)) == ["SHIRT-S"]
    assert SyncEvent.objects.filter(kind="variants", to_value="removed").count() == 1
    assert medium


def test_publish_status_rule(emulator):
    world, product, destination_id = imported(emulator)
    world.admin(SOURCE, PRODUCT_UPDATE, {"product": {"id": product["id"], "status": "DRAFT"}})
    world.settle()
    assert world.product(DEST_1, destination_id)["status"] == "ACTIVE"
    choose(field_sync={"status": "sync"})
    world.admin(SOURCE, PRODUCT_UPDATE, {"product": {"id": product["id"], "status": "ARCHIVED"}})
    world.settle()
    assert world.product(DEST_1, destination_id)["status"] == "ARCHIVED"


def test_a_product_imported_below_the_draft_rule_is_drafted_at_once(emulator):
    # given a destination drafting products with fewer than 20 units (the shirt has 10 + 4)
    world = build(emulator)
    shirt(world, stock=(10, 4))
    world.settle()
    conn = connection()
    conn.draft_below = 20
    conn.save()
    # when it imports the shirt (its first stock is in the productSet: no stock write follows)
    job = product_import_start(connection=conn, source_product_ids=[
        SourceProduct.objects.get().pk])
    world.settle()
    # then the copy is drafted by the rule, and the history says why
    link = ProductLink.objects.get()
    assert world.product(DEST_1, link.destination_product_id)["status"] == "DRAFT"
    assert link.drafted_by_rule is True
    assert list(SyncEvent.objects.filter(kind=SyncEvent.Kind.STATUS).values_list(
        "from_value", "to_value")) == [("active", "draft")]
    job.refresh_from_db()
    assert job.done == 1


def test_the_hidden_tag_stops_sync_and_tells_the_destination(emulator):
    world, product, destination_id = imported(emulator)
    choose(field_sync={"price": "sync", "compare_at": "sync"})
    # when the source hides the synced product and then changes its price
    world.admin(SOURCE, TAGS_ADD, {"id": product["id"], "tags": ["syncer-hidden"]})
    world.settle()
    world.admin(SOURCE, VARIANTS_UPDATE, {"p": product["id"], "v": [
        {"id": v["id"], "price": "99.00"} for v in product["variants"]["nodes"]]})
    world.settle()
    # then the destination was told and nothing followed
    event = SyncEvent.objects.get(kind="hidden")
    assert (event.from_value, event.to_value) == ("visible", "hidden")
    assert "sync stopped" in event.cause
    assert [v["price"] for v in world.product(DEST_1, destination_id)["variants"]["nodes"]] == [
        "30.00", "30.00"]
    # when it shows it again, sync resumes: price and stock follow
    world.stock(SOURCE, "SHIRT-S", 2)
    world.admin(SOURCE, TAGS_REMOVE, {"id": product["id"], "tags": ["syncer-hidden"]})
    world.settle()
    assert list(SyncEvent.objects.filter(kind="hidden").values_list("to_value", flat=True)
                .order_by("pk")) == ["hidden", "visible"]
    copy = world.product(DEST_1, destination_id)
    assert [v["inventoryQuantity"] for v in copy["variants"]["nodes"]][0] == 2
    # a hidden product cannot be imported by another destination either
    assert SourceProduct.objects.get().hidden is False


def test_auto_sync_off_on_and_unsync(emulator):
    world, product, destination_id = imported(emulator)
    conn = connection()
    mirror = SourceProduct.objects.get()
    assert product_links_auto_sync_set(connection=conn, source_product_ids=[mirror.pk],
                                       enabled=False, actor_user_id="1") == 1
    assert ProductLink.objects.get().auto_sync is False
    # the destination edits its stock while sync is off; turning it on overwrites it
    world.stock(DEST_1, "SHIRT-S", 50)
    world.settle()
    assert product_links_auto_sync_set(connection=conn, source_product_ids=[mirror.pk],
                                       enabled=True, actor_user_id="1") == 1
    world.settle()
    copy = world.product(DEST_1, destination_id)
    assert [v["inventoryQuantity"] for v in copy["variants"]["nodes"]] == [10, 4]
    assert list(SyncEvent.objects.filter(kind="auto_sync").values_list("to_value", flat=True)
                .order_by("pk")) == ["off", "on"]
    # unsync: the link goes, the product stays, history stays findable
    assert product_links_unsync(connection=conn, source_product_ids=[mirror.pk]) == 1
    assert ProductLink.objects.count() == 0
    assert world.product(DEST_1, destination_id)["title"] == "Linen shirt"
    assert SyncEvent.objects.filter(source_product=mirror, kind="unlinked").count() == 1


def test_import_refusals(emulator):
    world = build(emulator)
    shirt(world)
    world.settle()
    mirror = SourceProduct.objects.get()
    conn = connection()
    product_import_start(connection=conn, source_product_ids=[mirror.pk])
    world.settle()
    with pytest.raises(ImportRefused, match="already synced"):
        product_import_start(connection=conn, source_product_ids=[mirror.pk])
    connection_block(connection=conn, actor=conn.source)
    conn.refresh_from_db()
    with pytest.raises(ImportRefused, match="blocked your store"):
        product_import_start(connection=conn, source_product_ids=[mirror.pk])
    assert ProductJob.objects.count() == 1


def test_a_job_larger_than_one_batch_imports_everything(emulator):
    from products.jobs import BATCH_SIZE

    world = build(emulator)
    subscription_active(connection().destination)  # a plan that syncs them all
    count = BATCH_SIZE * 2 + 3
    for n in range(count):
        emulator.product_create(SOURCE, title=f"Mug {n:02d}",
                                variants=[{"sku": f"MUG-{n:02d}", "price": "8.00",
                                           "available": n}])
    world.settle()
    job = product_import_start(connection=connection(),
                               source_product_ids=SourceProduct.objects.values_list("pk",
                                                                                    flat=True))
    world.settle()
    job.refresh_from_db()
    assert (job.status, job.total, job.done, job.failed, job.source_product_ids) == (
        "done", count, count, 0, [])
    assert sorted(VariantLink.objects.values_list("last_written_quantity", flat=True)) == list(
        range(count))
    assert len(world.products(DEST_1)) == count


def test_the_sweeper_resumes_a_job_whose_task_was_lost(emulator):
    from datetime import timedelta

    from django.utils import timezone

    from products.tasks import product_jobs_sweep_task

    world = build(emulator)
    shirt(world)
    world.settle()
    mirror = SourceProduct.objects.get()
    job = ProductJob.objects.create(connection=connection(), kind="import", total=1,
                                    source_product_ids=[mirror.pk])
    ProductJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    product_jobs_sweep_task()
    world.settle()
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 1)
    assert ProductLink.objects.count() == 1
