"""The merchant adds and deletes a product's variants (control API
`POST .../products/<id>/variants`, `DELETE .../variants/<id>` and the CLI's `variant add` /
`variant remove`, issue 20): the same operation as productVariantsBulkCreate /
productVariantsBulkDelete, so the same refusals in Shopify's words and the same webhooks; a
refusal changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shopify_emulator.app import create_app
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.testing import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
SHOP = "variants.myshopify.com"


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def __call__(self, shop: str, topic: str, payload: dict) -> None:
        self.events.append((topic, payload))

    @property
    def topics(self) -> list[str]:
        return [topic for topic, _payload in self.events]

    def of(self, topic: str) -> list[dict]:
        return [payload for t, payload in self.events if t == topic]


@pytest.fixture
def emulator():
    app = create_app(config=EmulatorConfig(app_secret="v" * 40, api_key="variants-key",
                                           app_url="http://127.0.0.1:8000",
                                           deliver_webhooks=False))
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://emulator")
    assert client.post("/_emulator/shops", json={"domain": SHOP}).status_code == 201
    yield app, client
    client.close()
    app.webhooks.close()


def _shirt(client: httpx.Client) -> dict:
    response = client.post(f"/_emulator/shops/{SHOP}/products", json={
        "title": "Shirt", "option_name": "Size",
        "variants": [{"sku": "SHIRT-S", "price": "19.00", "available": 3, "option1": "S"},
                     {"sku": "SHIRT-M", "price": "19.00", "available": 4, "option1": "M"}]})
    assert response.status_code == 201
    return response.json()


def _recorder(app) -> Recorder:
    recorder = Recorder()
    app.world.listeners.append(recorder)
    return recorder


def _state(app) -> list[tuple[str, list[str], int]]:
    shop = app.world.shop_get(SHOP)
    return [(shop.item_of(v).sku, list(v.option_values), shop.inventory_quantity(v))
            for v in shop.variants.values()]


def test_adding_a_variant_stocks_it_and_sends_the_bulk_create_webhooks(emulator):
    # given a shirt in S and M
    app, client = emulator
    shirt = _shirt(client)
    recorder = _recorder(app)
    # when the merchant adds an L with its details and 5 in stock
    response = client.post(f"/_emulator/shops/{SHOP}/products/{shirt['id']}/variants", json={
        "options": ["L"], "sku": "SHIRT-L", "price": "21.00", "compare_at_price": "25",
        "barcode": "777", "weight": 0.5, "weight_unit": "lb", "available": 5})
    # then the reply is the new variant and the product, as REST shows them
    assert response.status_code == 201, response.text
    reply = response.json()
    variant = reply["variant"]
    assert {key: variant[key] for key in (
        "product_id", "title", "sku", "price", "compare_at_price", "barcode", "weight",
        "weight_unit", "position", "option1", "inventory_quantity")} == {
        "product_id": shirt["id"], "title": "L", "sku": "SHIRT-L", "price": "21.00",
        "compare_at_price": "25.00", "barcode": "777", "weight": 0.5, "weight_unit": "lb",
        "position": 3, "option1": "L", "inventory_quantity": 5}
    assert reply["product"]["options"][0]["values"] == ["S", "M", "L"]
    assert [v["sku"] for v in reply["product"]["variants"]] == ["SHIRT-S", "SHIRT-M", "SHIRT-L"]
    # and the webhooks are productVariantsBulkCreate's
    assert recorder.topics == ["products/update", "inventory_items/create",
                               "inventory_levels/update"]
    assert recorder.of("products/update") == [reply["product"]]
    assert [(p["id"], p["sku"]) for p in recorder.of("inventory_items/create")] == [
        (variant["inventory_item_id"], "SHIRT-L")]
    assert [(p["inventory_item_id"], p["available"])
            for p in recorder.of("inventory_levels/update")] == [
        (variant["inventory_item_id"], 5)]


def test_a_variant_added_without_stock_is_stocked_at_zero_with_no_level_webhook(emulator):
    app, client = emulator
    shirt = _shirt(client)
    recorder = _recorder(app)
    response = client.post(f"/_emulator/shops/{SHOP}/products/{shirt['id']}/variants",
                           json={"options": "L", "sku": "SHIRT-L", "price": "19.00"})
    assert response.status_code == 201, response.text
    assert recorder.topics == ["products/update", "inventory_items/create"]
    assert _state(app)[-1] == ("SHIRT-L", ["L"], 0)


def test_removing_a_variant_sends_products_update_and_inventory_items_delete(emulator):
    # given a shirt in S and M
    app, client = emulator
    shirt = _shirt(client)
    small, medium = shirt["variants"]
    recorder = _recorder(app)
    # when the merchant deletes the S
    response = client.delete(f"/_emulator/shops/{SHOP}/variants/{small['id']}")
    # then the product keeps the M alone, renumbered, and the bulk delete's webhooks went out
    assert response.status_code == 200, response.text
    product = response.json()
    assert [(v["id"], v["position"]) for v in product["variants"]] == [(medium["id"], 1)]
    assert recorder.topics == ["products/update", "inventory_items/delete"]
    assert recorder.of("inventory_items/delete")[0]["id"] == small["inventory_item_id"]
    assert _state(app) == [("SHIRT-M", ["M"], 4)]


@pytest.mark.parametrize(("body", "status", "error"), [
    ({"options": ["M"], "sku": "SHIRT-M2", "price": "19.00"}, 422,
     "The variant 'M' already exists."),
    ({"options": ["L", "Red"], "price": "19.00"}, 400,
     "options must give 1 value(s), one for each of the product's options (Size), in order"),
    ({"options": [], "price": "19.00"}, 400,
     "options must be a non-empty list of option values (strings), one for each of the "
     "product's options in order"),
    ({"options": ["L"], "price": "-1"}, 400, "body.price cannot be below zero"),
    ({"options": ["L"], "price": "cheap"}, 400, 'body.price must be an amount like "19.99"'),
    ({"options": ["L"], "available": "many"}, 400, "available must be an integer"),
    ({"options": ["L"], "colour": "red"}, 400,
     "unknown field(s) colour; adding a variant takes options, sku, price, compare_at_price, "
     "barcode, weight, weight_unit, available"),
])
def test_bad_variant_additions_are_refused_in_words_and_change_nothing(emulator, body, status,
                                                                       error):
    app, client = emulator
    shirt = _shirt(client)
    recorder = _recorder(app)
    response = client.post(f"/_emulator/shops/{SHOP}/products/{shirt['id']}/variants",
                           json=body)
    assert (response.status_code, response.json()) == (status, {"error": error})
    assert _state(app) == [("SHIRT-S", ["S"], 3), ("SHIRT-M", ["M"], 4)]
    assert app.world.shop_get(SHOP).products[shirt["id"]].options[0]["values"] == ["S", "M"]
    assert recorder.topics == []


def test_the_last_variant_cannot_be_removed_and_unknown_ids_are_404(emulator):
    app, client = emulator
    shirt = _shirt(client)
    small, medium = shirt["variants"]
    assert client.delete(f"/_emulator/shops/{SHOP}/variants/{small['id']}").status_code == 200
    recorder = _recorder(app)
    last = client.delete(f"/_emulator/shops/{SHOP}/variants/{medium['id']}")
    unknown_variant = client.delete(f"/_emulator/shops/{SHOP}/variants/999999")
    unknown_product = client.post(f"/_emulator/shops/{SHOP}/products/999999/variants",
                                  json={"options": ["L"]})
    assert (last.status_code, last.json()) == (
        422, {"error": "Cannot delete the last variant of a product"})
    assert (unknown_variant.status_code, unknown_variant.json()) == (
        404, {"error": f"Unknown variant 999999 in {SHOP}"})
    assert (unknown_product.status_code, unknown_product.json()) == (
        404, {"error": f"Unknown product 999999 in {SHOP}"})
    assert _state(app) == [("SHIRT-M", ["M"], 4)]
    assert recorder.topics == []


def test_the_cli_adds_and_removes_a_variant():
    config = EmulatorConfig(app_secret="cli-secret-0123456789abcdef0123456789", api_key="k")
    with EmulatorServer(config=config) as server:
        httpx.post(f"{server.url}/_emulator/shops", json={"domain": SHOP})
        shirt = httpx.post(f"{server.url}/_emulator/shops/{SHOP}/products", json={
            "title": "Shirt", "option_name": "Size", "variants": [
                {"sku": "SHIRT-S", "price": "19.00", "option1": "S"}]}).json()

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "shopify_emulator", "variant", *args,
                                   "--url", server.url],
                                  capture_output=True, text=True, timeout=30, cwd=ROOT)

        # when the CLI adds an M with stock, then a second M, then removes the S
        added = cli("add", "variants", str(shirt["id"]), "--option", "M", "--sku", "SHIRT-M",
                    "--price", "20.00", "--available", "7", "--barcode", "B-M")
        clash = cli("add", "variants", str(shirt["id"]), "--option", "M", "--price", "1.00")
        removed = cli("remove", "variants", str(shirt["variants"][0]["id"]))
        last = cli("remove", "variants", str(json.loads(added.stdout)["variant"]["id"]))
        shop = server.world.shop_get(SHOP)
        state = [(shop.item_of(v).sku, v.price, v.barcode, shop.inventory_quantity(v))
                 for v in shop.variants.values()]
    # then the product has the M alone, as the CLI added it
    assert added.returncode == 0, added.stderr
    assert [v["sku"] for v in json.loads(added.stdout)["product"]["variants"]] == [
        "SHIRT-S", "SHIRT-M"]
    assert removed.returncode == 0, removed.stderr
    assert [v["sku"] for v in json.loads(removed.stdout)["variants"]] == ["SHIRT-M"]
    assert state == [("SHIRT-M", "20.00", "B-M", 7)]
    # and each refusal is Shopify's words
    assert (clash.returncode, clash.stderr.strip()) == (
        1, "error (422): The variant 'M' already exists.")
    assert (last.returncode, last.stderr.strip()) == (
        1, "error (422): Cannot delete the last variant of a product")
