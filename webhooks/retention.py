"""How long the inbox keeps what Shopify sent us.

A delivery done with (processed, ignored, duplicate) keeps its body for
WEBHOOK_BODY_RETENTION_DAYS after it was done (for support and Try again on what followed it),
then the body is emptied; the row stays, with its hash (`body_sha256`), so a late redelivery
of the same event is still recognised. A failed delivery is kept whole for
WEBHOOK_FAILED_RETENTION_DAYS after it last failed (to inspect it and try it again), then the
row is deleted: with its body gone it could never be processed.

Work goes in batches of at most WEBHOOK_RETENTION_BATCH rows, each its own short transaction
that skips rows a worker holds, so the inbox is never locked for long; the task chains the
next batch (webhooks.tasks.webhook_deliveries_retention_task, run by beat).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from webhooks.models import WebhookDelivery

Status = WebhookDelivery.Status
DONE_WITH = (Status.PROCESSED, Status.IGNORED, Status.DUPLICATE)


@dataclass(frozen=True)
class RetentionBatch:
    bodies_dropped: int
    failed_deleted: int
    batch_size: int

    @property
    def more_waiting(self) -> bool:
        """A full batch may have left more behind."""
        return max(self.bodies_dropped, self.failed_deleted) >= self.batch_size


def _body_expired(*, now: datetime) -> Q:
    cutoff = now - timedelta(days=settings.WEBHOOK_BODY_RETENTION_DAYS)
    return Q(status__in=DONE_WITH, processed_at__lt=cutoff) & ~Q(raw_body="")


def _failed_expired(*, now: datetime) -> Q:
    cutoff = now - timedelta(days=settings.WEBHOOK_FAILED_RETENTION_DAYS)
    return Q(status=Status.FAILED) & (Q(failed_at__lt=cutoff)
                                      | Q(failed_at__isnull=True, received_at__lt=cutoff))


def _locked_ids(expired: Q, *, batch_size: int) -> list[int]:
    return list(WebhookDelivery.objects.filter(expired).select_for_update(skip_locked=True)
                .order_by("pk").values_list("pk", flat=True)[:batch_size])


def webhook_deliveries_retention_apply(*, now: datetime | None = None,
                                       batch_size: int | None = None) -> RetentionBatch:
    """One batch: empties the bodies of deliveries done with for longer than the body
    retention, and deletes failed ones past the failed retention."""
    now = now or timezone.now()
    batch_size = batch_size or settings.WEBHOOK_RETENTION_BATCH
    with transaction.atomic():
        expired = _body_expired(now=now)
        ids = _locked_ids(expired, batch_size=batch_size)
        dropped = WebhookDelivery.objects.filter(expired, pk__in=ids).update(raw_body="")
    with transaction.atomic():
        expired = _failed_expired(now=now)
        ids = _locked_ids(expired, batch_size=batch_size)
        deleted, _ = WebhookDelivery.objects.filter(expired, pk__in=ids).delete()
    return RetentionBatch(bodies_dropped=dropped, failed_deleted=deleted, batch_size=batch_size)
