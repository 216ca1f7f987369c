"""The webhook door in front of Django (syncer/wsgi.py, webhooks.ingest; issue 22): the same
answers as the view for good and bad deliveries, the row committed before the 200, and one task
queued for a burst of one shop's topic, whatever the topic."""

import json
import uuid

import psycopg2
import pytest
from django.db import connection

from tests.webhooks.conftest import sign, webhook_headers
from tests.webhooks.gunicorn_wsgi import gunicorn_call, http_request
from webhooks.broker_marks import webhook_deliveries_published_wait
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_deliveries_sweep
from webhooks.tasks import webhook_deliveries_take_task

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = "demo-source.myshopify.com"
TOPIC = "syncer_test/door"
BODY = json.dumps({"id": 7, "title": "Linen shirt"}).encode()


def good_headers(body: bytes = BODY, /, **overrides: str) -> dict[str, str]:
    return webhook_headers(topic=TOPIC, shop=SHOP, body=body,
                           webhook_id=str(uuid.uuid4())) | overrides


# Each case: the headers and body of one request (a fresh webhook id each time it is built).
CASES = {
    "accepted": lambda: (good_headers(), BODY, None),
    "accepted chunked": lambda: (good_headers(), BODY, [4, 4]),
    "bad hmac": lambda: (good_headers(**{"X-Shopify-Hmac-Sha256": sign(b"other")}), BODY, None),
    "no hmac": lambda: ({k: v for k, v in good_headers().items()
                         if k != "X-Shopify-Hmac-Sha256"}, BODY, None),
    "hmac of another secret": lambda: (
        good_headers(**{"X-Shopify-Hmac-Sha256": sign(BODY, "not-our-secret")}), BODY, None),
    "empty body": lambda: (good_headers(b""), b"", None),
    "bad topic": lambda: (good_headers(**{"X-Shopify-Topic": "Orders/Paid!"}), BODY, None),
    "bad shop": lambda: (good_headers(**{"X-Shopify-Shop-Domain": "evil.example"}), BODY, None),
    "no webhook id": lambda: (good_headers(**{"X-Shopify-Webhook-Id": ""}), BODY, None),
    "long event id": lambda: (good_headers(**{"X-Shopify-Event-Id": "e" * 256}), BODY, None),
    "odd api version": lambda: (good_headers(**{"X-Shopify-API-Version": "v 2026"}), BODY, None),
    "not utf-8": lambda: (good_headers(b'{"a": "\xff"}'), b'{"a": "\xff"}', None),
    "nul": lambda: (good_headers(b'{"a": "\x00"}'), b'{"a": "\x00"}', None),
    "over the limit": lambda: (good_headers(b"1" * 2000), b"1" * 2000, None),
    "over the limit chunked": lambda: (good_headers(b"1" * 2000), b"1" * 2000, [700, 700]),
}


@pytest.mark.parametrize("case", CASES)
def test_the_door_answers_as_the_view_does(settings, handled, case):
    # given a body limit small enough for the oversized cases
    settings.WEBHOOK_MAX_BODY_BYTES = 1024
    # when the same request goes through Django's view and through the door in front of it
    answers = {}
    for door in ("view", "door"):
        headers, body, chunks = CASES[case]()
        answers[door] = gunicorn_call(http_request(headers=headers, body=body, chunks=chunks),
                                      django_only=door == "view")
    # then status, body and headers are the same
    view, door = answers["view"], answers["door"]
    assert (door.status_code, json.loads(door.body)) == (view.status_code,
                                                         json.loads(view.body))
    assert sorted(door.headers) == sorted(view.headers)
    assert view.status_code < 500
    accepted = view.status_code == 200
    assert WebhookDelivery.objects.count() == (2 if accepted else 0)
    assert len(handled) == (2 if accepted else 0)


def test_bad_hmac_is_refused_with_401_and_nothing_stored(handled):
    # when a delivery is signed with another key
    headers = good_headers(**{"X-Shopify-Hmac-Sha256": sign(BODY, "not-our-secret")})
    answer = gunicorn_call(http_request(headers=headers, body=BODY))
    # then
    assert (answer.status_code, json.loads(answer.body)) == (
        401, {"error": "HMAC verification failed"})
    assert WebhookDelivery.objects.count() == 0
    assert handled == []


def test_repeated_delivery_is_answered_200_duplicate_and_stored_once(handled):
    headers = good_headers()
    first = gunicorn_call(http_request(headers=headers, body=BODY))
    again = gunicorn_call(http_request(headers=headers, body=BODY))
    assert json.loads(first.body) == {"status": "accepted"}
    assert (again.status_code, json.loads(again.body)) == (200, {"status": "duplicate"})
    assert WebhookDelivery.objects.count() == 1
    assert handled == [{"id": 7, "title": "Linen shirt"}]


def test_the_row_is_committed_before_the_200_is_sent(handled):
    # given another session on the database, outside this process's connection
    params = connection.get_connection_params()
    seen_when_answered: list[tuple[str, int]] = []
    headers = good_headers()

    def committed_rows(status: str) -> None:
        with psycopg2.connect(**params) as other, other.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM webhooks_webhookdelivery WHERE webhook_id = %s",
                           [headers["X-Shopify-Webhook-Id"]])
            seen_when_answered.append((status, cursor.fetchone()[0]))

    # when a delivery is accepted
    answer = gunicorn_call(http_request(headers=headers, body=BODY),
                           on_start_response=committed_rows)
    # then the other session already saw its row when the status line was decided
    assert answer.status_code == 200
    assert seen_when_answered == [("200 OK", 1)]


@pytest.fixture
def broker_real(redis_db):
    """Tasks go to the real Redis broker instead of running inline."""
    app = webhook_deliveries_take_task.app
    app.conf.task_always_eager = False
    yield redis_db
    app.conf.task_always_eager = True


def test_a_burst_of_a_one_at_a_time_topic_queues_one_task(handled, broker_real):
    # when twenty deliveries of one shop's topic arrive through the door, no task running
    for n in range(20):
        body = json.dumps({"id": n}).encode()
        answer = gunicorn_call(http_request(headers=good_headers(body), body=body))
        assert answer.status_code == 200
    # then, once the door's publishing thread is done, one task waits in the broker for all
    # of them, marked, so the sweeper leaves them
    assert webhook_deliveries_published_wait()
    assert broker_real.llen("webhooks") == 1
    assert broker_real.exists(f"syncer:webhook-batch-queued:{SHOP}:{TOPIC}") == 1
    assert webhook_deliveries_sweep() == 0
    # and when it runs, every delivery is handled, in order, each by the topic's handler
    webhook_deliveries_take_task.run(SHOP, TOPIC)
    assert handled == [{"id": n} for n in range(20)]
    assert list(WebhookDelivery.objects.values_list("status", flat=True).distinct()) == [
        "processed"]


def test_a_lost_burst_task_is_queued_again_by_the_sweeper(settings, handled, broker_real):
    # given a burst whose task was lost with the broker (its queue and marker flushed)
    settings.WEBHOOK_RECEIVED_GRACE_SECONDS = 0
    for n in range(3):
        body = json.dumps({"id": n}).encode()
        assert gunicorn_call(http_request(headers=good_headers(body), body=body)
                             ).status_code == 200
    assert webhook_deliveries_published_wait()
    broker_real.flushdb()
    # when the sweeper runs, it queues one task for the shop's topic
    assert webhook_deliveries_sweep() == 1
    assert broker_real.llen("webhooks") == 1
    # and that task handles them all
    webhook_deliveries_take_task.run(SHOP, TOPIC)
    assert handled == [{"id": n} for n in range(3)]


def test_a_topic_nobody_handles_is_recorded_as_ignored():
    # when a delivery of a topic no app handles arrives (Celery eager: its task runs inline)
    headers = webhook_headers(topic="syncer_test/unhandled", shop=SHOP, body=BODY)
    answer = gunicorn_call(http_request(headers=headers, body=BODY))
    # then it is accepted and recorded as ignored, saying why
    assert answer.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == (
        "ignored", "No handler for topic syncer_test/unhandled")
