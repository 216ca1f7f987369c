"""Thin, idempotent tasks: take ids, call one service. A re-run finds the work done (status,
claims, the source order's tag) and does nothing twice."""

from celery import shared_task

from syncer.shopify import ShopifyOutcomeUnknown, ShopifyRetryable

RETRY = {
    # ShopifyOutcomeUnknown too: the next attempt looks the order / fulfilment up first.
    "autoretry_for": (ShopifyRetryable, ShopifyOutcomeUnknown),
    "retry_backoff": 10,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(ignore_result=True, **RETRY)
def order_push_task(push_id: int) -> None:
    from orders.services import order_push_execute

    order_push_execute(push_id=push_id)


@shared_task(ignore_result=True, **RETRY)
def order_fulfillment_sync_task(fulfillment_id: int) -> None:
    from orders.fulfillments import order_fulfillment_sync

    order_fulfillment_sync(fulfillment_id=fulfillment_id)


@shared_task(ignore_result=True, **RETRY)
def order_push_flag_cancelled_task(push_id: int) -> None:
    from orders.services import order_push_flag_cancelled

    order_push_flag_cancelled(push_id=push_id)


@shared_task(ignore_result=True)
def order_work_resume_task() -> None:
    """Beat: re-queue pushes and fulfilments left pending (broker down, retries exhausted)."""
    from orders.selectors import order_work_stalled

    pushes, fulfillments = order_work_stalled()
    for push_id in pushes:
        order_push_task.delay(push_id)
    for fulfillment_id in fulfillments:
        order_fulfillment_sync_task.delay(fulfillment_id)
