import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from syncer.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent

PRINT_SETTINGS = (
    "import json, django; from django.conf import settings as s; django.setup(); "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], "
    "'eager': getattr(s, 'CELERY_TASK_ALWAYS_EAGER', False), 'broker': s.CELERY_BROKER_URL, "
    "'version': s.SHOPIFY_API_VERSION, 'app_url': s.APP_URL, 'emulator_port': s.EMULATOR_PORT}))"
)


def run_with_env(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "syncer.settings.base",
            "TOKEN_ENCRYPTION_KEYS": "k"}
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], cwd=ROOT, env={**base, **env},
        capture_output=True, text=True, timeout=60,
    )


def test_missing_secret_key_is_refused():
    # when settings load without SECRET_KEY
    result = run_with_env({"SHOPIFY_API_KEY": "k", "SHOPIFY_API_SECRET": "s"})
    # then
    assert result.returncode == 1
    assert "Set the SECRET_KEY environment variable" in result.stderr


def test_missing_shopify_secret_is_refused():
    result = run_with_env({"SECRET_KEY": "x", "SHOPIFY_API_KEY": "k",
                           "DATABASE_URL": "postgres://u:p@db.example:5432/syncer",
                           "REDIS_URL": "redis://cache.example:6379/2"})
    assert result.returncode == 1
    assert "Set the SHOPIFY_API_SECRET environment variable" in result.stderr


SECRETS = {"SECRET_KEY": "x", "SHOPIFY_API_KEY": "k", "SHOPIFY_API_SECRET": "s"}


def test_without_a_database_url_settings_refuse_to_load():
    # given only the secrets and a Redis
    result = run_with_env({**SECRETS, "REDIS_URL": "redis://cache.example:6379/2"})
    # then there is no fallback database
    assert result.returncode == 1
    assert "DATABASE_URL is not set. Syncer runs on PostgreSQL only" in result.stderr


def test_a_sqlite_database_is_refused():
    result = run_with_env({**SECRETS, "DATABASE_URL": "sqlite:////tmp/syncer.sqlite3",
                           "REDIS_URL": "redis://cache.example:6379/2"})
    assert result.returncode == 1
    assert "DATABASE_URL names a sqlite3 database; Syncer runs on PostgreSQL only" in result.stderr


def test_without_a_redis_url_settings_refuse_to_load():
    # given no Redis, so no broker: there is no mode where tasks run inline
    result = run_with_env({**SECRETS, "DATABASE_URL": "postgres://u:p@db.example:5432/syncer"})
    assert result.returncode == 1
    assert "REDIS_URL is not set." in result.stderr


def test_database_and_redis_urls_switch_to_real_services():
    result = run_with_env({
        **SECRETS,
        "DATABASE_URL": "postgres://u:p@db.example:5432/syncer",
        "REDIS_URL": "redis://cache.example:6379/2", "APP_PORT": "9000", "EMULATOR_PORT": "9765",
    })
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "engine": "django.db.backends.postgresql", "eager": False,
        "broker": "redis://cache.example:6379/2", "version": "2026-07",
        "app_url": "http://127.0.0.1:9000", "emulator_port": 9765,
    }


def test_tests_run_against_postgres_and_redis():
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings.REDIS_URL.startswith("redis://")


def test_celery_production_settings():
    conf = celery_app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert (conf.task_soft_time_limit, conf.task_time_limit) == (240, 300)
    # taken strictly in this order: inbox, writes, the rest, echoes of our writes, bulk
    assert [queue.name for queue in conf.task_queues] == [
        "webhooks", "sync", "default", "webhooks_later", "bulk"]
    assert conf.broker_transport_options["queue_order_strategy"] == "priority"
    assert conf.task_routes["webhooks.tasks.*"] == {"queue": "webhooks"}
    assert conf.beat_schedule["beat-heartbeat"]["task"] == "syncer.tasks.beat_heartbeat"
    celery_app.loader.import_default_modules()  # what a worker does at start
    assert "syncer.tasks.beat_heartbeat" in celery_app.tasks


PRINT_REDIS = ("import django; from django.conf import settings as s; django.setup(); "
               "print(s.REDIS_URL)")


def settings_redis_url(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PRINT_REDIS], cwd=ROOT, capture_output=True, text=True,
        timeout=60, env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE":
                         "syncer.settings.test", **env})


def test_each_parallel_test_worker_takes_its_own_redis_database():
    urls = "redis://127.0.0.1:6379/3,redis://127.0.0.1:6379/4"
    # given the second worker of a two-process suite
    result = settings_redis_url({"PYTEST_XDIST_WORKER": "gw1", "SYNCER_TEST_REDIS_URLS": urls,
                                 "REDIS_URL": "redis://127.0.0.1:6379/3"})
    # then it takes the second database
    assert result.stdout.strip() == "redis://127.0.0.1:6379/4", result.stderr
    # and a process a test starts with a Redis of its own keeps that one
    result = settings_redis_url({"PYTEST_XDIST_WORKER": "gw1", "SYNCER_TEST_REDIS_URLS": urls,
                                 "REDIS_URL": "redis://127.0.0.1:41234/0"})
    assert result.stdout.strip() == "redis://127.0.0.1:41234/0", result.stderr


def test_a_parallel_test_worker_without_a_database_of_its_own_is_refused():
    result = settings_redis_url({"PYTEST_XDIST_WORKER": "gw2",
                                 "REDIS_URL": "redis://127.0.0.1:6379/3"})
    assert result.returncode == 1
    assert "Test worker gw2 has no Redis database of its own" in result.stderr
