"""Links ending: the hook stores runs before a connection's links are removed, and the thin
task that applies the destination's choice (`products.link_end` does the work).

The task's name keeps the `products.tasks.` prefix so it is routed to the sync queue like the
other product tasks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from celery import Task, shared_task
from django.db import transaction

from products.link_end import (
    connection_links_capture,
    ended_links_apply,
    ended_links_give_up,
)
from stores.models import Connection
from stores.registry import links_end_hook_register
from syncer.shopify.errors import ShopifyRetryable

MAX_RETRIES = 10
RETRY_BACKOFF_MAX = 300


@shared_task(name="products.tasks.ended_links_apply_task", bind=True, ignore_result=True,
             max_retries=MAX_RETRIES)
def ended_links_apply_task(self: Task[Any, Any], connection_id: int) -> None:
    """Throttling, 5xx and timeouts are retried with backoff (each row says it is retrying);
    when the retries are spent, what still waits ends failed with the reason."""
    try:
        ended_links_apply(connection_id=connection_id)
    except ShopifyRetryable as exc:
        if self.request.retries >= (self.max_retries or 0):
            ended_links_give_up(connection_id=connection_id, message=exc.merchant_message)
            return
        if self.request.is_eager:
            # Inline Celery (service tests) cannot wait: the next try runs at once.
            ended_links_apply_task.apply(args=(connection_id,),
                                         retries=self.request.retries + 1)
            return
        countdown = exc.retry_after or min(2 ** (self.request.retries + 1), RETRY_BACKOFF_MAX)
        raise self.retry(exc=exc, countdown=countdown) from exc


def ended_links_apply_on_commit(connection_ids: Iterable[int]) -> None:
    for connection_id in sorted(set(connection_ids)):
        transaction.on_commit(functools.partial(ended_links_apply_task.delay, connection_id))


@links_end_hook_register
def connection_links_ending(*, connection: Connection, reason: str) -> None:
    """stores' hook: the connection's links are about to be removed (block, disconnect,
    uninstall)."""
    ended_links_apply_on_commit(connection_links_capture(connection=connection, reason=reason))
