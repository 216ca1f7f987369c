"""Runs product jobs: an import (copy source products into a destination) or a map by SKU (link
the destination's own variants), a batch at a time.

`product_job_run` works through the job's list one batch per call, saving progress after each
product, and says whether there is more; `products.tasks.product_job_run_task` calls it again
until there is not (bounded time per task, resumable after a worker dies). A Redis lock keeps
one runner per job. What a batch does depends on the job's kind: `products.product_copy` or
`products.sku_matching`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from products.import_fresh import product_import_batch_fresh
from products.models import ProductJob
from products.sku_matching import map_batch
from stores.models import Connection
from syncer.redis import redis_client

BATCH_SIZE = 10
JOB_LOCK_SECONDS = 600
MAX_STORED_ERRORS = 50

Kind = ProductJob.Kind
Status = ProductJob.Status

# What one batch of each kind of job does: (job, source_product_ids, progress) → None.
BATCH_RUNNERS: dict[str, Callable[..., None]] = {
    Kind.IMPORT: product_import_batch_fresh,
    Kind.MAP: map_batch,
}


def _progress(job: ProductJob, *, remaining: list[int], done: int = 0, failed: int = 0,
              error: dict | None = None, already_in_store: dict | None = None) -> None:
    job.source_product_ids = remaining
    job.done += done
    job.failed += failed
    if error is not None and len(job.errors) < MAX_STORED_ERRORS:
        job.errors = [*job.errors, error]
    if already_in_store is not None:
        job.already_in_store += 1
        if len(job.already_in_store_products) < MAX_STORED_ERRORS:
            job.already_in_store_products = [*job.already_in_store_products, already_in_store]
    ProductJob.objects.filter(pk=job.pk).update(
        source_product_ids=remaining, done=job.done, failed=job.failed, errors=job.errors,
        already_in_store=job.already_in_store,
        already_in_store_products=job.already_in_store_products,
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
        BATCH_RUNNERS[job.kind](job=job, source_product_ids=batch, progress=_progress)
        if not job.source_product_ids:
            _finish(job)
            return False
        return True
    finally:
        lock.release()


def product_jobs_stalled(*, older_than_seconds: int = 600) -> list[int]:
    """Queued or running jobs nobody advanced for a while (a lost task): for the sweeper."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(ProductJob.objects.filter(status__in=[Status.QUEUED, Status.RUNNING],
                                          updated_at__lt=cutoff).values_list("pk", flat=True))
