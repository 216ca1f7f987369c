"""Readiness of the database, the broker and the workers, and whether work is failing or stuck
(webhook deliveries, background tasks), for /healthz and the System status page."""

import contextlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import ngettext

from syncer.redis import redis_client

WORKER_HEARTBEAT_PREFIX = "syncer:heartbeat:worker:"
BEAT_HEARTBEAT_KEY = "syncer:heartbeat:beat"
# Tasks that failed for good (not retries), scored by when: a sorted set, trimmed on every
# write, so a storm of failures costs Redis a bounded few kilobytes.
TASK_FAILURES_KEY = "syncer:task-failures"
TASK_FAILURES_KEPT = 500
TASK_FAILURES_KEPT_SECONDS = 86400


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


# --- thresholds: one home, read by every app that counts failed or stuck work ----------------


def work_stuck_after() -> timedelta:
    """Work (a webhook delivery, a stock write, an order push) not done this long after it was
    due is stuck: each normally takes seconds."""
    return timedelta(seconds=settings.WORK_STUCK_SECONDS)


def health_failure_window() -> timedelta:
    """/healthz reports failures this recent; older ones are history for the dashboards."""
    return timedelta(seconds=settings.HEALTH_FAILURE_WINDOW_SECONDS)


def ago(moment: datetime, now: datetime | None = None) -> str:
    """"just now" within a minute, else "3 minutes ago", "2 hours ago" (plain spaces)."""
    now = now or timezone.now()
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now)} ago".replace("\xa0", " ")


def duration_words(duration: timedelta) -> str:
    """"15 minutes", "1 hour": plain spaces, for JSON as much as for pages."""
    now = timezone.now()
    return timesince(now - duration, now).replace("\xa0", " ")


# --- what a check says -------------------------------------------------------------------------


@dataclass(frozen=True)
class Backlog:
    """Work in one kind of trouble: how many, and since when the oldest of it has waited."""

    count: int = 0
    oldest: datetime | None = None


@dataclass(frozen=True)
class Trouble:
    """One kind of work's failed and stuck backlog, with the latest failure in its own words."""

    failed: Backlog
    stuck: Backlog
    latest_error: str = ""
    # Stock updates only: zeros the zero-stock breaker held back for the merchant to decide.
    held: Backlog | None = None


def trouble_read(rows: QuerySet, *, failed: Q, failed_oldest: str, stuck: Q, stuck_oldest: str,
                 latest_first: str, error_field: str = "error") -> Trouble:
    """Counts `rows` matching `failed` and `stuck` in one query, each with its oldest value of
    the given field, and the error of the latest failure (by `latest_first`)."""
    figures = rows.aggregate(
        failed=Count("pk", filter=failed), failed_oldest=Min(failed_oldest, filter=failed),
        stuck=Count("pk", filter=stuck), stuck_oldest=Min(stuck_oldest, filter=stuck))
    latest_error = ""
    if figures["failed"]:
        latest_error = (rows.filter(failed).order_by(f"-{latest_first}", "-pk")
                        .values_list(error_field, flat=True).first() or "")
    return Trouble(failed=Backlog(figures["failed"], figures["failed_oldest"]),
                   stuck=Backlog(figures["stuck"], figures["stuck_oldest"]),
                   latest_error=latest_error)


@dataclass(frozen=True)
class Problem:
    """A Backlog worth telling an operator about, in plain words."""

    code: str  # stable, for monitors: "webhooks_failed"
    label: str  # "Webhook deliveries failed in the last 15 minutes"
    backlog: Backlog

    def sentence(self, *, now: datetime) -> str:
        text = f"{self.label}: {self.backlog.count}"
        if self.backlog.oldest is not None:
            text += f" (oldest {ago(self.backlog.oldest, now)})"
        return text.replace("\xa0", " ")

    def as_json(self, *, now: datetime) -> dict:
        oldest = self.backlog.oldest
        return {"code": self.code, "count": self.backlog.count,
                "oldest": oldest.isoformat() if oldest else None,
                "oldest_age_seconds": int((now - oldest).total_seconds()) if oldest else None,
                "reason": self.sentence(now=now)}


@dataclass(frozen=True)
class Check:
    status: str  # "ok" | "error" | "missing" | "failing"
    detail: str = ""
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ready(self) -> bool:
        return self.status == "ok"


def problems_check(problems: list[Problem], *, ok_detail: str, detail: str = "") -> Check:
    if not problems:
        return Check("ok", ok_detail)
    return Check("failing", detail, tuple(problems))


# Checks over the apps' own tables, added by each app in AppConfig.ready(): syncer imports no
# app (imports run syncer ← webhooks ← stores ← products ← orders).
@dataclass(frozen=True)
class _AppCheck:
    label: str
    check: Callable[[], Check]


_app_checks: dict[str, _AppCheck] = {}


def health_check_register(*, name: str, label: str, check: Callable[[], Check]) -> None:
    _app_checks[name] = _AppCheck(label=label, check=check)


# --- the checks --------------------------------------------------------------------------------


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
        return Check("error", "REDIS_URL is not set: no task can be queued")
    try:
        redis_client().ping()
    except redis.RedisError as exc:
        return Check("error", str(exc))
    return Check("ok")


def worker_check() -> tuple[Check, list[str]]:
    if not settings.REDIS_URL:
        return Check("error", "REDIS_URL is not set: no worker can be seen"), []
    try:
        keys = sorted(redis_client().scan_iter(match=f"{WORKER_HEARTBEAT_PREFIX}*", count=100))
    except redis.RedisError as exc:
        return Check("error", str(exc)), []
    workers = [key.removeprefix(WORKER_HEARTBEAT_PREFIX) for key in keys]
    if not workers:
        return Check("missing", "no worker heartbeat in the last "
                     f"{_heartbeat_ttl()} s"), []
    return Check("ok", ngettext("%(count)d worker", "%(count)d workers", len(workers))
                 % {"count": len(workers)}), workers


def task_failure_record(*, task_name: str, error: str) -> None:
    """Called in the worker when a task fails for good (retries are not failures)."""
    now = time.time()
    entry = json.dumps({"task": task_name, "error": error[:500], "id": uuid.uuid4().hex})
    # Losing this record to a broker outage is fine: the broker check reports the outage.
    with contextlib.suppress(redis.RedisError):
        pipe = redis_client().pipeline(transaction=False)
        pipe.zadd(TASK_FAILURES_KEY, {entry: now})
        pipe.zremrangebyscore(TASK_FAILURES_KEY, "-inf", now - TASK_FAILURES_KEPT_SECONDS)
        pipe.zremrangebyrank(TASK_FAILURES_KEY, 0, -TASK_FAILURES_KEPT - 1)
        pipe.expire(TASK_FAILURES_KEY, TASK_FAILURES_KEPT_SECONDS)
        pipe.execute()


def tasks_check() -> Check:
    if not settings.REDIS_URL:
        return Check("error", "REDIS_URL is not set: task failures cannot be read")
    window = health_failure_window()
    since = time.time() - window.total_seconds()
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.zcount(TASK_FAILURES_KEY, since, "+inf")
        pipe.zrangebyscore(TASK_FAILURES_KEY, since, "+inf", start=0, num=1, withscores=True)
        pipe.zrevrangebyscore(TASK_FAILURES_KEY, "+inf", since, start=0, num=1)
        count, oldest, latest = pipe.execute()
    except redis.RedisError as exc:
        return Check("error", str(exc))
    if not count:
        return Check("ok", f"no task failed in the last {duration_words(window)}")
    last = json.loads(latest[0])
    failed = Problem("tasks_failed",
                     f"Background tasks failed in the last {duration_words(window)}",
                     Backlog(count, datetime.fromtimestamp(oldest[0][1], tz=UTC)))
    return Check("failing", f"latest: {last['task']}: {last['error']}", (failed,))


def _app_check_run(app_check: _AppCheck, *, database: Check) -> Check:
    if not database.ready:
        return Check("error", "not checked: the database is unreachable")
    try:
        return app_check.check()
    except DatabaseError as exc:
        return Check("error", str(exc).strip().splitlines()[0] if str(exc) else "unreachable")


def health_report() -> tuple[bool, dict]:
    """Ready = the database, the broker and a worker are there, and no work is failing or
    stuck. `reasons` says in plain words what is not ready."""
    now = timezone.now()
    database = database_check()
    broker = broker_check()
    worker, workers = worker_check()
    labelled = {"database": ("Database", database), "broker": ("Task broker", broker),
                "worker": ("Workers", worker)}
    work = {name: (app_check.label, _app_check_run(app_check, database=database))
            for name, app_check in _app_checks.items()}
    work["tasks"] = ("Background tasks", tasks_check())
    labelled.update(work)
    ready = all(check.ready for _, check in labelled.values())
    reasons = []
    for label, check in labelled.values():
        if check.problems:
            reasons += [problem.sentence(now=now) for problem in check.problems]
        elif not check.ready:
            reasons.append(f"{label}: {check.detail}")
    report = {
        "status": "ok" if ready else "unavailable",
        "reasons": reasons,
        "database": {"status": database.status, "detail": database.detail},
        "broker": {"status": broker.status, "detail": broker.detail},
        "worker": {"status": worker.status, "detail": worker.detail, "workers": workers},
    }
    for name, (_, check) in work.items():
        report[name] = {"status": check.status, "detail": check.detail,
                        "problems": [problem.as_json(now=now) for problem in check.problems]}
    return ready, report
