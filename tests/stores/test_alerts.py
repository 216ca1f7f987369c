"""Email alerts: a digest per store and kind, at most one email per window, with the count.

Sends go through Django's mail framework (pytest-django's `mailoutbox`); the send task runs
inline. A burst is raised inside one capture of on-commit callbacks, so its task runs after
the burst, as the queued task (a minute later) does in production.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from stores.alert_email import alert_digest_send
from stores.alert_tasks import alert_digest_send_task
from stores.alerts import alert_raise, alert_raise_on_commit
from stores.models import AlertDigest, AlertKind, AlertSettings
from tests.stores.factories import DestinationFactory

pytestmark = pytest.mark.django_db

STOCK = AlertKind.STOCK_WRITE_FAILED


@pytest.fixture
def dest():
    return DestinationFactory(name="Demo Dest 1", domain="demo-dest-1.myshopify.com",
                              email="owner@demo-dest-1.example")


def burst(capture, shop, count: int, kind: str = STOCK) -> None:
    with capture(execute=True):
        for number in range(1, count + 1):
            alert_raise_on_commit(shop_ids=[shop.pk], kind=kind,
                                  detail=f"Variant {number} no longer exists.")


def digest_of(shop, kind: str = STOCK) -> AlertDigest:
    return AlertDigest.objects.get(shop=shop, kind=kind)


def test_a_burst_of_five_failures_is_one_email_with_the_count(
        dest, mailoutbox, django_capture_on_commit_callbacks, settings):
    settings.SHOPIFY_ADMIN_APP_URL = "https://admin.shopify.com/store/{store}/apps/syncer"
    burst(django_capture_on_commit_callbacks, dest, 5)
    (email,) = mailoutbox
    assert email.subject == ("Syncer: 5 stock updates failed in Demo Dest 1 in the last hour")
    assert email.to == ["owner@demo-dest-1.example"]
    assert email.from_email == settings.DEFAULT_FROM_EMAIL
    assert "This happened 5 times since" in email.body
    assert "Variant 5 no longer exists." in email.body  # the latest detail
    assert ("https://admin.shopify.com/store/demo-dest-1/apps/syncer/activity/"
            in email.body)
    assert ("https://admin.shopify.com/store/demo-dest-1/apps/syncer/settings/alerts"
            in email.body)
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert "This happened 5 times</strong>" in html
    assert 'href="https://admin.shopify.com/store/demo-dest-1/apps/syncer/activity/"' in html
    assert "shpat" not in email.body + html  # no token, ever
    digest = digest_of(dest)
    assert (digest.pending_count, digest.sent_count) == (0, 1)
    assert digest.last_sent_at is not None


def test_a_second_email_goes_only_after_the_window(
        dest, mailoutbox, django_capture_on_commit_callbacks, settings):
    burst(django_capture_on_commit_callbacks, dest, 2)
    assert len(mailoutbox) == 1
    # more failures within the hour: counted, not sent
    burst(django_capture_on_commit_callbacks, dest, 3)
    alert_digest_send_task.delay(digest_of(dest).pk)  # a hop that came early
    assert len(mailoutbox) == 1
    assert digest_of(dest).pending_count == 3
    # once the window is over, the waiting task sends them
    AlertDigest.objects.filter(shop=dest).update(
        last_sent_at=timezone.now() - timedelta(seconds=settings.SYNCER_ALERT_WINDOW_SECONDS + 1))
    alert_digest_send_task.delay(digest_of(dest).pk)
    assert len(mailoutbox) == 2
    assert mailoutbox[1].subject == (
        "Syncer: 3 stock updates failed in Demo Dest 1 in the last hour")
    assert "Variant 3 no longer exists." in mailoutbox[1].body
    assert digest_of(dest).sent_count == 2


def test_a_lone_failure_says_so(dest, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alert_raise(shop=dest, kind=AlertKind.PUSH_FAILED,
                    detail="Order #1001 to Demo Source: This order has no customer name.")
    (email,) = mailoutbox
    assert email.subject == "Syncer: an order push failed in Demo Dest 1"
    assert "Order #1001 to Demo Source: This order has no customer name." in email.body


def test_a_switched_off_kind_is_neither_counted_nor_sent(
        dest, mailoutbox, django_capture_on_commit_callbacks):
    AlertSettings.objects.create(shop=dest, disabled_kinds=[STOCK])
    burst(django_capture_on_commit_callbacks, dest, 5)
    assert mailoutbox == []
    assert not AlertDigest.objects.filter(shop=dest, kind=STOCK).exists()
    # other kinds still go
    burst(django_capture_on_commit_callbacks, dest, 1, kind=AlertKind.CONNECTION_ENDED)
    assert [email.subject for email in mailoutbox] == [
        "Syncer: a store connection ended in Demo Dest 1"]


def test_extra_addresses_receive_it_too(dest, mailoutbox, django_capture_on_commit_callbacks):
    AlertSettings.objects.create(shop=dest, extra_emails=["ops@example.com",
                                                          "OWNER@demo-dest-1.example"])
    burst(django_capture_on_commit_callbacks, dest, 1)
    (email,) = mailoutbox
    assert email.to == ["owner@demo-dest-1.example", "ops@example.com"]


def test_no_recipient_means_no_email_and_nothing_left_waiting(
        dest, mailoutbox, django_capture_on_commit_callbacks):
    dest.email = ""
    dest.save(update_fields=["email"])
    burst(django_capture_on_commit_callbacks, dest, 1)
    assert mailoutbox == []
    digest = digest_of(dest)
    assert (digest.pending_count, digest.sent_count, digest.last_sent_at) == (0, 0, None)


def test_the_send_task_is_idempotent(dest, mailoutbox, django_capture_on_commit_callbacks):
    burst(django_capture_on_commit_callbacks, dest, 4)
    digest_id = digest_of(dest).pk
    alert_digest_send_task.delay(digest_id)
    alert_digest_send_task.delay(digest_id)
    assert len(mailoutbox) == 1
    assert "4 stock updates failed" in mailoutbox[0].subject
    assert digest_of(dest).sent_count == 1


def test_a_failed_send_leaves_the_digest_waiting(dest, mailoutbox, settings):
    # a mail server that cannot be reached (nothing listens on port 1)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    digest = AlertDigest.objects.create(shop=dest, kind=STOCK, pending_count=2,
                                        pending_detail="Location not found.",
                                        pending_since=timezone.now())
    with pytest.raises(OSError):
        alert_digest_send(digest_id=digest.pk)
    digest.refresh_from_db()
    assert (digest.pending_count, digest.last_sent_at, digest.sent_count) == (2, None, 0)
    # the server is back: the retry sends it
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    alert_digest_send(digest_id=digest.pk)
    assert len(mail.outbox) == 1
    assert "2 stock updates failed" in mail.outbox[0].subject

