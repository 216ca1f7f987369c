"""Thin Celery tasks over the webhook inbox.

Imports run one way: `webhooks.services` imports these tasks at the top to queue them; these
tasks import `webhooks.inbox` (which imports neither module) inside their bodies, and hand it
the task to queue where a step chains (a full batch queues the next, the sweeper lost rows).
"""

from celery import shared_task


@shared_task(ignore_result=True)
def webhook_delivery_process_task(delivery_id: int) -> None:
    from webhooks.inbox import webhook_delivery_process, webhook_delivery_unmark

    webhook_delivery_unmark(delivery_id)
    webhook_delivery_process(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def webhook_deliveries_sweep_task() -> None:
    from webhooks.inbox import webhook_deliveries_sweep

    webhook_deliveries_sweep(process_task=webhook_delivery_process_task)


@shared_task(ignore_result=True)
def webhook_deliveries_take_task(shop_domain: str, topic: str) -> None:
    from webhooks.inbox import webhook_deliveries_take, webhook_deliveries_unmark

    webhook_deliveries_unmark(shop_domain=shop_domain, topic=topic)
    webhook_deliveries_take(shop_domain=shop_domain, topic=topic,
                            take_task=webhook_deliveries_take_task)
