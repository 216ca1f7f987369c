"""Keeping a shop's expiring offline access token fresh, once, across all workers.

Shopify replaces the refresh token on every use, so two workers refreshing at once would each
burn the other's token. `access_token_fresh` refreshes a little before expiry under a per-shop
Redis lock, re-reads the token inside the lock (another worker may just have refreshed it), and
hands the new pair to `store` before anyone else may look.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import redis
from redis.exceptions import LockError

from syncer.shopify.errors import ShopifyAuthError, ShopifyRetryable
from syncer.shopify.oauth import OfflineToken, token_refresh

if TYPE_CHECKING:
    from syncer.shopify.client import ShopifyAdminClient

logger = logging.getLogger("syncer.shopify")

# Longer than a refresh can take (3 token-request attempts with a 10 s timeout each + pauses).
LOCK_TIMEOUT_SECONDS = 60
LOCK_WAIT_SECONDS = 45


class ShopifyTokenRefreshBusy(ShopifyRetryable):
    """Another worker held the shop's refresh lock for too long; try again later."""

    default_merchant_message = "Reconnecting to Shopify took longer than usual; retrying."


def _needs_refresh(token: OfflineToken, margin_seconds: float) -> bool:
    return token.expiring and token.expires_within(margin_seconds)


def access_token_fresh(
    *,
    shop_domain: str,
    load: Callable[[], OfflineToken],
    store: Callable[[OfflineToken], None],
    margin_seconds: float = 300,
    client: ShopifyAdminClient | None = None,
    redis_connection: redis.Redis | None = None,
) -> OfflineToken:
    """The shop's offline token, refreshed first if it expires within `margin_seconds`.

    `load` reads the stored token (e.g. from the Shop row); `store` persists a new one
    atomically (access token, expiry, refresh token and its expiry together). Non-expiring
    tokens are returned as they are. Raises `ShopifyAuthError` when the refresh token is gone
    or refused (the merchant must open the app again so we can exchange a new session token).
    """
    token = load()
    if not _needs_refresh(token, margin_seconds):
        return token
    if redis_connection is None:
        from syncer.redis import redis_client

        redis_connection = redis_client()
    lock = redis_connection.lock(
        f"shopify:token-refresh:{shop_domain}",
        timeout=LOCK_TIMEOUT_SECONDS,
        blocking_timeout=LOCK_WAIT_SECONDS,
        thread_local=False,
    )
    if not lock.acquire():
        raise ShopifyTokenRefreshBusy(
            f"Could not take the token refresh lock of {shop_domain} in {LOCK_WAIT_SECONDS}s",
            shop_domain=shop_domain,
        )
    try:
        token = load()
        if not _needs_refresh(token, margin_seconds):
            return token
        if not token.refreshable():
            raise ShopifyAuthError(
                "The refresh token is missing or expired; a new token exchange is needed.",
                error_code="refresh_token_expired",
                shop_domain=shop_domain,
            )
        fresh = token_refresh(
            shop_domain=shop_domain, refresh_token=token.refresh_token or "", client=client
        )
        store(fresh)
        logger.info(
            "shopify token refreshed shop=%s expires_at=%s",
            shop_domain,
            fresh.expires_at.isoformat() if fresh.expires_at else None,
        )
        return fresh
    finally:
        try:
            lock.release()
        except LockError:
            logger.warning("shopify token refresh lock of %s expired before release", shop_domain)
