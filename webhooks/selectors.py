"""Reads over the inbox: deliveries that failed and deliveries stuck waiting, for /healthz, the
System status page and a shop's Sync health card."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from syncer.health import (
    Check,
    Problem,
    Trouble,
    duration_words,
    health_failure_window,
    problems_check,
    trouble_read,
    work_stuck_after,
)
from webhooks.models import WebhookDelivery

Status = WebhookDelivery.Status


def delivery_triggered_at(*, delivery_id: int) -> datetime | None:
    """When Shopify triggered the event (X-Shopify-Triggered-At, nanosecond resolution):
    orders deliveries that arrive out of order, where a payload's updated_at cannot."""
    return (WebhookDelivery.objects.filter(pk=delivery_id)
            .values_list("triggered_at", flat=True).first())


def deliveries_failed(*, since: datetime | None = None) -> Q:
    failed = Q(status=Status.FAILED)
    return failed & Q(failed_at__gte=since) if since is not None else failed


def deliveries_stuck(*, now: datetime) -> Q:
    """Waiting for a worker, or claimed by one, for longer than work_stuck_after(): the task
    was lost (broker restart, worker killed) or the workers are far behind."""
    stuck_before = now - work_stuck_after()
    # A claim's due_at is when it expires, WEBHOOK_CLAIM_SECONDS after it was taken.
    claimed_before = stuck_before + timedelta(seconds=settings.WEBHOOK_CLAIM_SECONDS)
    return (Q(status=Status.RECEIVED, received_at__lte=stuck_before)
            | Q(status=Status.PROCESSING, due_at__lte=claimed_before))


def webhook_deliveries_trouble(*, shop_domain: str | None = None,
                               failed_since: datetime | None = None) -> Trouble:
    """Failed deliveries (only those that failed since `failed_since`, when given) and stuck
    ones, of one shop or of all; `oldest` is when the oldest of them arrived."""
    failed = deliveries_failed(since=failed_since)
    stuck = deliveries_stuck(now=timezone.now())
    rows = WebhookDelivery.objects.filter(failed | stuck)
    if shop_domain is not None:
        rows = rows.filter(shop_domain=shop_domain)
    return trouble_read(rows, failed=failed, failed_oldest="received_at", stuck=stuck,
                        stuck_oldest="received_at", latest_first="failed_at",
                        error_field="last_error")


def webhook_inbox_check() -> Check:
    """For /healthz (registered in WebhooksConfig.ready)."""
    window = health_failure_window()
    trouble = webhook_deliveries_trouble(failed_since=timezone.now() - window)
    problems = []
    if trouble.failed.count:
        problems.append(Problem(
            "webhooks_failed", f"Webhook deliveries failed in the last {duration_words(window)}",
            trouble.failed))
    if trouble.stuck.count:
        problems.append(Problem(
            "webhooks_stuck",
            f"Webhook deliveries waiting longer than {duration_words(work_stuck_after())}",
            trouble.stuck))
    return problems_check(problems, ok_detail="no failed or stuck deliveries",
                          detail=f"latest error: {trouble.latest_error}"
                          if trouble.latest_error else "")


# Whether the shop has deliveries of some topics, received since a time, still to be processed:
# waiting for a worker (its task lost or not), claimed by one, or failed with a retry to come (a
# delivery failed for good is due in years). An SQL condition, so a caller can ask it in the same
# statement as its own question; its parameters from deliveries_unprocessed_params.
DELIVERIES_UNPROCESSED_EXIST = f"""EXISTS (
    SELECT 1 FROM {WebhookDelivery._meta.db_table}
    WHERE shop_domain = %(unprocessed_shop)s AND topic = ANY(%(unprocessed_topics)s)
      AND received_at >= %(unprocessed_since)s
      AND (status = ANY(%(unprocessed_waiting)s)
           OR (status = %(unprocessed_failed)s AND due_at <= %(unprocessed_retry_by)s)))"""


def deliveries_unprocessed_params(*, shop_domain: str, topics: tuple[str, ...],
                                  since: datetime) -> dict[str, Any]:
    return {"unprocessed_shop": shop_domain, "unprocessed_topics": list(topics),
            "unprocessed_since": since,
            "unprocessed_waiting": [Status.RECEIVED, Status.PROCESSING],
            "unprocessed_failed": Status.FAILED,
            "unprocessed_retry_by": timezone.now() + timedelta(days=1)}
