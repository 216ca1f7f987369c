"""Thin, idempotent tasks: take ids, call one service. A re-run finds the work done (status,
claims, the source order's tag) and does nothing twice.

Imports run one way: the services that queue these tasks import this module; these tasks
import only work that queues no task (`orders.push`, `orders.source_orders`,
`orders.fulfillment_sync`, selectors), so there is no circle.
"""

from typing import Any

from celery import shared_task
from django.db import transaction

from orders.fulfillment_sync import order_fulfillment_sync
from orders.push import order_push_cancel_flag_due, order_push_execute
from orders.selectors import order_work_stalled
from orders.source_orders import order_push_flag_cancelled
from syncer.shopify import ShopifyOutcomeUnknown, ShopifyRetryable

RETRY = {
    # ShopifyOutcomeUnknown too: the next attempt looks the order / fulfilment up first.
    "autoretry_for": (ShopifyRetryable, ShopifyOutcomeUnknown),
    "retry_backoff": 10,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


def task_enqueue_on_commit(task: Any, *args: Any) -> None:
    """Queue `task` once the current transaction commits (at once outside one).

    robust: an eager task (tests, demo) that fails must not undo the caller's commit.
    """
    transaction.on_commit(lambda: task.delay(*args), robust=True)


@shared_task(ignore_result=True, **RETRY)
def order_push_task(push_id: int) -> None:
    order_push_execute(push_id=push_id)
    # The destination cancelled the order while it was being pushed: flag it on the source.
    if order_push_cancel_flag_due(push_id=push_id):
        task_enqueue_on_commit(order_push_flag_cancelled_task, push_id)


@shared_task(ignore_result=True, **RETRY)
def order_fulfillment_sync_task(fulfillment_id: int) -> None:
    order_fulfillment_sync(fulfillment_id=fulfillment_id)


@shared_task(ignore_result=True, **RETRY)
def order_push_flag_cancelled_task(push_id: int) -> None:
    order_push_flag_cancelled(push_id=push_id)


@shared_task(ignore_result=True)
def order_work_resume_task() -> None:
    """Beat: re-queue pushes and fulfilments left pending (broker down, retries exhausted)."""
    pushes, fulfillments = order_work_stalled()
    for push_id in pushes:
        order_push_task.delay(push_id)
    for fulfillment_id in fulfillments:
        order_fulfillment_sync_task.delay(fulfillment_id)
