"""product_import: 1,000 products × 3 variants imported into one destination on a Standard plan
(restore 100 points/s, bucket 2,000), through Syncer's own import job against the emulator.

Setup (not timed): the emulator in its own process (webhooks off), a scratch database, the
source's catalogue created through the control API, both shops installed with admin tokens,
connected, and the source's catalogue loaded with one bulk query (timed separately).

Measured: the import job, run batch after batch in one process exactly as a worker runs it
(one `productSet` per product, with the first stock in it; the source's live stock read per
batch). Figures: API calls and cost on each side (the emulator's own counters), throttled
replies, elapsed time, and the ratio of elapsed time to the throttle bound = the
destination's cost / its restore rate (a ratio near 1 means the import runs as fast as
Shopify's budget allows; below 1 is the 2,000-point bucket's head start).

Run: `python -m bench product_import` (BENCH_PRODUCTS, BENCH_VARIANTS to change the size).
"""

from __future__ import annotations

import json
import os
import sys
import time

import httpx

from bench.support import (
    run_child_with_emulator,
)

PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "1000"))
VARIANTS = int(os.environ.get("BENCH_VARIANTS", "3"))
PLAN = "standard"
RESTORE_RATE = 100.0  # Standard plan, points per second
BUCKET = 2000.0
BATCH = 25
SOURCE = "bench-source.myshopify.com"
DESTINATION = "bench-dest.myshopify.com"


def _stats(client: httpx.Client, shop: str) -> dict:
    return client.get("/_emulator/stats").json()["shops"].get(shop, {})


def child(emulator_url: str) -> dict:
    """Runs inside a process configured for the bench database (see run())."""
    import django

    django.setup()
    from django.utils import timezone

    from products.catalogue import catalogue_scan_wait, source_catalogue_load_start
    from products.imports import product_import_start, product_job_run
    from products.models import ProductJob, SourceProduct, VariantLink
    from stores.billing import subscription_confirm, subscription_request
    from stores.connections import connection_create
    from stores.models import Shop
    from stores.services import shop_role_choose

    control = httpx.Client(base_url=emulator_url, timeout=120)
    tokens = {}
    for domain in (SOURCE, DESTINATION):
        created = control.post("/_emulator/shops", json={"domain": domain, "plan": PLAN})
        created.raise_for_status()
        tokens[domain] = created.json()["access_token"]
        Shop.objects.create(domain=domain, name=domain.split(".")[0], access_token=tokens[domain],
                            installed_at=timezone.now())
    for p in range(PRODUCTS):
        control.post(f"/_emulator/shops/{SOURCE}/products", json={
            "title": f"Bench product {p:04d}", "vendor": "Bench", "tags": ["bench"],
            "variants": [{"sku": f"B{p:04d}-{v}", "price": f"{10 + v}.00",
                          "available": (p + v) % 17, "option1": f"Size {v}"}
                         for v in range(VARIANTS)]}).raise_for_status()
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role="source")
    destination = shop_role_choose(shop=Shop.objects.get(domain=DESTINATION), role="destination")
    connection = connection_create(destination=destination, store_key=source.store_key)
    # A plan that syncs every product (Free syncs 10), approved on Shopify's confirmation page
    # as a merchant does (the emulator's Approve), then read back as Syncer's return does.
    confirmation = subscription_request(shop=destination, plan_handle="unlimited",
                                        orders_addon=False)
    charge = int(confirmation.split("/charges/", 1)[1].split("/", 1)[0])
    control.post(f"/_emulator/shops/{DESTINATION}/subscriptions/{charge}/approve"
                 ).raise_for_status()
    subscription_confirm(shop=destination, charge_id=charge)

    # the catalogue: one bulk query
    started = time.perf_counter()
    scan = catalogue_scan_wait(scan_id=source_catalogue_load_start(source=source).pk,
                               timeout=600)
    load_seconds = time.perf_counter() - started
    assert scan.status == "done", scan.error
    ids = list(SourceProduct.objects.filter(shop=source).values_list("pk", flat=True))

    # the import
    before = {shop: _stats(control, shop) for shop in (SOURCE, DESTINATION)}
    started = time.perf_counter()
    job = product_import_start(connection=connection, source_product_ids=ids)
    while product_job_run(job_id=job.pk, batch_size=BATCH):
        pass
    elapsed = time.perf_counter() - started
    after = {shop: _stats(control, shop) for shop in (SOURCE, DESTINATION)}
    job = ProductJob.objects.get(pk=job.pk)

    def delta(shop: str, key: str) -> float:
        return round(after[shop].get(key, 0) - before[shop].get(key, 0), 1)

    destination_cost = delta(DESTINATION, "cost_consumed")
    bound = destination_cost / RESTORE_RATE
    snapshot = control.get(f"/_emulator/shops/{DESTINATION}").json()
    written = {level["inventory_item_id"]: level["available"]
               for level in snapshot["inventory_levels"]}
    links = list(VariantLink.objects.values_list("destination_inventory_item_id",
                                                 "last_written_quantity"))
    stock_right = sum(1 for item, quantity in links if written.get(item) == quantity)
    calls = delta(DESTINATION, "graphql_requests")
    return {
        "name": "product_import",
        "params": {"products": PRODUCTS, "variants_per_product": VARIANTS, "plan": PLAN,
                   "restore_rate": RESTORE_RATE, "bucket": BUCKET, "job_batch": BATCH,
                   "runner": "one job runner (as one Celery worker runs it)"},
        "job": {"status": job.status, "done": job.done, "failed": job.failed},
        "destination_products": len(snapshot["products"]),
        "variant_links": len(links),
        "stock_correct": stock_right,
        "elapsed_s": round(elapsed, 2),
        "products_per_s": round(PRODUCTS / elapsed, 2),
        "destination_api_calls": calls,
        "destination_calls_per_product": round(calls / PRODUCTS, 3),
        "destination_cost": destination_cost,
        "destination_cost_per_product": round(destination_cost / PRODUCTS, 2),
        "destination_throttled": delta(DESTINATION, "throttled"),
        "source_api_calls": delta(SOURCE, "graphql_requests"),
        "source_cost": delta(SOURCE, "cost_consumed"),
        "source_throttled": delta(SOURCE, "throttled"),
        "throttle_bound_s": round(bound, 2),
        "throttle_bound_after_bucket_s": round(max(destination_cost - BUCKET, 0)
                                               / RESTORE_RATE, 2),
        "ratio_elapsed_to_throttle_bound": round(elapsed / bound, 3) if bound else None,
        "catalogue_load": {"seconds": round(load_seconds, 2), "products": scan.products,
                           "variants": scan.variants},
    }


def run() -> dict:
    database = "syncer_bench_products"
    return run_child_with_emulator(name="product_import", database=database, timeout=3600,
                                   http_timeout="30")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "child":
        print(json.dumps(child(sys.argv[2])))
    else:
        print(json.dumps(run(), indent=2))
