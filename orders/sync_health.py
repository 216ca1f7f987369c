"""A destination's failed and stuck work, kind by kind, for the dashboard's Sync health card, and
Try again, which re-queues one kind through that kind's own service. Only the asking shop's
work is read or touched."""

from dataclasses import dataclass

from django.db import models

from orders.selectors import order_pushes_trouble
from orders.services import order_pushes_retry
from products.inventory.health import (
    destination_resync_trouble,
    destination_resyncs_retry,
    destination_stock_retry,
    destination_stock_trouble,
)
from stores.models import Shop
from syncer.health import Trouble
from webhooks.selectors import webhook_deliveries_trouble
from webhooks.services import webhook_deliveries_retry


class WorkKind(models.TextChoices):
    WEBHOOKS = "webhooks", "Webhook deliveries"
    STOCK = "stock", "Stock updates"
    RESYNCS = "resyncs", "Resyncs"
    PUSHES = "pushes", "Order pushes"


@dataclass(frozen=True)
class WorkHealth:
    kind: WorkKind
    trouble: Trouble

    @property
    def label(self) -> str:
        return self.kind.label

    @property
    def retryable(self) -> bool:
        return bool(self.trouble.failed.count or self.trouble.stuck.count)


def destination_work_health(*, destination: Shop) -> list[WorkHealth]:
    return [
        WorkHealth(WorkKind.WEBHOOKS, webhook_deliveries_trouble(shop_domain=destination.domain)),
        WorkHealth(WorkKind.STOCK, destination_stock_trouble(destination=destination)),
        WorkHealth(WorkKind.RESYNCS, destination_resync_trouble(destination=destination)),
        WorkHealth(WorkKind.PUSHES, order_pushes_trouble(shop=destination)),
    ]


def destination_work_retry(*, destination: Shop, kind: str) -> int:
    """Re-queues the destination's failed and stuck work of one kind, once committed. Returns
    how many pieces of work were queued again."""
    if kind == WorkKind.WEBHOOKS:
        return webhook_deliveries_retry(shop_domain=destination.domain)
    if kind == WorkKind.STOCK:
        return destination_stock_retry(destination=destination)
    if kind == WorkKind.RESYNCS:
        return destination_resyncs_retry(destination=destination)
    if kind == WorkKind.PUSHES:
        return order_pushes_retry(shop=destination)
    raise ValueError(f"Unknown kind of work: {kind}")
