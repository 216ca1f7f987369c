"""The emulated world: every shop, under one lock, with one clock and one id sequence.

Every read and write happens under ``World.lock``. Domain operations (``domains/*/operations``)
record the webhooks they cause with :meth:`World.emit`; the records are turned into REST
payloads while the lock is held and handed to ``World.listeners`` once the outermost
:meth:`World.transaction` has committed.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from shopify_emulator import snapshot
from shopify_emulator.domains.shop.models import Shop

Listener = Callable[[str, str, dict], None]

FIRST_ID = 7_000_000_000


class EmulatorError(ValueError):
    """A merchant action the emulated Shopify refuses (bad sku, unknown order, ...)."""


class World:
    """All emulated shops. Thread-safe: everything runs under ``lock``."""

    def __init__(self, *, clock: Callable[[], float] | None = None) -> None:
        self.lock = threading.RLock()
        self.listeners: list[Listener] = []
        self.clock: Callable[[], float] = clock or time.time
        # Where the emulator is reached, for URLs it hands out (bulk operation results).
        self.base_url: str = "http://127.0.0.1:8765"
        self._depth = 0
        self._pending: list[tuple[str, str, dict]] = []
        self._now: tuple[int, datetime] = (-1, datetime.fromtimestamp(0, tz=UTC))
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.shops: dict[str, Shop] = {}
            self._next_id = FIRST_ID
            # (shop domain, key) -> {"fingerprint", "result", "at"}
            self.idempotency: dict[tuple[str, str], dict] = {}
            # A lower bound of every entry's "at" (admin_graphql.idempotency keeps it).
            self.idempotency_oldest: float = math.inf
            # throttle.BucketRegistry, created lazily by graphql_api (reset = full buckets)
            self.buckets: Any = None
            self._pending = []

    def next_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    def now(self) -> datetime:
        second = int(self.clock())
        cached = self._now
        if cached[0] == second:  # a 250-item write asks 500 times within the same second
            return cached[1]
        value = datetime.fromtimestamp(second, tz=UTC)
        self._now = (second, value)
        return value

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock; deliver recorded webhooks to listeners after the outermost exit."""
        self.lock.acquire()
        self._depth += 1
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            self._depth -= 1
            deliver: list[tuple[str, str, dict]] = []
            if self._depth == 0:
                if not failed:
                    deliver = self._pending
                self._pending = []
            self.lock.release()
            for shop_domain, topic, payload in deliver:
                for listener in list(self.listeners):
                    listener(shop_domain, topic, payload)

    def emit(self, shop: Shop, topic: str, payload: dict) -> None:
        """Record a webhook caused by the current operation (delivered after commit)."""
        self._pending.append((shop.domain, topic, payload))

    def require_shop(self, domain: str) -> Shop:
        shop = self.shops.get(domain)
        if shop is None:
            raise EmulatorError(f"Unknown shop {domain!r}")
        return shop

    def shop_get(self, domain: str) -> Shop | None:
        with self.lock:
            return self.shops.get(domain)

    def to_snapshot(self) -> dict:
        with self.lock:
            return {
                "version": 1,
                "next_id": self._next_id,
                "shops": [snapshot.dump(shop) for shop in self.shops.values()],
            }

    @classmethod
    def from_snapshot(cls, data: dict, *, clock: Callable[[], float] | None = None) -> World:
        world = cls(clock=clock)
        world._next_id = int(data.get("next_id", FIRST_ID))
        for raw in data.get("shops", []):
            shop = snapshot.shop_load(raw)
            world.shops[shop.domain] = shop
        return world
