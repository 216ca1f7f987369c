"""Readiness of the database, the broker and the workers, for /healthz."""

import contextlib
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import DatabaseError, connection

from syncer.redis import redis_client

WORKER_HEARTBEAT_PREFIX = "syncer:heartbeat:worker:"
BEAT_HEARTBEAT_KEY = "syncer:heartbeat:beat"


def _heartbeat_ttl() -> int:
    # Three missed beats before a worker is presumed gone.
    return int(settings.CELERY_WORKER_HEARTBEAT_INTERVAL * 3)


def worker_heartbeat_write(*, hostname: str) -> None:
    # The broker being away is what /healthz reports; the worker's timer must survive it.
    with contextlib.suppress(redis.RedisError):
        redis_client().set(f"{WORKER_HEARTBEAT_PREFIX}{hostname}", time.time(), ex=_heartbeat_ttl())


def worker_heartbeat_clear(*, hostname: str) -> None:
    with contextlib.suppress(redis.RedisError):
        redis_client().delete(f"{WORKER_HEARTBEAT_PREFIX}{hostname}")


def beat_heartbeat_write() -> None:
    redis_client().set(BEAT_HEARTBEAT_KEY, time.time(), ex=120)


@dataclass(frozen=True)
class Check:
    status: str  # "ok" | "eager" | "error" | "missing"
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.status in ("ok", "eager")


def database_check() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return Check("error", str(exc).strip().splitlines()[0] if str(exc) else "unreachable")
    return Check("ok", connection.vendor)


def broker_check() -> Check:
    if not settings.REDIS_URL:
        return Check("eager", "no REDIS_URL: tasks run inline")
    try:
        redis_client().ping()
    except redis.RedisError as exc:
        return Check("error", str(exc))
    return Check("ok")


def worker_check() -> tuple[Check, list[str]]:
    if not settings.REDIS_URL:
        return Check("eager", "no REDIS_URL: tasks run inline"), []
    try:
        keys = sorted(redis_client().scan_iter(match=f"{WORKER_HEARTBEAT_PREFIX}*", count=100))
    except redis.RedisError as exc:
        return Check("error", str(exc)), []
    workers = [key.removeprefix(WORKER_HEARTBEAT_PREFIX) for key in keys]
    if not workers:
        return Check("missing", "no worker heartbeat in the last "
                     f"{_heartbeat_ttl()} s"), []
    return Check("ok", f"{len(workers)} worker(s)"), workers


def health_report() -> tuple[bool, dict]:
    database = database_check()
    broker = broker_check()
    worker, workers = worker_check()
    ready = database.ready and broker.ready and worker.ready
    report = {
        "status": "ok" if ready else "unavailable",
        "database": {"status": database.status, "detail": database.detail},
        "broker": {"status": broker.status, "detail": broker.detail},
        "worker": {"status": worker.status, "detail": worker.detail, "workers": workers},
    }
    return ready, report
