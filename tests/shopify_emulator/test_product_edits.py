"""The merchant edits products (control API `PATCH .../products/<id>`, `POST .../products/edits`
and the CLI's `product edit`): only the fields given change, one products/update per edit
carrying what Shopify's REST payload carries, inventory_items/update when a SKU or weight
changes, and bad input answered 4xx in words with nothing changed."""

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
from shopify_emulator.world import World

ROOT = Path(__file__).resolve().parents[2]
SHOP = "edits.myshopify.com"


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict]] = []

    def __call__(self, shop: str, topic: str, payload: dict) -> None:
        self.events.append((shop, topic, payload))

    @property
    def topics(self) -> list[str]:
        return [topic for _shop, topic, _payload in self.events]

    def of(self, topic: str) -> list[dict]:
        return [payload for _shop, t, payload in self.events if t == topic]


@pytest.fixture
def emulator():
    app = create_app(config=EmulatorConfig(app_secret="e" * 40, api_key="edits-key",
                                           app_url="http://127.0.0.1:8000",
                                           deliver_webhooks=False))
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://emulator")
    assert client.post("/_emulator/shops", json={"domain": SHOP}).status_code == 201
    yield app, client
    client.close()
    app.webhooks.close()


def _shirt(client: httpx.Client) -> dict:
    response = client.post(f"/_emulator/shops/{SHOP}/products", json={
        "title": "Shirt", "vendor": "Acme", "tags": ["summer"], "option_name": "Size",
        "variants": [{"sku": "SHIRT-S", "price": "19.00", "available": 3, "option1": "S"},
                     {"sku": "SHIRT-M", "price": "19.00", "available": 4, "option1": "M"}]})
    assert response.status_code == 201
    return response.json()


def _recorder(app) -> Recorder:
    recorder = Recorder()
    app.world.listeners.append(recorder)
    return recorder


def _patch(client: httpx.Client, product_id: int, body: dict) -> httpx.Response:
    return client.patch(f"/_emulator/shops/{SHOP}/products/{product_id}", json=body)


def test_an_edit_changes_the_given_product_fields_and_sends_one_products_update(emulator):
    # given a shirt with two sizes
    app, client = emulator
    shirt = _shirt(client)
    recorder = _recorder(app)
    # when the merchant edits its details
    response = _patch(client, shirt["id"], {
        "title": "Linen shirt", "description": "<p>Cool</p>", "product_type": "Shirts",
        "tags": "linen, summer", "status": "draft",
        "images": [{"src": "https://cdn.example/front.png", "alt": "Front"},
                   {"src": "https://cdn.example/back.png"}],
        "seo": {"title": "Linen shirt | Acme", "description": "A cool shirt"},
        "metafields": [{"namespace": "custom", "key": "material",
                        "type": "single_line_text_field", "value": "Linen"}]})
    # then those fields changed, the others (vendor, variants) did not
    assert response.status_code == 200, response.text
    product = response.json()
    assert (product["title"], product["body_html"], product["product_type"], product["tags"],
            product["status"], product["vendor"]) == (
        "Linen shirt", "<p>Cool</p>", "Shirts", "linen, summer", "draft", "Acme")
    assert [(i["src"], i["alt"], i["position"]) for i in product["images"]] == [
        ("https://cdn.example/front.png", "Front", 1), ("https://cdn.example/back.png", None, 2)]
    assert product["image"]["src"] == "https://cdn.example/front.png"
    assert [(v["sku"], v["price"]) for v in product["variants"]] == [
        ("SHIRT-S", "19.00"), ("SHIRT-M", "19.00")]
    stored = app.world.shop_get(SHOP).products[shirt["id"]]
    assert (stored.seo_title, stored.seo_description) == ("Linen shirt | Acme", "A cool shirt")
    assert [(m["namespace"], m["key"], m["type"], m["value"]) for m in stored.metafields] == [
        ("custom", "material", "single_line_text_field", "Linen")]
    # and exactly one products/update went out, carrying the new state
    assert recorder.topics == ["products/update"]
    assert recorder.of("products/update") == [product]


def test_variant_edits_change_price_barcode_sku_and_weight_and_update_the_inventory_item(
        emulator):
    app, client = emulator
    shirt = _shirt(client)
    small, medium = shirt["variants"]
    recorder = _recorder(app)
    # when the merchant edits the small size's price, compare-at, barcode, SKU and weight
    response = _patch(client, shirt["id"], {"variants": [
        {"id": small["id"], "price": "21.50", "compare_at_price": "25", "barcode": "0123456789",
         "sku": "SHIRT-SMALL", "weight": 0.5, "weight_unit": "lb"}]})
    # then the webhook carries the variant as Shopify's REST payload does
    assert response.status_code == 200, response.text
    (payload,) = recorder.of("products/update")
    variant = payload["variants"][0]
    assert {key: variant[key] for key in (
        "id", "sku", "barcode", "price", "compare_at_price", "weight", "weight_unit", "grams",
        "inventory_item_id", "option1", "option2", "option3", "title")} == {
        "id": small["id"], "sku": "SHIRT-SMALL", "barcode": "0123456789", "price": "21.50",
        "compare_at_price": "25.00", "weight": 0.5, "weight_unit": "lb", "grams": 227,
        "inventory_item_id": small["inventory_item_id"], "option1": "S", "option2": None,
        "option3": None, "title": "S"}
    assert payload["variants"][1]["sku"] == medium["sku"]
    # and the changed inventory item (SKU, weight) gets its own inventory_items/update
    assert recorder.topics == ["products/update", "inventory_items/update"]
    assert [(p["id"], p["sku"]) for p in recorder.of("inventory_items/update")] == [
        (small["inventory_item_id"], "SHIRT-SMALL")]


def test_a_price_only_edit_sends_no_inventory_items_update_and_compare_at_can_be_cleared(
        emulator):
    app, client = emulator
    shirt = _shirt(client)
    small = shirt["variants"][0]
    assert _patch(client, shirt["id"], {"variants": [
        {"id": small["id"], "compare_at_price": "30.00"}]}).status_code == 200
    recorder = _recorder(app)
    response = _patch(client, shirt["id"], {"variants": [
        {"id": small["id"], "price": "9.99", "compare_at_price": None}]})
    assert response.status_code == 200
    assert (response.json()["variants"][0]["price"],
            response.json()["variants"][0]["compare_at_price"]) == ("9.99", None)
    assert recorder.topics == ["products/update"]


def test_option_renames_follow_through_to_the_variants(emulator):
    app, client = emulator
    shirt = _shirt(client)
    # when the merchant renames the option and its values by position
    response = _patch(client, shirt["id"], {"options": [
        {"name": "Taille", "values": ["Small", "M"]}]})
    # then the option and every variant with a renamed value follow
    assert response.status_code == 200, response.text
    product = response.json()
    assert [(o["name"], o["values"]) for o in product["options"]] == [
        ("Taille", ["Small", "M"])]
    assert [(v["title"], v["option1"]) for v in product["variants"]] == [
        ("Small", "Small"), ("M", "M")]


def test_tags_as_a_list_and_status_active_publish_the_product(emulator):
    _app, client = emulator
    shirt = _shirt(client)
    assert _patch(client, shirt["id"], {"status": "DRAFT"}).status_code == 200
    response = _patch(client, shirt["id"], {"tags": ["b", "a", "b"], "status": "active"})
    assert response.status_code == 200
    assert (response.json()["tags"], response.json()["status"]) == ("b, a", "active")


@pytest.mark.parametrize(("body", "status", "error"), [
    ({"status": "gone"}, 400, "status must be active, draft or archived"),
    ({"title": " "}, 400, "title can't be blank"),
    ({"colour": "red"}, 400, "body: unknown field(s) colour; an edit takes title, body_html, "
     "description, vendor, product_type, tags, status, images, seo, options, variants, "
     "metafields"),
    ({"tags": 5}, 400, "tags must be a list of strings or a comma-separated string"),
    ({"images": [{"alt": "no source"}]}, 400, "images[0].src is required"),
    ({"seo": {"keywords": "x"}}, 400, "seo must be an object with title and/or description"),
    ({"variants": [{"id": 1, "price": "cheap"}]}, 400,
     'variants[0].price must be an amount like "19.99"'),
    ({"variants": [{"id": 1, "price": "-1"}]}, 400, "variants[0].price cannot be below zero"),
    ({"variants": [{"id": 1, "weight_unit": "stone"}]}, 400,
     "variants[0].weight_unit must be one of kg, g, lb, oz"),
    ({"variants": [{"price": "1.00"}]}, 400, "id is required"),
    ({"variants": [{"id": 1, "price": "1.00"}]}, 422,
     "variants[0].id 1 is not a variant of product {product}"),
    ({"options": [{"values": ["Only one"]}]}, 422,
     "options[0].values must list 2 value(s), one for each of ['S', 'M'] in order"),
    ({"options": [{"name": "Size"}, {"name": "Colour"}]}, 422,
     "options: the product has 1 option(s); options rename them by position and cannot add "
     "any"),
    ({"metafields": [{"namespace": "custom", "key": "count", "type": "number_integer",
                      "value": "many"}]}, 400,
     "metafields[0].value: Value must be an integer."),
    ({"metafields": [{"namespace": "custom", "key": "x", "type": "single_line_text_field",
                      "value": "v"}]}, 400,
     "metafields[0].key: Key is too short (minimum is 2 characters)"),
])
def test_bad_edits_are_refused_in_words_and_change_nothing(emulator, body, status, error):
    app, client = emulator
    shirt = _shirt(client)
    recorder = _recorder(app)
    response = _patch(client, shirt["id"], body)
    assert (response.status_code, response.json()) == (
        status, {"error": error.format(product=shirt["id"])})
    assert recorder.topics == []
    snapshot = client.get(f"/_emulator/shops/{SHOP}?orders=0").json()
    assert [(p["title"], p["status"], [v["price"] for v in p["variants"]])
            for p in snapshot["products"]] == [("Shirt", "active", ["19.00", "19.00"])]


def test_editing_an_unknown_product_is_a_404(emulator):
    _app, client = emulator
    response = _patch(client, 123, {"title": "Ghost"})
    assert (response.status_code, response.json()) == (
        404, {"error": f"Unknown product 123 in {SHOP}"})


def test_bulk_edits_are_each_their_own_merchant_action(emulator):
    # given two products
    app, client = emulator
    first, second = _shirt(client), _shirt(client)
    event_ids: list[str] = []
    original = app.webhooks._current_event_id
    app.webhooks._current_event_id = lambda: event_ids.append(original()) or event_ids[-1]
    app.world.listeners.append(lambda shop, topic, payload: app.webhooks._current_event_id())
    recorder = _recorder(app)
    # when both are edited in one request
    response = client.post(f"/_emulator/shops/{SHOP}/products/edits", json={"edits": [
        {"id": first["id"], "vendor": "Globex"},
        {"id": second["id"], "variants": [{"id": second["variants"][1]["id"],
                                           "price": "5.00"}]}]})
    # then each got its own products/update with its own event id
    assert response.status_code == 200, response.text
    assert [p["id"] for p in response.json()["products"]] == [first["id"], second["id"]]
    assert recorder.topics == ["products/update", "products/update"]
    assert [p["vendor"] for p in recorder.of("products/update")] == ["Globex", "Acme"]
    assert recorder.of("products/update")[1]["variants"][1]["price"] == "5.00"
    assert len(event_ids) == 2
    assert event_ids[0] != event_ids[1]


def test_bulk_edits_return_the_webhook_bodies_when_asked(emulator):
    # given a product (benchmarks run without webhooks and feed Syncer the bodies themselves)
    app, client = emulator
    shirt = _shirt(client)
    recorder = _recorder(app)
    # when it is edited with with_payloads
    response = client.post(f"/_emulator/shops/{SHOP}/products/edits", json={
        "edits": [{"id": shirt["id"], "title": "Renamed"}], "with_payloads": True})
    # then the reply holds the very products/update body that was sent
    assert response.status_code == 200, response.text
    assert response.json()["products"][0]["payload"] == recorder.of("products/update")[0]
    plain = client.post(f"/_emulator/shops/{SHOP}/products/edits", json={
        "edits": [{"id": shirt["id"], "title": "Again"}]})
    assert "payload" not in plain.json()["products"][0]


def test_bulk_edits_are_all_checked_before_any_applies(emulator):
    app, client = emulator
    shirt = _shirt(client)
    recorder = _recorder(app)
    response = client.post(f"/_emulator/shops/{SHOP}/products/edits", json={"edits": [
        {"id": shirt["id"], "title": "Changed"}, {"id": 999, "title": "Ghost"}]})
    assert (response.status_code, response.json()) == (
        404, {"error": f"Unknown product 999 in {SHOP}"})
    assert recorder.topics == []
    assert app.world.shop_get(SHOP).products[shirt["id"]].title == "Shirt"
    empty = client.post(f"/_emulator/shops/{SHOP}/products/edits", json={"edits": []})
    assert (empty.status_code, empty.json()) == (
        400, {"error": "edits must be a non-empty list of {id, <fields to change>}"})


def test_a_product_is_created_with_description_type_status_and_variant_details(emulator):
    app, client = emulator
    recorder = _recorder(app)
    response = client.post(f"/_emulator/shops/{SHOP}/products", json={
        "title": "Mug", "body_html": "<p>Big</p>", "product_type": "Mugs", "status": "draft",
        "variants": [{"sku": "MUG", "price": "8.00", "compare_at_price": "10.00",
                      "barcode": "5012345678900", "weight": 0.4, "weight_unit": "kg"}]})
    assert response.status_code == 201, response.text
    (payload,) = recorder.of("products/create")
    assert (payload["body_html"], payload["product_type"], payload["status"]) == (
        "<p>Big</p>", "Mugs", "draft")
    assert {key: payload["variants"][0][key] for key in (
        "compare_at_price", "barcode", "weight", "weight_unit", "grams")} == {
        "compare_at_price": "10.00", "barcode": "5012345678900", "weight": 0.4,
        "weight_unit": "kg", "grams": 400}
    bad = client.post(f"/_emulator/shops/{SHOP}/products", json={
        "title": "Cup", "variants": [{"sku": "CUP", "weight_unit": "stone"}]})
    assert (bad.status_code, bad.json()) == (
        400, {"error": "variants[0].weight_unit must be one of kg, g, lb, oz"})


def test_the_cli_edits_a_product():
    config = EmulatorConfig(app_secret="cli-secret-0123456789abcdef0123456789", api_key="k")
    with EmulatorServer(config=config) as server:
        httpx.post(f"{server.url}/_emulator/shops", json={"domain": SHOP})
        product = httpx.post(f"{server.url}/_emulator/shops/{SHOP}/products", json={
            "title": "Mug", "variants": [{"sku": "MUG", "price": "8.00"}]}).json()

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "shopify_emulator", *args,
                                   "--url", server.url], capture_output=True, text=True,
                                  timeout=30, cwd=ROOT)

        # when the CLI edits its title, SEO title and its one variant's price and weight
        edited = cli("product", "edit", "edits", str(product["id"]), "--title", "Big mug",
                     "--seo-title", "Big mug | Acme", "--price", "9.50", "--weight", "350",
                     "--weight-unit", "g")
        nothing = cli("product", "edit", "edits", str(product["id"]))
        bad = cli("product", "edit", "edits", str(product["id"]), "--price", "free")
    # then the product changed and the reply is the REST product
    assert edited.returncode == 0, edited.stderr
    reply = json.loads(edited.stdout)
    assert (reply["title"], reply["variants"][0]["price"], reply["variants"][0]["grams"],
            reply["variants"][0]["weight_unit"]) == ("Big mug", "9.50", 350, "g")
    # and an edit with nothing to change, or a bad price, says why
    assert nothing.returncode == 1
    assert nothing.stderr.strip() == ("error: nothing to change; give at least one option "
                                      "(see --help)")
    assert bad.returncode == 1
    assert bad.stderr.strip() == 'error (400): variants[0].price must be an amount like "19.99"'


def test_edited_fields_survive_a_snapshot(emulator):
    app, client = emulator
    shirt = _shirt(client)
    assert _patch(client, shirt["id"], {
        "seo": {"title": "SEO"}, "variants": [{"id": shirt["variants"][0]["id"], "weight": 2,
                                               "weight_unit": "oz"}],
        "metafields": [{"namespace": "custom", "key": "material",
                        "type": "single_line_text_field", "value": "Linen"}]}).status_code == 200
    restored = World.from_snapshot(json.loads(json.dumps(app.world.to_snapshot())))
    before, after = app.world.shop_get(SHOP), restored.shop_get(SHOP)
    assert after.products[shirt["id"]] == before.products[shirt["id"]]
    item_id = shirt["variants"][0]["inventory_item_id"]
    assert (after.inventory_items[item_id].weight, after.inventory_items[item_id].weight_unit) == (
        2.0, "OUNCES")
