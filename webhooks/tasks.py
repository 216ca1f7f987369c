"""Thin Celery tasks over the webhook inbox.

Imports run one way: `webhooks.services` imports these tasks to queue them; these tasks import
`webhooks.inbox` and `webhooks.broker_marks` (which import neither module) and hand the inbox
the task to queue where a step chains (a full batch queues the next, the sweeper lost rows).
The inbox's functions are looked up on the module at each call, so bench/inventory_worker.py
can time them.
"""

from celery import shared_task

from webhooks import broker_marks, inbox, retention


@shared_task(ignore_result=True)
def webhook_delivery_process_task(delivery_id: int) -> None:
    broker_marks.webhook_delivery_unmark(delivery_id)
    inbox.webhook_delivery_process(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def webhook_deliveries_sweep_task() -> None:
    inbox.webhook_deliveries_sweep(process_task=webhook_delivery_process_task,
                                   take_task=webhook_deliveries_take_task)


@shared_task(ignore_result=True)
def webhook_deliveries_take_task(shop_domain: str, topic: str) -> None:
    broker_marks.webhook_deliveries_unmark(shop_domain=shop_domain, topic=topic)
    inbox.webhook_deliveries_take(shop_domain=shop_domain, topic=topic,
                                  take_task=webhook_deliveries_take_task)


@shared_task(ignore_result=True)
def webhook_deliveries_retention_task() -> None:
    """Beat: one batch of the inbox's retention (webhooks.retention); a full batch queues the
    next, so no run holds the inbox for long."""
    if retention.webhook_deliveries_retention_apply().more_waiting:
        webhook_deliveries_retention_task.delay()
