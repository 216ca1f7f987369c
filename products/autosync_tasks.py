"""Auto-sync's thin tasks: ids in, one call into `products.autosync_apply`, safe to run twice.

They sit apart from `products.tasks` because the catalogue mirror queues them and the catalogue
scan's tasks run the mirror: one module for both would be a circle. Their names stay
`products.tasks.*` so queued messages, routes and the worker's queue stay as they were.
"""

from celery import shared_task

from products.autosync_apply import product_link_autosync, product_links_stock_sync
from syncer.shopify.errors import ShopifyRetryable

# Retried: only what can recover (throttle, 5xx, timeouts), with backoff.
RETRY_BACKOFF = 2
RETRY_BACKOFF_MAX = 120
MAX_RETRIES = 20


@shared_task(name="products.tasks.product_link_autosync_task", ignore_result=True,
             autoretry_for=(ShopifyRetryable,), retry_backoff=RETRY_BACKOFF,
             retry_backoff_max=RETRY_BACKOFF_MAX, retry_jitter=True, max_retries=MAX_RETRIES)
def product_link_autosync_task(link_id: int, cause: str) -> None:
    product_link_autosync(link_id=link_id, cause=cause)


@shared_task(name="products.tasks.product_links_stock_sync_task", ignore_result=True,
             autoretry_for=(ShopifyRetryable,), retry_backoff=RETRY_BACKOFF,
             retry_backoff_max=RETRY_BACKOFF_MAX, retry_jitter=True, max_retries=MAX_RETRIES)
def product_links_stock_sync_task(connection_id: int, product_link_ids: list[int],
                                  cause: str) -> None:
    product_links_stock_sync(connection_id=connection_id, product_link_ids=product_link_ids,
                             cause=cause)
