"""Webhook delivery over real HTTP to a local receiver: headers, HMAC, retries, faults, install."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import urllib.parse

import httpx
import jwt
import pytest

from shopify_emulator.app import create_app
from shopify_emulator.auth import admin_host_param
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.domains.webhook_subscriptions.operations import subscription_create
from shopify_emulator.testing import WebhookReceiver

SECRET = "webhook-test-secret-0123456789abcdef0123"
API_KEY = "webhook-test-client-id"
SHOP = "source.myshopify.com"
TOML = """
client_id = "webhook-test-client-id"
name = "Syncer"
embedded = true

[access_scopes]
scopes = "read_products,write_inventory,read_orders"

[webhooks]
api_version = "2026-07"

  [[webhooks.subscriptions]]
  topics = ["orders/create", "orders/paid", "inventory_levels/update", "app/uninstalled"]
  uri = "/webhooks/shopify"

  [[webhooks.subscriptions]]
  compliance_topics = ["customers/data_request", "customers/redact", "shop/redact"]
  uri = "/webhooks/compliance"
"""
WEBHOOK_HEADERS = {
    "content-type",
    "x-shopify-topic",
    "x-shopify-hmac-sha256",
    "x-shopify-shop-domain",
    "x-shopify-api-version",
    "x-shopify-webhook-id",
    "x-shopify-event-id",
    "x-shopify-triggered-at",
}


_OPEN_APPS = []


@pytest.fixture(autouse=True)
def _close_dispatchers():
    yield
    while _OPEN_APPS:
        _OPEN_APPS.pop().webhooks.close()


def make_emulator(tmp_path, receiver_url, **config):
    toml_path = tmp_path / "shopify.app.toml"
    toml_path.write_text(TOML)
    app = create_app(
        config=EmulatorConfig(
            app_url=receiver_url,
            app_secret=SECRET,
            api_key=API_KEY,
            app_config_path=str(toml_path),
            webhook_backoff_base=0.05,
            **config,
        )
    )
    _OPEN_APPS.append(app)
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://emulator")
    assert (
        client.post("/_emulator/shops", json={"domain": SHOP, "name": "Source"}).status_code == 201
    )
    product = {"title": "Shirt", "variants": [{"sku": "SKU-1", "price": "10.00", "available": 10}]}
    assert client.post(f"/_emulator/shops/{SHOP}/products", json=product).status_code == 201
    return app, client


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


def expected_hmac(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def install(client):
    response = client.post(f"/_emulator/shops/{SHOP}/install")
    assert response.status_code == 200
    return response.json()


def sell(client, quantity=1):
    response = client.post(
        f"/_emulator/shops/{SHOP}/orders", json={"lines": [{"sku": "SKU-1", "quantity": quantity}]}
    )
    assert response.status_code == 201
    return response.json()


def flush(client):
    assert client.post("/_emulator/webhooks/flush", json={"timeout": 10}).json()["idle"] is True


def test_install_creates_toml_subscriptions_and_loads_app_with_verifiable_id_token(
    tmp_path, receiver
):
    app, client = make_emulator(tmp_path, receiver.url)

    # When the merchant installs the app
    result = install(client)

    # Then the TOML subscriptions exist (compliance topics too), with source "toml"
    subscriptions = client.get(f"/_emulator/shops/{SHOP}").json()["subscriptions"]
    assert sorted((s["topic"], s["uri"], s["source"]) for s in subscriptions) == sorted(
        [
            ("orders/create", "/webhooks/shopify", "toml"),
            ("orders/paid", "/webhooks/shopify", "toml"),
            ("inventory_levels/update", "/webhooks/shopify", "toml"),
            ("app/uninstalled", "/webhooks/shopify", "toml"),
            ("customers/data_request", "/webhooks/compliance", "toml"),
            ("customers/redact", "/webhooks/compliance", "toml"),
            ("shop/redact", "/webhooks/compliance", "toml"),
        ]
    )
    # and the admin loaded the app URL with embedded params and a valid id_token
    assert result["installed"] is True
    assert result["app_status"] == 200
    assert result["access_token"].startswith("shpat_")
    loads = [r for r in receiver.wait_for(1) if r.method == "GET"]
    assert len(loads) == 1
    url = urllib.parse.urlsplit(loads[0].path)
    assert url.path == "/"
    params = dict(urllib.parse.parse_qsl(url.query))
    assert params["embedded"] == "1"
    assert params["shop"] == SHOP
    assert params["host"] == admin_host_param(SHOP)
    claims = jwt.decode(params["id_token"], SECRET, algorithms=["HS256"], audience=API_KEY)
    assert claims["dest"] == f"https://{SHOP}"
    message = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "hmac")
    assert params["hmac"] == hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    # and the install token works for the Admin API's auth check
    assert app.auth.authenticate(token=result["access_token"], shop=SHOP) is not None

    # Installing again does not duplicate subscriptions
    install(client)
    assert len(client.get(f"/_emulator/shops/{SHOP}").json()["subscriptions"]) == 7


def test_checkout_webhooks_arrive_signed_with_every_header(tmp_path, receiver):
    app, client = make_emulator(tmp_path, receiver.url)
    install(client)

    # When a customer checks out (one merchant-visible action)
    order = sell(client, quantity=2)
    flush(client)

    # Then orders/create, orders/paid and inventory_levels/update arrive, correctly signed
    posts = receiver.posts()
    assert sorted(p.headers["x-shopify-topic"] for p in posts) == [
        "inventory_levels/update",
        "orders/create",
        "orders/paid",
    ]
    for post in posts:
        assert set(post.headers) >= WEBHOOK_HEADERS
        assert post.path == "/webhooks/shopify"
        assert post.headers["content-type"] == "application/json"
        assert post.headers["x-shopify-shop-domain"] == SHOP
        assert post.headers["x-shopify-api-version"] == "2026-07"
        assert hmac.compare_digest(post.headers["x-shopify-hmac-sha256"], expected_hmac(post.body))
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", post.headers["x-shopify-triggered-at"]
        )
        compact = json.dumps(json.loads(post.body), separators=(",", ":"), ensure_ascii=False)
        assert post.body == compact.encode()
    # one merchant action → one Event-Id, one Webhook-Id per delivery
    assert len({p.headers["x-shopify-event-id"] for p in posts}) == 1
    assert len({p.headers["x-shopify-webhook-id"] for p in posts}) == 3
    paid = next(p for p in posts if p.headers["x-shopify-topic"] == "orders/paid")
    assert json.loads(paid.body)["id"] == order["id"]
    level = next(p for p in posts if p.headers["x-shopify-topic"] == "inventory_levels/update")
    assert json.loads(level.body)["available"] == 8
    stats = client.get("/_emulator/stats").json()["shops"][SHOP]
    assert (stats["webhooks_sent"], stats["webhooks_retried"], stats["webhooks_failed"]) == (
        3,
        0,
        0,
    )


def test_receiver_failing_once_gets_a_retry_with_the_same_webhook_id(tmp_path):
    # Given an app that answers 500 to the first delivery
    with WebhookReceiver(responder=lambda index, path: 500 if index == 0 else 200) as receiver:
        app, client = make_emulator(tmp_path, receiver.url)
        client.post(f"/_emulator/shops/{SHOP}/install", json={"load_app": False}).raise_for_status()

        # When stock changes once
        client.post(f"/_emulator/shops/{SHOP}/inventory", json={"sku": "SKU-1", "available": 4})
        flush(client)

    # Then the delivery is retried with the same id, body and signature
    posts = receiver.posts()
    assert [p.status for p in posts] == [500, 200]
    assert posts[0].headers["x-shopify-webhook-id"] == posts[1].headers["x-shopify-webhook-id"]
    assert posts[0].headers["x-shopify-event-id"] == posts[1].headers["x-shopify-event-id"]
    assert posts[0].body == posts[1].body
    assert posts[0].headers["x-shopify-hmac-sha256"] == posts[1].headers["x-shopify-hmac-sha256"]
    stats = client.get("/_emulator/stats").json()["shops"][SHOP]
    assert (stats["webhooks_sent"], stats["webhooks_retried"], stats["webhooks_attempts"]) == (
        1,
        1,
        2,
    )


def test_redirect_counts_as_failure(tmp_path):
    with WebhookReceiver(responder=lambda index, path: 302 if index == 0 else 200) as receiver:
        _, client = make_emulator(tmp_path, receiver.url)
        client.post(f"/_emulator/shops/{SHOP}/install", json={"load_app": False})
        client.post(f"/_emulator/shops/{SHOP}/inventory", json={"sku": "SKU-1", "delta": -1})
        flush(client)

    assert [p.status for p in receiver.posts()] == [302, 200]


def test_delivery_gives_up_after_max_attempts_and_drops_api_subscription(tmp_path):
    with WebhookReceiver(responder=lambda index, path: 503) as receiver:
        app, client = make_emulator(tmp_path, receiver.url, webhook_max_attempts=3)
        # Given an Admin-API subscription (not TOML) to a failing endpoint
        subscription_create(
            world=app.world,
            shop_domain=SHOP, topic="inventory_levels/update", uri=f"{receiver.url}/hook"
        )

        client.post(f"/_emulator/shops/{SHOP}/inventory", json={"sku": "SKU-1", "available": 1})
        flush(client)

    # Then it was tried exactly 3 times, counted failed, and Shopify removed the subscription
    assert len(receiver.posts()) == 3
    assert len({p.headers["x-shopify-webhook-id"] for p in receiver.posts()}) == 1
    stats = client.get("/_emulator/stats").json()["shops"][SHOP]
    assert (stats["webhooks_failed"], stats["webhooks_retried"], stats["webhooks_sent"]) == (
        1,
        2,
        0,
    )
    assert client.get(f"/_emulator/shops/{SHOP}").json()["subscriptions"] == []


def test_duplicate_fault_sends_the_same_webhook_id_twice(tmp_path, receiver):
    _, client = make_emulator(tmp_path, receiver.url)
    client.post(f"/_emulator/shops/{SHOP}/install", json={"load_app": False})
    assert client.post("/_emulator/faults", json={"webhook_duplicate_rate": 1.0}).status_code == 200

    client.post(f"/_emulator/shops/{SHOP}/inventory", json={"sku": "SKU-1", "available": 3})
    flush(client)

    posts = receiver.posts()
    assert len(posts) == 2
    assert posts[0].headers["x-shopify-webhook-id"] == posts[1].headers["x-shopify-webhook-id"]
    assert posts[0].body == posts[1].body
    assert client.get("/_emulator/stats").json()["shops"][SHOP]["webhooks_duplicated"] == 1


def test_delay_fault_holds_deliveries_back(tmp_path, receiver):
    _, client = make_emulator(tmp_path, receiver.url)
    client.post(f"/_emulator/shops/{SHOP}/install", json={"load_app": False})
    client.post("/_emulator/faults", json={"webhook_delay_ms": 400, "webhook_reorder": True})

    started = time.time()
    client.post(f"/_emulator/shops/{SHOP}/inventory", json={"sku": "SKU-1", "available": 3})
    flush(client)

    posts = receiver.posts()
    assert len(posts) == 1
    assert posts[0].at - started >= 0.4


def test_slow_receiver_never_blocks_the_merchant_action(tmp_path):
    with WebhookReceiver(delay=2.0) as receiver:
        _, client = make_emulator(tmp_path, receiver.url)
        client.post(f"/_emulator/shops/{SHOP}/install", json={"load_app": False})

        started = time.monotonic()
        sell(client)
        elapsed = time.monotonic() - started
        flush(client)

    assert elapsed < 1.0
    assert len(receiver.posts()) == 3


def test_uninstall_revokes_tokens_removes_subscriptions_and_fires_app_uninstalled(
    tmp_path, receiver
):
    app, client = make_emulator(tmp_path, receiver.url)
    token = install(client)["access_token"]

    # When the merchant uninstalls
    result = client.post(f"/_emulator/shops/{SHOP}/uninstall")
    flush(client)

    # Then app/uninstalled arrives with the shop payload, tokens are dead, subscriptions gone
    assert result.status_code == 200
    assert result.json()["webhooks_sent"] == 1
    (uninstalled,) = receiver.posts("app/uninstalled")
    payload = json.loads(uninstalled.body)
    assert payload["myshopify_domain"] == SHOP
    assert payload["domain"] == SHOP
    assert app.auth.authenticate(token=token, shop=SHOP) is None
    assert client.get(f"/_emulator/shops/{SHOP}").json()["subscriptions"] == []
    # and later sales are not delivered to the uninstalled app
    sell(client)
    flush(client)
    assert [p.headers["x-shopify-topic"] for p in receiver.posts()] == ["app/uninstalled"]

    # When the shop is redacted 48 h later, the compliance endpoint hears about it
    redact = client.post(f"/_emulator/shops/{SHOP}/redact")
    flush(client)
    assert redact.status_code == 200
    (redacted,) = receiver.posts("shop/redact")
    assert redacted.path == "/webhooks/compliance"
    assert json.loads(redacted.body) == {
        "shop_id": app.world.shop_get(SHOP).id,
        "shop_domain": SHOP,
    }
    assert hmac.compare_digest(
        redacted.headers["x-shopify-hmac-sha256"], expected_hmac(redacted.body)
    )


def test_recent_deliveries_are_listed(tmp_path, receiver):
    _, client = make_emulator(tmp_path, receiver.url)
    client.post(f"/_emulator/shops/{SHOP}/install", json={"load_app": False})
    client.post(f"/_emulator/shops/{SHOP}/inventory", json={"sku": "SKU-1", "available": 2})
    flush(client)

    deliveries = client.get(f"/_emulator/shops/{SHOP}/webhooks").json()["deliveries"]

    assert [(d["topic"], d["status"], d["attempts"]) for d in deliveries] == [
        ("inventory_levels/update", "delivered", 1)
    ]
    assert deliveries[0]["payload"]["available"] == 2
