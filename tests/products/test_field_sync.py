"""Per-field choices and the price rule after import, end to end through the emulator: the
source merchant edits products (the emulator's control API, which fires products/update like
Shopify), the mirror records what changed, Sync fields wait on the link and the field flush
sends them; Create only and Ignore fields never move."""

from decimal import Decimal

import pytest

from products.autosync import product_links_fields_due
from products.field_flush import field_flush_connection
from products.field_flush_tasks import field_flush_task
from products.imports import product_import_start
from products.models import ProductLink, SourceProduct, SyncEvent
from products.product_settings import connection_product_settings_update
from syncer.redis import redis_client
from syncer.shopify.errors import ShopifyRetryable
from tests.products.catalogue_world import DEST_1, SOURCE, build, connection, shirt

pytestmark = pytest.mark.django_db(transaction=True)

PRODUCT_FIELDS_READ = """query MerchantProductFields($id: ID!) { product(id: $id) {
  title descriptionHtml vendor productType status tags seo { title description }
  metafields(first: 20) { nodes { namespace key type value } }
  media(first: 10) { nodes { ... on MediaImage { image { url } } } }
  variants(first: 50) { nodes { sku barcode price compareAtPrice
    inventoryItem { measurement { weight { value unit } } } } } } }"""
METAFIELDS_SET = """mutation MerchantMetafieldsSet($m: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $m) { metafields { id } userErrors { field message } } }"""
PRODUCT_DELETE = """mutation MerchantProductDelete($input: ProductDeleteInput!) {
  productDelete(input: $input) { deletedProductId userErrors { field message } } }"""


def choose(*, field_sync: dict[str, str] | None = None, namespaces: list[str] | None = None,
           markup_percent: str = "0", markup_fixed: str = "0", rounding: str = "none",
           rate: str | None = None, compare_at: str = "copy") -> None:
    """DEST_1's product settings for its source, saved as its settings screen does."""
    connection_product_settings_update(
        connection=connection(), field_sync=field_sync or {},
        metafield_namespaces=namespaces or [], sync_variants=False,
        price_markup_percent=Decimal(markup_percent), price_markup_fixed=Decimal(markup_fixed),
        price_rounding=rounding, currency_rate=Decimal(rate) if rate else None,
        compare_at_rule=compare_at)


def edit(world, shop: str, product_id: int, **fields) -> dict:
    """The merchant edits a product in the Shopify admin (products/update follows)."""
    return world.emulator._json("PATCH", f"/_emulator/shops/{shop}/products/{product_id}",
                                json=fields)


def product_id_of(node: dict) -> int:
    return int(node["id"].rsplit("/", 1)[1])


def imported(emulator, **shirt_args):
    """A source shirt imported into DEST_1 with the settings chosen before; returns (world,
    the source product, the destination product id)."""
    world = build(emulator)
    product = shirt(world, **shirt_args)
    world.settle()
    return world, product, import_shirt(world)


def import_shirt(world) -> int:
    job = product_import_start(connection=connection(),
                               source_product_ids=[SourceProduct.objects.get().pk])
    world.settle()
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("done", 1, 0), job.errors
    return ProductLink.objects.get().destination_product_id


def read(world, product_id: int) -> dict:
    return world.admin(DEST_1, PRODUCT_FIELDS_READ,
                       {"id": f"gid://shopify/Product/{product_id}"})["product"]


def calls(emulator, root: str) -> int:
    return emulator.stats()["root_fields"].get(DEST_1, {}).get(root, 0)


def field_events(kind: str | None = None) -> list[tuple[str, str, str, str]]:
    events = SyncEvent.objects.filter(kind__in=[kind] if kind else ["field", "price", "status"])
    return list(events.order_by("pk").values_list("field", "from_value", "to_value", "result"))


def test_a_synced_field_edit_at_the_source_reaches_the_destination(emulator):
    world = build(emulator)
    choose(field_sync={"title": "sync", "description": "sync", "tags": "sync", "vendor": "sync",
                       "product_type": "sync", "images": "sync", "status": "sync"})
    product = shirt(world)
    world.settle()
    destination_id = import_shirt(world)
    # when the source merchant edits every one of them
    edit(world, SOURCE, product_id_of(product), title="Linen shirt II",
         description="<p>Finer linen.</p>", tags=["summer", "new"], vendor="Acme Mills",
         product_type="Tops", status="draft",
         images=[{"src": "https://cdn.example/front.png", "alt": "Front"},
                 {"src": "https://cdn.example/back.png", "alt": "Back"}])
    world.settle()
    # then the destination shows them, each recorded with from → to
    copy = read(world, destination_id)
    assert (copy["title"], copy["descriptionHtml"], copy["tags"], copy["vendor"],
            copy["productType"], copy["status"]) == (
        "Linen shirt II", "<p>Finer linen.</p>", ["summer", "new"], "Acme Mills", "Tops",
        "DRAFT")
    assert [m["image"]["url"] for m in copy["media"]["nodes"]] == [
        "https://cdn.example/front.png", "https://cdn.example/back.png"]
    assert sorted(field_events()) == sorted([
        ("Title", "Linen shirt", "Linen shirt II", "ok"),
        ("Description", "Cool linen.", "Finer linen.", "ok"),
        ("Images", "shirt-s.png", "front.png, back.png", "ok"),
        ("Tags", "summer", "summer, new", "ok"),
        ("Vendor", "Acme", "Acme Mills", "ok"),
        ("Product type", "Shirts", "Tops", "ok"),
        ("Status", "active", "draft", "ok"),
    ])
    assert SyncEvent.objects.filter(kind="status").count() == 1
    assert all(latency is not None for latency in SyncEvent.objects.filter(
        kind__in=["field", "status"]).values_list("latency_ms", flat=True))
    assert ProductLink.objects.filter(pending_since__isnull=False).count() == 0


def test_a_create_only_field_edited_at_the_destination_survives_a_source_edit(emulator):
    world, product, destination_id = imported(emulator)
    choose(field_sync={"vendor": "sync"})  # the title stays Create only (its default)
    edit(world, DEST_1, destination_id, title="Our linen shirt")
    # when the source renames it and changes its vendor
    edit(world, SOURCE, product_id_of(product), title="Shirt 2", vendor="Acme Mills")
    world.settle()
    # then only the synced vendor followed
    copy = read(world, destination_id)
    assert (copy["title"], copy["vendor"]) == ("Our linen shirt", "Acme Mills")
    assert field_events() == [("Vendor", "Acme", "Acme Mills", "ok")]
    assert SourceProduct.objects.get().title == "Shirt 2"


def test_an_ignored_field_is_never_sent_not_even_at_import(emulator):
    world = build(emulator)
    choose(field_sync={"vendor": "ignore", "tags": "ignore", "description": "ignore",
                       "barcode": "ignore", "compare_at": "ignore", "images": "ignore",
                       "product_type": "ignore"})
    product = shirt(world)
    world.settle()
    destination_id = import_shirt(world)
    copy = read(world, destination_id)
    assert (copy["vendor"], copy["tags"], copy["descriptionHtml"], copy["productType"],
            copy["media"]["nodes"]) == ("", [], "", "", [])
    assert [(v["sku"], v["barcode"], v["price"], v["compareAtPrice"])
            for v in copy["variants"]["nodes"]] == [("SHIRT-S", None, "30.00", None),
                                                    ("SHIRT-M", None, "30.00", None)]
    # when the source edits them later
    edit(world, SOURCE, product_id_of(product), vendor="Acme Mills", tags=["x"],
         variants=[{"id": product_id_of({"id": v["id"]}), "barcode": "NEW",
                    "compare_at_price": "50.00"} for v in product["variants"]["nodes"]])
    world.settle()
    # then nothing of them was sent
    assert read(world, destination_id) == copy
    assert field_events() == []


def test_the_price_rule_prices_the_import_and_every_price_change(emulator):
    world = build(emulator)
    # × 1.5 (currency), + 10 %, + 1.00, up to .99; compare-at by the same rule
    choose(field_sync={"price": "sync", "compare_at": "sync"}, markup_percent="10",
           markup_fixed="1", rounding="99", rate="1.5", compare_at="rule")
    product = shirt(world)
    world.settle()
    destination_id = import_shirt(world)
    # 30 × 1.5 × 1.1 + 1 = 50.50 → 50.99; 40 → 67.00 → 67.99
    assert [(v["price"], v["compareAtPrice"]) for v in read(world, destination_id)[
        "variants"]["nodes"]] == [("50.99", "67.99"), ("50.99", "67.99")]
    small, medium = (product_id_of({"id": v["id"]}) for v in product["variants"]["nodes"])
    # when the source reprices the small size: 20 → 34.00 → 34.99
    edit(world, SOURCE, product_id_of(product), variants=[{"id": small, "price": "20.00"}])
    world.settle()
    assert [v["price"] for v in read(world, destination_id)["variants"]["nodes"]] == [
        "34.99", "50.99"]
    # (under a rule the store's price before is not known: blank; the cause says the source's)
    assert field_events("price") == [("SHIRT-S price", "", "34.99", "ok")]
    # compare-at copied (converted only), then cleared
    choose(field_sync={"price": "sync", "compare_at": "sync"}, rate="1.5", compare_at="copy")
    edit(world, SOURCE, product_id_of(product),
         variants=[{"id": medium, "compare_at_price": "44.00"}])
    world.settle()
    choose(field_sync={"price": "sync", "compare_at": "sync"}, compare_at="clear")
    edit(world, SOURCE, product_id_of(product),
         variants=[{"id": small, "compare_at_price": "41.00"}])
    world.settle()
    assert [(v["price"], v["compareAtPrice"]) for v in read(world, destination_id)[
        "variants"]["nodes"]] == [("34.99", None), ("50.99", "66.00")]
    assert field_events("price")[1:] == [
        ("SHIRT-M compare-at price", "", "66.00", "ok"),
        ("SHIRT-S compare-at price", "", "none", "ok")]


def test_five_rapid_edits_make_one_product_call(emulator):
    world, product, destination_id = imported(emulator)
    choose(field_sync={"title": "sync", "vendor": "sync"})
    before = calls(emulator, "productUpdate") + calls(emulator, "productSet")
    # while a flush of this destination runs (it holds the lock), five edits arrive
    lock = redis_client().lock(f"syncer:field-flush:{connection().pk}", timeout=60)
    assert lock.acquire(blocking=False)
    for n in range(1, 6):
        edit(world, SOURCE, product_id_of(product), title=f"Shirt v{n}", vendor=f"Vendor {n}")
        world.settle()
    link = ProductLink.objects.get()
    assert link.pending_fields == {"title": "Linen shirt", "vendor": "Acme"}
    # when the flush runs once the lock is free
    lock.release()
    field_flush_task(connection().pk)
    # then one product call carried the latest of each, from the first
    assert calls(emulator, "productUpdate") + calls(emulator, "productSet") == before + 1
    copy = read(world, destination_id)
    assert (copy["title"], copy["vendor"]) == ("Shirt v5", "Vendor 5")
    assert field_events() == [("Title", "Linen shirt", "Shirt v5", "ok"),
                              ("Vendor", "Acme", "Vendor 5", "ok")]
    link.refresh_from_db()
    assert (link.pending_fields, link.pending_since) == ({}, None)


def test_shopify_refusing_a_change_is_recorded_as_failed_and_not_retried(emulator):
    world, product, destination_id = imported(emulator)
    choose(field_sync={"title": "sync", "price": "sync"})
    # the destination merchant deleted their copy
    world.admin(DEST_1, PRODUCT_DELETE, {"input": {"id": f"gid://shopify/Product/"
                                                         f"{destination_id}"}})
    small = product_id_of({"id": product["variants"]["nodes"][0]["id"]})
    edit(world, SOURCE, product_id_of(product), title="Shirt 2",
         variants=[{"id": small, "price": "31.00"}])
    world.settle()
    events = SyncEvent.objects.filter(kind__in=["field", "price"]).order_by("pk")
    assert [(e.field, e.result) for e in events] == [("Title", "failed"),
                                                     ("SHIRT-S price", "failed")]
    assert all(e.error.startswith("Shopify refused the change: ") for e in events)
    assert ProductLink.objects.get().pending_fields == {}
    # the source's edit itself is kept in the mirror
    assert SourceProduct.objects.get().title == "Shirt 2"


def test_a_flush_that_cannot_reach_shopify_keeps_the_fields_waiting(emulator):
    world, product, destination_id = imported(emulator)
    choose(field_sync={"title": "sync"})
    lock = redis_client().lock(f"syncer:field-flush:{connection().pk}", timeout=60)
    assert lock.acquire(blocking=False)
    edit(world, SOURCE, product_id_of(product), title="Shirt 2")
    world.settle()
    lock.release()
    # when Shopify answers every destination call with a server error
    emulator.faults(shop=DEST_1, error_rate=1.0)
    with pytest.raises(ShopifyRetryable):
        field_flush_connection(connection_id=connection().pk)
    # then nothing was recorded and the title still waits
    assert field_events() == []
    assert ProductLink.objects.get().pending_fields == {"title": "Linen shirt"}
    # and the retry sends it
    emulator.faults(shop=DEST_1, error_rate=0.0)
    field_flush_connection(connection_id=connection().pk)
    assert read(world, destination_id)["title"] == "Shirt 2"
    assert field_events() == [("Title", "Linen shirt", "Shirt 2", "ok")]


def test_a_price_the_rule_makes_negative_is_not_sent(emulator):
    world, product, destination_id = imported(emulator)
    choose(field_sync={"price": "sync"}, markup_fixed="-25")
    small, medium = (product_id_of({"id": v["id"]}) for v in product["variants"]["nodes"])
    edit(world, SOURCE, product_id_of(product), variants=[{"id": small, "price": "20.00"},
                                                          {"id": medium, "price": "35.00"}])
    world.settle()
    assert [v["price"] for v in read(world, destination_id)["variants"]["nodes"]] == [
        "30.00", "10.00"]
    failed = SyncEvent.objects.get(kind="price", result="failed")
    assert (failed.field, failed.error) == (
        "SHIRT-S price",
        "The price rule makes 20.00 into -5.00, below zero: change the fixed markup.")
    # (from: not known under a rule — the store's price is not read before writing — so blank;
    # the cause says what the source's price did)
    assert field_events("price")[-1] == ("SHIRT-M price", "", "10.00", "ok")
    assert SyncEvent.objects.get(kind="price", result="ok").cause == (
        "A change at the source: 30.00 → 35.00 there, priced by your price rule")


def test_an_import_the_rule_would_price_below_zero_fails_in_words(emulator):
    world = build(emulator)
    choose(markup_fixed="-31")
    shirt(world)
    world.settle()
    job = product_import_start(connection=connection(),
                               source_product_ids=[SourceProduct.objects.get().pk])
    world.settle()
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("done", 0, 1)
    assert job.errors == [{"product": "Linen shirt", "message": (
        "Not imported: The price rule makes 30.00 into -1.00, below zero: change the fixed "
        "markup.")}]
    assert world.products(DEST_1) == []


def test_a_rule_change_rewrites_no_history_and_applies_from_the_next_change(emulator):
    world, product, destination_id = imported(emulator)
    choose(field_sync={"price": "sync"})
    small = product_id_of({"id": product["variants"]["nodes"][0]["id"]})
    edit(world, SOURCE, product_id_of(product), variants=[{"id": small, "price": "32.00"}])
    world.settle()
    history = list(SyncEvent.objects.order_by("pk").values())
    # when the destination adds a markup
    choose(field_sync={"price": "sync"}, markup_percent="50")
    world.settle()
    # then nothing was resent and the history is as it was
    assert list(SyncEvent.objects.order_by("pk").values()) == history
    assert [v["price"] for v in read(world, destination_id)["variants"]["nodes"]] == [
        "32.00", "30.00"]
    # and the next source change is priced by it
    edit(world, SOURCE, product_id_of(product), variants=[{"id": small, "price": "20.00"}])
    world.settle()
    assert [v["price"] for v in read(world, destination_id)["variants"]["nodes"]] == [
        "30.00", "30.00"]
    assert field_events("price")[-1] == ("SHIRT-S price", "", "30.00", "ok")


def test_fields_due_sends_the_price_rule_to_every_synced_product_now(emulator):
    world, _product, destination_id = imported(emulator)
    choose(field_sync={"price": "sync"}, markup_percent="10")
    # when the merchant applies the rule to the products already synced
    assert product_links_fields_due(connection=connection(), fields={"price", "title"},
                                    cause="price rule applied from settings") == 1
    world.settle()
    # then every variant's price follows it (the title is Create only: not sent)
    assert [v["price"] for v in read(world, destination_id)["variants"]["nodes"]] == [
        "33.00", "33.00"]
    assert [(e.field, e.from_value, e.to_value, e.cause) for e in SyncEvent.objects.filter(
        kind="price").order_by("pk")] == [
        ("SHIRT-S price", "", "33.00", "Sent again by Syncer after your settings changed"),
        ("SHIRT-M price", "", "33.00", "Sent again by Syncer after your settings changed")]


def test_seo_metafields_and_weight_follow_and_the_destinations_own_metafields_stay(emulator):
    world, product, destination_id = imported(emulator)
    choose(field_sync={"seo": "sync", "metafields": "sync", "weight": "sync",
                       "barcode": "sync"}, namespaces=["custom"])
    world.admin(DEST_1, METAFIELDS_SET, {"m": [{
        "ownerId": f"gid://shopify/Product/{destination_id}", "namespace": "shop",
        "key": "note", "type": "single_line_text_field", "value": "ours"}]})
    small = product_id_of({"id": product["variants"]["nodes"][0]["id"]})
    # when the source sets its SEO, metafields (one namespace chosen), a weight and a barcode
    edit(world, SOURCE, product_id_of(product),
         seo={"title": "Linen shirt | Acme", "description": "Cool linen shirts."},
         metafields=[{"namespace": "custom", "key": "material",
                      "type": "single_line_text_field", "value": "linen"},
                     {"namespace": "other", "key": "code", "type": "single_line_text_field",
                      "value": "X1"}],
         variants=[{"id": small, "weight": 0.25, "weight_unit": "kg", "barcode": "B-NEW"}])
    world.settle()
    copy = read(world, destination_id)
    assert copy["seo"] == {"title": "Linen shirt | Acme", "description": "Cool linen shirts."}
    assert sorted((m["namespace"], m["key"], m["value"]) for m in copy["metafields"]["nodes"]) == [
        ("custom", "material", "linen"), ("shop", "note", "ours")]
    first = copy["variants"]["nodes"][0]
    assert (first["barcode"], first["inventoryItem"]["measurement"]["weight"]) == (
        "B-NEW", {"value": 0.25, "unit": "KILOGRAMS"})
    mirror = SourceProduct.objects.get()
    assert (mirror.seo_title, len(mirror.metafields)) == ("Linen shirt | Acme", 2)
    # a later products/update (no SEO in it) leaves the mirror's SEO as it is
    choose()
    edit(world, SOURCE, product_id_of(product), title="Shirt 2")
    world.settle()
    mirror.refresh_from_db()
    assert (mirror.title, mirror.seo_title, len(mirror.metafields)) == (
        "Shirt 2", "Linen shirt | Acme", 2)
