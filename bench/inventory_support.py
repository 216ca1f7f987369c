"""Shared setup for the inventory benchmarks (inventory_fanout, propagation_latency).

* `emulator_catalogue`: one source and N destinations in the emulator, each with the same
  SKUs (products × variants), the destinations' stock equal to the source's;
* `syncer_world`: the same world in Syncer's database as a first reconciliation leaves it —
  shops installed with the emulator's tokens, connected, the source catalogue mirrored, every
  variant linked, source levels known, every DestinationStock known = target (not dirty) —
  written with bulk_create (the point is the measured run after it, not how links are made);
* `worker_start`: a Celery worker subprocess as `make run` / docker-compose run it, through
  `bench.inventory_worker` so the engine's steps are timed (see there);
* `timings_read`: those timings.

Everything here runs in a benchmark's child process, with Django configured for its database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.support import BIN, Process

PLAN = "standard"
API_VERSION = "2026-07"
TIMINGS_KEY = "bench:inventory:timings"


def initial_stock(product: int, variant: int) -> int:
    return (product * 7 + variant * 3) % 40 + 5


def sku(product: int, variant: int) -> str:
    return f"B{product:05d}-{variant}"


@dataclass
class Shop:
    domain: str
    token: str
    primary_location_id: int
    location_ids: list[int]
    # sku -> (product id, variant id, inventory item id)
    items: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    products: list[dict] = field(default_factory=list)


@dataclass
class Catalogue:
    source: Shop
    destinations: list[Shop]
    products: int
    variants: int

    @property
    def skus(self) -> list[str]:
        return [sku(p, v) for p in range(self.products) for v in range(self.variants)]


def _shop_create(control: httpx.Client, domain: str) -> Shop:
    created = control.post("/_emulator/shops", json={"domain": domain, "plan": PLAN})
    created.raise_for_status()
    body = created.json()
    return Shop(domain=domain, token=body["access_token"],
                primary_location_id=body["primary_location_id"],
                location_ids=[location["id"] for location in body["locations"]])


def _products_create(control: httpx.Client, shop: Shop, products: int, variants: int,
                     chunk: int = 500) -> None:
    for start in range(0, products, chunk):
        body = {"products": [
            {"title": f"Bench product {p:05d}", "vendor": "Bench", "tags": ["bench"],
             "variants": [{"sku": sku(p, v), "price": f"{10 + v}.00",
                           "available": initial_stock(p, v), "option1": f"Size {v}"}
                          for v in range(variants)]}
            for p in range(start, min(start + chunk, products))]}
        response = control.post(f"/_emulator/shops/{shop.domain}/products/bulk", json=body,
                                timeout=600)
        response.raise_for_status()
        for product in response.json()["products"]:
            shop.products.append(product)
            for variant in product["variants"]:
                shop.items[variant["sku"]] = (product["id"], variant["id"],
                                              variant["inventory_item_id"])


def emulator_catalogue(control: httpx.Client, *, source: str, destinations: list[str],
                       products: int, variants: int, install: bool = False) -> Catalogue:
    """Shops and products in the emulator; `install` subscribes them to the TOML's webhooks
    (after the products exist, so no products/create webhooks reach the app)."""
    shops = [_shop_create(control, domain) for domain in (source, *destinations)]
    for shop in shops:
        _products_create(control, shop, products, variants)
    if install:
        for shop in shops:
            control.post(f"/_emulator/shops/{shop.domain}/install",
                         json={"load_app": False}).raise_for_status()
    return Catalogue(source=shops[0], destinations=shops[1:], products=products,
                     variants=variants)


def levels_of(control: httpx.Client, shop: Shop) -> dict[int, int]:
    """inventory item id -> available at the shop's primary location, live from the emulator."""
    snapshot = control.get(f"/_emulator/shops/{shop.domain}", timeout=600).json()
    return {level["inventory_item_id"]: level["available"]
            for level in snapshot["inventory_levels"]
            if level["location_id"] == shop.primary_location_id}


def syncer_world(catalogue: Catalogue) -> dict:
    """Syncer's rows for the catalogue (see the module docstring). Returns counts."""
    from datetime import timedelta

    from django.utils import timezone

    from products.models import (
        DestinationStock,
        ProductLink,
        SourceLevel,
        SourceProduct,
        SourceVariant,
        VariantLink,
    )
    from stores.connections import connection_create
    from stores.models import Connection
    from stores.models import Shop as ShopRow
    from stores.services import shop_role_choose

    now = timezone.now()
    long_ago = now - timedelta(hours=1)
    rows = {}
    for shop in (catalogue.source, *catalogue.destinations):
        row = ShopRow.objects.create(
            domain=shop.domain, name=shop.domain.split(".")[0], access_token=shop.token,
            installed_at=now, plan_name=PLAN,
            settings={"locations": [{"id": i, "name": f"Location {i}"}
                                    for i in shop.location_ids]})
        role = "source" if shop is catalogue.source else "destination"
        rows[shop.domain] = shop_role_choose(shop=row, role=role)
    source_row = rows[catalogue.source.domain]
    connections = {}
    for shop in catalogue.destinations:
        connection = connection_create(destination=rows[shop.domain],
                                       store_key=source_row.store_key)
        Connection.objects.filter(pk=connection.pk).update(
            destination_location_id=shop.primary_location_id)
        connections[shop.domain] = connection

    source = catalogue.source
    mirror = SourceProduct.objects.bulk_create([
        SourceProduct(shop=source_row, shopify_id=product["id"], title=product["title"],
                      vendor="Bench", tags=["bench"], shopify_updated_at=long_ago)
        for product in source.products], batch_size=2000)
    mirror_by_id = {product.shopify_id: product for product in mirror}
    variants = SourceVariant.objects.bulk_create([
        SourceVariant(product=mirror_by_id[product["id"]], shop=source_row,
                      shopify_id=variant["id"], inventory_item_id=variant["inventory_item_id"],
                      title=variant["sku"], sku=variant["sku"], price="10.00", position=index)
        for product in source.products
        for index, variant in enumerate(product["variants"], start=1)], batch_size=5000)
    stock = {sku(p, v): initial_stock(p, v)
             for p in range(catalogue.products) for v in range(catalogue.variants)}
    SourceLevel.objects.bulk_create([
        SourceLevel(shop=source_row, inventory_item_id=variant.inventory_item_id,
                    location_id=source.primary_location_id, available=stock[variant.sku],
                    shopify_updated_at=long_ago, seen_at=long_ago)
        for variant in variants], batch_size=5000)

    links = 0
    for shop in catalogue.destinations:
        connection = connections[shop.domain]
        destination_products = {product["title"]: product for product in shop.products}
        product_links = ProductLink.objects.bulk_create([
            ProductLink(connection=connection, source_product=product, origin="mapped",
                        destination_product_id=destination_products[product.title]["id"])
            for product in mirror], batch_size=5000)
        link_by_product = {link.source_product_id: link for link in product_links}
        variant_links = VariantLink.objects.bulk_create([
            VariantLink(product_link=link_by_product[variant.product_id], connection=connection,
                        source_variant=variant, destination_variant_id=shop.items[variant.sku][1],
                        destination_inventory_item_id=shop.items[variant.sku][2],
                        last_written_quantity=stock[variant.sku], last_written_at=long_ago)
            for variant in variants], batch_size=5000)
        sku_of = {variant.pk: variant.sku for variant in variants}
        DestinationStock.objects.bulk_create([
            DestinationStock(variant_link=link, destination=rows[shop.domain],
                             location_id=shop.primary_location_id,
                             target=stock[sku_of[link.source_variant_id]],
                             known_quantity=stock[sku_of[link.source_variant_id]], dirty=False,
                             last_written_at=long_ago)
            for link in variant_links], batch_size=5000)
        links += len(variant_links)
    # Planner statistics, as autovacuum keeps them in a database that has been running a
    # while (right after bulk loading, the planner would guess every table nearly empty).
    from django.db import connection as db_connection

    with db_connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"source_variants": len(variants), "variant_links": links,
            "destinations": len(catalogue.destinations)}


def worker_start(*, env: dict, log: Path, concurrency: int, hostname: str,
                 queues: str = "webhooks,sync,default,webhooks_later,bulk") -> Process:
    """A Celery worker (prefork, as docker-compose runs it), with the engine's steps timed."""
    return Process([str(BIN / "python"), "-m", "bench.inventory_worker", "-Q", queues,
                    "--concurrency", str(concurrency), "--loglevel", "WARNING",
                    "--hostname", f"{hostname}@%h", "--without-gossip", "--without-mingle"],
                   env=env, log=log)


def beat_start(*, env: dict, log: Path, schedule: Path) -> Process:
    """Celery beat, as production runs it (the inventory and inbox sweepers, every 30 / 60 s)."""
    return Process([str(BIN / "celery"), "-A", "syncer", "beat", "--loglevel", "WARNING",
                    "--schedule", str(schedule)], env=env, log=log)


def log_problems(path: Path) -> dict[str, int]:
    """Counts of tracebacks and time-limit kills in a worker log."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return {}
    return {"tracebacks": text.count("Traceback (most recent call last)"),
            "soft_time_limit": text.count("Soft time limit ("),
            "hard_time_limit": text.count("Hard time limit (")}


def worker_wait(hostname: str, *, timeout: float = 120) -> None:
    """Waits until the worker answers a ping (its pool is up and consuming)."""
    from syncer.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if any(name.startswith(f"{hostname}@") for reply in replies for name in reply):
            return
        time.sleep(0.5)
    raise RuntimeError(f"worker {hostname} did not answer in {timeout} s")


def timings_reset() -> None:
    from syncer.redis import redis_client

    redis_client().delete(TIMINGS_KEY)


def timings_read() -> dict[str, dict[str, float]]:
    """{step: {"calls", "seconds"}} summed over every worker process."""
    from syncer.redis import redis_client

    raw = redis_client().hgetall(TIMINGS_KEY)
    steps: dict[str, dict[str, float]] = {}
    for key, value in raw.items():
        key = key.decode() if isinstance(key, bytes) else key
        name, _, kind = key.rpartition(".")
        entry = steps.setdefault(name, {"calls": 0, "seconds": 0.0})
        entry["calls" if kind == "n" else "seconds"] = (
            int(float(value)) if kind == "n" else round(float(value), 3))
    return dict(sorted(steps.items()))
