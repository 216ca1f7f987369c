"""The field flush's thin task and its queueing: ids in, one call into `products.field_flush`,
safe to run twice (what is still waiting decides what is sent).

Like the stock flush (`products.inventory.tasks`): one queued flush per connection serves any
burst of source edits, so a marker in Redis says one is queued; the task clears it before it
looks for work, and a change committed after that queues a new one. The marker expires in
case its task is lost with the broker; the sweeper (`products.tasks`) covers that gap. The
name stays under `products.tasks.*` for the worker's routes.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from celery import shared_task
from django.db import transaction

from products.field_flush import field_flush_connection
from syncer.redis import redis_client
from syncer.shopify.errors import ShopifyRetryable

FLUSH_QUEUED_SECONDS = 120


def _queued_key(connection_id: int) -> str:
    return f"syncer:field-flush-queued:{connection_id}"


def field_flush_on_commit(connection_ids: Iterable[int]) -> None:
    """Once the transaction commits, flush these connections' waiting fields."""
    ids = sorted(set(connection_ids))
    if ids:
        transaction.on_commit(partial(field_flush_request, connection_ids=ids))


def field_flush_request(*, connection_ids: list[int]) -> None:
    """Queues a field flush of each connection unless one is already waiting to start."""
    redis = redis_client()
    pipe = redis.pipeline(transaction=False)
    for connection_id in connection_ids:
        pipe.set(_queued_key(connection_id), 1, nx=True, ex=FLUSH_QUEUED_SECONDS)
    for connection_id, marked in zip(connection_ids, pipe.execute(), strict=True):
        if not marked:
            continue
        try:
            field_flush_task.delay(connection_id)
        except Exception:
            redis.delete(_queued_key(connection_id))
            raise


@shared_task(name="products.tasks.field_flush_task", ignore_result=True,
             autoretry_for=(ShopifyRetryable,), retry_backoff=2, retry_backoff_max=120,
             retry_jitter=True, max_retries=50)
def field_flush_task(connection_id: int) -> None:
    # Cleared before looking for work: an edit committed from here on queues a new flush.
    redis_client().delete(_queued_key(connection_id))
    field_flush_connection(connection_id=connection_id)
