"""The per-shop leaky bucket and the rate-limit bodies, against Shopify's observed shapes."""

from __future__ import annotations

import math
import threading

import pytest

from shopify_emulator.throttle import (
    PLAN_RESTORE_RATES,
    BucketRegistry,
    LeakyBucket,
    cost_extension,
    max_cost_exceeded_response,
    restore_rate_for_plan,
    throttled_response,
)


class FakeClock:
    """Seconds that only move when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bucket(clock: FakeClock) -> LeakyBucket:
    return LeakyBucket(restore_rate=100.0, clock=clock)


def test_bucket_starts_full_at_twenty_times_the_restore_rate(bucket: LeakyBucket) -> None:
    assert bucket.status() == {
        "maximumAvailable": 2000.0,
        "currentlyAvailable": 2000,
        "restoreRate": 100.0,
    }


def test_status_types_match_shopify(bucket: LeakyBucket, clock: FakeClock) -> None:
    # Shopify: "maximumAvailable": 2000.0, "currentlyAvailable": 1988, "restoreRate": 100.0
    assert bucket.try_take(cost=12.5)
    status = bucket.status()
    assert list(status) == ["maximumAvailable", "currentlyAvailable", "restoreRate"]
    assert type(status["maximumAvailable"]) is float
    assert type(status["currentlyAvailable"]) is int
    assert type(status["restoreRate"]) is float
    assert status["currentlyAvailable"] == 1987


def test_takes_until_empty_then_refuses_without_taking(bucket: LeakyBucket) -> None:
    assert bucket.try_take(cost=1000)
    assert bucket.try_take(cost=999)
    assert bucket.try_take(cost=1)
    assert not bucket.try_take(cost=1)
    assert bucket.status()["currentlyAvailable"] == 0
    assert not bucket.try_take(cost=1)
    assert bucket.available == 0.0


def test_a_request_bigger_than_what_is_left_is_refused_whole(bucket: LeakyBucket) -> None:
    assert bucket.try_take(cost=1990)
    assert not bucket.try_take(cost=11)
    assert bucket.status()["currentlyAvailable"] == 10
    assert bucket.try_take(cost=10)


def test_refills_at_exactly_the_restore_rate(bucket: LeakyBucket, clock: FakeClock) -> None:
    assert bucket.try_take(cost=2000)
    clock.advance(0.5)
    assert bucket.available == 50.0
    assert not bucket.try_take(cost=51)
    assert bucket.try_take(cost=50)
    clock.advance(0.255)
    assert bucket.status()["currentlyAvailable"] == 25
    clock.advance(3600)
    assert bucket.available == 2000.0


def test_a_clock_stepping_back_does_not_drain(bucket: LeakyBucket, clock: FakeClock) -> None:
    assert bucket.try_take(cost=100)
    clock.advance(-10)
    assert bucket.available == 1900.0


def test_refund_is_capped_at_the_maximum(bucket: LeakyBucket) -> None:
    assert bucket.try_take(cost=100)
    bucket.refund(amount=40)
    assert bucket.available == 1940.0
    bucket.refund(amount=500)
    assert bucket.available == 2000.0


def test_reserve_then_refund_charges_the_actual_cost(bucket: LeakyBucket) -> None:
    requested, actual = 862, 158
    assert bucket.try_take(cost=requested)
    bucket.refund(amount=requested - actual)
    assert bucket.status()["currentlyAvailable"] == 2000 - actual


def test_seconds_until(bucket: LeakyBucket, clock: FakeClock) -> None:
    assert bucket.seconds_until(cost=500) == 0.0
    assert bucket.try_take(cost=2000)
    assert bucket.seconds_until(cost=250) == 2.5
    clock.advance(1)
    assert bucket.seconds_until(cost=250) == 1.5
    assert bucket.seconds_until(cost=2001) == math.inf


def test_explicit_maximum(clock: FakeClock) -> None:
    bucket = LeakyBucket(restore_rate=50.0, maximum_available=1000.0, clock=clock)
    assert bucket.status() == {
        "maximumAvailable": 1000.0,
        "currentlyAvailable": 1000,
        "restoreRate": 50.0,
    }


def test_rejects_nonsense(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="restore_rate"):
        LeakyBucket(restore_rate=0, clock=clock)
    bucket = LeakyBucket(restore_rate=100, clock=clock)
    with pytest.raises(ValueError, match="cost"):
        bucket.try_take(cost=-1)
    with pytest.raises(ValueError, match="amount"):
        bucket.refund(amount=-1)


def test_concurrent_takes_never_overspend(clock: FakeClock) -> None:
    bucket = LeakyBucket(restore_rate=100.0, clock=clock)
    granted: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = sum(1 for _ in range(500) if bucket.try_take(cost=1))
        with lock:
            granted.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 2000
    assert bucket.available == 0.0


def test_plan_restore_rates() -> None:
    assert PLAN_RESTORE_RATES == {
        "standard": 100.0,
        "advanced": 200.0,
        "plus": 1000.0,
        "enterprise": 2000.0,
    }
    assert restore_rate_for_plan("Plus") == 1000.0
    assert restore_rate_for_plan("shopify_plus") == 1000.0
    # Basic, "Shopify" and development stores are billed at the Standard rate.
    assert restore_rate_for_plan("basic") == 100.0
    assert restore_rate_for_plan("partner_test") == 100.0


def test_registry_gives_each_shop_its_own_bucket_sized_by_plan(clock: FakeClock) -> None:
    registry = BucketRegistry(clock=clock)
    plus = registry.bucket(shop_domain="big.myshopify.com", plan="plus")
    small = registry.bucket(shop_domain="small.myshopify.com", plan="standard")
    assert plus.status() == {
        "maximumAvailable": 20000.0,
        "currentlyAvailable": 20000,
        "restoreRate": 1000.0,
    }
    assert small.status()["maximumAvailable"] == 2000.0
    assert small.try_take(cost=500)
    assert registry.bucket(shop_domain="small.myshopify.com", plan="standard") is small
    assert registry.bucket(shop_domain="SMALL.myshopify.com", plan="plus") is small
    assert plus.available == 20000.0


def test_registry_reset_and_forget_start_buckets_full(clock: FakeClock) -> None:
    registry = BucketRegistry(clock=clock)
    first = registry.bucket(shop_domain="a.myshopify.com", plan="standard")
    assert first.try_take(cost=2000)
    registry.forget(shop_domain="a.myshopify.com")
    second = registry.bucket(shop_domain="a.myshopify.com", plan="advanced")
    assert second is not first
    assert second.status()["currentlyAvailable"] == 4000
    assert second.try_take(cost=10)
    registry.reset()
    assert registry.bucket(shop_domain="a.myshopify.com", plan="standard").available == 2000.0


def test_cost_extension_shape(bucket: LeakyBucket) -> None:
    assert bucket.try_take(cost=12)
    assert cost_extension(requested=12, actual=12, bucket=bucket) == {
        "requestedQueryCost": 12,
        "actualQueryCost": 12,
        "throttleStatus": {
            "maximumAvailable": 2000.0,
            "currentlyAvailable": 1988,
            "restoreRate": 100.0,
        },
    }


def test_throttled_response_shape(bucket: LeakyBucket) -> None:
    assert bucket.try_take(cost=1950)
    assert throttled_response(requested=70, bucket=bucket) == {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ],
        "extensions": {
            "cost": {
                "requestedQueryCost": 70,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 2000.0,
                    "currentlyAvailable": 50,
                    "restoreRate": 100.0,
                },
            }
        },
    }
    assert bucket.available == 50.0


def test_max_cost_exceeded_response_shape(bucket: LeakyBucket) -> None:
    body = max_cost_exceeded_response(requested=1293, bucket=bucket)
    assert body == {
        "errors": [
            {
                "message": (
                    "Query cost is 1293, which exceeds the single query max cost limit (1000).\n"
                    "\n"
                    "See https://shopify.dev/docs/api/usage/rate-limits for more information"
                    " on how the\n"
                    "cost of a query is calculated.\n"
                    "\n"
                    "To query larger amounts of data with fewer limits, bulk operations should"
                    " be used instead.\n"
                    "See https://shopify.dev/docs/api/usage/bulk-operations/queries for usage"
                    " details.\n"
                ),
                "extensions": {
                    "code": "MAX_COST_EXCEEDED",
                    "cost": 1293,
                    "maxCost": 1000,
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ]
    }
    assert "data" not in body
    assert bucket.available == 2000.0
