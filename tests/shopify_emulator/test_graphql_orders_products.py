"""orderCreate, fulfillmentCreate, productSet, tagsAdd, webhook subscriptions, bulk queries."""

from __future__ import annotations

import json

from shopify_emulator.domains.bulk.operations import bulk_result_jsonl
from shopify_emulator.domains.fulfillments.operations import order_fulfill
from shopify_emulator.domains.orders.operations import order_checkout
from shopify_emulator.domains.webhook_subscriptions.operations import subscriptions_for
from tests.shopify_emulator.graphql_support import (
    SHOP,
    call,
    capture,
    ids_for,
    level_quantities,
    make_world,
)

ORDER_CREATE = """
mutation Create($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order {
      id name displayFinancialStatus displayFulfillmentStatus tags note email
      customer { firstName lastName }
      shippingAddress { address1 city countryCodeV2 }
      shippingLines(first: 5) { nodes { title originalPriceSet { shopMoney { amount } } } }
      lineItems(first: 5) { nodes { sku quantity } }
      fulfillmentOrders(first: 5) {
        nodes { id status lineItems(first: 5) { nodes { id totalQuantity remainingQuantity } } }
      }
    }
    userErrors { field message }
  }
}
"""
FULFILL = """
mutation Fulfil($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo { company number url }
      fulfillmentLineItems(first: 5) { nodes { quantity } } }
    userErrors { field message }
  }
}
"""


def order_input(ids: dict, quantity: int = 3) -> dict:
    return {
        "lineItems": [{"variantId": ids["variant"], "quantity": quantity}],
        "email": "buyer@example.com",
        "customer": {"toUpsert": {"email": "buyer@example.com", "firstName": "Ada",
                                  "lastName": "Lovelace"}},
        "shippingAddress": {"address1": "1 Rue", "city": "Paris", "countryCode": "FR"},
        "shippingLines": [{"title": "Standard",
                           "priceSet": {"shopMoney": {"amount": "4.00", "currencyCode": "USD"}}}],
        "tags": ["dest-store", "D#1001"],
        "note": "Pushed from dest-store",
        "financialStatus": "PAID",
    }


def test_order_create_bypass_leaves_stock_untouched() -> None:
    world, recorder = make_world(available=10)
    ids = ids_for(world, "SKU-1")
    body = call(world, ORDER_CREATE, {"order": order_input(ids)})
    order = body["data"]["orderCreate"]["order"]
    assert body["data"]["orderCreate"]["userErrors"] == []
    assert order["name"] == "#1001"
    assert order["displayFinancialStatus"] == "PAID"
    assert order["displayFulfillmentStatus"] == "UNFULFILLED"
    assert order["tags"] == ["dest-store", "D#1001"]
    assert order["customer"] == {"firstName": "Ada", "lastName": "Lovelace"}
    assert order["shippingAddress"] == {"address1": "1 Rue", "city": "Paris",
                                        "countryCodeV2": "FR"}
    assert order["shippingLines"]["nodes"] == [
        {"title": "Standard", "originalPriceSet": {"shopMoney": {"amount": "4.00"}}}]
    assert order["fulfillmentOrders"]["nodes"][0]["lineItems"]["nodes"][0]["remainingQuantity"] == 3
    assert level_quantities(world, "SKU-1") == {"available": 10, "committed": 0, "on_hand": 10}
    assert recorder.topics == ["orders/create", "orders/paid"]


def test_order_create_decrement_commits_stock() -> None:
    world, recorder = make_world(available=10)
    ids = ids_for(world, "SKU-1")
    call(world, ORDER_CREATE, {"order": order_input(ids),
                               "options": {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"}})
    assert level_quantities(world, "SKU-1") == {"available": 7, "committed": 3, "on_hand": 10}
    assert recorder.topics == ["orders/create", "orders/paid", "inventory_levels/update"]


def test_order_create_obeying_policy_refuses_oversell() -> None:
    world, recorder = make_world(available=2)
    ids = ids_for(world, "SKU-1")
    body = call(world, ORDER_CREATE, {"order": order_input(ids),
                                      "options": {"inventoryBehaviour":
                                                  "DECREMENT_OBEYING_POLICY"}})
    assert body["data"]["orderCreate"]["order"] is None
    assert len(body["data"]["orderCreate"]["userErrors"]) == 1
    assert recorder.events == []


def test_fulfillment_create_partial_then_rest() -> None:
    # given
    world, recorder = make_world(available=10)
    ids = ids_for(world, "SKU-1")
    created = call(world, ORDER_CREATE, {"order": order_input(ids), "options": {
        "inventoryBehaviour": "DECREMENT_IGNORING_POLICY"}})
    fo = created["data"]["orderCreate"]["order"]["fulfillmentOrders"]["nodes"][0]
    line_id = fo["lineItems"]["nodes"][0]["id"]
    recorder.events.clear()
    tracking = {"company": "UPS", "number": "1Z1", "url": "https://ups.example/1Z1"}
    # when
    first = call(world, FULFILL, {"fulfillment": {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"],
                                         "fulfillmentOrderLineItems": [{"id": line_id,
                                                                        "quantity": 2}]}],
        "trackingInfo": tracking}})
    over = call(world, FULFILL, {"fulfillment": {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"],
                                         "fulfillmentOrderLineItems": [{"id": line_id,
                                                                        "quantity": 2}]}]}})
    rest = call(world, FULFILL, {"fulfillment": {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}]}})
    # then
    fulfillment = first["data"]["fulfillmentCreate"]["fulfillment"]
    assert fulfillment["status"] == "SUCCESS"
    assert fulfillment["trackingInfo"] == [tracking]
    assert fulfillment["fulfillmentLineItems"]["nodes"] == [{"quantity": 2}]
    assert over["data"]["fulfillmentCreate"] == {
        "fulfillment": None,
        "userErrors": [{"field": ["fulfillment"],
                        "message": "Invalid fulfillment order line item quantity requested."}],
    }
    assert rest["data"]["fulfillmentCreate"]["fulfillment"]["fulfillmentLineItems"]["nodes"] == [
        {"quantity": 1}]
    assert recorder.topics == ["fulfillments/create", "orders/updated",
                               "orders/partially_fulfilled", "fulfillments/create",
                               "orders/updated", "orders/fulfilled"]
    assert level_quantities(world, "SKU-1") == {"available": 7, "committed": 0, "on_hand": 7}
    payload = recorder.of("fulfillments/create")[0]
    assert (payload["tracking_company"], payload["tracking_number"], payload["tracking_url"]) == (
        "UPS", "1Z1", "https://ups.example/1Z1")


def test_fulfillment_create_unknown_order_matches_the_capture() -> None:
    world, _ = make_world()
    case = capture("2026-04/orders/fulfillment-create-preconditions.json")["cases"][
        "missingFulfillmentOrder"]
    body = call(world, FULFILL, {"fulfillment": {"lineItemsByFulfillmentOrder": [
        {"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1"}]}})
    assert (body["data"]["fulfillmentCreate"]["userErrors"]
            == case["response"]["data"]["fulfillmentCreate"]["userErrors"])


def test_tracking_update_fires_fulfillments_update() -> None:
    world, recorder = make_world(available=10)
    order = order_checkout(world=world, shop_domain=SHOP, lines=[{"sku": "SKU-1", "quantity": 1}])
    fulfillment = order_fulfill(world=world, shop_domain=SHOP, order_id=order["id"],
                                      tracking_company="UPS", tracking_number="A",
                                      tracking_url=None)
    recorder.events.clear()
    body = call(world, """mutation($id: ID!) { fulfillmentTrackingInfoUpdate(fulfillmentId: $id,
      trackingInfoInput: {company: "DHL", number: "B", url: "https://dhl.example/B"}) {
      fulfillment { trackingInfo { company number url } } userErrors { message } } }""",
                {"id": fulfillment["admin_graphql_api_id"]})
    assert body["data"]["fulfillmentTrackingInfoUpdate"]["fulfillment"]["trackingInfo"] == [
        {"company": "DHL", "number": "B", "url": "https://dhl.example/B"}]
    assert recorder.topics == ["fulfillments/update"]
    assert recorder.of("fulfillments/update")[0]["tracking_numbers"] == ["B"]


def test_product_set_creates_product_variants_and_levels() -> None:
    world, recorder = make_world(skus=())
    shop = world.shop_get(SHOP)
    assert shop is not None
    location = f"gid://shopify/Location/{shop.primary_location_id}"
    query = """mutation($input: ProductSetInput!) { productSet(input: $input) {
      product { title vendor status tags options { name values }
        variants(first: 10) { nodes { sku price barcode inventoryQuantity
          selectedOptions { name value } inventoryItem { tracked } } } }
      userErrors { field message code } } }"""
    data = {
        "title": "Hat", "vendor": "Acme", "status": "ACTIVE", "tags": ["x", "y"],
        "descriptionHtml": "<p>Warm</p>",
        "productOptions": [{"name": "Size", "values": [{"name": "S"}, {"name": "M"}]}],
        "files": [{"originalSource": "https://cdn.example/hat.png", "contentType": "IMAGE"}],
        "variants": [
            {"optionValues": [{"optionName": "Size", "name": "S"}], "sku": "HAT-S",
             "price": "5.00", "barcode": "123",
             "inventoryQuantities": [{"locationId": location, "name": "available",
                                      "quantity": 4}]},
            {"optionValues": [{"optionName": "Size", "name": "M"}],
             "inventoryItem": {"sku": "HAT-M", "tracked": True}, "price": "6.00"},
        ],
    }
    body = call(world, query, {"input": data})
    product = body["data"]["productSet"]["product"]
    assert body["data"]["productSet"]["userErrors"] == []
    assert product["options"] == [{"name": "Size", "values": ["S", "M"]}]
    assert [(v["sku"], v["price"], v["inventoryQuantity"]) for v in product["variants"]["nodes"]] \
        == [("HAT-S", "5.00", 4), ("HAT-M", "6.00", 0)]
    assert level_quantities(world, "HAT-S")["available"] == 4
    assert recorder.topics[0] == "products/create"
    created = recorder.of("products/create")[0]
    assert created["tags"] == "x, y"
    assert created["images"][0]["src"] == "https://cdn.example/hat.png"
    # and a second productSet with one variant replaces the list
    product_id = next(iter(shop.products))
    data["variants"] = data["variants"][:1]
    again = call(world, """mutation($input: ProductSetInput!, $id: ID!) {
      productSet(input: $input, identifier: {id: $id}) {
        product { variants(first: 10) { nodes { sku } } } userErrors { message } } }""",
                 {"input": data, "id": f"gid://shopify/Product/{product_id}"})
    assert again["data"]["productSet"]["product"]["variants"]["nodes"] == [{"sku": "HAT-S"}]
    assert recorder.topics.count("products/update") == 1


def test_product_set_refuses_two_variants_with_the_same_option_values_like_shopify() -> None:
    # (the payload of ../shared/shopify/captures/2025-01/products/
    # product-set-duplicate-variants-parity.json, with its variant-level code)
    world, recorder = make_world(skus=())
    query = """mutation($input: ProductSetInput!) { productSet(input: $input) {
      product { id } userErrors { field message code } } }"""
    data = {
        "title": "Tote",
        "productOptions": [{"name": "Title", "values": [{"name": "Default Title"}]}],
        "variants": [{"optionValues": [{"optionName": "Title", "name": "Default Title"}],
                      "inventoryItem": {"sku": sku}} for sku in ("TOTE-A", "TOTE-B")],
    }
    body = call(world, query, {"input": data})
    assert "errors" not in body
    assert body["data"]["productSet"] == {"product": None, "userErrors": [{
        "field": ["input", "variants", "1"],
        "message": "The variant 'Default Title' already exists. Please change at least one "
                   "option value.",
        "code": "INVALID_VARIANT"}]}
    assert recorder.topics == []


def test_variants_bulk_update_and_tags_add_fire_products_update() -> None:
    world, recorder = make_world(available=1)
    ids = ids_for(world, "SKU-1")
    body = call(world, """mutation($p: ID!, $v: [ProductVariantsBulkInput!]!) {
      productVariantsBulkUpdate(productId: $p, variants: $v) {
        productVariants { sku price barcode } userErrors { field message } } }""",
                {"p": ids["product"], "v": [{"id": ids["variant"], "price": "12.00",
                                            "barcode": "999",
                                            "inventoryItem": {"sku": "SKU-1B"}}]})
    assert body["data"]["productVariantsBulkUpdate"] == {
        "productVariants": [{"sku": "SKU-1B", "price": "12.00", "barcode": "999"}],
        "userErrors": []}
    tags = call(world, """mutation($id: ID!) { tagsAdd(id: $id, tags: ["new, other"]) {
      node { ... on Product { tags } } userErrors { message } } }""", {"id": ids["product"]})
    assert tags["data"]["tagsAdd"]["node"]["tags"] == ["summer", "new", "other"]
    assert recorder.topics == ["products/update", "inventory_items/update", "products/update"]


def test_webhook_subscription_create_list_and_delete() -> None:
    world, _ = make_world()
    created = call(world, """mutation { webhookSubscriptionCreate(topic: INVENTORY_LEVELS_UPDATE,
      webhookSubscription: {uri: "https://app.example/webhooks"}) {
      webhookSubscription { id topic uri format } userErrors { message } } }""")
    sub = created["data"]["webhookSubscriptionCreate"]["webhookSubscription"]
    assert (sub["topic"], sub["uri"], sub["format"]) == (
        "INVENTORY_LEVELS_UPDATE", "https://app.example/webhooks", "JSON")
    assert subscriptions_for(world=world, shop_domain=SHOP, topic="inventory_levels/update")[0][
        "uri"] == "https://app.example/webhooks"
    listed = call(world, '{ webhookSubscriptions(first: 10, topics: [INVENTORY_LEVELS_UPDATE]) '
                         '{ nodes { id } } }')
    assert listed["data"]["webhookSubscriptions"]["nodes"] == [{"id": sub["id"]}]
    deleted = call(world, """mutation($id: ID!) { webhookSubscriptionDelete(id: $id) {
      deletedWebhookSubscriptionId userErrors { message } } }""", {"id": sub["id"]})
    assert deleted["data"]["webhookSubscriptionDelete"] == {
        "deletedWebhookSubscriptionId": sub["id"], "userErrors": []}
    assert subscriptions_for(world=world, shop_domain=SHOP, topic="inventory_levels/update") == []


def test_bulk_query_writes_jsonl_with_parent_ids() -> None:
    # given
    world, recorder = make_world(skus=("A-1", "B-1"), available=3)
    world.base_url = "http://emulator.test"
    recorder.events.clear()
    bulk_query = """{ products { edges { node { id title
      variants { edges { node { id sku inventoryQuantity } } } } } } }"""
    # when
    started = call(world, """mutation($q: String!) { bulkOperationRunQuery(query: $q) {
      bulkOperation { id status } userErrors { field message } } }""", {"q": bulk_query})
    current = call(world, "{ currentBulkOperation { id status url objectCount rootObjectCount "
                          "errorCode } }")
    # then
    operation = started["data"]["bulkOperationRunQuery"]["bulkOperation"]
    assert operation["status"] == "CREATED"
    status = current["data"]["currentBulkOperation"]
    numeric = operation["id"].rsplit("/", 1)[1]
    assert status == {"id": operation["id"], "status": "COMPLETED",
                      "url": f"http://emulator.test/_emulator/bulk/{numeric}.jsonl",
                      "objectCount": "4", "rootObjectCount": "2", "errorCode": None}
    lines = [json.loads(line) for line in
             bulk_result_jsonl(world=world, bulk_id=numeric).decode().splitlines()]
    products = [line for line in lines if "__parentId" not in line]
    variants = [line for line in lines if "__parentId" in line]
    assert [p["title"] for p in products] == ["Product A-1", "Product B-1"]
    assert [(v["sku"], v["inventoryQuantity"]) for v in variants] == [("A-1", 3), ("B-1", 3)]
    assert [v["__parentId"] for v in variants] == [p["id"] for p in products]
    assert lines.index(variants[0]) == 1  # a child follows its parent
    finish = recorder.of("bulk_operations/finish")
    assert finish == [{"admin_graphql_api_id": operation["id"],
                       "completed_at": finish[0]["completed_at"],
                       "created_at": finish[0]["created_at"], "error_code": None,
                       "status": "completed", "type": "query"}]


def test_bulk_query_without_connection_is_a_user_error() -> None:
    world, _ = make_world()
    body = call(world, """mutation { bulkOperationRunQuery(query: "{ shop { name } }") {
      bulkOperation { id } userErrors { field message } } }""")
    assert body["data"]["bulkOperationRunQuery"] == {
        "bulkOperation": None,
        "userErrors": [{"field": ["query"],
                        "message": "Bulk queries must contain at least one connection."}],
    }
