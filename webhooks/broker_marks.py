"""The broker markers that keep a delivery (or a shop's topic) from being queued twice, the
publishing of its task with its marker, and the thread that publishes after the HTTP answer.

Split from webhooks.inbox, which claims and processes the rows: this module only talks to the
broker's Redis (and, in the publishing thread, the queue choosers' database reads).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from celery.exceptions import CeleryError
from django.db import close_old_connections
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from syncer.redis import redis_client
from webhooks.registry import (
    webhook_queue_for,
)

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)


# While a row's task waits in the broker, this marker says so (the broker's Redis holds both,
# so they are lost together). It records the queue and when it was set, so the sweeper can tell
# a task still waiting behind others from one that is lost: a worker killed with tasks in hand
# leaves them unacked in Redis until the visibility timeout (minutes), and with them their
# markers. A marker older than MARK_TRUSTED whose queue has nothing waiting names a lost task.
# The expiry is the last resort (a queue never empty for that long).
QUEUED_MARK_SECONDS = 900
MARK_TRUSTED = timedelta(seconds=10)
# kombu's Redis transport keeps a queue's messages in one list per priority step.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)
# Deletes a marker only if it still holds the value the sweeper judged lost (a task published
# meanwhile has set a fresh one).
_UNMARK_IF_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def delivery_queued_key(delivery_id: int) -> str:
    return f"syncer:webhook-queued:{delivery_id}"


def _mark_value(queue: str) -> str:
    return f"{queue}|{time.time():.3f}"


def _queue_name(task: Task, queue: str | None) -> str:
    """The queue a task goes to: the one chosen, else its route."""
    route = task.app.amqp.router.route({"queue": queue} if queue else {}, task.name, (), {})
    return str(route["queue"].name)


def _publish_marked(*, key: str, task: Task, args: tuple[Any, ...],
                    choose_queue: Callable[[], str | None], if_unmarked: bool, what: str) -> None:
    """Marks `key`, then publishes the task (so a fast worker's unmark cannot come first); with
    `if_unmarked`, publishes nothing when the mark is already there. No publish retries: the
    request must answer Shopify at once; if the broker is down the rows wait in the inbox for
    the sweeper."""
    try:
        redis = redis_client()
        # The queue is chosen only once the mark is ours: in a burst most deliveries find it
        # taken and stop at one round trip.
        if not redis.set(key, _mark_value("?"), nx=if_unmarked, ex=QUEUED_MARK_SECONDS):
            return
        queue = choose_queue()
        redis.set(key, _mark_value(_queue_name(task, queue)), ex=QUEUED_MARK_SECONDS)
        options: dict[str, Any] = {"queue": queue} if queue else {}
        task.apply_async(args=args, retry=False, **options)
    except (KombuError, CeleryError, RedisError, OSError) as exc:
        logger.warning("%s not enqueued (%s); the sweeper will pick it up", what, exc)
        _unmark(key)


def _unmark(key: str) -> None:
    with contextlib.suppress(RedisError, OSError):
        redis_client().delete(key)


def marks_waiting(keys: list[str]) -> set[str]:
    """The marked keys whose task may still be waiting in the broker. A marker whose task is
    lost is deleted (so deliveries arriving from now on queue a task again)."""
    if not keys:
        return set()
    redis = redis_client()
    try:
        values = redis.mget(keys)
    except RedisError:
        return set()  # the broker is down or new: whatever was marked is gone with it
    now = time.time()
    waiting: set[str] = set()
    suspect: dict[str, tuple[str, str]] = {}
    for key, value in zip(keys, values, strict=True):
        if not value:
            continue
        value = str(value)  # the client decodes responses
        queue, _, since = value.partition("|")
        try:
            age = now - float(since)
        except ValueError:
            age = 0.0  # a marker of an older release: its expiry is its bound
        if age < MARK_TRUSTED.total_seconds():
            waiting.add(key)
        else:
            suspect[key] = (queue, value)
    # "?": its publisher died between marking and choosing the queue.
    backlog = _queues_backlog({queue for queue, _ in suspect.values() if queue != "?"})
    unmark_if = redis.register_script(_UNMARK_IF_SCRIPT)
    for key, (queue, value) in suspect.items():
        if backlog.get(queue, 0) > 0:
            waiting.add(key)
            continue
        with contextlib.suppress(RedisError):
            unmark_if(keys=[key], args=[value])
    return waiting


def _queues_backlog(queues: set[str]) -> dict[str, int]:
    """How many messages wait in each queue (not counting those a worker holds)."""
    if not queues:
        return {}
    pipe = redis_client().pipeline(transaction=False)
    names = sorted(queues)
    for queue in names:
        pipe.llen(queue)
        for step in _PRIORITY_STEPS:
            pipe.llen(f"{queue}{_PRIORITY_SEPARATOR}{step}")
    try:
        lengths = pipe.execute()
    except RedisError:
        return {}
    per_queue = 1 + len(_PRIORITY_STEPS)
    return {queue: sum(lengths[i * per_queue:(i + 1) * per_queue])
            for i, queue in enumerate(names)}


def webhook_delivery_publish(*, task: Task, delivery_id: int, queue: str | None = None) -> None:
    """Queues `task` (the delivery's processing task) for one row, marked while it waits."""
    _publish_marked(key=delivery_queued_key(delivery_id), task=task, args=(delivery_id,),
                    choose_queue=lambda: queue, if_unmarked=False,
                    what=f"webhook {delivery_id}")


def webhook_delivery_unmark(delivery_id: int) -> None:
    """The task has left the broker: from now on the row's state is in the database."""
    _unmark(delivery_queued_key(delivery_id))


# A received delivery queues one task per shop and topic, not one per delivery: the task takes
# whatever of that shop's topic is waiting when it starts. While it waits in the broker this
# marker says so, and deliveries arriving meanwhile queue nothing (in a burst of 10,000 stock
# changes, 10,000 tasks that each found their row already taken were most of the inbox's work;
# in the web tier, a Celery publish per delivery was a quarter of the receive path's CPU).
def batch_queued_key(shop_domain: str, topic: str) -> str:
    return f"syncer:webhook-batch-queued:{shop_domain}:{topic}"


def webhook_deliveries_publish(*, task: Task, shop_domain: str, topic: str) -> None:
    """Queues `task` (the batch task) to take the waiting deliveries of one shop and topic,
    unless one is waiting in the broker already: that one starts after this row was committed,
    so it takes it (called after the rows are committed)."""
    _publish_marked(
        key=batch_queued_key(shop_domain, topic), task=task,
        args=(shop_domain, topic), if_unmarked=True,
        choose_queue=lambda: webhook_queue_for(shop_domain=shop_domain, topic=topic),
        what=f"{topic} deliveries of {shop_domain}")


def webhook_deliveries_unmark(*, shop_domain: str, topic: str) -> None:
    """The batch task has left the broker: a delivery committed from now on queues another."""
    _unmark(batch_queued_key(shop_domain, topic))


# The web tier's publishes, done by a thread of each process's own so that the request which
# committed a row answers without waiting on the broker (a Redis round trip was a third of a
# delivery's time there under load), and so that a burst costs one marker check per shop and
# topic per pass, not one per delivery. A row is committed before it is handed over, so the
# marker protocol holds; if the process dies first, its rows wait for the sweeper, as when the
# broker is down.
_soon_wake = threading.Condition()
_soon_pending: set[tuple[Task, str, str]] = set()
_soon_state: dict[str, Any] = {"pid": None, "busy": False}


def webhook_deliveries_publish_soon(*, task: Task, shop_domain: str, topic: str) -> None:
    """`webhook_deliveries_publish`, from this process's publishing thread (inline when Celery
    runs tasks eagerly: there is no broker to wait for then)."""
    if task.app.conf.task_always_eager:
        webhook_deliveries_publish(task=task, shop_domain=shop_domain, topic=topic)
        return
    with _soon_wake:
        if _soon_state["pid"] != os.getpid():  # first use in this (forked) process
            _soon_pending.clear()
            _soon_state.update(pid=os.getpid(), busy=False)
            threading.Thread(target=_publish_soon_loop, name="webhook-publisher",
                             daemon=True).start()
        _soon_pending.add((task, shop_domain, topic))
        _soon_wake.notify_all()


def webhook_deliveries_published_wait(*, timeout: float = 10.0) -> bool:
    """Waits until every publish handed to this process's thread is done; False on timeout."""
    with _soon_wake:
        return _soon_wake.wait_for(lambda: not _soon_pending and not _soon_state["busy"],
                                   timeout=timeout)


def _publish_soon_loop() -> None:
    while True:
        with _soon_wake:
            _soon_wake.wait_for(lambda: bool(_soon_pending))
            batch = sorted(_soon_pending, key=lambda item: item[1:])
            _soon_pending.clear()
            _soon_state["busy"] = True
        try:
            for task, shop_domain, topic in batch:
                webhook_deliveries_publish(task=task, shop_domain=shop_domain, topic=topic)
        except Exception:  # a queue chooser's database error: the sweeper takes those rows
            logger.exception("webhook publisher: %d shop topics not enqueued", len(batch))
        finally:
            close_old_connections()  # the queue choosers' connection, as after a request
            with _soon_wake:
                _soon_state["busy"] = False
                _soon_wake.notify_all()
