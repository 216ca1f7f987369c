"""The /_emulator control API: merchant actions, validation errors, faults, admin page."""

from __future__ import annotations

import json
import urllib.parse

import httpx
import jwt
import pytest

from shopify_emulator.app import create_app
from shopify_emulator.config import EmulatorConfig

SECRET = "control-test-secret-0123456789abcdef01234"
API_KEY = "control-test-client-id"
SHOP = "demo.myshopify.com"


@pytest.fixture
def emulator():
    app = create_app(
        config=EmulatorConfig(
            app_secret=SECRET,
            api_key=API_KEY,
            app_url="http://127.0.0.1:8000",
            deliver_webhooks=False,
        )
    )
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://emulator")
    yield app, client
    client.close()
    app.webhooks.close()


@pytest.fixture
def shop(emulator):
    _, client = emulator
    response = client.post(
        "/_emulator/shops", json={"domain": SHOP, "name": "Demo store", "plan": "plus"}
    )
    assert response.status_code == 201
    product = {
        "title": "Shirt",
        "vendor": "Acme",
        "tags": ["summer"],
        "variants": [
            {"sku": "SHIRT-S", "price": "19.00", "available": 10},
            {"sku": "SHIRT-M", "price": "19.00", "available": 4},
        ],
    }
    assert client.post(f"/_emulator/shops/{SHOP}/products", json=product).status_code == 201
    return response.json()


def available(client, sku):
    levels = client.get(f"/_emulator/shops/{SHOP}").json()["inventory_levels"]
    primary = client.get(f"/_emulator/shops/{SHOP}").json()["primary_location_id"]
    return next(
        lv["available"] for lv in levels if lv["sku"] == sku and lv["location_id"] == primary
    )


def test_create_shop_returns_locations_and_a_working_access_token(emulator, shop):
    app, _ = emulator

    assert shop["domain"] == SHOP
    assert shop["name"] == "Demo store"
    assert shop["plan"] == "plus"
    assert [loc["name"] for loc in shop["locations"]] == ["Main warehouse", "Second location"]
    assert app.auth.authenticate(token=shop["access_token"], shop=SHOP) is not None


def test_bare_shop_name_is_normalised_to_myshopify_domain(emulator):
    _, client = emulator

    response = client.post("/_emulator/shops", json={"domain": "Other-Store"})

    assert response.status_code == 201
    assert response.json()["domain"] == "other-store.myshopify.com"
    assert response.json()["name"] == "Other Store"


def test_merchant_actions_move_stock(emulator, shop):
    _, client = emulator
    # stock set and adjust
    client.post(f"/_emulator/shops/{SHOP}/inventory", json={"sku": "SHIRT-S", "available": 8})
    client.post(f"/_emulator/shops/{SHOP}/inventory", json={"sku": "SHIRT-S", "delta": -1})
    assert available(client, "SHIRT-S") == 7

    # a paid checkout decrements available
    order = client.post(
        f"/_emulator/shops/{SHOP}/orders",
        json={
            "lines": [{"sku": "SHIRT-S", "quantity": 2}],
            "customer": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
        },
    )
    assert order.status_code == 201
    order = order.json()
    assert order["financial_status"] == "paid"
    assert available(client, "SHIRT-S") == 5

    # refund with restock puts it back
    refund = client.post(
        f"/_emulator/shops/{SHOP}/orders/{order['id']}/refund",
        json={"lines": [{"sku": "SHIRT-S", "quantity": 1}], "restock": True},
    )
    assert refund.status_code == 201
    assert available(client, "SHIRT-S") == 6

    # fulfil with tracking
    fulfilled = client.post(
        f"/_emulator/shops/{SHOP}/orders/{order['id']}/fulfill",
        json={
            "tracking_company": "UPS",
            "tracking_number": "1Z999",
            "tracking_url": "https://ups.example/1Z999",
        },
    )
    assert fulfilled.status_code == 201
    assert fulfilled.json()["tracking_number"] == "1Z999"

    # cancel with restock on a fresh order
    second = client.post(
        f"/_emulator/shops/{SHOP}/orders",
        json={"lines": [{"sku": "SHIRT-M", "quantity": 3}], "financial_status": "pending"},
    ).json()
    assert second["financial_status"] == "pending"
    assert available(client, "SHIRT-M") == 1
    cancelled = client.post(
        f"/_emulator/shops/{SHOP}/orders/{second['id']}/cancel", json={"restock": True}
    )
    assert cancelled.status_code == 200
    assert available(client, "SHIRT-M") == 4


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/_emulator/shops", {}, 400, "domain is required"),
        ("/_emulator/shops", {"domain": "bad_domain!"}, 400, None),
        ("/_emulator/shops", {"domain": "x", "plan": "gold"}, 400, None),
        ("/_emulator/shops", {"domain": SHOP}, 409, f"Shop '{SHOP}' already exists"),
        (f"/_emulator/shops/{SHOP}/products", {"variants": []}, 400, "title is required"),
        (f"/_emulator/shops/{SHOP}/products", {"title": "T", "variants": "x"}, 400, None),
        (f"/_emulator/shops/{SHOP}/inventory", {"sku": "SHIRT-S"}, 400, None),
        (f"/_emulator/shops/{SHOP}/inventory", {"sku": "SHIRT-S", "available": "lots"}, 400, None),
        (
            f"/_emulator/shops/{SHOP}/inventory",
            {"sku": "NOPE", "available": 1},
            400,
            f"No variant with sku 'NOPE' in {SHOP}",
        ),
        (f"/_emulator/shops/{SHOP}/orders", {"lines": []}, 400, None),
        (f"/_emulator/shops/{SHOP}/orders", {"lines": [{"sku": "SHIRT-S"}]}, 400, None),
        (
            f"/_emulator/shops/{SHOP}/orders",
            {"lines": [{"sku": "SHIRT-S", "quantity": 1}], "financial_status": "free"},
            400,
            None,
        ),
        (f"/_emulator/shops/{SHOP}/orders/123/cancel", {}, 404, f"Unknown order 123 in {SHOP}"),
        (f"/_emulator/shops/{SHOP}/orders/123/refund", {"lines": []}, 404, None),
        ("/_emulator/shops/ghost.myshopify.com/orders", {"lines": []}, 404, None),
        ("/_emulator/shops/ghost.myshopify.com/install", {}, 404, None),
        ("/_emulator/shops/ghost.myshopify.com/session-token", {}, 404, None),
        ("/_emulator/faults", {"throttle_rate": 2}, 400, "throttle_rate must be between 0 and 1"),
        ("/_emulator/faults", {"bogus": 1}, 400, "unknown fault(s): bogus"),
        ("/_emulator/faults", {"webhook_reorder": "maybe"}, 400, None),
    ],
)
def test_bad_input_is_a_json_4xx_never_a_traceback(emulator, shop, path, body, status, error):
    _, client = emulator

    response = client.post(path, json=body)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"error"}
    if error is not None:
        assert response.json()["error"] == error


def test_malformed_json_body_is_400(emulator, shop):
    _, client = emulator

    response = client.post(
        f"/_emulator/shops/{SHOP}/inventory",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json() == {"error": "body is not valid JSON"}


def test_unknown_route_and_wrong_method_are_json(emulator):
    _, client = emulator

    assert client.get("/_emulator/nothing-here").status_code == 404
    wrong = client.get("/_emulator/reset")
    assert wrong.status_code == 405
    assert wrong.json() == {"errors": "Method Not Allowed"}


def test_unknown_shop_snapshot_is_404(emulator):
    _, client = emulator

    response = client.get("/_emulator/shops/ghost.myshopify.com")

    assert response.status_code == 404
    assert response.json() == {"error": "Unknown shop 'ghost.myshopify.com'"}


def test_faults_are_set_partially_and_reported(emulator, shop):
    _, client = emulator

    first = client.post("/_emulator/faults", json={"throttle_rate": 0.25, "webhook_delay_ms": 50})
    second = client.post("/_emulator/faults", json={"error_rate": 0.1})
    scoped = client.post("/_emulator/faults", json={"shop": SHOP, "timeout_rate": 0.5})

    assert first.status_code == 200
    state = second.json()
    assert (state["throttle_rate"], state["error_rate"], state["webhook_delay_ms"]) == (
        0.25,
        0.1,
        50,
    )
    assert state["timeout_rate"] == 0.0
    assert scoped.json()["shops"] == {SHOP: {"timeout_rate": 0.5}}
    assert client.get("/_emulator/faults").json() == scoped.json()


def test_session_token_endpoint_mints_a_verifiable_token(emulator, shop):
    _, client = emulator

    response = client.post(f"/_emulator/shops/{SHOP}/session-token", json={"user_id": 5})

    assert response.status_code == 200
    claims = jwt.decode(response.json()["token"], SECRET, algorithms=["HS256"], audience=API_KEY)
    assert (claims["dest"], claims["sub"]) == (f"https://{SHOP}", "5")
    assert response.json()["expires_in"] == 60


def test_admin_page_frames_the_app_with_id_token_and_postmessage_bridge(emulator, shop):
    _, client = emulator

    response = client.get(f"/admin/{SHOP}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    src = page.split('id="app-frame" name="app-iframe" src="', 1)[1].split('"', 1)[0]
    url = urllib.parse.urlsplit(src.replace("&amp;", "&"))
    assert f"{url.scheme}://{url.netloc}" == "http://127.0.0.1:8000"
    params = dict(urllib.parse.parse_qsl(url.query))
    assert params["embedded"] == "1"
    assert params["shop"] == SHOP
    jwt.decode(params["id_token"], SECRET, algorithms=["HS256"], audience=API_KEY)
    assert "syncer:idToken:request" in page
    assert "syncer:idToken:response" in page
    assert f"/_emulator/shops/{SHOP}/session-token" in page
    assert client.get("/admin/ghost.myshopify.com").status_code == 404


def test_reset_forgets_everything(emulator, shop):
    app, client = emulator

    response = client.post("/_emulator/reset")

    assert response.json() == {"reset": True}
    assert client.get("/_emulator/shops").json() == {"shops": []}
    assert app.auth.authenticate(token=shop["access_token"], shop=SHOP) is None


def test_snapshot_file_restores_world_and_tokens(emulator, shop, tmp_path):
    app, client = emulator
    path = tmp_path / "state.json"

    saved = client.post("/_emulator/snapshot", json={"path": str(path)})
    restored = create_app(
        config=EmulatorConfig(app_secret=SECRET, api_key=API_KEY, snapshot_path=str(path))
    )

    assert saved.json() == {"saved": str(path)}
    assert json.loads(path.read_text())["world"]["shops"][0]["domain"] == SHOP
    assert restored.world.shop_get(SHOP).name == "Demo store"
    assert restored.auth.authenticate(token=shop["access_token"], shop=SHOP) is not None


def test_bulk_result_unknown_is_404(emulator):
    _, client = emulator

    response = client.get("/_emulator/bulk/999.jsonl")

    assert response.status_code == 404


def test_shop_snapshot_without_orders_is_the_same_shop_minus_orders(emulator, shop):
    _, client = emulator
    # given a shop with an order
    client.post(f"/_emulator/shops/{SHOP}/orders", json={"lines": [{"sku": "SHIRT-S",
                                                                    "quantity": 1}]})
    full = client.get(f"/_emulator/shops/{SHOP}").json()
    # when it is read without orders
    light = client.get(f"/_emulator/shops/{SHOP}?orders=0").json()
    # then orders and fulfillments are left out and everything else is identical
    assert len(full["orders"]) == 1
    assert (light["orders"], light["fulfillments"]) == (None, None)
    assert {k: v for k, v in full.items() if k not in ("orders", "fulfillments")} == {
        k: v for k, v in light.items() if k not in ("orders", "fulfillments")}


def test_setting_stock_at_a_new_location_stocks_the_item_there(emulator, shop):
    _, client = emulator
    primary = shop["primary_location_id"]
    second = next(loc["id"] for loc in shop["locations"] if loc["id"] != primary)
    # when the merchant types 6 for the second location, where the shirt was not stocked
    response = client.post(f"/_emulator/shops/{SHOP}/inventory",
                           json={"sku": "SHIRT-S", "available": 6, "location_id": second})
    # then it is stocked there with 6, and the primary location keeps its 10
    assert response.status_code == 200
    assert response.json()["location_id"] == second
    levels = client.get(f"/_emulator/shops/{SHOP}").json()["inventory_levels"]
    assert sorted((lv["location_id"], lv["available"]) for lv in levels
                  if lv["sku"] == "SHIRT-S") == sorted([(shop["primary_location_id"], 10),
                                                        (second, 6)])
    # but an adjustment there still needs the item stocked first
    response = client.post(f"/_emulator/shops/{SHOP}/inventory",
                           json={"sku": "SHIRT-M", "delta": 2, "location_id": second})
    assert response.status_code == 400
    assert "'SHIRT-M' is not stocked at location" in response.json()["error"]


def test_a_pending_order_is_paid_once(emulator, shop):
    _, client = emulator
    order = client.post(f"/_emulator/shops/{SHOP}/orders", json={
        "lines": [{"sku": "SHIRT-S", "quantity": 1}], "financial_status": "pending"}).json()
    order_id = order["id"]
    paid = client.post(f"/_emulator/shops/{SHOP}/orders/{order_id}/pay")
    assert paid.status_code == 200
    assert paid.json()["financial_status"] == "paid"
    again = client.post(f"/_emulator/shops/{SHOP}/orders/{order_id}/pay")
    assert again.status_code == 400
    assert again.json()["error"] == "The order is paid, not awaiting payment"
