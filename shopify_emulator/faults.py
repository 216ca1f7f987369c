"""Fault injection: what can go wrong between an app and Shopify, on demand.

Rates are probabilities in [0, 1] drawn per request (or per webhook delivery). Faults can be set
globally or for one shop; a shop's own settings win over the global ones, field by field.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

RATE_FIELDS = (
    "throttle_rate",
    "error_rate",
    "timeout_rate",
    "webhook_duplicate_rate",
    "webhook_drop_rate",
)


@dataclass
class Faults:
    throttle_rate: float = 0.0  # GraphQL answers THROTTLED (HTTP 200, Shopify's body)
    error_rate: float = 0.0  # GraphQL answers 502/503 without executing
    timeout_rate: float = 0.0  # GraphQL reply held for fault_timeout_seconds
    # False: the request is executed and only the reply is late (the write happened).
    # True: the request is held first and then answered 504 without executing.
    timeout_before_execute: bool = False
    webhook_duplicate_rate: float = 0.0  # the same delivery (same Webhook-Id) sent twice
    webhook_drop_rate: float = 0.0  # a delivery is silently never sent (Shopify promises none)
    webhook_reorder: bool = False  # hold deliveries back by a random time so others overtake
    webhook_reorder_window_ms: int = 300
    webhook_delay_ms: int = 0  # fixed extra delay before each first attempt

    def validate(self) -> None:
        for name in RATE_FIELDS:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.webhook_delay_ms < 0 or self.webhook_reorder_window_ms < 0:
            raise ValueError("delays must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FIELD_TYPES = {f.name: f.type for f in fields(Faults)}


def _coerce(name: str, value: Any) -> Any:
    kind = FIELD_TYPES[name]
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        raise ValueError(f"{name} must be a boolean")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be a number")
    try:
        return int(value) if kind == "int" else float(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number") from exc


class FaultBoard:
    """The current faults plus the random source that decides them. Thread-safe."""

    def __init__(self, seed: int | None = None) -> None:
        self.lock = threading.Lock()
        self.global_faults = Faults()
        self.shop_faults: dict[str, dict[str, Any]] = {}
        self.rng = random.Random(seed)

    def update(self, changes: dict[str, Any], *, shop: str | None = None) -> dict[str, Any]:
        """Apply a partial update (unknown keys → ValueError); returns the new state."""
        unknown = set(changes) - set(FIELD_TYPES) - {"seed"}
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        with self.lock:
            if "seed" in changes:
                self.rng.seed(changes["seed"])
            coerced = {k: _coerce(k, v) for k, v in changes.items() if k != "seed"}
            if shop is None:
                candidate = Faults(**{**self.global_faults.to_dict(), **coerced})
                candidate.validate()
                self.global_faults = candidate
            else:
                merged = {**self.shop_faults.get(shop, {}), **coerced}
                Faults(**{**self.global_faults.to_dict(), **merged}).validate()
                self.shop_faults[shop] = merged
            return self.state()

    def reset(self) -> None:
        with self.lock:
            self.global_faults = Faults()
            self.shop_faults.clear()

    def state(self) -> dict[str, Any]:
        return {
            **self.global_faults.to_dict(),
            "shops": {shop: dict(values) for shop, values in self.shop_faults.items()},
        }

    def for_shop(self, shop: str | None) -> Faults:
        with self.lock:
            overrides = self.shop_faults.get(shop or "", {})
            if not overrides:
                return self.global_faults
            return Faults(**{**self.global_faults.to_dict(), **overrides})

    def roll(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        with self.lock:
            return self.rng.random() < rate

    def uniform(self, low: float, high: float) -> float:
        with self.lock:
            return self.rng.uniform(low, high)

    def choice(self, options: list[Any]) -> Any:
        with self.lock:
            return self.rng.choice(options)


def throttled_body(world: Any, *, shop_domain: str, body: dict[str, Any], api_version: str) -> dict:
    """Shopify's THROTTLED reply (HTTP 200) for an injected throttle fault.

    Built by throttle.py from the shop's real bucket and the document's requested cost, so
    clients that pace themselves on `throttleStatus` see consistent numbers. Nothing is taken
    from the bucket: the request never ran.
    """
    from shopify_emulator import throttle

    shop = world.shop_get(shop_domain)
    if shop is None:  # removed since the endpoint checked it: a full bucket of the default plan
        bucket = throttle.LeakyBucket(
            restore_rate=throttle.restore_rate_for_plan(throttle.DEFAULT_PLAN)
        )
    else:
        with world.lock:
            if world.buckets is None:
                world.buckets = throttle.BucketRegistry()
            registry = world.buckets
        bucket = registry.bucket(shop_domain=shop_domain, plan=shop.plan)
    return throttle.throttled_response(requested=_requested_cost(body), bucket=bucket)


def _requested_cost(body: dict[str, Any]) -> int:
    """The document's requested cost; 10 (a mutation's base cost) when it cannot be computed."""
    # Imported here: the GraphQL machinery is only needed once a throttle fault fires.
    from shopify_emulator.admin_graphql import cost
    from shopify_emulator.admin_graphql.query_cache import QUERY_CACHE
    from shopify_emulator.schema import get_schema

    try:
        schema = get_schema()
        document = QUERY_CACHE.get(schema, body.get("query") or "").document
        if document is None:  # not even parsed
            return 10
        return int(
            cost.requested_query_cost(
                schema=schema,
                document=document,
                variables=body.get("variables") or {},
                operation_name=body.get("operationName"),
            )
        )
    except Exception:  # noqa: BLE001 - an invalid document still gets a plausible number
        return 10
