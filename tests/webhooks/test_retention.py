"""The inbox's retention: bodies of deliveries done with are dropped after
WEBHOOK_BODY_RETENTION_DAYS, failed deliveries are kept whole for WEBHOOK_FAILED_RETENTION_DAYS,
and a redelivered event is still recognised once its body is gone (issue 17, item 11)."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from webhooks.models import WebhookDelivery, webhook_body_sha256
from webhooks.retention import webhook_deliveries_retention_apply
from webhooks.tasks import webhook_deliveries_retention_task

pytestmark = pytest.mark.django_db(transaction=True)

TOPIC = "syncer_test/retained"


def bodies() -> dict[str, tuple[str, str]]:
    """webhook id → (status, body)."""
    return {webhook_id: (status, body) for webhook_id, status, body in
            WebhookDelivery.objects.values_list("webhook_id", "status", "raw_body")}


def days_later(days: float):
    return timezone.now() + timedelta(days=days)


def test_bodies_of_deliveries_done_with_are_dropped_after_the_period(post_webhook, handled,
                                                                      flaky_handler):
    flaky_topic, _ = flaky_handler
    # given a processed, an ignored (no handler) and a failed delivery
    post_webhook(TOPIC, {"id": 1, "email": "ada@example.com"}, webhook_id="processed")
    post_webhook("syncer_test/nobody", {"id": 2}, webhook_id="ignored")
    post_webhook(flaky_topic, {"id": 3}, webhook_id="failed")
    assert {key: status for key, (status, _) in bodies().items()} == {
        "processed": "processed", "ignored": "ignored", "failed": "failed"}
    # when retention runs before the period is over
    assert django_settings.WEBHOOK_BODY_RETENTION_DAYS == 7
    result = webhook_deliveries_retention_apply(now=days_later(6.9))
    # then every body is kept
    assert (result.bodies_dropped, result.failed_deleted) == (0, 0)
    assert bodies() == {"processed": ("processed", '{"id": 1, "email": "ada@example.com"}'),
                        "ignored": ("ignored", '{"id": 2}'), "failed": ("failed", '{"id": 3}')}
    # when it runs after the period
    result = webhook_deliveries_retention_apply(now=days_later(7.1))
    # then the processed and ignored bodies are gone (the rows and their hashes stay), and the
    # failed delivery is kept whole
    assert (result.bodies_dropped, result.failed_deleted) == (2, 0)
    assert bodies() == {"processed": ("processed", ""), "ignored": ("ignored", ""),
                        "failed": ("failed", '{"id": 3}')}
    assert WebhookDelivery.objects.get(webhook_id="processed").body_sha256 == (
        webhook_body_sha256('{"id": 1, "email": "ada@example.com"}'))


def test_failed_deliveries_are_kept_longer_then_deleted(post_webhook, flaky_handler):
    flaky_topic, _ = flaky_handler
    post_webhook(flaky_topic, {"id": 3}, webhook_id="failed")
    assert django_settings.WEBHOOK_FAILED_RETENTION_DAYS == 30
    # when retention runs within the failed period
    webhook_deliveries_retention_apply(now=days_later(29.9))
    # then the failed delivery is kept whole, for inspection and Try again
    assert bodies() == {"failed": ("failed", '{"id": 3}')}
    # when it runs after it
    result = webhook_deliveries_retention_apply(now=days_later(30.1))
    # then the failed delivery is gone
    assert (result.bodies_dropped, result.failed_deleted) == (0, 1)
    assert bodies() == {}


def test_a_redelivered_event_is_a_duplicate_after_its_body_was_dropped(post_webhook, handled):
    # given an event processed, and its body dropped by retention
    post_webhook(TOPIC, {"id": 1, "available": 5}, webhook_id="first", event_id="event-1")
    webhook_deliveries_retention_apply(now=days_later(8))
    assert bodies()["first"] == ("processed", "")
    # when Shopify delivers the same event again (another webhook id), and then another
    # delivery under the same event id with another body (a bulk edit shares its event id)
    post_webhook(TOPIC, {"id": 1, "available": 5}, webhook_id="again", event_id="event-1")
    post_webhook(TOPIC, {"id": 2, "available": 7}, webhook_id="other", event_id="event-1")
    # then the same event is recognised and not handled twice; the other one is handled
    assert {key: status for key, (status, _) in bodies().items()} == {
        "first": "processed", "again": "duplicate", "other": "processed"}
    assert handled == [{"id": 1, "available": 5}, {"id": 2, "available": 7}]


def test_the_beat_task_works_through_every_batch(post_webhook, handled, settings):
    # given five processed deliveries, and a retention of no days in batches of two
    for number in range(5):
        post_webhook(TOPIC, {"id": number}, webhook_id=f"w-{number}")
    settings.WEBHOOK_BODY_RETENTION_DAYS = 0
    settings.WEBHOOK_RETENTION_BATCH = 2
    # when beat runs the task once
    webhook_deliveries_retention_task.delay()
    # then each full batch queued the next, until none was left
    assert bodies() == {f"w-{number}": ("processed", "") for number in range(5)}
    # and beat runs it
    assert settings.CELERY_BEAT_SCHEDULE["webhook-inbox-retention"]["task"] == (
        "webhooks.tasks.webhook_deliveries_retention_task")
