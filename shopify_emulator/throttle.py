"""Shopify's GraphQL Admin rate limit: one leaky bucket of cost points per shop.

A request reserves its *requested* cost before it runs and gets ``requested - actual`` back
afterwards, so the bucket ends up charged with the actual cost. The bucket refills
continuously at the plan's restore rate up to 20 x that rate (observed on live stores:
2000/100 on Standard, 4000/200 on Advanced, 20000/1000 on Plus).

The response helpers build the bodies Shopify sends, byte-for-byte in shape:

* ``extensions.cost`` on every costed response (``maximumAvailable``/``restoreRate`` are
  floats, ``currentlyAvailable`` an integer, as Shopify serialises them);
* ``THROTTLED`` (HTTP 200, no ``data``, ``actualQueryCost: null``);
* ``MAX_COST_EXCEEDED`` for a single query over 1000 points, which carries no top-level
  ``extensions`` at all: the cost sits in the error's own ``extensions``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "DEFAULT_PLAN",
    "MAX_QUERY_COST",
    "PLAN_RESTORE_RATES",
    "BucketRegistry",
    "LeakyBucket",
    "cost_extension",
    "max_cost_exceeded_response",
    "restore_rate_for_plan",
    "throttled_response",
]

# Points per second, https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits
PLAN_RESTORE_RATES: dict[str, float] = {
    "standard": 100.0,
    "advanced": 200.0,
    "plus": 1000.0,
    "enterprise": 2000.0,
}
DEFAULT_PLAN = "standard"
# Every other plan (Basic, "Shopify", development and partner test stores) is billed at the
# Standard rate; "shopify_plus" is how the REST shop resource names Plus.
_PLAN_ALIASES: dict[str, str] = {"shopify_plus": "plus"}
BUCKET_SIZE_FACTOR = 20.0
MAX_QUERY_COST = 1000

THROTTLED_DOCUMENTATION = "https://shopify.dev/api/usage/rate-limits"
MAX_COST_DOCUMENTATION = "https://shopify.dev/api/usage/rate-limits"


def restore_rate_for_plan(plan: str) -> float:
    """The restore rate (points/s) Shopify gives a shop on ``plan``."""
    key = plan.strip().lower()
    key = _PLAN_ALIASES.get(key, key)
    return PLAN_RESTORE_RATES.get(key, PLAN_RESTORE_RATES[DEFAULT_PLAN])


class LeakyBucket:
    """Cost points available to one app on one shop.

    ``clock`` returns seconds on a monotonic scale; tests pass a fake one. All methods are
    safe to call from several threads.
    """

    def __init__(
        self,
        *,
        restore_rate: float,
        maximum_available: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if restore_rate <= 0:
            raise ValueError("restore_rate must be positive")
        self._restore_rate = float(restore_rate)
        self._maximum = float(
            maximum_available
            if maximum_available is not None
            else restore_rate * BUCKET_SIZE_FACTOR
        )
        if self._maximum <= 0:
            raise ValueError("maximum_available must be positive")
        self._clock = clock
        self._lock = threading.Lock()
        self._available = self._maximum
        self._updated_at = clock()

    @property
    def restore_rate(self) -> float:
        return self._restore_rate

    @property
    def maximum_available(self) -> float:
        return self._maximum

    @property
    def available(self) -> float:
        """Points available now, unrounded."""
        with self._lock:
            self._refill()
            return self._available

    def try_take(self, *, cost: float) -> bool:
        """Reserve ``cost`` points if that many are available; refuse (take nothing) if not."""
        if cost < 0:
            raise ValueError("cost must not be negative")
        with self._lock:
            self._refill()
            if self._available < cost:
                return False
            self._available -= cost
            return True

    def refund(self, *, amount: float) -> None:
        """Give back points reserved but not spent (``requested - actual``)."""
        if amount < 0:
            raise ValueError("amount must not be negative")
        with self._lock:
            self._refill()
            self._available = min(self._maximum, self._available + amount)

    def status(self) -> dict[str, Any]:
        """``throttleStatus`` exactly as Shopify shows it."""
        with self._lock:
            self._refill()
            return {
                "maximumAvailable": self._maximum,
                # Shopify shows whole points: 1988, never 1988.4.
                "currentlyAvailable": math.floor(self._available),
                "restoreRate": self._restore_rate,
            }

    def seconds_until(self, *, cost: float) -> float:
        """Seconds until ``cost`` points are available; ``inf`` if the bucket can never hold it."""
        if cost > self._maximum:
            return math.inf
        with self._lock:
            self._refill()
            missing = cost - self._available
        return max(0.0, missing / self._restore_rate)

    def _refill(self) -> None:
        now = self._clock()
        elapsed = now - self._updated_at
        self._updated_at = now
        # A clock that steps backwards must not drain the bucket.
        if elapsed > 0:
            self._available = min(self._maximum, self._available + elapsed * self._restore_rate)


class BucketRegistry:
    """One bucket per shop domain, created on first use with the shop's plan.

    A shop keeps its bucket (and its level) across calls; a later plan change does not resize
    it until :meth:`reset` or :meth:`forget`.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, LeakyBucket] = {}

    def bucket(self, *, shop_domain: str, plan: str) -> LeakyBucket:
        key = shop_domain.strip().lower()
        with self._lock:
            found = self._buckets.get(key)
            if found is None:
                found = LeakyBucket(restore_rate=restore_rate_for_plan(plan), clock=self._clock)
                self._buckets[key] = found
            return found

    def forget(self, *, shop_domain: str) -> None:
        """Drop one shop's bucket; the next request starts it full again."""
        with self._lock:
            self._buckets.pop(shop_domain.strip().lower(), None)

    def reset(self) -> None:
        """Drop every bucket."""
        with self._lock:
            self._buckets.clear()


def cost_extension(*, requested: int, actual: int | None, bucket: LeakyBucket) -> dict[str, Any]:
    """The ``extensions.cost`` object; ``actual`` is ``None`` when the query did not run."""
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": bucket.status(),
    }


def throttled_response(*, requested: int, bucket: LeakyBucket) -> dict[str, Any]:
    """The body of a request refused for lack of points (sent with HTTP 200, no ``data``)."""
    return {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {"code": "THROTTLED", "documentation": THROTTLED_DOCUMENTATION},
            }
        ],
        "extensions": {"cost": cost_extension(requested=requested, actual=None, bucket=bucket)},
    }


def max_cost_exceeded_response(*, requested: int, bucket: LeakyBucket) -> dict[str, Any]:
    """The body of a single query whose requested cost is over :data:`MAX_QUERY_COST`.

    Shopify sends no top-level ``extensions`` here and takes nothing from the bucket;
    ``bucket`` is accepted so callers treat both refusals alike.
    """
    del bucket
    message = (
        f"Query cost is {requested}, which exceeds the single query max cost limit "
        f"({MAX_QUERY_COST}).\n\n"
        "See https://shopify.dev/docs/api/usage/rate-limits for more information on how the\n"
        "cost of a query is calculated.\n\n"
        "To query larger amounts of data with fewer limits, bulk operations should be used "
        "instead.\n"
        "See https://shopify.dev/docs/api/usage/bulk-operations/queries for usage details.\n"
    )
    return {
        "errors": [
            {
                "message": message,
                "extensions": {
                    "code": "MAX_COST_EXCEEDED",
                    "cost": requested,
                    "maxCost": MAX_QUERY_COST,
                    "documentation": MAX_COST_DOCUMENTATION,
                },
            }
        ]
    }
