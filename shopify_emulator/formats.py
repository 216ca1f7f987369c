"""Shopify's value formats shared by the REST payloads and the GraphQL API: money as strings
with two decimals, REST timestamps, price sets, tag lists."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any


def money(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else "0")).quantize(Decimal("0.01"))


def money_str(value: Any) -> str:
    return str(money(value))


def ts(value: datetime | None) -> str | None:
    """REST timestamp: ``2026-06-25T01:33:55+00:00``."""
    if value is None:
        return None
    if value.tzinfo is UTC:
        # The world's own timestamps (all UTC, whole seconds, shared by everything one
        # request touches): formatting each was a tenth of a 250-item inventory write.
        return _utc_ts(value)
    return value.replace(microsecond=0).isoformat()


@lru_cache(maxsize=4096)
def _utc_ts(value: datetime) -> str:
    # Only UTC values get here: equal keys then always format alike (an aware datetime equals
    # the same instant in another offset, which would format differently).
    return value.replace(microsecond=0).isoformat()


def price_set(amount: Any, currency: str) -> dict:
    value = {"amount": money_str(amount), "currency_code": currency}
    return {"shop_money": dict(value), "presentment_money": dict(value)}


def dedupe(values: list[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def normalize_tags(tags: list[str] | str) -> list[str]:
    if isinstance(tags, str):
        tags = tags.split(",")
    cleaned = [str(t).strip() for t in tags]
    return dedupe([t for t in cleaned if t])
