"""Each shop's GraphQL cost budget (Shopify's leaky bucket), shared by every worker in Redis.

Shopify limits calculated query cost per app and store: a bucket of `maximumAvailable` points that
refills at `restoreRate` points per second. Every response reports the bucket as Shopify saw it
(`extensions.cost.throttleStatus`). We keep a model of it in Redis so all processes agree:

* `reserve` (before sending): refill the model by elapsed × restoreRate up to maximumAvailable,
  then take the request's expected cost if it fits, or say how long to wait. Atomic (Lua), and
  timed by the Redis server's clock so workers on different machines agree.
* `reconcile` (after the answer): give back what was reserved but not spent, adopt Shopify's
  maximumAvailable / restoreRate, and never believe more points than Shopify reported (minus what
  our other requests still in flight will take).

Reservations in flight live in a sorted set with an expiry, so a worker killed between the two
steps cannot leave the model pessimistic for ever.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from redis.typing import EncodableT

from syncer.shopify.errors import ShopifyThrottled

# Standard plan (the smallest) until the shop's first answer tells us better.
DEFAULT_MAXIMUM_AVAILABLE = 2000.0
DEFAULT_RESTORE_RATE = 100.0
# A reservation not reconciled within this many seconds is forgotten (its worker died).
RESERVATION_TTL_SECONDS = 120
STATE_TTL_SECONDS = 24 * 3600

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cost = tonumber(ARGV[1])
local s = redis.call('HMGET', KEYS[1], 'available', 'maximum', 'rate', 'ts')
local maximum = tonumber(s[2]) or tonumber(ARGV[2])
local rate = tonumber(s[3]) or tonumber(ARGV[3])
local available = tonumber(s[1]) or maximum
local ts = tonumber(s[4]) or now
if now > ts then
  available = math.min(maximum, available + (now - ts) * rate)
end
if cost > maximum then
  cost = maximum
end
local wait = 0
if available >= cost then
  available = available - cost
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[4] .. ':' .. tostring(cost))
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
else
  wait = (cost - available) / rate
end
redis.call('HSET', KEYS[1], 'available', tostring(available), 'maximum', tostring(maximum),
  'rate', tostring(rate), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return {tostring(wait), tostring(available), tostring(cost)}
"""

_RECONCILE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local member = ARGV[1]
local reserved = tonumber(ARGV[2])
local spent = tonumber(ARGV[3])
local reported = tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'available', 'maximum', 'rate', 'ts', 'known')
local maximum = tonumber(ARGV[5]) or tonumber(s[2]) or tonumber(ARGV[7])
local rate = tonumber(ARGV[6]) or tonumber(s[3]) or tonumber(ARGV[8])
local available = tonumber(s[1]) or maximum
local ts = tonumber(s[4]) or now
local known = tonumber(s[5]) or 0
if now > ts then
  available = math.min(tonumber(s[2]) or maximum, available + (now - ts) * (tonumber(s[3]) or rate))
end
redis.call('ZREM', KEYS[2], member)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if spent then
  available = available + reserved - spent
end
if reported then
  local inflight = 0
  for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    inflight = inflight + (tonumber(string.match(m, ':([%d%.]+)$')) or 0)
  end
  local estimate = reported - inflight
  if known == 0 or estimate < available then
    available = estimate
  end
  known = 1
end
available = math.min(maximum, available)
redis.call('HSET', KEYS[1], 'available', tostring(available), 'maximum', tostring(maximum),
  'rate', tostring(rate), 'ts', tostring(now), 'known', tostring(known))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[9]))
return tostring(available)
"""


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Reservation:
    shop_domain: str
    member: str
    cost: float
    waited_seconds: float


@dataclass(frozen=True)
class ThrottleStatus:
    maximum_available: float
    currently_available: float
    restore_rate: float

    @classmethod
    def from_extensions(cls, extensions: Mapping[str, Any] | None) -> ThrottleStatus | None:
        status = ((extensions or {}).get("cost") or {}).get("throttleStatus")
        if not status:
            return None
        try:
            return cls(
                maximum_available=float(status["maximumAvailable"]),
                currently_available=float(status["currentlyAvailable"]),
                restore_rate=float(status["restoreRate"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


class ShopBudget:
    """The per-shop leaky-bucket model in Redis, and what each document is expected to cost."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        prefix: str = "shopify",
        default_maximum: float = DEFAULT_MAXIMUM_AVAILABLE,
        default_restore_rate: float = DEFAULT_RESTORE_RATE,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.redis = redis_client
        self.prefix = prefix
        self.default_maximum = default_maximum
        self.default_restore_rate = default_restore_rate
        self.sleep = sleep
        self._reserve = redis_client.register_script(_RESERVE)
        self._reconcile = redis_client.register_script(_RECONCILE)

    # -- keys ---------------------------------------------------------------------------------

    def _bucket_key(self, shop_domain: str) -> str:
        return f"{self.prefix}:budget:{shop_domain}"

    def _inflight_key(self, shop_domain: str) -> str:
        return f"{self.prefix}:budget:{shop_domain}:inflight"

    def _cost_key(self) -> str:
        return f"{self.prefix}:cost"

    # -- the bucket ---------------------------------------------------------------------------

    def reserve(self, *, shop_domain: str, cost: float, max_wait: float = 120.0) -> Reservation:
        """Take `cost` points from the shop's bucket, sleeping until they are there."""
        member = uuid.uuid4().hex
        waited = 0.0
        keys = [self._bucket_key(shop_domain), self._inflight_key(shop_domain)]
        while True:
            wait_text, _available, cost_text = self._reserve(
                keys=keys,
                args=[
                    cost,
                    self.default_maximum,
                    self.default_restore_rate,
                    member,
                    RESERVATION_TTL_SECONDS,
                    STATE_TTL_SECONDS,
                ],
            )
            wait = float(wait_text)
            if wait <= 0:
                return Reservation(
                    shop_domain=shop_domain,
                    member=f"{member}:{cost_text}",
                    cost=float(cost_text),
                    waited_seconds=waited,
                )
            if waited + wait > max_wait:
                raise ShopifyThrottled(
                    f"The API budget of {shop_domain} needs {wait:.1f}s more than the "
                    f"{max_wait:.0f}s we wait.",
                    retry_after=wait,
                    shop_domain=shop_domain,
                )
            # A few ms more than the exact refill time, so the next try fits.
            pause = wait + 0.005
            self.sleep(pause)
            waited += pause

    def reconcile(
        self,
        reservation: Reservation,
        *,
        spent: float | None,
        status: ThrottleStatus | None,
    ) -> float:
        """Settle a reservation with what Shopify charged (`spent`) and reported (`status`).

        `spent=None` means "unknown, assume the reservation was spent" (no answer came back).
        Returns the model's available points afterwards.
        """
        args: list[Any] = [
            reservation.member,
            reservation.cost,
            "" if spent is None else spent,
            "" if status is None else status.currently_available,
            "" if status is None else status.maximum_available,
            "" if status is None else status.restore_rate,
            self.default_maximum,
            self.default_restore_rate,
            STATE_TTL_SECONDS,
        ]
        available = self._reconcile(
            keys=[
                self._bucket_key(reservation.shop_domain),
                self._inflight_key(reservation.shop_domain),
            ],
            args=args,
        )
        return float(available)

    def state(self, *, shop_domain: str) -> dict[str, float]:
        """The stored model (as last written; not refilled to now). Empty if none yet."""
        raw = self.redis.hgetall(self._bucket_key(shop_domain))
        return {_text(key): float(value) for key, value in raw.items()}

    # -- expected costs -----------------------------------------------------------------------

    @staticmethod
    def cost_signature(document_name: str, variables: Mapping[str, Any] | None) -> str:
        """Cost depends on the document and its page sizes / list lengths, not on ids."""
        shape: dict[str, int | str] = {}
        for key, value in sorted((variables or {}).items()):
            if isinstance(value, bool):
                continue
            if isinstance(value, int):
                shape[key] = value
            elif isinstance(value, list):
                shape[key] = f"len{len(value)}"
        return f"{document_name}|{json.dumps(shape, sort_keys=True, separators=(',', ':'))}"

    def expected_cost(
        self, *, document_name: str, variables: Mapping[str, Any] | None, default: float
    ) -> float:
        """What this call will most likely be charged up front (Shopify's requested cost).

        The exact figure Shopify gave for the same document and page sizes if we have one;
        else our static estimate (`default`) scaled by how far off it was for this document
        last time; else the static estimate itself.
        """
        exact, ratio = self.redis.hmget(
            self._cost_key(),
            [self.cost_signature(document_name, variables), f"{document_name}|ratio"],
        )
        if exact is not None:
            return float(exact)
        if ratio is not None and default > 0:
            return max(1.0, math.ceil(float(default) * float(ratio)))
        return float(default)

    def learn_cost(
        self,
        *,
        document_name: str,
        variables: Mapping[str, Any] | None,
        requested: float,
        estimate: float | None = None,
    ) -> None:
        values: dict[EncodableT, EncodableT] = {
            self.cost_signature(document_name, variables): str(requested)
        }
        if estimate:
            values[f"{document_name}|ratio"] = str(requested / estimate)
        self.redis.hset(self._cost_key(), mapping=values)
