from celery import shared_task

from webhooks.services import (
    webhook_deliveries_sweep,
    webhook_deliveries_take,
    webhook_deliveries_unmark,
    webhook_delivery_process,
    webhook_delivery_unmark,
)


@shared_task(ignore_result=True)
def webhook_delivery_process_task(delivery_id: int) -> None:
    webhook_delivery_unmark(delivery_id)
    webhook_delivery_process(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def webhook_deliveries_sweep_task() -> None:
    webhook_deliveries_sweep()


@shared_task(ignore_result=True)
def webhook_deliveries_take_task(shop_domain: str, topic: str) -> None:
    webhook_deliveries_unmark(shop_domain=shop_domain, topic=topic)
    webhook_deliveries_take(shop_domain=shop_domain, topic=topic)
