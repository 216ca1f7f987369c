import hashlib

from django.db import models
from django.db.models import Q


def webhook_body_sha256(raw_body: str) -> str:
    """What the inbox compares to recognise the same event again: kept after the body is
    dropped (webhooks.retention) or scrubbed (customers/redact)."""
    return hashlib.sha256(raw_body.encode()).hexdigest()


class WebhookDelivery(models.Model):
    """The inbox: one row per Shopify delivery, written before we answer 200."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        DUPLICATE = "duplicate", "Duplicate event"
        FAILED = "failed", "Failed"

    shop_domain = models.CharField(max_length=255)
    topic = models.CharField(max_length=100)
    webhook_id = models.CharField(max_length=255)
    event_id = models.CharField(max_length=255, blank=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    api_version = models.CharField(max_length=20, blank=True)
    # Emptied once the delivery is done with (webhooks.retention); the hash stays.
    raw_body = models.TextField()
    # sha256 of the body as received ("" on rows received before it was kept).
    body_sha256 = models.CharField(max_length=64, blank=True, default="", db_default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField()
    # When a RECEIVED/FAILED row is next due, or until when a PROCESSING claim holds.
    due_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    # When it last failed: /healthz counts recent failures, not every one ever kept.
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["shop_domain", "topic", "webhook_id"], name="webhook_delivery_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="webhook_delivery_due"),
            models.Index(
                fields=["shop_domain", "topic", "event_id"], name="webhook_delivery_event"
            ),
            # What a batch handler takes together: one shop's waiting deliveries of a topic.
            models.Index(
                fields=["shop_domain", "topic", "id"], name="webhook_delivery_waiting",
                condition=models.Q(status="received"),
            ),
            # What the retention task walks: only rows that still hold a body.
            models.Index(fields=["processed_at"], name="webhook_delivery_body_kept",
                         condition=~Q(raw_body="")),
        ]

    def __str__(self) -> str:
        return f"{self.topic} from {self.shop_domain} ({self.webhook_id})"
