"""Thin tasks for catalogue scans and product jobs: ids in, one call into the module that does
the work, safe to run twice (state decides what is left to do).

A catalogue scan's steps say what should happen next (`ScanStep`) and the task schedules it;
a product job runs a batch at a time and queues itself again while there is more. Auto-sync's
tasks are in `products.autosync_tasks` (the mirror, which these tasks run, queues them).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from django.db import transaction
from django.utils import timezone

from products import autosync_tasks  # noqa: F401  (registers auto-sync's tasks with the worker)
from products.catalogue_scan import (
    ScanStep,
    catalogue_scan_finish,
    catalogue_scan_poll,
    catalogue_scan_run,
    catalogue_scans_resume,
    source_catalogue_scans_create,
)
from products.field_flush_tasks import field_flush_request
from products.jobs import product_job_run, product_jobs_stalled
from products.link_end import ended_links_stalled
from products.link_end_tasks import ended_links_apply_task
from products.models import ProductLink
from syncer.shopify.errors import ShopifyRetryable

# Fields waiting this long have lost their flush (a flush takes them within seconds).
FIELDS_STALE = timedelta(seconds=60)

# Retried: only what can recover (throttle, 5xx, timeouts), with backoff.
retrying_task = shared_task(ignore_result=True, autoretry_for=(ShopifyRetryable,),
                            retry_backoff=2, retry_backoff_max=120, retry_jitter=True,
                            max_retries=20)


def _later(task: Task[Any, Any], args: tuple[Any, ...], countdown: float) -> None:
    """Runs the task again later. Inline (eager) Celery cannot wait: the sweeper does it."""
    if task.app.conf.task_always_eager:
        return
    task.apply_async(args=args, countdown=countdown)


def _scan_next(step: ScanStep, *, scan_id: int, attempt: int = 0) -> None:
    """Schedules what a catalogue scan step asked for."""
    if step.run_again_in is not None:
        _later(catalogue_scan_run_task, (scan_id, attempt + 1), step.run_again_in)
    poll_in = step.poll_in
    if poll_in is not None:
        transaction.on_commit(lambda: catalogue_scan_poll_task.apply_async(
            args=(scan_id,), countdown=poll_in))


@retrying_task
def catalogue_scan_run_task(scan_id: int, attempt: int = 0) -> None:
    _scan_next(catalogue_scan_run(scan_id=scan_id, attempt=attempt), scan_id=scan_id,
               attempt=attempt)


@retrying_task
def catalogue_scan_poll_task(scan_id: int) -> None:
    _scan_next(catalogue_scan_poll(scan_id=scan_id), scan_id=scan_id)


@retrying_task
def catalogue_scan_finish_task(scan_id: int) -> None:
    _scan_next(catalogue_scan_finish(scan_id=scan_id), scan_id=scan_id)


@retrying_task
def product_job_run_task(job_id: int) -> None:
    if product_job_run(job_id=job_id):
        product_job_run_task.delay(job_id)


@shared_task(ignore_result=True)
def product_jobs_sweep_task() -> None:
    """Resumes jobs whose task was lost (broker restart, worker killed, retries spent), polls
    catalogue scans whose finish webhook never came, starts the first catalogue load of
    sources that never had one, applies ended links left waiting, and flushes product fields
    left waiting."""
    for job_id in product_jobs_stalled():
        product_job_run_task.delay(job_id)
    resume = catalogue_scans_resume()
    for scan_id in resume.run:
        catalogue_scan_run_task.delay(scan_id)
    for scan_id in resume.poll:
        catalogue_scan_poll_task.delay(scan_id)
    for scan in source_catalogue_scans_create():
        catalogue_scan_run_task.delay(scan.pk)
    for connection_id in ended_links_stalled():
        ended_links_apply_task.delay(connection_id)
    stale_fields = sorted(set(ProductLink.objects.filter(
        pending_since__lte=timezone.now() - FIELDS_STALE).values_list("connection_id",
                                                                      flat=True)))
    if stale_fields:
        field_flush_request(connection_ids=stale_fields)
