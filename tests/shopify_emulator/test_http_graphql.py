"""The Admin GraphQL endpoint over HTTP: routing, auth, stats and injected faults."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from shopify_emulator.app import create_app
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.domains.webhook_subscriptions.operations import subscription_create
from shopify_emulator.testing import EmulatorServer, WebhookReceiver

SECRET = "graphql-http-secret-0123456789abcdef0123"
API_KEY = "graphql-http-client-id"
SHOP = "demo.myshopify.com"
URL = "/admin/api/2026-07/graphql.json"
SHOP_QUERY = {"query": "{ shop { name } }"}
SET_MUTATION = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { reason }
    userErrors { field message code }
  }
}
"""


def set_body(item_gid, location_gid, quantity, change_from):
    return {
        "query": SET_MUTATION,
        "variables": {
            "input": {
                "name": "available",
                "reason": "correction",
                "quantities": [
                    {
                        "inventoryItemId": item_gid,
                        "locationId": location_gid,
                        "quantity": quantity,
                        "changeFromQuantity": change_from,
                    }
                ],
            },
            "key": str(uuid.uuid4()),
        },
    }


def seed(client):
    """A shop with one item at 10; returns (token, item gid, location gid)."""
    created = client.post("/_emulator/shops", json={"domain": SHOP, "name": "Demo", "plan": "plus"})
    assert created.status_code == 201
    product = {"title": "Shirt", "variants": [{"sku": "S-1", "price": "5.00", "available": 10}]}
    assert client.post(f"/_emulator/shops/{SHOP}/products", json=product).status_code == 201
    shop = client.get(f"/_emulator/shops/{SHOP}").json()
    variant = shop["products"][0]["variants"][0]
    location = next(
        loc["admin_graphql_api_id"]
        for loc in shop["locations"]
        if loc["id"] == shop["primary_location_id"]
    )
    return created.json()["access_token"], variant["inventory_item_admin_graphql_api_id"], location


def available(client):
    shop = client.get(f"/_emulator/shops/{SHOP}").json()
    return next(
        lv["available"]
        for lv in shop["inventory_levels"]
        if lv["location_id"] == shop["primary_location_id"]
    )


@pytest.fixture
def emulator():
    app = create_app(
        config=EmulatorConfig(app_secret=SECRET, api_key=API_KEY, deliver_webhooks=False)
    )
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=f"http://{SHOP}")
    token, item, location = seed(client)
    client.headers["X-Shopify-Access-Token"] = token
    yield app, client, item, location
    client.close()
    app.webhooks.close()


def test_shop_is_chosen_by_host_header_or_path_prefix(emulator):
    _, client, _, _ = emulator
    by_host = client.post(URL, json=SHOP_QUERY)
    by_path = httpx.Client(
        transport=client._transport, base_url="http://127.0.0.1:8765", headers=client.headers
    ).post(f"/shops/{SHOP}{URL}", json=SHOP_QUERY)

    assert by_host.status_code == 200
    assert by_host.json()["data"] == {"shop": {"name": "Demo"}}
    assert by_path.json()["data"] == {"shop": {"name": "Demo"}}
    assert by_host.headers["X-Shopify-API-Version"] == "2026-07"
    cost = by_host.json()["extensions"]["cost"]
    assert cost["throttleStatus"]["restoreRate"] == 1000.0


def test_application_graphql_body_is_accepted(emulator):
    _, client, _, _ = emulator

    response = client.post(
        URL, content=b"{ shop { name } }", headers={"Content-Type": "application/graphql"}
    )

    assert response.json()["data"] == {"shop": {"name": "Demo"}}


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[]", b'{"variables": {}}', b'{"query": "{ shop { name } }", "variables": 3}'],
)
def test_malformed_body_is_400(emulator, content):
    _, client, _, _ = emulator

    response = client.post(URL, content=content, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json() == {"errors": {"query": "Required parameter missing or invalid"}}


def test_unknown_api_version_path_is_404(emulator):
    _, client, _, _ = emulator

    assert client.post("/admin/api/latest/graphql.json", json=SHOP_QUERY).status_code == 404


def test_stats_count_requests_cost_and_throttled_replies(emulator):
    _, client, item, location = emulator
    # Given one successful mutation
    ok = client.post(URL, json=set_body(item, location, 7, 10))
    assert ok.json()["data"]["inventorySetQuantities"]["userErrors"] == []
    actual_cost = ok.json()["extensions"]["cost"]["actualQueryCost"]

    # When every request is throttled
    client.post("/_emulator/faults", json={"throttle_rate": 1.0})
    throttled = client.post(URL, json=set_body(item, location, 3, 7))

    # Then Shopify's THROTTLED body comes back (HTTP 200) and nothing was written
    assert throttled.status_code == 200
    body = throttled.json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["errors"][0]["message"] == "Throttled"
    assert "data" not in body
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert set(body["extensions"]["cost"]["throttleStatus"]) == {
        "maximumAvailable",
        "currentlyAvailable",
        "restoreRate",
    }
    assert available(client) == 7
    stats = client.get("/_emulator/stats").json()["shops"][SHOP]
    assert stats["graphql_requests"] == 2
    assert stats["throttled"] == 1
    assert stats["cost_consumed"] == actual_cost


def test_unauthorized_requests_are_counted(emulator):
    _, client, _, _ = emulator

    response = client.post(URL, json=SHOP_QUERY, headers={"X-Shopify-Access-Token": "bad"})

    assert response.status_code == 401
    stats = client.get("/_emulator/stats").json()["shops"][SHOP]
    assert (stats["graphql_requests"], stats["graphql_unauthorized"]) == (1, 1)


def test_error_fault_answers_5xx_without_executing(emulator):
    _, client, item, location = emulator
    client.post("/_emulator/faults", json={"error_rate": 1.0, "seed": 1})

    statuses = {
        client.post(URL, json=set_body(item, location, 1, 10)).status_code for _ in range(8)
    }

    assert statuses <= {502, 503}
    assert available(client) == 10
    assert client.get("/_emulator/stats").json()["shops"][SHOP]["graphql_errors_injected"] == 8


def test_faults_can_target_one_shop(emulator):
    _, client, _, _ = emulator
    client.post("/_emulator/shops", json={"domain": "calm.myshopify.com"})
    client.post("/_emulator/faults", json={"shop": "calm.myshopify.com", "error_rate": 1.0})

    assert client.post(URL, json=SHOP_QUERY).status_code == 200


def test_timeout_fault_holds_the_reply_after_the_write_landed():
    config = EmulatorConfig(
        app_secret=SECRET, api_key=API_KEY, deliver_webhooks=False, fault_timeout_seconds=1.0
    )
    with EmulatorServer(config=config) as server, server.client() as control:
        control.headers["Host"] = SHOP
        token, item, location = seed(control)
        control.post("/_emulator/faults", json={"timeout_rate": 1.0})
        shop_client = httpx.Client(
            base_url=server.url,
            headers={"X-Shopify-Access-Token": token},
            timeout=httpx.Timeout(0.3),
        )

        # When the client gives up before the emulator answers
        with pytest.raises(httpx.ReadTimeout):
            shop_client.post(f"/shops/{SHOP}{URL}", json=set_body(item, location, 4, 10))

        # Then the write happened anyway (what idempotency keys are for)
        assert available(control) == 4

        # And with timeout_before_execute the request is refused with a late 504 instead
        control.post("/_emulator/faults", json={"timeout_before_execute": True})
        late = httpx.post(
            f"{server.url}/shops/{SHOP}{URL}",
            json=set_body(item, location, 2, 4),
            headers={"X-Shopify-Access-Token": token},
            timeout=5,
        )
        assert late.status_code == 504
        assert available(control) == 4


def test_graphql_mutation_webhook_carries_one_event_id_and_valid_headers():
    with WebhookReceiver() as receiver:
        config = EmulatorConfig(
            app_secret=SECRET, api_key=API_KEY, app_url=receiver.url, webhook_backoff_base=0.05
        )
        with EmulatorServer(config=config) as server, server.client() as control:
            token, item, location = seed(control)
            subscription_create(
                world=server.world,
                shop_domain=SHOP, topic="inventory_levels/update", uri="/webhooks"
            )
            response = httpx.post(
                f"{server.url}/shops/{SHOP}{URL}",
                json=set_body(item, location, 6, 10),
                headers={"X-Shopify-Access-Token": token},
            )
            assert response.json()["data"]["inventorySetQuantities"]["userErrors"] == []
            control.post("/_emulator/webhooks/flush")

    (post,) = receiver.posts("inventory_levels/update")
    assert json.loads(post.body)["available"] == 6
    assert post.headers["x-shopify-shop-domain"] == SHOP
