import json
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from syncer.celery import app as celery_app
from syncer.health import TASK_FAILURES_KEY, WORKER_HEARTBEAT_PREFIX
from syncer.redis import redis_client
from tests.webhooks.conftest import broker_down, flaky_handler, post_webhook
from webhooks.models import WebhookDelivery

__all__ = ["broker_down", "flaky_handler", "post_webhook"]  # fixtures, imported for pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def celery_worker_process(redis_db):
    """A real Celery worker process on the test broker; yields once its heartbeat is in Redis."""
    database = connection.settings_dict  # the test database, when the test has one
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="syncer.settings.test",
               CELERY_TASK_ALWAYS_EAGER="false",
               DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:"
                            f"{database['PORT']}/{database['NAME']}")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "syncer", "worker", "--pool", "solo",
         "--hostname", "healthtest@%h", "--loglevel", "WARNING", "-Q", "default"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(
        redis_db.scan_iter(match=f"{WORKER_HEARTBEAT_PREFIX}*")
    ):
        if process.poll() is not None:
            pytest.fail(f"worker exited: {process.stdout.read().decode()}")
        time.sleep(0.2)
    yield process
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.django_db
def test_healthz_is_503_when_no_worker_is_alive(client, redis_db):
    # given a reachable database and broker but no worker heartbeat
    # when
    response = client.get("/healthz")
    # then
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"]["status"] == "ok"
    assert body["broker"]["status"] == "ok"
    assert body["worker"] == {
        "status": "missing", "detail": "no worker heartbeat in the last 30 s", "workers": [],
    }


@pytest.mark.django_db
def test_healthz_is_200_with_a_live_worker_and_503_after_it_stops(
    client, redis_db, celery_worker_process
):
    # given a real worker process whose heartbeat is in Redis
    # when
    response = client.get("/healthz")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["worker"]["status"] == "ok"
    assert len(body["worker"]["workers"]) == 1
    assert body["worker"]["workers"][0].startswith("healthtest@")

    # when the worker shuts down cleanly
    celery_worker_process.terminate()
    celery_worker_process.wait(timeout=20)
    # then its heartbeat is withdrawn and the app is no longer ready
    assert client.get("/healthz").status_code == 503


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_unreachable(client):
    # given Redis at an address where nothing listens
    redis_client.cache_clear()
    try:
        with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
            # when
            response = client.get("/healthz")
    finally:
        redis_client.cache_clear()
    # then
    assert response.status_code == 503
    body = response.json()
    assert body["broker"]["status"] == "error"
    assert body["worker"]["status"] == "error"
    assert body["database"]["status"] == "ok"


def test_healthz_rejects_other_methods(client):
    assert client.post("/healthz").status_code == 405


def test_metrics_is_prometheus_text(client):
    # when
    response = client.get("/metrics")
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert 'syncer_build_info{version="0.1.0"} 1.0' in response.content.decode()


def test_worker_heartbeat_is_written_by_the_worker_step(redis_db):
    # given the step the worker runs on its timer
    from syncer.health import worker_heartbeat_clear, worker_heartbeat_write

    # when
    worker_heartbeat_write(hostname="w1@host")
    # then
    assert redis_db.ttl(f"{WORKER_HEARTBEAT_PREFIX}w1@host") == 30
    worker_heartbeat_clear(hostname="w1@host")
    assert redis_db.exists(f"{WORKER_HEARTBEAT_PREFIX}w1@host") == 0


def test_health_json_is_plain_json(client, db, redis_db):
    response = client.get("/healthz")
    assert json.loads(response.content) == response.json()


# --- failing and stuck work -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_healthz_is_503_with_the_reason_when_webhook_deliveries_fail(
        client, redis_db, celery_worker_process, post_webhook, flaky_handler):
    # given a live worker and a delivery whose handler fails
    topic, _ = flaky_handler
    post_webhook(topic, {"id": 1})
    # when
    response = client.get("/healthz")
    # then
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["reasons"] == [
        "Webhook deliveries failed in the last 15 minutes: 1 (oldest just now)"]
    assert body["webhooks"]["status"] == "failing"
    assert body["webhooks"]["detail"] == "latest error: RuntimeError: the handler has a bug"
    assert [(problem["code"], problem["count"]) for problem in body["webhooks"]["problems"]] == [
        ("webhooks_failed", 1)]
    assert (body["worker"]["status"], body["tasks"]["status"]) == ("ok", "ok")


@pytest.mark.django_db(transaction=True)
def test_healthz_is_503_when_a_delivery_is_stuck(client, redis_db, celery_worker_process,
                                                post_webhook, flaky_handler, broker_down):
    # given a delivery received while the broker was down, six minutes ago, never processed
    topic, state = flaky_handler
    state["broken"] = False
    post_webhook(topic, {"id": 2})
    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(minutes=6))
    # when
    response = client.get("/healthz")
    # then
    assert response.status_code == 503
    body = response.json()
    assert body["reasons"] == [
        "Webhook deliveries waiting longer than 5 minutes: 1 (oldest 6 minutes ago)"]
    assert [(problem["code"], problem["count"], problem["oldest_age_seconds"] // 60)
            for problem in body["webhooks"]["problems"]] == [("webhooks_stuck", 1, 6)]
    assert state["handled"] == []


@pytest.mark.django_db(transaction=True)
def test_healthz_is_200_when_failures_are_old_and_waiting_is_short(
        client, redis_db, celery_worker_process, post_webhook, flaky_handler):
    # given a delivery that failed an hour ago (kept for inspection), one processed, and one
    # received a minute ago that no worker took yet
    topic, state = flaky_handler
    post_webhook(topic, {"id": 3})
    WebhookDelivery.objects.update(failed_at=timezone.now() - timedelta(hours=1))
    state["broken"] = False
    post_webhook(topic, {"id": 4})
    WebhookDelivery.objects.create(
        shop_domain="demo-source.myshopify.com", topic=topic, webhook_id="w-waiting",
        raw_body='{"id": 5}', received_at=timezone.now() - timedelta(minutes=1),
        due_at=timezone.now())
    assert sorted(WebhookDelivery.objects.values_list("status", flat=True)) == [
        "failed", "processed", "received"]
    # when
    response = client.get("/healthz")
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reasons"]) == ("ok", [])
    assert body["webhooks"] == {"status": "ok", "detail": "no failed or stuck deliveries",
                                "problems": []}
    assert body["tasks"] == {"status": "ok", "detail": "no task failed in the last 15 minutes",
                             "problems": []}


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_healthz_is_503_when_a_task_failed(client, redis_db, celery_worker_process):
    # given the worker ran a flush for a shop that no longer exists: it failed for good
    celery_app.send_task("products.inventory.tasks.inventory_flush_destination_task",
                         args=[987_654], queue="default")
    deadline = time.monotonic() + 30
    while not redis_db.zcard(TASK_FAILURES_KEY) and time.monotonic() < deadline:
        time.sleep(0.1)
    # when
    response = client.get("/healthz")
    # then
    assert response.status_code == 503
    body = response.json()
    assert (body["tasks"]["status"], body["tasks"]["detail"]) == (
        "failing", "latest: products.inventory.tasks.inventory_flush_destination_task: "
                   "stores.models.Shop.DoesNotExist: Shop matching query does not exist.")
    assert [(problem["code"], problem["count"]) for problem in body["tasks"]["problems"]] == [
        ("tasks_failed", 1)]
    assert body["reasons"] == [
        "Background tasks failed in the last 15 minutes: 1 (oldest just now)"]


@pytest.mark.django_db
def test_a_missing_redis_url_is_an_error(client):
    redis_client.cache_clear()
    try:
        with override_settings(REDIS_URL=""):
            response = client.get("/healthz")
    finally:
        redis_client.cache_clear()
    assert response.status_code == 503
    body = response.json()
    assert body["broker"] == {"status": "error",
                              "detail": "REDIS_URL is not set: no task can be queued"}
    assert body["worker"]["status"] == "error"
    assert "Task broker: REDIS_URL is not set: no task can be queued" in body["reasons"]


@pytest.mark.django_db
def test_status_page_lists_the_problems_in_plain_words(client, redis_db):
    # given a delivery that failed five minutes ago
    WebhookDelivery.objects.create(
        shop_domain="demo-source.myshopify.com", topic="orders/paid", webhook_id="w-1",
        raw_body="{}", status="failed", last_error="KeyError: 'line_items'",
        received_at=timezone.now() - timedelta(minutes=5), due_at=timezone.now(),
        failed_at=timezone.now() - timedelta(minutes=5))
    # when
    html = client.get("/status", headers={"HX-Request": "true"}).content.decode()
    # then
    reasons = re.search(r'<ul class="history" id="status-reasons">(.*?)</ul>', html, re.S)
    assert [" ".join(item.split()) for item in re.findall(r"<li>(.*?)</li>", reasons.group(1))] == [
        "Workers: no worker heartbeat in the last 30 s",
        "Webhook deliveries failed in the last 15 minutes: 1 (oldest 5 minutes ago)",
    ]
    assert "latest error: KeyError: &#x27;line_items&#x27;" in html
