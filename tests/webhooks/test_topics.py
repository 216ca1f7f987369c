"""Every topic Syncer subscribes to, delivered by the emulator the way Shopify does (signed,
REST-shaped payloads) into the real endpoint: accepted, stored once, dispatched."""

import tomllib

import pytest
from prometheus_client.parser import text_string_to_metric_families

from stores.models import CustomerDataRequest, Shop
from stores.services import shop_access_token
from syncer.shopify.client import admin_client
from syncer.shopify.documents import document
from tests.conftest import ROOT
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)

SOURCE = "demo-source.myshopify.com"
CUSTOMER = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
ADDRESS = {"first_name": "Ada", "last_name": "Lovelace", "address1": "12 Analytical Row",
           "city": "London", "zip": "N1 7AA", "country_code": "GB"}


def subscribed_topics() -> set[str]:
    config = tomllib.loads((ROOT / "shopify.app.toml").read_text())
    return {topic for entry in config["webhooks"]["subscriptions"]
            for topic in entry.get("topics", []) + entry.get("compliance_topics", [])}


def merchant_day(emulator) -> dict:
    """Enough merchant actions to make Shopify send every topic we subscribe to."""
    emulator.shop_create(SOURCE, name="Demo Source")
    emulator.install(SOURCE)
    emulator.product_create(SOURCE, title="Linen shirt", vendor="Acme", tags=["summer"],
                            variants=[{"sku": "SHIRT-S", "price": "30.00", "available": 10}])
    order = emulator.order_create(SOURCE, lines=[{"sku": "SHIRT-S", "quantity": 2}],
                                  financial_status="paid", customer=CUSTOMER,
                                  shipping_address=ADDRESS, email="ada@example.com")
    order_id = order.get("id") or order["order"]["id"]
    emulator._json("POST", f"/_emulator/shops/{SOURCE}/orders/{order_id}/fulfill",
                   json={"tracking_company": "UPS", "tracking_number": "1Z999",
                         "tracking_url": "https://ups.example/1Z999"})
    emulator._json("POST", f"/_emulator/shops/{SOURCE}/orders/{order_id}/refund",
                   json={"lines": [{"sku": "SHIRT-S", "quantity": 1}], "restock": True})
    snapshot = emulator.shop(SOURCE)
    product = snapshot["products"][0]
    fulfillment = snapshot["fulfillments"][0]
    client, token = admin_client(), shop_access_token(shop_domain=SOURCE)
    client.execute(shop_domain=SOURCE, access_token=token, document=document("product_update"),
                   variables={"product": {"id": product["admin_graphql_api_id"],
                                          "title": "Linen shirt (new)"}})
    client.execute(
        shop_domain=SOURCE, access_token=token, document=document("product_variants_bulk_update"),
        variables={"productId": product["admin_graphql_api_id"], "variants": [{
            "id": f"gid://shopify/ProductVariant/{product['variants'][0]['id']}",
            "inventoryItem": {"sku": "SHIRT-S1"}}]},
    )
    client.execute(
        shop_domain=SOURCE, access_token=token,
        document=document("fulfillment_tracking_info_update"),
        variables={"fulfillmentId": f"gid://shopify/Fulfillment/{fulfillment['id']}",
                   "trackingInfoInput": {"company": "UPS", "number": "1Z998"}},
    )
    second = emulator.order_create(SOURCE, lines=[{"sku": "SHIRT-S1", "quantity": 1}],
                                   financial_status="paid", customer=CUSTOMER,
                                   shipping_address=ADDRESS)
    second_id = second.get("id") or second["order"]["id"]
    emulator._json("POST", f"/_emulator/shops/{SOURCE}/orders/{second_id}/edit",
                   json={"lines": [{"sku": "SHIRT-S1", "quantity": 1}]})
    emulator._json("POST", f"/_emulator/shops/{SOURCE}/orders/{second_id}/cancel",
                   json={"restock": True})
    emulator.flush_webhooks()
    return {"order_id": order_id}


def test_every_subscribed_topic_is_accepted_and_dispatched(emulator):
    merchant_day(emulator)
    shop_id = emulator.shop(SOURCE)["id"]
    emulator._json("POST", f"/_emulator/shops/{SOURCE}/redact",
                   json={"topic": "customers/data_request",
                         "customer": {"id": 1, "email": "ada@example.com"}})
    emulator._json("POST", f"/_emulator/shops/{SOURCE}/redact",
                   json={"topic": "customers/redact",
                         "customer": {"id": 1, "email": "ada@example.com"}})
    emulator.flush_webhooks()
    received = set(WebhookDelivery.objects.values_list("topic", flat=True))
    # every topic a merchant's day produces arrived; lifecycle ones are handled now, catalogue,
    # stock and order topics are recorded (their handlers belong to the products/orders apps)
    expected = subscribed_topics() - {"app/uninstalled", "shop/redact", "app/scopes_update",
                                      "products/delete", "bulk_operations/finish",
                                      "app_subscriptions/update",  # tests/stores/test_billing.py
                                      # a second location to unstock at: test_inventory_reactivation
                                      "inventory_levels/disconnect"}
    assert expected <= received
    statuses = dict(WebhookDelivery.objects.values_list("topic", "status").distinct())
    assert statuses["customers/data_request"] == "processed"
    assert statuses["customers/redact"] == "processed"
    assert not WebhookDelivery.objects.filter(status="failed").exists()
    assert WebhookDelivery.objects.filter(status="received").count() == 0
    assert shop_id


def test_uninstall_drops_tokens_and_keeps_data(emulator):
    merchant_day(emulator)
    # when the merchant uninstalls
    emulator.uninstall(SOURCE)
    emulator.flush_webhooks()
    # then
    shop = Shop.objects.get(domain=SOURCE)
    assert shop.uninstalled_at is not None
    assert (shop.access_token, shop.refresh_token) == ("", "")
    assert shop.access_token_expires_at is None
    assert WebhookDelivery.objects.filter(shop_domain=SOURCE, topic="orders/paid").exists()
    assert WebhookDelivery.objects.get(topic="app/uninstalled").status == "processed"


def test_reinstall_after_uninstall_exchanges_a_new_token(emulator):
    emulator.shop_create(SOURCE)
    emulator.install(SOURCE)
    emulator.uninstall(SOURCE)
    emulator.flush_webhooks()
    emulator.install(SOURCE)
    shop = Shop.objects.get(domain=SOURCE)
    assert shop.is_installed
    assert shop.access_token


def test_shop_redact_erases_the_shop(emulator):
    merchant_day(emulator)
    emulator.uninstall(SOURCE)
    emulator._json("POST", f"/_emulator/shops/{SOURCE}/redact", json={"topic": "shop/redact"})
    emulator.flush_webhooks()
    assert not Shop.objects.filter(domain=SOURCE).exists()
    assert list(WebhookDelivery.objects.filter(shop_domain=SOURCE)
                .values_list("topic", flat=True)) == ["shop/redact"]


def test_customer_redact_removes_personal_data_from_stored_payloads(emulator):
    merchant_day(emulator)
    assert WebhookDelivery.objects.filter(raw_body__contains="12 Analytical Row").exists()
    # when
    emulator._json("POST", f"/_emulator/shops/{SOURCE}/redact",
                   json={"topic": "customers/redact",
                         "customer": {"id": None, "email": "ada@example.com"}})
    emulator.flush_webhooks()
    # then no stored payload holds the customer's name, email or address any more
    bodies = list(WebhookDelivery.objects.exclude(topic__startswith="customers/")
                  .values_list("raw_body", flat=True))
    assert not [b for b in bodies if "12 Analytical Row" in b or "ada@example.com" in b
                or "Lovelace" in b]
    assert WebhookDelivery.objects.filter(topic="orders/paid").exists()


def test_customer_data_request_assembles_what_we_hold(emulator):
    merchant_day(emulator)
    emulator._json("POST", f"/_emulator/shops/{SOURCE}/redact",
                   json={"topic": "customers/data_request",
                         "customer": {"id": None, "email": "ada@example.com"}})
    emulator.flush_webhooks()
    request = CustomerDataRequest.objects.get()
    assert request.email == "ada@example.com"
    topics = {item["topic"] for item in request.data}
    assert {"orders/create", "orders/paid"} <= topics


def metric_samples(client) -> dict[tuple[str, frozenset], float]:
    body = client.get("/metrics").content.decode()
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body) for sample in family.samples}


def test_metrics_count_webhooks(client, emulator):
    # given the process-wide counters as they stand (other tests have moved them)
    before = metric_samples(client)

    # when a merchant day's webhooks arrive
    merchant_day(emulator)

    # then the counters moved by exactly what arrived, and nothing was counted as ignored
    after = metric_samples(client)

    def moved(name: str, **labels) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    paid = WebhookDelivery.objects.filter(topic="orders/paid").count()
    assert paid >= 1
    assert moved("syncer_webhooks_received_total", topic="orders/paid") == paid
    assert moved("syncer_webhooks_processed_total", outcome="ok", topic="orders/paid") == paid
    ignored = {key: value - before.get(key, 0.0) for key, value in after.items()
               if key[0] == "syncer_webhooks_processed_total"
               and ("outcome", "ignored") in key[1] and value != before.get(key, 0.0)}
    assert ignored == {}
    assert moved("syncer_webhook_inbox_lag_seconds_count") >= WebhookDelivery.objects.count()
