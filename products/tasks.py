"""Thin tasks for the catalogue, import, mapping and auto-sync: ids in, one service call, safe
to run twice (state decides what is left to do)."""

from celery import shared_task

from products import autosync, catalogue, imports
from syncer.shopify.errors import ShopifyRetryable

RETRY = {"autoretry_for": (ShopifyRetryable,), "retry_backoff": 2, "retry_backoff_max": 120,
         "retry_jitter": True, "max_retries": 20}


@shared_task(ignore_result=True, **RETRY)
def catalogue_scan_run_task(scan_id: int, attempt: int = 0) -> None:
    catalogue.catalogue_scan_run(scan_id=scan_id, attempt=attempt)


@shared_task(ignore_result=True, **RETRY)
def catalogue_scan_poll_task(scan_id: int) -> None:
    catalogue.catalogue_scan_poll(scan_id=scan_id)


@shared_task(ignore_result=True, **RETRY)
def catalogue_scan_finish_task(scan_id: int) -> None:
    catalogue.catalogue_scan_finish(scan_id=scan_id)


@shared_task(ignore_result=True, **RETRY)
def product_job_run_task(job_id: int) -> None:
    if imports.product_job_run(job_id=job_id):
        product_job_run_task.delay(job_id)


@shared_task(ignore_result=True, **RETRY)
def product_link_autosync_task(link_id: int, cause: str) -> None:
    autosync.product_link_autosync(link_id=link_id, cause=cause)


@shared_task(ignore_result=True, **RETRY)
def product_links_stock_sync_task(connection_id: int, product_link_ids: list[int],
                                  cause: str) -> None:
    autosync.product_links_stock_sync(connection_id=connection_id,
                                      product_link_ids=product_link_ids, cause=cause)


@shared_task(ignore_result=True)
def product_jobs_sweep_task() -> None:
    """Resumes jobs whose task was lost (broker restart, worker killed, retries spent), polls
    catalogue scans whose finish webhook never came, and starts the first catalogue load of
    sources that never had one."""
    for job_id in imports.product_jobs_stalled():
        product_job_run_task.delay(job_id)
    catalogue.catalogue_scans_resume()
    catalogue.source_catalogues_ensure()
