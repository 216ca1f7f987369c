"""One Redis client per process, for locks, budgets and heartbeats (Celery has its own)."""

import contextlib
import functools
from collections.abc import Callable

import redis
from django.conf import settings
from redis.exceptions import LockError
from redis.lock import Lock

# How long a work request waits for its holder before it lapses (a holder died without it).
WANTED_SECONDS = 600


@functools.cache
def redis_client() -> redis.Redis:
    if not settings.REDIS_URL:
        raise RuntimeError("REDIS_URL is not set")
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=2.0, socket_connect_timeout=1.0, decode_responses=True
    )


def locked_while_wanted(*, wanted_key: str, lock: Callable[[], Lock],
                        work: Callable[[Lock], None]) -> bool:
    """Runs `work` under the lock until nobody wants more; False when another holder has the
    lock. "Wanted" is raised before trying the lock and cleared by the holder before it looks
    for work, so a request that finds the lock taken is never lost: the holder goes round
    again. (The flushes: stock per destination, product fields per connection.)"""
    client = redis_client()
    client.set(wanted_key, 1, ex=WANTED_SECONDS)
    while client.exists(wanted_key):
        held = lock()
        if not held.acquire():
            return False
        try:
            client.delete(wanted_key)
            work(held)
        finally:
            with contextlib.suppress(LockError):  # expired: a newer holder owns it now
                held.release()
    return True
