"""The source catalogue, as views and webhooks reach it: start a catalogue scan, a source's
first or next full load, its hidden tag, and the `bulk_operations/finish` webhook.

The catalogue is a mirror of each source's products that destinations browse, never read from
Shopify by a list:

* `products.catalogue_scan` reads a whole catalogue with one Shopify bulk query and applies it
  in chunks (the steps run in `products.tasks`);
* `products.catalogue_mirror` applies products one at a time (webhooks, live reads, the scan's
  chunks) and hands what changed to `products.autosync`;
* `products.catalogue_data` is what Shopify sent, in one shape whatever it came by.
"""

from __future__ import annotations

import time

from django.db import transaction

from products.autosync import source_changes_apply
from products.catalogue_data import MirrorChange
from products.catalogue_mirror import tags_hide
from products.catalogue_scan import (
    Status,
    catalogue_scan_create,
    source_catalogue_needed,
)
from products.models import CatalogueScan, SourceProduct
from products.tasks import (
    catalogue_scan_finish_task,
    catalogue_scan_run_task,
)
from stores.models import Connection, Shop


def catalogue_scan_start(*, shop: Shop, purpose: str,
                         connection: Connection | None = None) -> CatalogueScan:
    """Queues a bulk read of the shop's catalogue, unless one is already under way."""
    with transaction.atomic():
        scan, created = catalogue_scan_create(shop=shop, purpose=purpose, connection=connection)
        if created:
            transaction.on_commit(lambda: catalogue_scan_run_task.delay(scan.pk))
    return scan


def source_catalogue_load_start(*, source: Shop) -> CatalogueScan:
    return catalogue_scan_start(shop=source, purpose=CatalogueScan.Purpose.SOURCE_CATALOGUE)


def source_catalogue_ensure(*, source: Shop) -> CatalogueScan | None:
    """Starts the first full load of a source that never had one: call it when a store
    becomes a source; the sweeper starts it for any source still without one."""
    if not source_catalogue_needed(source=source):
        return None
    return source_catalogue_load_start(source=source)


def bulk_operation_finished(*, shop_domain: str, payload: dict) -> str:
    """bulk_operations/finish: finish the scan that started this operation, if it is ours."""
    operation_gid = str(payload.get("admin_graphql_api_id") or "")
    scan = CatalogueScan.objects.filter(shop__domain=shop_domain, operation_id=operation_gid,
                                        status=Status.RUNNING).first()
    if scan is None:
        return "unknown"
    transaction.on_commit(lambda: catalogue_scan_finish_task.delay(scan.pk))
    return "queued"


def catalogue_scan_wait(*, scan_id: int, timeout: float = 120.0) -> CatalogueScan:
    """Runs a queued scan to the end in this process (demo seeding, benchmarks): the same
    steps as the worker's tasks, called directly."""
    deadline = time.monotonic() + timeout
    scan = CatalogueScan.objects.get(pk=scan_id)
    if scan.status == Status.QUEUED:
        catalogue_scan_run_task(scan_id)
    while time.monotonic() < deadline:
        scan.refresh_from_db()
        if scan.finished:
            return scan
        if scan.status == Status.RUNNING:
            catalogue_scan_finish_task(scan_id)
        time.sleep(0.2)
    raise TimeoutError(f"Catalogue scan {scan_id} did not finish in {timeout:.0f} s")


def source_hidden_tag_set(*, source: Shop, hidden_tag: str, cause: str) -> int:
    """The source chose another hidden tag: recompute every product's flag. Returns how many
    products changed visibility."""
    hidden_tag = hidden_tag.strip()
    with transaction.atomic():
        source = Shop.objects.select_for_update().get(pk=source.pk)
        source.settings = dict(source.settings or {}, hidden_tag=hidden_tag)
        source.save(update_fields=["settings", "updated_at"])
        changes = []
        for product in SourceProduct.objects.select_for_update().filter(
                shop=source, deleted_at__isnull=True).order_by("pk"):
            hidden = tags_hide(tags=product.tags, hidden_tag=source.hidden_tag)
            if hidden != product.hidden:
                change = MirrorChange(product=product, was_hidden=product.hidden,
                                      old_status=product.status)
                product.hidden = hidden
                product.save(update_fields=["hidden", "updated_at"])
                changes.append(change)
        source_changes_apply(changes=changes, cause=cause)
    return len(changes)
