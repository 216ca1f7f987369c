"""Per-shop counters, read through GET /_emulator/stats. Thread-safe."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

COUNTERS = (
    "graphql_requests",
    "graphql_errors_injected",
    "graphql_timeouts_injected",
    "graphql_unauthorized",
    "cost_consumed",
    "throttled",
    "webhooks_sent",
    "webhooks_attempts",
    "webhooks_retried",
    "webhooks_failed",
    "webhooks_duplicated",
    "webhooks_dropped",
)


def _zero() -> dict[str, float]:
    return dict.fromkeys(COUNTERS, 0)


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.shops: dict[str, dict[str, float]] = defaultdict(_zero)
        # shop -> root field of an executed GraphQL request (e.g. inventorySetQuantities) -> n
        self.root_fields: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, shop: str, counter: str, amount: float = 1) -> None:
        with self.lock:
            self.shops[shop][counter] += amount

    def add_root_fields(self, shop: str, names: list[str]) -> None:
        with self.lock:
            for name in names:
                self.root_fields[shop][name] += 1

    def reset(self) -> None:
        with self.lock:
            self.shops.clear()
            self.root_fields.clear()

    def snapshot(self, pending_webhooks: int = 0) -> dict[str, Any]:
        with self.lock:
            shops = {
                shop: {k: (int(v) if float(v).is_integer() else v) for k, v in values.items()}
                for shop, values in self.shops.items()
            }
            root_fields = {shop: dict(names) for shop, names in self.root_fields.items()}
        totals = _zero()
        for values in shops.values():
            for key, value in values.items():
                totals[key] += value
        return {"shops": shops, "totals": totals, "webhooks_pending": pending_webhooks,
                "root_fields": root_fields}


class InventoryChangeLog:
    """When each inventory level changed, by the wall clock: one entry per
    inventory_levels/update event the world emits (whatever caused it, whether or not webhooks
    are delivered). A World listener; bounded, oldest dropped first. Read through
    GET /_emulator/inventory/changes (e.g. to time propagation from one shop to others)."""

    def __init__(self, *, maxlen: int = 250_000, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.Lock()
        self.clock = clock
        self.entries: deque[dict[str, Any]] = deque(maxlen=maxlen)

    def on_event(self, shop: str, topic: str, payload: dict[str, Any]) -> None:
        if topic != "inventory_levels/update":
            return
        entry = {
            "shop": shop,
            "inventory_item_id": payload.get("inventory_item_id"),
            "location_id": payload.get("location_id"),
            "available": payload.get("available"),
        }
        with self.lock:  # the clock is read under the lock: entries are in time order
            entry["at"] = self.clock()
            self.entries.append(entry)

    def since(self, at: float, *, shop: str | None = None, limit: int = 10_000) -> list[dict]:
        """Entries strictly after `at`, oldest first (the newest `limit` if there are more)."""
        found: list[dict[str, Any]] = []
        with self.lock:
            for entry in reversed(self.entries):
                if entry["at"] <= at or len(found) >= limit:
                    break
                if shop is None or entry["shop"] == shop:
                    found.append(dict(entry))
        found.reverse()
        return found

    def reset(self) -> None:
        with self.lock:
            self.entries.clear()
