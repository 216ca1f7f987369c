"""Import ("sync") source products into a destination, as a background job with progress.

One `productSet` per product copies title, description, vendor, product type, tags, status,
images, options and variants (SKU, price, compare-at price, barcode, tracked) and sets the
destination's first stock from the source's live stock (less the safety stock) at the
receiving location; then the product and its variants are linked. From then on only the
auto-sync rules the destination turned on change the product, plus stock and SKU.

The job works through its list a batch at a time and re-queues itself (bounded time per
task, resumable after a worker dies); a Redis lock keeps one runner per job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from products.models import (
    ProductJob,
    ProductLink,
    SourceProduct,
    SourceVariant,
    SyncEvent,
    VariantLink,
)
from products.services import shop_mutate, sync_event_record
from products.stock import destination_location, destination_target, source_available_live
from stores.models import Connection
from syncer.redis import redis_client
from syncer.shopify.errors import ShopifyError, ShopifyRetryable
from syncer.shopify.ids import gid, gid_id

logger = logging.getLogger(__name__)

BATCH_SIZE = 10
JOB_LOCK_SECONDS = 600
MAX_STORED_ERRORS = 50

Kind = ProductJob.Kind
Status = ProductJob.Status


class ImportRefused(Exception):
    """Shown to the merchant as it is."""


def _busy_product_ids(connection: Connection) -> set[int]:
    """Products already in a queued or running job of this connection."""
    busy: set[int] = set()
    for ids in ProductJob.objects.filter(connection=connection,
                                         status__in=[Status.QUEUED, Status.RUNNING]
                                         ).values_list("source_product_ids", flat=True):
        busy.update(ids or [])
    return busy


def connection_require_connected(connection: Connection) -> None:
    if connection.status == Connection.Status.BLOCKED:
        raise ImportRefused("This source blocked your store: its catalogue is no longer "
                            "available to you.")
    if connection.status != Connection.Status.CONNECTED:
        raise ImportRefused("You are not connected to this source. Reconnect with its store "
                            "key first.")


def product_import_start(*, connection: Connection, source_product_ids: Iterable[int],
                         actor_user_id: str = "") -> ProductJob:
    """Queues the import of the selected products that can still be imported."""
    from products.tasks import product_job_run_task

    connection_require_connected(connection)
    with transaction.atomic():
        Connection.objects.select_for_update().filter(pk=connection.pk).first()
        wanted = set(int(i) for i in source_product_ids)
        ids = list(SourceProduct.objects.filter(
            shop_id=connection.source_id, pk__in=wanted, deleted_at__isnull=True, hidden=False,
        ).exclude(links__connection=connection).exclude(pk__in=_busy_product_ids(connection))
            .order_by("title", "pk").values_list("pk", flat=True))
        if not ids:
            raise ImportRefused("The selected products are already synced or being synced. "
                                "Select products that are not synced yet.")
        job = ProductJob.objects.create(connection=connection, kind=Kind.IMPORT,
                                        source_product_ids=ids, total=len(ids),
                                        actor_user_id=actor_user_id)
        transaction.on_commit(lambda: product_job_run_task.delay(job.pk))
    return job


# --- running a job (import or map) ------------------------------------------------------------


def _progress(job: ProductJob, *, remaining: list[int], done: int = 0, failed: int = 0,
              error: dict | None = None) -> None:
    job.source_product_ids = remaining
    job.done += done
    job.failed += failed
    if error is not None and len(job.errors) < MAX_STORED_ERRORS:
        job.errors = [*job.errors, error]
    ProductJob.objects.filter(pk=job.pk).update(
        source_product_ids=remaining, done=job.done, failed=job.failed, errors=job.errors,
        status=Status.RUNNING, updated_at=timezone.now())


def _finish(job: ProductJob, status: str = Status.DONE) -> None:
    ProductJob.objects.filter(pk=job.pk).update(status=status, finished_at=timezone.now(),
                                                source_product_ids=[])
    if status == Status.DONE and job.done:
        Connection.objects.filter(pk=job.connection_id, resync_required=True).update(
            resync_required=False, updated_at=timezone.now())


def product_job_run(*, job_id: int, batch_size: int = BATCH_SIZE) -> bool:
    """Runs one batch of the job. Returns True while there is more to do."""
    lock = redis_client().lock(f"syncer:product-job:{job_id}", timeout=JOB_LOCK_SECONDS,
                               blocking=False, thread_local=False)
    if not lock.acquire():
        return False  # another worker is on it
    try:
        job = (ProductJob.objects.select_related("connection", "connection__source",
                                                 "connection__destination", "scan")
               .filter(pk=job_id).first())
        if job is None or job.finished:
            return False
        if job.connection.status != Connection.Status.CONNECTED:
            job.errors = [*job.errors, {"product": "", "message": "The connection to the source "
                                        "ended before the job finished."}]
            ProductJob.objects.filter(pk=job.pk).update(errors=job.errors)
            _finish(job, Status.FAILED)
            return False
        batch = list(job.source_product_ids[:batch_size])
        if not batch:
            _finish(job)
            return False
        ProductJob.objects.filter(pk=job.pk, status=Status.QUEUED).update(status=Status.RUNNING)
        if job.kind == Kind.IMPORT:
            _import_batch(job, batch)
        else:
            from products.mapping import map_batch

            map_batch(job=job, source_product_ids=batch, progress=_progress)
        if not job.source_product_ids:
            _finish(job)
            return False
        return True
    finally:
        lock.release()


def _import_batch(job: ProductJob, batch: list[int]) -> None:
    connection = job.connection
    products = {p.pk: p for p in SourceProduct.objects.filter(pk__in=batch,
                                                              shop_id=connection.source_id)}
    variants: dict[int, list[SourceVariant]] = {}
    for variant in SourceVariant.objects.filter(product_id__in=batch, deleted_at__isnull=True
                                                ).order_by("position", "pk"):
        variants.setdefault(variant.product_id, []).append(variant)
    linked = set(ProductLink.objects.filter(connection=connection, source_product_id__in=batch)
                 .values_list("source_product_id", flat=True))
    wanted = [v.inventory_item_id for pid in batch if pid not in linked
              for v in variants.get(pid, [])]
    available = (source_available_live(source=connection.source, inventory_item_ids=wanted)
                 if wanted else {})
    location = destination_location(connection=connection)
    cause = f"import job #{job.pk}"
    rest = list(job.source_product_ids[len(batch):])
    for index, product_id in enumerate(batch):
        remaining = batch[index + 1:] + rest
        product = products.get(product_id)
        title = product.title if product else f"product {product_id}"
        if product_id in linked:
            _progress(job, remaining=remaining, done=1)
            continue
        problem = None
        if product is None or product.deleted_at is not None:
            problem = "It was deleted at the source."
        elif product.hidden:
            problem = "The source hid it from destinations."
        elif not variants.get(product_id):
            problem = "It has no variants at the source."
        if problem is None:
            try:
                product_import_one(connection=connection, product=product,
                                   variants=variants[product_id], available=available,
                                   location_id=location, cause=cause)
            except ShopifyRetryable:
                raise  # progress so far is saved; the task retries the rest
            except ShopifyError as exc:
                problem = exc.merchant_message
        if problem is None:
            _progress(job, remaining=remaining, done=1)
        else:
            _progress(job, remaining=remaining, failed=1,
                      error={"product": title, "message": problem})


def product_set_input(*, product: SourceProduct, variants: list[SourceVariant],
                      quantities: dict[int, int], location_id: int) -> dict:
    """The productSet input copying a source product (quantities by SourceVariant pk)."""
    options = product.options or [{"name": "Title", "values": ["Default Title"]}]
    value_input = []
    for variant in variants:
        values = variant.option_values or [{"name": options[0]["name"], "value": "Default Title"}]
        value_input.append([{"optionName": v["name"], "name": v["value"]} for v in values])
    used = [{value["name"] for values in value_input for value in values
             if value["optionName"] == option["name"]} for option in options]
    data: dict = {
        "title": product.title,
        "descriptionHtml": product.description_html,
        "vendor": product.vendor,
        "productType": product.product_type,
        "tags": list(product.tags),
        "status": product.status,
        "productOptions": [
            {"name": option["name"], "position": position,
             "values": [{"name": v} for v in option.get("values") or [] if v in used[position - 1]]}
            for position, option in enumerate(options, start=1)
        ],
        "variants": [
            {
                "optionValues": value_input[index],
                "position": index + 1,
                "price": f"{variant.price:.2f}" if variant.price is not None else "0.00",
                "compareAtPrice": (f"{variant.compare_at_price:.2f}"
                                   if variant.compare_at_price is not None else None),
                "barcode": variant.barcode or None,
                "inventoryItem": {"sku": variant.sku, "tracked": variant.tracked},
                "inventoryQuantities": [{"locationId": gid("Location", location_id),
                                         "name": "available",
                                         "quantity": quantities[variant.pk]}],
            }
            for index, variant in enumerate(variants)
        ],
    }
    if product.images:
        data["files"] = [{"originalSource": image["src"], "alt": image.get("alt") or "",
                          "contentType": "IMAGE"} for image in product.images if image.get("src")]
    return data


def product_import_one(*, connection: Connection, product: SourceProduct,
                       variants: list[SourceVariant], available: dict[int, int],
                       location_id: int, cause: str) -> ProductLink:
    """Creates the product at the destination and links it, variant by variant."""
    quantities = {v.pk: destination_target(connection=connection,
                                           source_available=available.get(v.inventory_item_id, 0))
                  for v in variants}
    payload = shop_mutate(
        shop=connection.destination, name="product_set", root="productSet",
        variables={"input": product_set_input(product=product, variants=variants,
                                              quantities=quantities, location_id=location_id),
                   "synchronous": True, "variantsFirst": min(max(len(variants), 1), 250)})
    created = payload["product"]
    made = created["variants"]["nodes"]
    by_values = {tuple(o["value"] for o in node.get("selectedOptions") or []): node
                 for node in made}
    now = timezone.now()
    with transaction.atomic():
        link = ProductLink.objects.create(
            connection=connection, source_product=product,
            destination_product_id=gid_id(created["id"]), origin=ProductLink.Origin.IMPORTED)
        sync_event_record(connection=connection, kind=SyncEvent.Kind.IMPORTED,
                          product_link=link, field="product", from_value="",
                          to_value=created.get("title") or "", cause=cause)
        for index, variant in enumerate(variants):
            node = by_values.get(tuple(v["value"] for v in variant.option_values))
            if node is None and index < len(made):
                node = made[index]
            if node is None:
                continue
            VariantLink.objects.create(
                product_link=link, connection=connection, source_variant=variant,
                destination_variant_id=gid_id(node["id"]),
                destination_inventory_item_id=gid_id(node["inventoryItem"]["id"]),
                last_written_quantity=quantities[variant.pk], last_written_at=now)
            sync_event_record(connection=connection, kind=SyncEvent.Kind.INVENTORY,
                              product_link=link, field=f"{variant.sku or variant.title} available",
                              from_value="", to_value=quantities[variant.pk], cause=cause)
    return link


def product_jobs_stalled(*, older_than_seconds: int = 600) -> list[int]:
    """Queued or running jobs nobody advanced for a while (a lost task): for the sweeper."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(ProductJob.objects.filter(status__in=[Status.QUEUED, Status.RUNNING],
                                          updated_at__lt=cutoff).values_list("pk", flat=True))
