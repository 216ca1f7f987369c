"""productDelete and the merchant's Delete (control API): the product, its variants and their
stock are gone, and Shopify's webhooks go out (products/delete carries the id only)."""

from __future__ import annotations

import httpx

from shopify_emulator.app import create_app
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.domains.products.operations import product_delete
from tests.shopify_emulator.graphql_support import SHOP, call, make_world

DELETE = """mutation($input: ProductDeleteInput!) {
  productDelete(input: $input, synchronous: true) {
    deletedProductId shop { myshopifyDomain } userErrors { field message } } }"""
UPDATE = """mutation($product: ProductUpdateInput!) {
  productUpdate(product: $product) { product { id status } userErrors { field message } } }"""


def _only_product(world):
    shop = world.shop_get(SHOP)
    (product,) = shop.products.values()
    return shop, product


def test_product_delete_removes_the_product_its_variants_and_their_stock():
    # given a product with one variant stocked at the primary location
    world, recorder = make_world(skus=("SKU-1",), available=7)
    shop, product = _only_product(world)
    (variant_id,) = product.variant_ids
    item_id = shop.variants[variant_id].inventory_item_id
    # when it is deleted through the Admin API
    body = call(world, DELETE, {"input": {"id": f"gid://shopify/Product/{product.id}"}})
    # then Shopify answers with its id, and the product, variant and inventory item are gone
    assert body["data"]["productDelete"] == {
        "deletedProductId": f"gid://shopify/Product/{product.id}",
        "shop": {"myshopifyDomain": SHOP}, "userErrors": []}
    assert (shop.products, variant_id in shop.variants, item_id in shop.inventory_items) == (
        {}, False, False)
    assert recorder.topics == ["products/delete", "inventory_items/delete"]
    assert recorder.of("products/delete") == [{"id": product.id}]


def test_product_delete_of_an_unknown_product_is_a_user_error_and_changes_nothing():
    world, recorder = make_world(skus=("SKU-1",))
    body = call(world, DELETE, {"input": {"id": "gid://shopify/Product/999999"}})
    assert body["data"]["productDelete"] == {
        "deletedProductId": None, "shop": {"myshopifyDomain": SHOP},
        "userErrors": [{"field": ["id"], "message": "Product does not exist"}]}
    assert len(world.shop_get(SHOP).products) == 1
    assert recorder.topics == []


def test_product_update_sets_a_product_to_draft():
    world, recorder = make_world(skus=("SKU-1",))
    _shop, product = _only_product(world)
    body = call(world, UPDATE, {"product": {"id": f"gid://shopify/Product/{product.id}",
                                            "status": "DRAFT"}})
    assert body["data"]["productUpdate"] == {
        "product": {"id": f"gid://shopify/Product/{product.id}", "status": "DRAFT"},
        "userErrors": []}
    assert product.status == "DRAFT"
    assert recorder.topics == ["products/update"]


def test_the_merchant_deletes_a_product_through_the_control_api():
    # given a running emulator with a shop and two products
    app = create_app(config=EmulatorConfig(app_secret="s" * 40, api_key="key",
                                           app_url="http://127.0.0.1:8000",
                                           deliver_webhooks=False))
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://emulator")
    try:
        assert client.post("/_emulator/shops", json={"domain": SHOP}).status_code == 201
        ids = [client.post(f"/_emulator/shops/{SHOP}/products", json={
            "title": title, "variants": [{"sku": title, "available": 3}]}).json()["id"]
            for title in ("A", "B")]
        # when the merchant deletes the first
        deleted = client.delete(f"/_emulator/shops/{SHOP}/products/{ids[0]}")
        again = client.delete(f"/_emulator/shops/{SHOP}/products/{ids[0]}")
        # then it is gone (a second delete is a 404) and the other is left
        assert (deleted.status_code, deleted.json()) == (200, {"id": ids[0]})
        assert (again.status_code, again.json()) == (
            404, {"error": f"Unknown product {ids[0]} in {SHOP}"})
        snapshot = client.get(f"/_emulator/shops/{SHOP}").json()
        assert [p["id"] for p in snapshot["products"]] == [ids[1]]
        assert [level["sku"] for level in snapshot["inventory_levels"]] == ["B"]
    finally:
        client.close()
        app.webhooks.close()


def test_the_merchant_delete_operation_sends_shopifys_webhooks():
    world, recorder = make_world(skus=("SKU-1", "SKU-2"))
    shop = world.shop_get(SHOP)
    first, second = sorted(shop.products)
    assert product_delete(world=world, shop_domain=SHOP, product_id=first) == {"id": first}
    assert sorted(shop.products) == [second]
    assert recorder.topics == ["products/delete", "inventory_items/delete"]
