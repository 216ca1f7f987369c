"""Every field's choice end to end through the emulator (issue 20's acceptance): with half the
fields on Sync and the other half on Create only, the destination edits every field of its copy,
then the source edits every field — the Sync half follows, the Create only half stays the
destination's, in the same calls; one destination ignoring what another syncs receives none of
it, at import or later; option values follow (option names never); a choice changed while an
edit waits sends nothing and rewrites no history; a variant added later is priced by the rule;
SEO and metafields copied at import are the source's as they are then, not the mirror's."""

from decimal import Decimal

import pytest

from products.field_flush_tasks import field_flush_task
from products.imports import product_import_start
from products.models import ProductLink, SourceProduct, SyncEvent, VariantLink
from products.product_settings import connection_product_settings_update
from syncer.redis import redis_client
from tests.products.catalogue_world import (
    DEST_1,
    DEST_2,
    SOURCE,
    VARIANTS_CREATE,
    build,
    connection,
    shirt,
)

pytestmark = pytest.mark.django_db(transaction=True)

READ = """query MerchantProductAll($id: ID!) { product(id: $id) {
  title descriptionHtml vendor productType status tags seo { title description }
  options { name values }
  metafields(first: 20) { nodes { namespace key value } }
  media(first: 10) { nodes { ... on MediaImage { image { url } } } }
  variants(first: 50) { nodes { id title sku barcode price compareAtPrice
    inventoryItem { measurement { weight { value unit } } } } } } }"""

# One product call's fields and one variants call's in each half, so a Create only field rides
# in the same calls as the synced ones.
HALF_A = ("title", "images", "vendor", "seo", "options", "barcode", "compare_at")
HALF_B = ("description", "tags", "product_type", "metafields", "weight", "price", "status")
MATERIAL = {"namespace": "custom", "key": "material", "type": "single_line_text_field"}


def choose(destination: str = DEST_1, *, field_sync: dict[str, str],
           namespaces: tuple[str, ...] = (), sync_variants: bool = False,
           markup_percent: str = "0") -> None:
    """The destination's product settings for the source, saved as its settings screen does."""
    connection_product_settings_update(
        connection=connection(destination), field_sync=field_sync,
        metafield_namespaces=list(namespaces), sync_variants=sync_variants,
        price_markup_percent=Decimal(markup_percent), price_markup_fixed=Decimal(0),
        price_rounding="none", currency_rate=None, compare_at_rule="copy")


def edit(world, shop: str, product_id: int, **fields) -> dict:
    """The merchant edits a product in the Shopify admin (products/update follows)."""
    return world.emulator._json("PATCH", f"/_emulator/shops/{shop}/products/{product_id}",
                                json=fields)


def numeric(gid: str) -> int:
    return int(gid.rsplit("/", 1)[1])


def import_into(world, destination: str) -> int:
    job = product_import_start(connection=connection(destination),
                               source_product_ids=[SourceProduct.objects.get().pk])
    world.settle()
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("done", 1, 0), job.errors
    return ProductLink.objects.get(connection=connection(destination)).destination_product_id


def read(world, shop: str, product_id: int) -> dict:
    return world.admin(shop, READ, {"id": f"gid://shopify/Product/{product_id}"})["product"]


def every_field_edit(*, variant_id: int, word: str, status: str) -> dict:
    """A merchant's edit of every field (its first variant's for variant fields)."""
    return {
        "title": f"{word} shirt", "description": f"<p>{word} text.</p>",
        "images": [{"src": f"https://cdn.example/{word.lower()}.png", "alt": word}],
        "tags": [f"{word.lower()}-tag"], "vendor": f"{word} Mills",
        "product_type": f"{word} type", "status": status,
        "seo": {"title": f"{word} SEO", "description": f"{word} SEO text."},
        "metafields": [{**MATERIAL, "value": word.lower()}],
        "options": [{"values": [f"{word} S", f"{word} M"]}],
        "variants": [{"id": variant_id, "barcode": f"{word.upper()}-BAR", "price": (
            "33.00" if word == "Source" else "29.00"), "compare_at_price": (
            "44.00" if word == "Source" else "39.00"), "weight": (
            1.5 if word == "Source" else 2), "weight_unit": "kg" if word == "Source" else "lb"}],
    }


def field_values(copy: dict) -> dict[str, object]:
    """Each field as the destination's admin shows it."""
    first = copy["variants"]["nodes"][0]
    return {
        "title": copy["title"], "description": copy["descriptionHtml"],
        "images": [m["image"]["url"] for m in copy["media"]["nodes"]], "tags": copy["tags"],
        "vendor": copy["vendor"], "product_type": copy["productType"], "status": copy["status"],
        "seo": (copy["seo"]["title"], copy["seo"]["description"]),
        "metafields": sorted((m["namespace"], m["key"], m["value"])
                             for m in copy["metafields"]["nodes"]),
        "options": [v["title"] for v in copy["variants"]["nodes"]],
        "barcode": first["barcode"], "price": first["price"],
        "compare_at": first["compareAtPrice"],
        "weight": first["inventoryItem"]["measurement"]["weight"],
    }


def expected_values(word: str, status: str) -> dict[str, object]:
    source = word == "Source"
    return {
        "title": f"{word} shirt", "description": f"<p>{word} text.</p>",
        "images": [f"https://cdn.example/{word.lower()}.png"], "tags": [f"{word.lower()}-tag"],
        "vendor": f"{word} Mills", "product_type": f"{word} type", "status": status,
        "seo": (f"{word} SEO", f"{word} SEO text."),
        "metafields": [("custom", "material", word.lower())],
        "options": [f"{word} S", f"{word} M"], "barcode": f"{word.upper()}-BAR",
        "price": "33.00" if source else "29.00", "compare_at": "44.00" if source else "39.00",
        "weight": ({"value": 1.5, "unit": "KILOGRAMS"} if source
                   else {"value": 2.0, "unit": "POUNDS"}),
    }


LABELS = {"title": "Title", "description": "Description", "images": "Images", "tags": "Tags",
          "vendor": "Vendor", "product_type": "Product type",
          "seo": "SEO title and description", "metafields": "Metafields",
          "options": "Options", "status": "Status", "barcode": "SHIRT-S barcode",
          "price": "SHIRT-S price", "compare_at": "SHIRT-S compare-at price",
          "weight": "SHIRT-S weight"}


@pytest.mark.parametrize(("synced", "create_only"), [(HALF_A, HALF_B), (HALF_B, HALF_A)],
                         ids=["a-syncs", "b-syncs"])
def test_synced_fields_follow_and_create_only_fields_stay_the_destinations(emulator, synced,
                                                                            create_only):
    # given a shirt imported with half its fields on Sync, the other half Create only
    world = build(emulator)
    choose(field_sync={name: "sync" for name in synced}
           | {name: "create" for name in create_only}, namespaces=("custom",))
    product = shirt(world)
    world.settle()
    destination_id = import_into(world, DEST_1)
    # and the destination's merchant edited every field of their copy
    ours = read(world, DEST_1, destination_id)
    edit(world, DEST_1, destination_id, **every_field_edit(
        variant_id=numeric(ours["variants"]["nodes"][0]["id"]), word="Our", status="draft"))
    world.settle()
    assert field_values(read(world, DEST_1, destination_id)) == expected_values("Our", "DRAFT")
    # when the source's merchant edits every field too
    edit(world, SOURCE, numeric(product["id"]), **every_field_edit(
        variant_id=numeric(product["variants"]["nodes"][0]["id"]), word="Source",
        status="archived"))
    world.settle()
    # then each synced field is the source's, each Create only field still the destination's
    theirs, mine = expected_values("Source", "ARCHIVED"), expected_values("Our", "DRAFT")
    shown = field_values(read(world, DEST_1, destination_id))
    assert {name: shown[name] for name in synced} == {name: theirs[name] for name in synced}
    assert {name: shown[name] for name in create_only} == {name: mine[name]
                                                           for name in create_only}
    # and the history has one row per synced field, none for a Create only field
    assert sorted(SyncEvent.objects.filter(kind__in=["field", "price", "status"])
                  .values_list("field", "result")) == sorted(
        (LABELS[name], "ok") for name in synced)
    assert ProductLink.objects.get().pending_fields == {}


def test_one_destination_ignores_what_another_syncs_at_import_and_after(emulator):
    # given two destinations of one source: the first ignores SEO, metafields, weight and
    # status; the second syncs them
    world = build(emulator, destinations=(DEST_1, DEST_2))
    ignored = ("seo", "metafields", "weight", "status")
    choose(DEST_1, field_sync={name: "ignore" for name in ignored} | {"title": "sync"})
    choose(DEST_2, field_sync={name: "sync" for name in ignored}, namespaces=("custom",))
    product = shirt(world)
    small = numeric(product["variants"]["nodes"][0]["id"])
    # and a source shirt that is a draft with SEO, a metafield and a weight
    edit(world, SOURCE, numeric(product["id"]), status="draft",
         seo={"title": "Shirt SEO", "description": "About it."},
         metafields=[{**MATERIAL, "value": "linen"}],
         variants=[{"id": small, "weight": 0.3, "weight_unit": "kg"}])
    world.settle()
    # when both import it
    first, second = import_into(world, DEST_1), import_into(world, DEST_2)
    # then the first has none of them (status: Shopify's default), the second all
    ignoring, syncing = read(world, DEST_1, first), read(world, DEST_2, second)
    nothing = {"seo": {"title": None, "description": None}, "metafields": [], "status": "ACTIVE",
               "weight": {"value": 0.0, "unit": "KILOGRAMS"}}

    def four(copy: dict) -> dict:
        return {"seo": copy["seo"], "status": copy["status"],
                "metafields": [(m["namespace"], m["key"], m["value"])
                               for m in copy["metafields"]["nodes"]],
                "weight": copy["variants"]["nodes"][0]["inventoryItem"]["measurement"][
                    "weight"]}

    assert four(ignoring) == nothing
    assert four(syncing) == {"seo": {"title": "Shirt SEO", "description": "About it."},
                             "metafields": [("custom", "material", "linen")], "status": "DRAFT",
                             "weight": {"value": 0.3, "unit": "KILOGRAMS"}}
    # when the source changes all four again (and the title)
    edit(world, SOURCE, numeric(product["id"]), status="archived", title="Shirt 2",
         seo={"title": "Shirt SEO 2", "description": "More about it."},
         metafields=[{**MATERIAL, "value": "hemp"}],
         variants=[{"id": small, "weight": 0.4, "weight_unit": "kg"}])
    world.settle()
    # then the second follows; the first got the title only and was sent nothing else
    assert four(read(world, DEST_2, second)) == {
        "seo": {"title": "Shirt SEO 2", "description": "More about it."},
        "metafields": [("custom", "material", "hemp")], "status": "ARCHIVED",
        "weight": {"value": 0.4, "unit": "KILOGRAMS"}}
    after = read(world, DEST_1, first)
    assert (after["title"], four(after)) == ("Shirt 2", nothing)
    assert list(SyncEvent.objects.filter(connection=connection(DEST_1),
                                         kind__in=["field", "price", "status"])
                .values_list("field", "to_value", "result")) == [("Title", "Shirt 2", "ok")]


def test_option_values_follow_and_a_renamed_option_is_recorded_as_not_followed(emulator):
    # given a shirt (option Size: S, M) imported with options on Sync
    world = build(emulator)
    choose(field_sync={"options": "sync"})
    product = shirt(world)
    world.settle()
    destination_id = import_into(world, DEST_1)
    # when the source renames the values
    edit(world, SOURCE, numeric(product["id"]), options=[{"values": ["Small", "Medium"]}])
    world.settle()
    # then the destination's variants are called so, and the history says it once
    copy = read(world, DEST_1, destination_id)
    assert [(v["sku"], v["title"]) for v in copy["variants"]["nodes"]] == [
        ("SHIRT-S", "Small"), ("SHIRT-M", "Medium")]
    assert copy["options"][0]["name"] == "Size"
    assert list(SyncEvent.objects.filter(kind="field").values_list(
        "field", "from_value", "to_value", "result")) == [
        ("Options", "Size: S, M", "Size: Small, Medium", "ok")]
    # when the source renames the option itself (and a value)
    edit(world, SOURCE, numeric(product["id"]),
         options=[{"name": "Taille", "values": ["Petit", "Medium"]}])
    world.settle()
    # then the value follows under the destination's option name; the name does not, in words
    copy = read(world, DEST_1, destination_id)
    assert ([o["name"] for o in copy["options"]],
            [v["title"] for v in copy["variants"]["nodes"]]) == (["Size"], ["Petit", "Medium"])
    skipped = SyncEvent.objects.get(result="skipped")
    assert (skipped.field, skipped.from_value, skipped.to_value, skipped.error) == (
        "Option 1 name", "Size", "Taille",
        "Option names are not renamed by Syncer: rename “Size” to “Taille” in your store if "
        "you want it to follow.")


def test_a_choice_changed_while_an_edit_waits_sends_nothing_and_rewrites_no_history(emulator):
    # given a title on Sync, an earlier edit sent, and a second edit waiting (a flush holds
    # the destination's lock)
    world = build(emulator)
    choose(field_sync={"title": "sync"})
    product = shirt(world)
    world.settle()
    destination_id = import_into(world, DEST_1)
    edit(world, SOURCE, numeric(product["id"]), title="Shirt 2")
    world.settle()
    history = list(SyncEvent.objects.order_by("pk").values())
    assert [e["to_value"] for e in history if e["kind"] == "field"] == ["Shirt 2"]
    lock = redis_client().lock(f"syncer:field-flush:{connection().pk}", timeout=60)
    assert lock.acquire(blocking=False)
    edit(world, SOURCE, numeric(product["id"]), title="Shirt 3")
    world.settle()
    assert ProductLink.objects.get().pending_fields == {"title": "Shirt 2"}
    # when the merchant makes the title Create only, and the flush runs
    choose(field_sync={"title": "create"})
    lock.release()
    field_flush_task(connection().pk)
    # then the waiting edit was dropped unsent, and the history is exactly as it was
    assert read(world, DEST_1, destination_id)["title"] == "Shirt 2"
    assert list(SyncEvent.objects.order_by("pk").values()) == history
    assert ProductLink.objects.get().pending_since is None
    # when the title is made Sync again, nothing old is sent: only the source's next edit
    choose(field_sync={"title": "sync"})
    world.settle()
    assert list(SyncEvent.objects.order_by("pk").values()) == history
    edit(world, SOURCE, numeric(product["id"]), title="Shirt 4")
    world.settle()
    assert read(world, DEST_1, destination_id)["title"] == "Shirt 4"
    assert list(SyncEvent.objects.filter(kind="field").order_by("pk").values_list(
        "from_value", "to_value")) == [("Linen shirt", "Shirt 2"), ("Shirt 3", "Shirt 4")]


def test_a_variant_added_at_the_source_is_priced_by_the_rule_and_ignored_fields_left_out(
        emulator):
    # given a shirt imported under +10 % with variants following the source, barcodes ignored
    world = build(emulator)
    choose(field_sync={"barcode": "ignore"}, sync_variants=True, markup_percent="10")
    product = shirt(world)
    world.settle()
    destination_id = import_into(world, DEST_1)
    # when the source adds a size at 32.00
    world.admin(SOURCE, VARIANTS_CREATE, {"p": product["id"], "v": [{
        "optionValues": [{"optionName": "Size", "name": "L"}], "price": "32.00",
        "compareAtPrice": "50.00", "barcode": "BAR-SHIRT-L",
        "inventoryItem": {"sku": "SHIRT-L"}}]})
    world.settle()
    # then it arrives at 35.20, its compare-at price copied, next to the imported 33.00s, and
    # no variant got its barcode
    assert [(v["sku"], v["price"], v["compareAtPrice"], v["barcode"])
            for v in read(world, DEST_1, destination_id)["variants"]["nodes"]] == [
        ("SHIRT-S", "33.00", "40.00", None), ("SHIRT-M", "33.00", "40.00", None),
        ("SHIRT-L", "35.20", "50.00", None)]
    assert VariantLink.objects.count() == 3


def test_create_only_seo_and_metafields_are_copied_as_the_source_has_them_now(emulator):
    # given a source shirt whose SEO and metafield were set after the catalogue was read,
    # while no destination followed them (so no products/update read them live)
    world = build(emulator)
    product = shirt(world)
    world.settle()
    edit(world, SOURCE, numeric(product["id"]), seo={"title": "Shirt SEO", "description": "Hi."},
         metafields=[{**MATERIAL, "value": "linen"}])
    world.settle()
    # when the destination chooses Create only for both and imports it
    choose(field_sync={"seo": "create", "metafields": "create"}, namespaces=("custom",))
    destination_id = import_into(world, DEST_1)
    # then its copy has them as the source has them
    copy = read(world, DEST_1, destination_id)
    assert copy["seo"] == {"title": "Shirt SEO", "description": "Hi."}
    assert [(m["namespace"], m["key"], m["value"]) for m in copy["metafields"]["nodes"]] == [
        ("custom", "material", "linen")]
    mirror = SourceProduct.objects.get()
    assert (mirror.seo_title, mirror.metafields) == ("Shirt SEO", [
        {**MATERIAL, "value": "linen"}])
