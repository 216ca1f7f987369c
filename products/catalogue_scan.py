"""Catalogue scans: a whole shop's catalogue read with one Shopify bulk query, applied in chunks.

A source's scan loads (or reloads) the mirror; a destination's scan feeds the SKU check
(`products.sku_matching`). The steps here run in `products.tasks`: start the query, poll it in
case its `bulk_operations/finish` webhook never comes, apply the result. Each step returns what
should happen next (`ScanStep`) and the task schedules it; nothing here queues a task.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from products.catalogue_data import CatalogueError, ProductData, product_data_from_shopify
from products.catalogue_mirror import source_products_deleted, source_products_upsert
from products.models import CatalogueScan, SourceProduct
from products.sku_matching import destination_scan_apply
from stores.models import Connection, Shop
from stores.services import shop_admin_session
from syncer.shopify.bulk import BulkOperation
from syncer.shopify.errors import (
    ShopifyError,
    ShopifyOutcomeUnknown,
    ShopifyRetryable,
)
from syncer.shopify.operations.products import (
    CatalogueReadBusy,
    Product,
    catalogue_read_products,
    catalogue_read_start,
    catalogue_read_status,
)

logger = logging.getLogger(__name__)

CHUNK = 200
# Poll the bulk operation after these delays (s) in case its finish webhook never comes.
POLL_DELAYS = (5, 10, 20, 30, 60, 120, 300)
MAX_POLLS = 40
# "A bulk query operation for this app and shop is already in progress": try again later.
BUSY_RETRY_SECONDS = 30
MAX_BUSY_RETRIES = 20
RETRY_NOTE = "Shopify is not answering right now; the catalogue read is retried shortly."
# A queued scan normally starts within seconds; after this the sweeper starts it again.
QUEUED_GRACE = timedelta(minutes=2)

Status = CatalogueScan.Status


@dataclass(frozen=True, slots=True)
class ScanStep:
    """What a step did ("started", "busy", "retry", "waiting", "done", "failed", "skipped")
    and what the task should do next, in seconds from now."""

    outcome: str
    run_again_in: float | None = None  # start the bulk query again
    poll_in: float | None = None  # ask Shopify how the operation is doing


@dataclass(frozen=True, slots=True)
class ScansToResume:
    run: list[int] = field(default_factory=list)
    poll: list[int] = field(default_factory=list)


def catalogue_scan_create(*, shop: Shop, purpose: str,
                          connection: Connection | None = None) -> tuple[CatalogueScan, bool]:
    """A queued scan of the shop's catalogue, unless one is already under way (then that one,
    and False)."""
    with transaction.atomic():
        Shop.objects.select_for_update().filter(pk=shop.pk).first()
        active = CatalogueScan.objects.filter(
            shop=shop, purpose=purpose, connection=connection,
            status__in=[Status.QUEUED, Status.RUNNING, Status.APPLYING]).first()
        if active is not None:
            return active, False
        return CatalogueScan.objects.create(shop=shop, purpose=purpose, connection=connection), True


def source_catalogue_needed(*, source: Shop) -> bool:
    """A source that never had a full load (one that did not fail) needs its first."""
    if source.role != Shop.Role.SOURCE or not source.is_installed:
        return False
    return not CatalogueScan.objects.filter(
        shop=source, purpose=CatalogueScan.Purpose.SOURCE_CATALOGUE).exclude(
        status=Status.FAILED).exists()


def source_catalogue_scans_create() -> list[CatalogueScan]:
    """The sweeper's part: a first load for every installed source still without one."""
    loaded = CatalogueScan.objects.filter(
        purpose=CatalogueScan.Purpose.SOURCE_CATALOGUE).exclude(status=Status.FAILED)
    created = []
    for source in Shop.objects.filter(role=Shop.Role.SOURCE, installed_at__isnull=False,
                                      uninstalled_at__isnull=True).exclude(
            pk__in=loaded.values("shop_id")):
        if source_catalogue_needed(source=source):
            created.append(catalogue_scan_create(
                shop=source, purpose=CatalogueScan.Purpose.SOURCE_CATALOGUE)[0])
    return created


def _scan_failed(scan: CatalogueScan, message: str) -> None:
    CatalogueScan.objects.filter(pk=scan.pk).update(status=Status.FAILED, error=message[:2000],
                                                    finished_at=timezone.now())


def catalogue_scan_run(*, scan_id: int, attempt: int = 0) -> ScanStep:
    """Starts the bulk query. Claims the scan first, so two runners never start two operations
    for it."""
    if not CatalogueScan.objects.filter(pk=scan_id, status=Status.QUEUED).update(
            status=Status.RUNNING, started_at=timezone.now()):
        return ScanStep("skipped")
    scan = CatalogueScan.objects.select_related("shop").get(pk=scan_id)
    try:
        operation = catalogue_read_start(session=shop_admin_session(shop_domain=scan.shop.domain))
    except CatalogueReadBusy as exc:
        if attempt < MAX_BUSY_RETRIES:
            CatalogueScan.objects.filter(pk=scan.pk).update(status=Status.QUEUED)
            return ScanStep("busy", run_again_in=BUSY_RETRY_SECONDS)
        _scan_failed(scan, exc.merchant_message)
        return ScanStep("failed")
    except (ShopifyRetryable, ShopifyOutcomeUnknown) as exc:
        # Shopify is busy or down (or answered 5xx: a query started twice costs nothing but a
        # second read): queued again, retried later, never failing the caller.
        logger.info("catalogue scan %s waits: %s", scan.pk, exc)
        CatalogueScan.objects.filter(pk=scan.pk).update(status=Status.QUEUED, error=RETRY_NOTE)
        return ScanStep("retry", run_again_in=(BUSY_RETRY_SECONDS
                                               if attempt < MAX_BUSY_RETRIES else None))
    except ShopifyError as exc:
        _scan_failed(scan, exc.merchant_message)
        return ScanStep("failed")
    CatalogueScan.objects.filter(pk=scan.pk).update(operation_id=operation.id)
    return ScanStep("started", poll_in=POLL_DELAYS[0])


def catalogue_scan_poll(*, scan_id: int) -> ScanStep:
    """The finish webhook's back-up: ask Shopify how the operation is doing."""
    scan = CatalogueScan.objects.select_related("shop").filter(pk=scan_id).first()
    if scan is None or scan.status != Status.RUNNING or not scan.operation_id:
        return ScanStep("skipped")
    operation = catalogue_read_status(session=shop_admin_session(shop_domain=scan.shop.domain),
                                      operation_id=scan.operation_id)
    polls = scan.polls + 1
    CatalogueScan.objects.filter(pk=scan.pk).update(polls=polls)
    if operation is not None and operation.finished:
        return catalogue_scan_finish(scan_id=scan.pk, operation=operation)
    if operation is None or polls >= MAX_POLLS:
        _scan_failed(scan, "Shopify did not finish reading the catalogue. Try again later.")
        return ScanStep("failed")
    return ScanStep("waiting", poll_in=POLL_DELAYS[min(polls, len(POLL_DELAYS) - 1)])


def catalogue_scan_finish(*, scan_id: int, operation: BulkOperation | None = None) -> ScanStep:
    """Reads the finished operation's result and applies it. Exactly one caller gets to apply
    (webhook, poll or retry): the RUNNING → APPLYING claim decides."""
    scan = CatalogueScan.objects.select_related("shop", "connection").filter(pk=scan_id).first()
    if scan is None or not scan.operation_id:
        return ScanStep("skipped")
    if operation is None:
        operation = catalogue_read_status(
            session=shop_admin_session(shop_domain=scan.shop.domain),
            operation_id=scan.operation_id)
    if operation is None or not operation.finished:
        return ScanStep("waiting")
    if operation.status != "COMPLETED":
        claimed = CatalogueScan.objects.filter(pk=scan.pk, status=Status.RUNNING).update(
            status=Status.FAILED, finished_at=timezone.now(),
            error=f"Shopify could not read the catalogue ({operation.status.lower()}"
                  f"{', ' + operation.error_code.lower() if operation.error_code else ''}). "
                  "Try again later.")
        return ScanStep("failed" if claimed else "skipped")
    if not CatalogueScan.objects.filter(pk=scan.pk, status=Status.RUNNING).update(
            status=Status.APPLYING):
        return ScanStep("skipped")
    try:
        products = catalogue_read_products(url=operation.url)
        if scan.purpose == CatalogueScan.Purpose.SOURCE_CATALOGUE:
            product_count, variant_count = _source_scan_apply(scan=scan, products=products)
            CatalogueScan.objects.filter(pk=scan.pk).update(products=product_count,
                                                            variants=variant_count)
        else:
            destination_scan_apply(scan=scan, products=products)
    except ShopifyRetryable as exc:
        # The download failed; let a later poll try again.
        CatalogueScan.objects.filter(pk=scan.pk).update(status=Status.RUNNING, error=str(exc))
        return ScanStep("retry", poll_in=POLL_DELAYS[2])
    except (ShopifyError, CatalogueError) as exc:
        _scan_failed(scan, getattr(exc, "merchant_message", str(exc)))
        return ScanStep("failed")
    CatalogueScan.objects.filter(pk=scan.pk).update(status=Status.DONE, error="",
                                                    finished_at=timezone.now())
    return ScanStep("done")


def _chunks(items: Iterable[ProductData], size: int) -> Iterator[list[ProductData]]:
    chunk: list[ProductData] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _source_scan_apply(*, scan: CatalogueScan, products: Iterable[Product]) -> tuple[int, int]:
    source = scan.shop
    cause = f"catalogue load #{scan.pk}"
    seen: set[int] = set()
    variants = 0
    for chunk in _chunks((product_data_from_shopify(p) for p in products), CHUNK):
        source_products_upsert(source=source, products=chunk, cause=cause)
        seen.update(p.shopify_id for p in chunk)
        variants += sum(len(p.variants) for p in chunk)
    gone = list(SourceProduct.objects.filter(shop=source, deleted_at__isnull=True)
                .exclude(shopify_id__in=seen).values_list("shopify_id", flat=True))
    if gone:
        source_products_deleted(source=source, shopify_ids=gone, cause=cause)
    return len(seen), variants


def catalogue_scans_resume(*, older_than: timedelta = timedelta(minutes=30)) -> ScansToResume:
    """The sweeper's part: scans left queued or running long after they were asked for (lost
    task, lost webhook and polls, a worker killed between claiming and starting) go again:
    those without an operation are queued again to run, the others to poll."""
    now = timezone.now()
    stuck = CatalogueScan.objects.filter(
        Q(status=Status.QUEUED, created_at__lt=now - QUEUED_GRACE)
        | Q(status=Status.RUNNING, created_at__lt=now - older_than))
    resume = ScansToResume()
    for scan in stuck:
        if scan.status == Status.QUEUED or not scan.operation_id:
            CatalogueScan.objects.filter(pk=scan.pk).update(status=Status.QUEUED)
            resume.run.append(scan.pk)
        else:
            resume.poll.append(scan.pk)
    return resume
