"""productVariantsBulkCreate / productVariantsBulkDelete: what Syncer's variant auto-sync uses."""

from __future__ import annotations

from shopify_emulator.domains.products.operations import product_create
from shopify_emulator.domains.shop.operations import shop_create
from tests.shopify_emulator.graphql_support import SHOP, call, level_quantities

CREATE = """mutation($p: ID!, $v: [ProductVariantsBulkInput!]!) {
  productVariantsBulkCreate(productId: $p, variants: $v) {
    product { options { name values } variants(first: 10) { nodes { sku } } }
    productVariants { sku price compareAtPrice barcode selectedOptions { name value }
      inventoryItem { tracked } }
    userErrors { field message code } } }"""
DELETE = """mutation($p: ID!, $ids: [ID!]!) {
  productVariantsBulkDelete(productId: $p, variantsIds: $ids) {
    product { variants(first: 10) { nodes { sku } } } userErrors { field message code } } }"""


def _shirt(world):
    shop_create(world=world, domain=SHOP, name="Source")
    product = product_create(world=world, shop_domain=SHOP, title="Shirt", variants=[
        {"sku": "S-S", "price": "10.00", "option1": "S"},
        {"sku": "S-M", "price": "10.00", "option1": "M"}])
    shop = world.shop_get(SHOP)
    return shop, f"gid://shopify/Product/{product['id']}"


def test_bulk_create_adds_a_variant_with_a_new_option_value_and_stock():
    from shopify_emulator.world import World
    from tests.shopify_emulator.graphql_support import Recorder

    world = World()
    shop, product_id = _shirt(world)
    recorder = Recorder()
    world.listeners.append(recorder)
    location = f"gid://shopify/Location/{shop.primary_location_id}"
    body = call(world, CREATE, {"p": product_id, "v": [{
        "optionValues": [{"optionName": "Title", "name": "L"}], "price": "12.50",
        "compareAtPrice": "15.00", "barcode": "777",
        "inventoryItem": {"sku": "S-L", "tracked": True},
        "inventoryQuantities": [{"locationId": location, "availableQuantity": 6}]}]})
    result = body["data"]["productVariantsBulkCreate"]
    assert result["userErrors"] == []
    assert result["productVariants"] == [{
        "sku": "S-L", "price": "12.50", "compareAtPrice": "15.00", "barcode": "777",
        "selectedOptions": [{"name": "Title", "value": "L"}], "inventoryItem": {"tracked": True}}]
    assert result["product"]["options"] == [{"name": "Title", "values": ["S", "M", "L"]}]
    assert level_quantities(world, "S-L")["available"] == 6
    assert recorder.topics == ["products/update", "inventory_items/create",
                               "inventory_levels/update"]


def test_bulk_create_refuses_an_existing_combination_and_unknown_options():
    from shopify_emulator.world import World

    world = World()
    _shop, product_id = _shirt(world)
    body = call(world, CREATE, {"p": product_id, "v": [
        {"optionValues": [{"optionName": "Title", "name": "M"}]},
        {"optionValues": [{"optionName": "Colour", "name": "Red"}]}]})
    errors = body["data"]["productVariantsBulkCreate"]["userErrors"]
    assert [e["code"] for e in errors] == ["VARIANT_ALREADY_EXISTS",
                                           "OPTION_VALUES_FOR_NUMBER_OF_UNKNOWN_OPTIONS"]
    assert body["data"]["productVariantsBulkCreate"]["productVariants"] is None
    assert [v.option_values for v in world.shop_get(SHOP).variants.values()] == [["S"], ["M"]]


def test_bulk_delete_removes_variants_but_never_the_last():
    from shopify_emulator.world import World

    world = World()
    shop, product_id = _shirt(world)
    small = f"gid://shopify/ProductVariant/{shop.variant_by_sku('S-S').id}"
    medium = f"gid://shopify/ProductVariant/{shop.variant_by_sku('S-M').id}"
    body = call(world, DELETE, {"p": product_id, "ids": [small]})
    assert body["data"]["productVariantsBulkDelete"] == {
        "product": {"variants": {"nodes": [{"sku": "S-M"}]}}, "userErrors": []}
    last = call(world, DELETE, {"p": product_id, "ids": [medium]})
    assert [e["code"] for e in last["data"]["productVariantsBulkDelete"]["userErrors"]] == [
        "CANNOT_DELETE_LAST_VARIANT"]
    other = call(world, DELETE, {"p": product_id, "ids": ["gid://shopify/ProductVariant/1"]})
    assert [e["code"] for e in other["data"]["productVariantsBulkDelete"]["userErrors"]] == [
        "AT_LEAST_ONE_VARIANT_DOES_NOT_BELONG_TO_THE_PRODUCT"]
