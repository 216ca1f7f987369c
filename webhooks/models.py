from django.db import models


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
    raw_body = models.TextField()
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
        ]

    def __str__(self) -> str:
        return f"{self.topic} from {self.shop_domain} ({self.webhook_id})"
