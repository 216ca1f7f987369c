"""The CLI's `product edit` covers the merchant's whole product form (issue 20): description,
tags, images, status, option and value renames (the variants' titles follow), metafields and one
variant's price, compare-at price and barcode, through a running emulator; malformed options
say what was expected and change nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from shopify_emulator.config import EmulatorConfig
from shopify_emulator.testing import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
SHOP = "cli-edits.myshopify.com"


def test_the_cli_edits_every_field_of_a_product():
    config = EmulatorConfig(app_secret="cli-secret-0123456789abcdef0123456789", api_key="k")
    with EmulatorServer(config=config) as server:
        httpx.post(f"{server.url}/_emulator/shops", json={"domain": SHOP})
        product = httpx.post(f"{server.url}/_emulator/shops/{SHOP}/products", json={
            "title": "Shirt", "option_name": "Size", "variants": [
                {"sku": "SHIRT-S", "price": "19.00", "option1": "S"},
                {"sku": "SHIRT-M", "price": "19.00", "option1": "M"}]}).json()
        small = product["variants"][0]["id"]

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "shopify_emulator", "product", "edit",
                                   "cli-edits", str(product["id"]), *args, "--url", server.url],
                                  capture_output=True, text=True, timeout=30, cwd=ROOT)

        # when the CLI edits every kind of field at once
        edited = cli("--description", "<p>Linen.</p>", "--tags", "summer, new",
                     "--image", "https://cdn.example/a.png|Front",
                     "--image", "https://cdn.example/b.png", "--status", "draft",
                     "--option", "Taille:Petit,Moyen",
                     "--metafield", "custom.material=linen",
                     "--metafield", "specs.count:number_integer=3",
                     "--variant", str(small), "--price", "21.00", "--compare-at-price", "30.00",
                     "--barcode", "B-1")
        # and malformed options, or a variant field of a two-variant product without --variant
        bad_metafield = cli("--metafield", "material=linen")
        bad_option = cli("--option", ":")
        no_variant = cli("--price", "5.00")
        unchanged = httpx.get(f"{server.url}/_emulator/shops/{SHOP}?orders=0").json()
        metafields = server.world.shop_get(SHOP).products[product["id"]].metafields
    # then the product is as edited, and the reply is the REST product
    assert edited.returncode == 0, edited.stderr
    reply = json.loads(edited.stdout)
    assert (reply["body_html"], reply["tags"], reply["status"]) == (
        "<p>Linen.</p>", "summer, new", "draft")
    assert [(image["src"], image["alt"]) for image in reply["images"]] == [
        ("https://cdn.example/a.png", "Front"), ("https://cdn.example/b.png", None)]
    assert [(o["name"], o["values"]) for o in reply["options"]] == [("Taille", ["Petit", "Moyen"])]
    assert [(v["title"], v["price"], v["compare_at_price"], v["barcode"])
            for v in reply["variants"]] == [("Petit", "21.00", "30.00", "B-1"),
                                            ("Moyen", "19.00", None, None)]
    assert sorted((m["namespace"], m["key"], m["type"], m["value"])
                  for m in metafields) == [("custom", "material", "single_line_text_field",
                                            "linen"), ("specs", "count", "number_integer", "3")]
    # and each malformed edit says what was expected, changing nothing
    assert (bad_metafield.returncode, bad_metafield.stderr.strip()) == (
        1, "error: expected NAMESPACE.KEY[:TYPE]=VALUE, got 'material=linen'")
    assert (bad_option.returncode, bad_option.stderr.strip()) == (
        1, "error (400): options[0].values must be a list of non-blank strings")
    assert (no_variant.returncode, no_variant.stderr.strip()) == (
        1, f"error: product {product['id']} has 2 variants; say which with --variant")
    assert [p for p in unchanged["products"] if p["id"] == product["id"]][0]["variants"][1][
        "price"] == "19.00"
