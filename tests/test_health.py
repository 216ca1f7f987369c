import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import override_settings

from syncer.health import WORKER_HEARTBEAT_PREFIX
from syncer.redis import redis_client

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def celery_worker_process(redis_db):
    """A real Celery worker process on the test broker; yields once its heartbeat is in Redis."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="syncer.settings.test",
               CELERY_TASK_ALWAYS_EAGER="false")
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
