"""The demo world's products (for scripts/seed_demo.py; idempotent, safe on every start).

demo-source gets a real-looking catalogue (32 products with sizes or colours, a few tagged
with the hidden tag); demo-dest-1 imports most of what it may see; demo-dest-2 already sells
some of the source's products under its own titles and maps them by SKU — one of its SKUs is
on two variants, so the health report has a duplicate to show (and one only differs in case).
"""

from __future__ import annotations

import time

from demo.emulator import EmulatorControl
from products.catalogue import catalogue_scan_wait, source_catalogue_load_start
from products.imports import ImportRefused, product_import_start
from products.jobs import product_job_run
from products.mapping import map_start, sku_scan_start
from products.models import ProductJob
from products.selectors import catalogue_for_destination, product_job_for
from stores.models import Connection, Shop
from stores.selectors import (
    connection_between,
    connection_synced_product_count,
    shop_for_domain,
)

SOURCE = "demo-source.myshopify.com"
DEST_1 = "demo-dest-1.myshopify.com"
DEST_2 = "demo-dest-2.myshopify.com"

SIZES = ["S", "M", "L"]
COLOURS = ["Sand", "Olive", "Navy"]
CATALOGUE = [
    # title, vendor, sku prefix, price, options, hidden
    ("Linen shirt", "Northwind Apparel", "LIN-SHIRT", "49.00", SIZES, False),
    ("Oxford shirt", "Northwind Apparel", "OXF-SHIRT", "55.00", SIZES, False),
    ("Chambray shirt", "Northwind Apparel", "CHB-SHIRT", "52.00", SIZES, False),
    ("Merino crew jumper", "Highland Knits", "MER-CREW", "89.00", SIZES, False),
    ("Cable knit cardigan", "Highland Knits", "CAB-CARD", "119.00", SIZES, False),
    ("Lambswool scarf", "Highland Knits", "LAMB-SCARF", "39.00", COLOURS, False),
    ("Ribbed beanie", "Highland Knits", "RIB-BEANIE", "24.00", COLOURS, False),
    ("Canvas tote", "Harbour Goods", "CAN-TOTE", "29.00", COLOURS, False),
    ("Waxed weekender bag", "Harbour Goods", "WAX-WKND", "189.00", COLOURS[:2], False),
    ("Leather card holder", "Harbour Goods", "LTH-CARD", "35.00", COLOURS, False),
    ("Roll-top backpack", "Harbour Goods", "ROLL-PACK", "129.00", COLOURS[:2], False),
    ("Chino trousers", "Northwind Apparel", "CHINO", "69.00", SIZES, False),
    ("Selvedge jeans", "Northwind Apparel", "SELV-JEAN", "139.00", SIZES, False),
    ("Cord trousers", "Northwind Apparel", "CORD-TRS", "79.00", SIZES, False),
    ("Breton top", "Northwind Apparel", "BRETON", "45.00", SIZES, False),
    ("Heavyweight tee", "Northwind Apparel", "HW-TEE", "29.00", SIZES, False),
    ("Pocket tee", "Northwind Apparel", "PKT-TEE", "25.00", SIZES, False),
    ("Hooded sweatshirt", "Northwind Apparel", "HOODIE", "75.00", SIZES, False),
    ("Quilted vest", "Fjell Outdoor", "QLT-VEST", "99.00", SIZES, False),
    ("Rain shell jacket", "Fjell Outdoor", "RAIN-SHELL", "179.00", SIZES, False),
    ("Down parka", "Fjell Outdoor", "DOWN-PARKA", "299.00", SIZES, False),
    ("Fleece pullover", "Fjell Outdoor", "FLC-PULL", "85.00", SIZES, False),
    ("Hiking socks (2 pack)", "Fjell Outdoor", "HIKE-SOCK", "22.00", SIZES, False),
    ("Trail cap", "Fjell Outdoor", "TRAIL-CAP", "27.00", COLOURS, False),
    ("Enamel mug", "Harbour Goods", "ENML-MUG", "18.00", COLOURS, False),
    ("Stoneware bowl set", "Harbour Goods", "STN-BOWL", "48.00", COLOURS[:2], False),
    ("Linen tea towel", "Harbour Goods", "LIN-TOWEL", "16.00", COLOURS, False),
    ("Beeswax candle", "Harbour Goods", "BWAX-CNDL", "21.00", COLOURS[:2], False),
    ("Sample sale shirt", "Northwind Apparel", "SAMPLE-SHIRT", "15.00", SIZES, True),
    ("Staff jacket", "Fjell Outdoor", "STAFF-JKT", "0.00", SIZES, True),
    ("Prototype bag", "Harbour Goods", "PROTO-BAG", "1.00", COLOURS[:2], True),
    ("Gift card holder", "Harbour Goods", "GIFT-HOLD", "5.00", COLOURS[:2], False),
]
# demo-dest-2 already sells these (by source title) under its own names.
DEST_2_COPIES = ["Linen shirt", "Oxford shirt", "Merino crew jumper", "Canvas tote",
                 "Chino trousers", "Heavyweight tee", "Rain shell jacket", "Enamel mug"]
NOT_IMPORTED_BY_DEST_1 = 4  # dest-1 imports all visible products but the last few


def _sku(prefix: str, value: str) -> str:
    return f"{prefix}-{value.upper()}"


def _ensure_products(emulator: EmulatorControl, shop: str, products: list[dict]) -> int:
    existing = {p["title"] for p in emulator.shop(shop)["products"]}
    created = 0
    for product in products:
        if product["title"] in existing:
            continue
        emulator.product_create(shop, product)
        created += 1
    return created


def _source_products() -> list[dict]:
    products = []
    for index, (title, vendor, prefix, price, values, hidden) in enumerate(CATALOGUE):
        tags = ["demo", vendor.split()[0].lower()] + (["syncer-hidden"] if hidden else [])
        products.append({"title": title, "vendor": vendor, "tags": tags, "variants": [
            {"sku": _sku(prefix, value), "price": price, "option1": value,
             "available": (index * 7 + n * 5) % 23 + 2}
            for n, value in enumerate(values)]})
    return products


def _dest_2_products() -> list[dict]:
    by_title = {row[0]: row for row in CATALOGUE}
    products = []
    for title in DEST_2_COPIES:
        _title, vendor, prefix, price, values, _hidden = by_title[title]
        variants = [{"sku": _sku(prefix, value), "price": price, "option1": value,
                     "available": 1} for value in values]
        if title == "Canvas tote":  # one SKU typed on two variants: the report's duplicate
            variants[1]["sku"] = variants[0]["sku"]
        if title == "Enamel mug":  # differs only in case: a near match
            variants[0]["sku"] = variants[0]["sku"].lower()
        products.append({"title": f"{title} (our range)", "vendor": vendor,
                         "tags": ["own"], "variants": variants})
    return products


def product_job_wait(*, connection: Connection, job_id: int, timeout: float) -> ProductJob:
    """Runs the job here (a worker may be on it too: the job lock lets one run at a time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        product_job_run(job_id=job_id)
        job = product_job_for(connection=connection, job_id=job_id)
        if job is not None and job.finished:
            return job
        time.sleep(0.2)
    raise TimeoutError(f"product job {job_id} did not finish in {timeout:.0f} s")


def sku_map_run(*, connection: Connection, timeout: float) -> dict:
    """What a destination's merchant does on the Map page: check the SKUs, link the matches."""
    scan = catalogue_scan_wait(scan_id=sku_scan_start(connection=connection).pk,
                               timeout=timeout)
    report = scan.report
    summary: dict = {"report": {"matches": report.get("match_count"),
                                "duplicates": report.get("duplicate_count"),
                                "near": report.get("near_count")}}
    try:
        job = map_start(connection=connection, scan=scan)
    except ImportRefused as exc:
        summary["map"] = str(exc)
    else:
        job = product_job_wait(connection=connection, job_id=job.pk, timeout=timeout)
        summary["map"] = {"status": job.status, "done": job.done, "failed": job.failed}
    return summary


def _connection(source: Shop, destination_domain: str) -> Connection:
    destination = shop_for_domain(domain=destination_domain)
    connection = (connection_between(source=source, destination=destination)
                  if destination is not None else None)
    if connection is None:
        raise LookupError(f"{destination_domain} is not connected to {source.domain}")
    return connection


def demo_catalogue_seed(*, emulator_url: str, timeout: float = 300.0) -> dict:
    """Seeds the demo's products. Needs: the three demo shops installed in Syncer with their
    roles, both destinations connected to demo-source (what seed_demo.py does first), and
    Syncer's Admin API client pointed at the emulator at `emulator_url`."""
    summary: dict = {}
    with EmulatorControl(emulator_url) as emulator:
        summary["source_products_created"] = _ensure_products(emulator, SOURCE,
                                                              _source_products())
        summary["dest_2_products_created"] = _ensure_products(emulator, DEST_2,
                                                              _dest_2_products())
    source = shop_for_domain(domain=SOURCE)
    if source is None:
        raise LookupError(f"{SOURCE} is not installed in Syncer")
    scan = catalogue_scan_wait(scan_id=source_catalogue_load_start(source=source).pk,
                               timeout=timeout)
    summary["catalogue"] = {"status": scan.status, "products": scan.products,
                            "variants": scan.variants}

    dest_1 = _connection(source, DEST_1)
    if not connection_synced_product_count(connection=dest_1):
        # What the destination's merchant sees to import, in the catalogue's order.
        visible = list(catalogue_for_destination(connection=dest_1, tab="not_synced")
                       .values_list("pk", flat=True))
        try:
            job = product_import_start(
                connection=dest_1, source_product_ids=visible[:-NOT_IMPORTED_BY_DEST_1])
        except ImportRefused as exc:
            summary["dest_1_import"] = str(exc)
        else:
            job = product_job_wait(connection=dest_1, job_id=job.pk, timeout=timeout)
            summary["dest_1_import"] = {"status": job.status, "done": job.done,
                                        "failed": job.failed}

    dest_2 = _connection(source, DEST_2)
    if not connection_synced_product_count(connection=dest_2):
        mapped = sku_map_run(connection=dest_2, timeout=timeout)
        summary["dest_2_report"] = mapped["report"]
        summary["dest_2_map"] = mapped["map"]
    return summary
