"""Every mutation and query document runs against the emulator without errors (the flows'
happy path, end to end through the client)."""

from __future__ import annotations

import uuid

from syncer.shopify.errors import raise_for_user_errors


def _run(client, shop, name, variables):
    return client.execute(
        shop_domain=shop["domain"],
        access_token=shop["access_token"],
        document=name,
        variables=variables,
    )


def test_product_documents_run(emulator, shop, client):
    # Given a product in the shop
    product = emulator.product_create(
        shop["domain"], title="Mug", variants=[{"sku": "MUG", "price": "5.00", "available": 3}]
    )
    product_id = product["admin_graphql_api_id"]
    variant_id = product["variants"][0]["admin_graphql_api_id"]
    # When each product write runs / Then none reports userErrors and the reads see the result
    raise_for_user_errors(
        _run(client, shop, "product_update", {"product": {"id": product_id, "title": "Mug 2"}})[
            "productUpdate"
        ]
    )
    raise_for_user_errors(
        _run(
            client,
            shop,
            "product_variants_bulk_update",
            {"productId": product_id, "variants": [{"id": variant_id, "price": "6.00"}]},
        )["productVariantsBulkUpdate"]
    )
    raise_for_user_errors(
        _run(client, shop, "tags_add", {"id": product_id, "tags": ["synced"]})["tagsAdd"]
    )
    created = raise_for_user_errors(
        _run(
            client,
            shop,
            "product_set",
            {
                "input": {
                    "title": "Set",
                    "productOptions": [{"name": "Title", "values": [{"name": "Default Title"}]}],
                    "variants": [
                        {
                            "optionValues": [{"optionName": "Title", "name": "Default Title"}],
                            "sku": "SET-1",
                            "price": "3.00",
                        }
                    ],
                }
            },
        )["productSet"]
    )
    read = _run(client, shop, "product_by_id", {"id": product_id})["product"]
    by_sku = _run(client, shop, "product_variants_by_sku", {"query": "sku:SET-1"})
    assert (read["title"], read["tags"]) == ("Mug 2", ["synced"])
    assert read["variants"]["nodes"][0]["price"] == "6.00"
    assert [v["product"]["id"] for v in by_sku["productVariants"]["nodes"]] == [
        created["product"]["id"]
    ]


def test_inventory_activate_and_levels_run(emulator, shop, client):
    product = emulator.product_create(
        shop["domain"], title="Cap", variants=[{"sku": "CAP", "price": "5.00", "available": 3}]
    )
    item = f"gid://shopify/InventoryItem/{product['variants'][0]['inventory_item_id']}"
    second = next(
        f"gid://shopify/Location/{location['id']}"
        for location in shop["locations"]
        if location["id"] != shop["primary_location_id"]
    )
    raise_for_user_errors(
        _run(
            client,
            shop,
            "inventory_activate",
            {
                "inventoryItemId": item,
                "locationId": second,
                "available": 2,
                "idempotencyKey": str(uuid.uuid4()),
            },
        )["inventoryActivate"]
    )
    (node,) = _run(client, shop, "inventory_levels_for_items", {"ids": [item]})["nodes"]
    available = {
        level["location"]["id"]: {q["name"]: q["quantity"] for q in level["quantities"]}[
            "available"
        ]
        for level in node["inventoryLevels"]["nodes"]
    }
    assert available == {f"gid://shopify/Location/{shop['primary_location_id']}": 3, second: 2}


def test_order_and_fulfilment_documents_run(emulator, shop, client):
    product = emulator.product_create(
        shop["domain"], title="Bag", variants=[{"sku": "BAG", "price": "5.00", "available": 3}]
    )
    variant_id = product["variants"][0]["admin_graphql_api_id"]
    order = raise_for_user_errors(
        _run(
            client,
            shop,
            "order_create",
            {
                "order": {
                    "lineItems": [{"variantId": variant_id, "quantity": 1}],
                    "email": "buyer@example.com",
                    "financialStatus": "PAID",
                    "tags": ["Destination store", "D#1001"],
                },
                "options": {"inventoryBehaviour": "BYPASS"},
            },
        )["orderCreate"]
    )["order"]
    raise_for_user_errors(
        _run(client, shop, "order_update", {"input": {"id": order["id"], "note": "Pushed"}})[
            "orderUpdate"
        ]
    )
    (fulfillment_order,) = _run(client, shop, "order_fulfillment_orders", {"id": order["id"]})[
        "order"
    ]["fulfillmentOrders"]["nodes"]
    assert [line["remainingQuantity"] for line in fulfillment_order["lineItems"]["nodes"]] == [1]
    fulfillment = raise_for_user_errors(
        _run(
            client,
            shop,
            "fulfillment_create",
            {
                "fulfillment": {
                    "lineItemsByFulfillmentOrder": [
                        {"fulfillmentOrderId": fulfillment_order["id"]}
                    ],
                    "trackingInfo": {"company": "UPS", "number": "1Z1"},
                }
            },
        )["fulfillmentCreate"]
    )["fulfillment"]
    updated = raise_for_user_errors(
        _run(
            client,
            shop,
            "fulfillment_tracking_info_update",
            {
                "fulfillmentId": fulfillment["id"],
                "trackingInfoInput": {"company": "UPS", "number": "1Z2"},
            },
        )["fulfillmentTrackingInfoUpdate"]
    )["fulfillment"]
    assert [t["number"] for t in updated["trackingInfo"]] == ["1Z2"]
    # Stock was not touched by the pushed order (BYPASS)
    assert (
        emulator.control.get(f"/_emulator/shops/{shop['domain']}").json()["inventory_levels"][0][
            "available"
        ]
        == 3
    )


def test_webhook_subscription_documents_run(emulator, shop, client):
    created = raise_for_user_errors(
        _run(
            client,
            shop,
            "webhook_subscription_create",
            {
                "topic": "PRODUCTS_UPDATE",
                "webhookSubscription": {"uri": "https://app.example.com/webhooks"},
            },
        )["webhookSubscriptionCreate"]
    )["webhookSubscription"]
    deleted = raise_for_user_errors(
        _run(client, shop, "webhook_subscription_delete", {"id": created["id"]})[
            "webhookSubscriptionDelete"
        ]
    )
    assert deleted["deletedWebhookSubscriptionId"] == created["id"]
