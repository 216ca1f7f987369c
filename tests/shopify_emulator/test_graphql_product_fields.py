"""The product fields a per-field sync reads and writes through the Admin API: SEO, metafields
(Product.metafields / metafield, productUpdate, productSet, metafieldsSet), variant weight
(InventoryItem.measurement), productSet's update mode and barcode search."""

from __future__ import annotations

import json

from shopify_emulator.domains.products.operations import product_edit
from tests.shopify_emulator.graphql_support import CAPTURES, SHOP, call, ids_for, make_world

CALIBRATION = CAPTURES.parent / "cost-calibration.jsonl"

PRODUCT_FIELDS = """query($id: ID!) { product(id: $id) {
  seo { title description }
  material: metafield(namespace: "custom", key: "material") { namespace key type value jsonValue }
  metafields(first: 10) { nodes { namespace key type value } }
} }"""
METAFIELDS_SET = """mutation($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { namespace key type value compareDigest ownerType }
    userErrors { field message code elementIndex } } }"""
PRODUCT_UPDATE = """mutation($product: ProductUpdateInput!) {
  productUpdate(product: $product) {
    product { title seo { title description } metafields(first: 10) { nodes { key value } } }
    userErrors { field message } } }"""
PRODUCT_SET = """mutation($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {
  productSet(input: $input, identifier: $identifier, synchronous: true) {
    product { title vendor tags seo { title }
      media(first: 10) { nodes { alt ... on MediaImage { image { url } } } }
      metafields(first: 10) { nodes { key value } }
      variants(first: 10) { nodes { sku price barcode
        inventoryItem { measurement { weight { value unit } } } } } }
    userErrors { field message code } } }"""
VARIANTS_UPDATE = """mutation($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { inventoryItem { measurement { weight { value unit } } } }
    userErrors { field message } } }"""


def _metafield(owner: str, key: str, value: str, type_name: str = "single_line_text_field",
               namespace: str = "custom") -> dict:
    return {"ownerId": owner, "namespace": namespace, "key": key, "type": type_name,
            "value": value}


def _product(world):
    shop = world.shop_get(SHOP)
    (product,) = shop.products.values()
    return product


def test_seo_and_metafields_are_read_as_the_merchant_left_them():
    # given a product whose SEO and metafields the merchant edited
    world, _recorder = make_world(skus=("SKU-1",))
    ids = ids_for(world, "SKU-1")
    product_edit(world=world, shop_domain=SHOP, product_id=_product(world).id, edit={
        "seo": {"title": "Shirt | Acme", "description": "A shirt"},
        "metafields": [
            {"namespace": "custom", "key": "material", "type": "single_line_text_field",
             "value": "Linen"},
            {"namespace": "specs", "key": "sizes", "type": "list.single_line_text_field",
             "value": '["S","M"]'}]})
    # when the app reads them
    product = call(world, PRODUCT_FIELDS, {"id": ids["product"]})["data"]["product"]
    # then it sees them as Shopify returns them
    assert product == {
        "seo": {"title": "Shirt | Acme", "description": "A shirt"},
        "material": {"namespace": "custom", "key": "material",
                     "type": "single_line_text_field", "value": "Linen", "jsonValue": "Linen"},
        "metafields": {"nodes": [
            {"namespace": "custom", "key": "material", "type": "single_line_text_field",
             "value": "Linen"},
            {"namespace": "specs", "key": "sizes", "type": "list.single_line_text_field",
             "value": '["S","M"]'}]}}


def test_metafields_connection_filters_by_namespace_and_keys_and_pages():
    world, _recorder = make_world(skus=("SKU-1",))
    ids = ids_for(world, "SKU-1")
    body = call(world, METAFIELDS_SET, {"metafields": [
        _metafield(ids["product"], "aa", "1"), _metafield(ids["product"], "bb", "2"),
        _metafield(ids["product"], "cc", "3", namespace="other")]})
    assert body["data"]["metafieldsSet"]["userErrors"] == []
    query = """query($id: ID!, $after: String) { product(id: $id) {
      custom: metafields(first: 1, namespace: "custom", after: $after) {
        nodes { key } pageInfo { hasNextPage endCursor } }
      picked: metafields(first: 10, keys: ["other.cc", "custom.bb"]) { nodes { key } }
      missing: metafield(namespace: "custom", key: "zz") { key } } }"""
    first = call(world, query, {"id": ids["product"]})["data"]["product"]
    second = call(world, query, {"id": ids["product"],
                                 "after": first["custom"]["pageInfo"]["endCursor"]})
    assert first["custom"]["nodes"] == [{"key": "aa"}]
    assert first["custom"]["pageInfo"]["hasNextPage"] is True
    assert second["data"]["product"]["custom"]["nodes"] == [{"key": "bb"}]
    assert second["data"]["product"]["custom"]["pageInfo"]["hasNextPage"] is False
    assert first["picked"]["nodes"] == [{"key": "bb"}, {"key": "cc"}]
    assert first["missing"] is None


def test_metafields_set_upserts_and_sends_one_products_update_per_product():
    # given a product with one metafield
    world, recorder = make_world(skus=("SKU-1",))
    ids = ids_for(world, "SKU-1")
    call(world, METAFIELDS_SET, {"metafields": [_metafield(ids["product"], "material", "Wool"),
                                                _metafield(ids["product"], "care", "Hand")]})
    recorder.events.clear()
    # when two metafields are set, one new and one existing
    body = call(world, METAFIELDS_SET, {"metafields": [
        _metafield(ids["product"], "material", "Linen"),
        _metafield(ids["product"], "count", "3", "number_integer")]})
    # then both are stored, the untouched one is kept, and one products/update goes out
    result = body["data"]["metafieldsSet"]
    assert result["userErrors"] == []
    assert [(m["key"], m["value"], m["ownerType"]) for m in result["metafields"]] == [
        ("material", "Linen", "PRODUCT"), ("count", "3", "PRODUCT")]
    assert [(m["key"], m["value"]) for m in _product(world).metafields] == [
        ("material", "Linen"), ("care", "Hand"), ("count", "3")]
    assert recorder.topics == ["products/update"]
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10


def test_metafields_set_is_atomic_and_says_what_is_wrong():
    world, recorder = make_world(skus=("SKU-1",))
    ids = ids_for(world, "SKU-1")
    body = call(world, METAFIELDS_SET, {"metafields": [
        _metafield(ids["product"], "material", "Linen"),
        _metafield(ids["product"], "count", "many", "number_integer"),
        _metafield(ids["product"], "kind", "x", "colour_wheel"),
        {"ownerId": ids["product"], "namespace": "custom", "key": "blank", "value": "x"},
        _metafield("gid://shopify/Product/1", "material", "Linen")]})
    assert body["data"]["metafieldsSet"] == {"metafields": None, "userErrors": [
        {"field": ["metafields", "1", "value"], "message": "Value must be an integer.",
         "code": "INVALID_VALUE", "elementIndex": None},
        {"field": ["metafields", "2", "type"],
         "message": "Type 'colour_wheel' is not a valid type.", "code": "INVALID_TYPE",
         "elementIndex": None},
        {"field": ["metafields", "3", "type"], "message": "Type can't be blank",
         "code": "BLANK", "elementIndex": None},
        {"field": ["metafields", "4", "ownerId"], "message": "Owner does not exist.",
         "code": "INVALID", "elementIndex": None}]}
    assert _product(world).metafields == []
    assert recorder.topics == []


def test_metafields_set_takes_at_most_25():
    world, recorder = make_world(skus=("SKU-1",))
    ids = ids_for(world, "SKU-1")
    body = call(world, METAFIELDS_SET, {"metafields": [
        _metafield(ids["product"], f"key{n}", "v") for n in range(26)]})
    assert body["data"]["metafieldsSet"] == {"metafields": None, "userErrors": [
        {"field": ["metafields"], "message": "Exceeded the maximum metafields input limit of "
         "25.", "code": "LESS_THAN_OR_EQUAL_TO", "elementIndex": None}]}
    assert (_product(world).metafields, recorder.topics) == ([], [])


def test_metafields_set_compare_digest_refuses_a_stale_write():
    world, _recorder = make_world(skus=("SKU-1",))
    ids = ids_for(world, "SKU-1")
    first = call(world, METAFIELDS_SET, {"metafields": [
        _metafield(ids["product"], "material", "Wool")]})
    digest = first["data"]["metafieldsSet"]["metafields"][0]["compareDigest"]
    call(world, METAFIELDS_SET, {"metafields": [_metafield(ids["product"], "material", "Silk")]})
    stale = call(world, METAFIELDS_SET, {"metafields": [
        {**_metafield(ids["product"], "material", "Linen"), "compareDigest": digest}]})
    assert stale["data"]["metafieldsSet"]["userErrors"] == [
        {"field": ["metafields", "0", "compareDigest"],
         "message": "The resource has been updated since it was loaded. Try again with an "
                    "updated `compareDigest` value.", "code": "STALE_OBJECT",
         "elementIndex": None}]
    assert [m["value"] for m in _product(world).metafields] == ["Silk"]


def test_product_update_sets_seo_and_upserts_metafields_without_deleting_others():
    world, recorder = make_world(skus=("SKU-1",))
    ids = ids_for(world, "SKU-1")
    call(world, METAFIELDS_SET, {"metafields": [_metafield(ids["product"], "care", "Hand")]})
    recorder.events.clear()
    body = call(world, PRODUCT_UPDATE, {"product": {
        "id": ids["product"], "seo": {"title": "New SEO title", "description": "New text"},
        "metafields": [{"namespace": "custom", "key": "material",
                        "type": "single_line_text_field", "value": "Linen"}]}})
    assert body["data"]["productUpdate"] == {"product": {
        "title": "Product SKU-1", "seo": {"title": "New SEO title", "description": "New text"},
        "metafields": {"nodes": [{"key": "care", "value": "Hand"},
                                 {"key": "material", "value": "Linen"}]}}, "userErrors": []}
    assert recorder.topics == ["products/update"]


def test_product_update_refuses_a_bad_metafield_and_changes_nothing():
    world, recorder = make_world(skus=("SKU-1",))
    ids = ids_for(world, "SKU-1")
    body = call(world, PRODUCT_UPDATE, {"product": {
        "id": ids["product"], "title": "Renamed", "metafields": [
            {"namespace": "custom", "key": "count", "type": "number_integer", "value": "x"}]}})
    assert body["data"]["productUpdate"] == {"product": None, "userErrors": [
        {"field": ["product", "metafields", "0", "value"],
         "message": "Value must be an integer."}]}
    assert (_product(world).title, _product(world).metafields, recorder.topics) == (
        "Product SKU-1", [], [])


def test_product_set_update_mode_changes_only_the_given_fields_and_replaces_lists():
    # given a product with an image, two metafields, SEO and a tag
    world, recorder = make_world(skus=("SKU-1",))
    ids = ids_for(world, "SKU-1")
    product_edit(world=world, shop_domain=SHOP, product_id=_product(world).id, edit={
        "images": [{"src": "https://cdn.example/old.png", "alt": "Old"}],
        "seo": {"title": "Old SEO"},
        "metafields": [
            {"namespace": "custom", "key": "material", "type": "single_line_text_field",
             "value": "Wool"},
            {"namespace": "custom", "key": "care", "type": "single_line_text_field",
             "value": "Hand"}]})
    recorder.events.clear()
    # when productSet (identifier: id) gives a vendor, files, one metafield and the variant
    body = call(world, PRODUCT_SET, {"identifier": {"id": ids["product"]}, "input": {
        "vendor": "Globex",
        "files": [{"originalSource": "https://cdn.example/new.png", "alt": "New",
                   "contentType": "IMAGE"}],
        "metafields": [{"namespace": "custom", "key": "material",
                        "type": "single_line_text_field", "value": "Linen"}],
        "variants": [{"id": ids["variant"], "optionValues": [
            {"optionName": "Title", "name": "Default Title"}], "price": "12.00",
            "barcode": "4006381333931",
            "inventoryItem": {"measurement": {"weight": {"value": 1.25, "unit": "KILOGRAMS"}}}}]}})
    # then the fields not given stay, and the list fields are exactly what was given
    assert body["data"]["productSet"] == {"product": {
        "title": "Product SKU-1", "vendor": "Globex", "tags": ["summer"],
        "seo": {"title": "Old SEO"},
        "media": {"nodes": [{"alt": "New", "image": {"url": "https://cdn.example/new.png"}}]},
        "metafields": {"nodes": [{"key": "material", "value": "Linen"}]},
        "variants": {"nodes": [{"sku": "SKU-1", "price": "12.00", "barcode": "4006381333931",
                                "inventoryItem": {"measurement": {"weight": {
                                    "value": 1.25, "unit": "KILOGRAMS"}}}}]}},
        "userErrors": []}
    # and products/update carries it, with inventory_items/update for the new weight
    assert recorder.topics == ["products/update", "inventory_items/update"]
    (payload,) = recorder.of("products/update")
    assert [(i["src"], i["alt"]) for i in payload["images"]] == [
        ("https://cdn.example/new.png", "New")]
    assert {key: payload["variants"][0][key] for key in (
        "price", "barcode", "weight", "weight_unit", "grams")} == {
        "price": "12.00", "barcode": "4006381333931", "weight": 1.25, "weight_unit": "kg",
        "grams": 1250}


def test_product_set_with_a_bad_metafield_is_a_user_error_and_changes_nothing():
    world, recorder = make_world(skus=("SKU-1",))
    ids = ids_for(world, "SKU-1")
    body = call(world, PRODUCT_SET, {"identifier": {"id": ids["product"]}, "input": {
        "vendor": "Globex", "metafields": [{"namespace": "c", "key": "material",
                                            "type": "single_line_text_field", "value": "x"}]}})
    assert body["data"]["productSet"] == {"product": None, "userErrors": [
        {"field": ["input", "metafields", "0", "namespace"],
         "message": "Namespace is too short (minimum is 3 characters)", "code": None}]}
    assert (_product(world).vendor, recorder.topics) == ("Acme", [])


def test_variant_weight_is_set_through_variants_bulk_update():
    world, recorder = make_world(skus=("SKU-1",))
    ids = ids_for(world, "SKU-1")
    body = call(world, VARIANTS_UPDATE, {"productId": ids["product"], "variants": [
        {"id": ids["variant"], "inventoryItem": {"measurement": {"weight": {
            "value": 12, "unit": "OUNCES"}}}}]})
    assert body["data"]["productVariantsBulkUpdate"] == {"productVariants": [
        {"inventoryItem": {"measurement": {"weight": {"value": 12.0, "unit": "OUNCES"}}}}],
        "userErrors": []}
    assert recorder.topics == ["products/update", "inventory_items/update"]
    variant = recorder.of("products/update")[0]["variants"][0]
    assert (variant["weight"], variant["weight_unit"], variant["grams"]) == (12.0, "oz", 340)
    read = call(world, """query($id: ID!) { inventoryItem(id: $id) {
      measurement { weight { value unit } } } }""", {"id": ids["item"]})
    assert read["data"]["inventoryItem"] == {
        "measurement": {"weight": {"value": 12.0, "unit": "OUNCES"}}}


def test_product_variants_search_by_barcode():
    world, _recorder = make_world(skus=("SKU-1", "SKU-2"))
    ids = ids_for(world, "SKU-2")
    call(world, VARIANTS_UPDATE, {"productId": ids["product"], "variants": [
        {"id": ids["variant"], "barcode": "0012345678905"}]})
    body = call(world, """{ productVariants(first: 5, query: "barcode:0012345678905") {
      nodes { sku barcode } } }""")
    assert body["data"]["productVariants"]["nodes"] == [
        {"sku": "SKU-2", "barcode": "0012345678905"}]
    none = call(world, """{ productVariants(first: 5, query: "barcode:999") { nodes { sku } } }""")
    assert none["data"]["productVariants"]["nodes"] == []


def test_shopify_metafield_read_costs_what_shopify_charged():
    # given Shopify's own NaturalProductMetafieldsRead (requested 8, actual 5: one metafield
    # in the namespace) and a product with one metafield there and one elsewhere
    line = next(json.loads(text) for text in CALIBRATION.read_text().splitlines()
                if "query NaturalProductMetafieldsRead" in text)
    world, _recorder = make_world(skus=("SKU-1",))
    ids = ids_for(world, "SKU-1")
    call(world, METAFIELDS_SET, {"metafields": [
        _metafield(ids["product"], "generic_material", "Linen"),
        _metafield(ids["product"], "care", "Hand", namespace="other")]})
    # when the emulator answers it
    body = call(world, line["document"], {"id": ids["product"]})
    # then it answers as Shopify would and bills what Shopify billed
    assert body["data"]["product"]["metafields"]["nodes"] == [
        {"namespace": "custom", "key": "generic_material", "type": "single_line_text_field",
         "value": "Linen"}]
    assert body["extensions"]["cost"]["requestedQueryCost"] == line["requestedQueryCost"]
    assert body["extensions"]["cost"]["actualQueryCost"] == line["actualQueryCost"]
