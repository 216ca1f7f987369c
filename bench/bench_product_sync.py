"""product_sync: 1,000 source product edits (mixed fields) followed by 10 destinations on a
Standard plan (restore 100 points/s, bucket 2,000), through Syncer's own webhook path and
product field flush.

Setup (not timed): the emulator in its own process (webhooks off), a scratch database; one
source with 1,000 products × 2 variants and 10 destinations with the same products; in Syncer,
what syncing them leaves behind (bench/inventory_support.py `syncer_world`), every connection
choosing Sync for title, description, tags, vendor, product type, price, compare-at, barcode
and status (no price rule: a destination's prices equal the source's).

Measured — what production does. The merchant edits the source's 1,000 products (one bulk
control call; its reply holds each edit's `products/update` body, as Shopify would send it), in
five kinds, one product in five each: the title; both variants' prices; tags and description;
vendor and one compare-at price; one barcode and one price. Each body goes into Syncer's inbox
with `webhook_delivery_receive` (what the web tier does with a verified webhook) from
BENCH_SYNC_FEEDERS threads; one real Celery worker subprocess (prefork, concurrency 4, all
queues) runs the products/update handler (mirror → pending fields on each link) and the
per-destination product flushes.

Figures: per destination, API calls (all) against the floor — one call per edited product
(`ratio_calls_to_floor`; an edit touching product and variant fields takes two calls: one
product call and one productVariantsBulkUpdate, so 1.2 is this mix's design value); elapsed
from the first delivery fed to the last field written against the throttle bound = the
largest destination cost / restore rate (`ratio_elapsed_to_bound`); and the check — every
synced field of every destination product equals the source's (`mismatches`).

Run: `python -m bench product_sync` (BENCH_SYNC_PRODUCTS, BENCH_SYNC_DESTINATIONS,
BENCH_SYNC_CONCURRENCY, BENCH_SYNC_FEEDERS, BENCH_SYNC_TIMEOUT).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx

from bench.support import ROOT, run_child_with_emulator

PRODUCTS = int(os.environ.get("BENCH_SYNC_PRODUCTS", "1000"))
DESTINATIONS = int(os.environ.get("BENCH_SYNC_DESTINATIONS", "10"))
VARIANTS = 2
CONCURRENCY = int(os.environ.get("BENCH_SYNC_CONCURRENCY", "4"))
FEEDERS = int(os.environ.get("BENCH_SYNC_FEEDERS", "4"))
TIMEOUT = float(os.environ.get("BENCH_SYNC_TIMEOUT", "3600"))
STALL_SECONDS = 300.0
DATABASE = "syncer_bench_product_sync"
RESTORE_RATE = 100.0
BUCKET = 2000.0
EDITS_PER_CALL = 500
SOURCE = "sync-source.myshopify.com"
SYNCED = ("title", "description", "tags", "vendor", "product_type", "price", "compare_at",
          "barcode", "status")
LOG_DIR = ROOT / "bench" / "results"


def _destinations() -> list[str]:
    return [f"sync-dest-{n:02d}.myshopify.com" for n in range(1, DESTINATIONS + 1)]


def edit_of(index: int, product: dict) -> dict:
    """The merchant's edit of the index-th product: five kinds, one product in five each."""
    first, second = product["variants"][0]["id"], product["variants"][1]["id"]
    kind = index % 5
    if kind == 0:
        return {"id": product["id"], "title": f"Renamed product {index:05d}"}
    if kind == 1:
        return {"id": product["id"], "variants": [{"id": first, "price": f"{20 + index % 7}.50"},
                                                  {"id": second, "price": "31.00"}]}
    if kind == 2:
        return {"id": product["id"], "tags": ["bench", f"edited-{index % 3}"],
                "body_html": f"<p>Now with notes, edit {index}</p>"}
    if kind == 3:
        return {"id": product["id"], "vendor": f"Maker {index % 4}",
                "variants": [{"id": first, "compare_at_price": "99.00"}]}
    return {"id": product["id"], "variants": [{"id": first, "barcode": f"400{index:09d}",
                                               "price": "12.25"}]}


def _money(value) -> str | None:
    return None if value in (None, "") else f"{Decimal(str(value)):.2f}"


def product_state(product: dict) -> dict:
    """What must match between a source product and its copy (variants by SKU)."""
    return {
        "title": product["title"], "vendor": product["vendor"],
        "product_type": product.get("product_type", ""), "body_html": product.get("body_html", ""),
        "tags": sorted(product["tags"]), "status": product["status"],
        "variants": {variant["sku"]: (_money(variant["price"]),
                                      _money(variant.get("compare_at_price")),
                                      variant.get("barcode") or "")
                     for variant in product["variants"]},
    }


def _snapshot(control: httpx.Client, domain: str) -> dict:
    return control.get(f"/_emulator/shops/{domain}", timeout=600).json()


def mismatches_count(control: httpx.Client, catalogue) -> tuple[int, int, list]:
    source = {tuple(sorted(v["sku"] for v in p["variants"])): product_state(p)
              for p in _snapshot(control, catalogue.source.domain)["products"]}
    checked = mismatched = 0
    examples: list[dict] = []
    for destination in catalogue.destinations:
        for product in _snapshot(control, destination.domain)["products"]:
            checked += 1
            key = tuple(sorted(v["sku"] for v in product["variants"]))
            if product_state(product) != source.get(key):
                mismatched += 1
                if len(examples) < 3:
                    examples.append({"destination": destination.domain,
                                     "got": product_state(product),
                                     "source": source.get(key)})
    return checked, mismatched, examples


def _open_work() -> tuple[int, int]:
    from products.models import ProductLink
    from webhooks.models import WebhookDelivery

    done = [WebhookDelivery.Status.PROCESSED, WebhookDelivery.Status.IGNORED,
            WebhookDelivery.Status.DUPLICATE, WebhookDelivery.Status.FAILED]
    return (WebhookDelivery.objects.exclude(status__in=done).count(),
            ProductLink.objects.filter(pending_since__isnull=False).count())


def child(emulator_url: str) -> dict:
    """Runs inside a process configured for the bench database (see run())."""
    import django

    django.setup()
    from django.db import connection as db_connection
    from django.utils import timezone

    from bench.inventory_support import (
        API_VERSION,
        emulator_catalogue,
        log_problems,
        syncer_world,
        worker_start,
        worker_wait,
    )
    from products.models import SourceVariant, SyncEvent
    from stores.models import Connection
    from webhooks.models import WebhookDelivery
    from webhooks.services import webhook_delivery_receive

    control = httpx.Client(base_url=emulator_url, timeout=120)
    started = time.perf_counter()
    catalogue = emulator_catalogue(control, source=SOURCE, destinations=_destinations(),
                                   products=PRODUCTS, variants=VARIANTS)
    emulator_s = time.perf_counter() - started
    started = time.perf_counter()
    world = syncer_world(catalogue)
    # The mirror as a catalogue read would leave it: each variant's own price (the shared
    # setup writes one price for all) and every connection syncing the fields edited.
    for position in range(1, VARIANTS + 1):
        SourceVariant.objects.filter(position=position).update(price=f"{9 + position}.00")
    Connection.objects.update(field_sync={name: "sync" for name in SYNCED})
    database_s = time.perf_counter() - started

    edits = [edit_of(index, product) for index, product in enumerate(catalogue.source.products)]
    log = LOG_DIR / "product_sync.worker.log"
    worker = worker_start(env=dict(os.environ), concurrency=CONCURRENCY, hostname="productsync",
                          log=log)
    stalled = None
    try:
        worker_wait("productsync")
        before = control.get("/_emulator/stats").json()
        # the merchant's edits at the source (not Syncer's work, not in elapsed)
        started = time.perf_counter()
        payloads = []
        for start in range(0, len(edits), EDITS_PER_CALL):
            reply = control.post(f"/_emulator/shops/{SOURCE}/products/edits",
                                 json={"edits": edits[start:start + EDITS_PER_CALL],
                                       "with_payloads": True}, timeout=600)
            reply.raise_for_status()
            payloads += [entry["payload"] for entry in reply.json()["products"]]
        source_edit_s = time.perf_counter() - started

        def feed(share: list[dict]) -> None:
            try:
                for payload in share:
                    webhook_delivery_receive(
                        shop_domain=SOURCE, topic="products/update",
                        webhook_id=str(uuid.uuid4()), event_id=str(uuid.uuid4()),
                        triggered_at=timezone.now(), api_version=API_VERSION,
                        raw_body=json.dumps(payload, separators=(",", ":")))
            finally:
                db_connection.close()

        deliveries_before = WebhookDelivery.objects.order_by("-pk").values_list(
            "pk", flat=True).first() or 0
        first_fed = time.time()
        fed_at = timezone.now()
        with ThreadPoolExecutor(max_workers=FEEDERS) as feeders:
            list(feeders.map(feed, [payloads[n::FEEDERS] for n in range(FEEDERS)]))
        fed_s = time.time() - first_fed
        deadline = time.monotonic() + TIMEOUT
        last, moved = None, time.monotonic()
        while (state := _open_work()) != (0, 0):
            if state != last:
                last, moved = state, time.monotonic()
            if time.monotonic() > deadline or time.monotonic() - moved > STALL_SECONDS:
                stalled = f"not quiet; left (open deliveries, links pending) = {state}"
                break
            time.sleep(0.5)
        quiet_at = time.time()
        after = control.get("/_emulator/stats").json()
    finally:
        worker.stop()

    events = SyncEvent.objects.filter(created_at__gte=fed_at, kind__in=[
        SyncEvent.Kind.FIELD, SyncEvent.Kind.PRICE, SyncEvent.Kind.STATUS])
    last_write = max(events.values_list("created_at", flat=True), default=None)
    elapsed = (last_write.timestamp() if last_write else quiet_at) - first_fed
    failed_events = events.filter(result=SyncEvent.Result.FAILED).count()
    deliveries = WebhookDelivery.objects.filter(pk__gt=deliveries_before)
    delivery_status: dict[str, int] = {}
    for status in deliveries.values_list("status", flat=True):
        delivery_status[status] = delivery_status.get(status, 0) + 1

    def delta(shop: str, key: str) -> float:
        return (after["shops"].get(shop, {}).get(key, 0)
                - before["shops"].get(shop, {}).get(key, 0))

    def fields_delta(shop: str) -> dict[str, int]:
        now, then = after["root_fields"].get(shop, {}), before["root_fields"].get(shop, {})
        return {name: count - then.get(name, 0) for name, count in sorted(now.items())
                if count - then.get(name, 0)}

    per_destination = [{"domain": d.domain, "calls": int(delta(d.domain, "graphql_requests")),
                        "by_root_field": fields_delta(d.domain),
                        "cost": round(delta(d.domain, "cost_consumed"), 1),
                        "throttled": int(delta(d.domain, "throttled"))}
                       for d in catalogue.destinations]
    calls = sum(int(delta(d.domain, "graphql_requests")) for d in catalogue.destinations)
    floor = PRODUCTS * DESTINATIONS
    bound = max(delta(d.domain, "cost_consumed") for d in catalogue.destinations) / RESTORE_RATE
    started = time.perf_counter()
    checked, mismatched, examples = mismatches_count(control, catalogue)
    verify_s = time.perf_counter() - started
    return {
        "name": "product_sync",
        "params": {
            "products_edited": PRODUCTS, "variants_per_product": VARIANTS,
            "destinations": DESTINATIONS, "plan": "standard", "restore_rate": RESTORE_RATE,
            "bucket": BUCKET, "fields_synced": list(SYNCED),
            "edit_mix": "1/5 each: title; both prices; tags + description; vendor + one "
                        "compare-at; one barcode + one price",
            "worker": f"1 Celery worker subprocess, prefork, concurrency {CONCURRENCY}, all "
                      "queues",
            "ingest": f"emulator's products/update bodies → webhook_delivery_receive from "
                      f"{FEEDERS} threads → the registered handler in the worker",
        },
        "setup_s": {"emulator": round(emulator_s, 2), "database": round(database_s, 2),
                    "source_edits": round(source_edit_s, 2)},
        "world": world,
        "elapsed_s": round(elapsed, 2),
        "feed_s": round(fed_s, 2),
        "calls": calls,
        "floor_calls": floor,
        "ratio_calls_to_floor": round(calls / floor, 3),
        "throttle_bound_s": round(bound, 2),
        "ratio_elapsed_to_bound": round(elapsed / bound, 3) if bound else None,
        "throttled": sum(d["throttled"] for d in per_destination),
        "per_destination": per_destination,
        "deliveries": delivery_status,
        "field_events_failed": failed_events,
        "products_checked": checked,
        "mismatches": mismatched,
        "mismatch_examples": examples,
        "verify_s": round(verify_s, 2),
        "stalled": stalled,
        "worker_log": log_problems(log),
    }


def run() -> dict:
    return run_child_with_emulator(name="product_sync", database=DATABASE, timeout=1800 + TIMEOUT)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "child":
        print(json.dumps(child(sys.argv[2])))
    else:
        print(json.dumps(run(), indent=2))
