"""A recurring app subscription: what the app asked the merchant to pay, and its status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# AppSubscriptionStatus values the emulator moves a subscription through (ACCEPTED is
# deprecated: since 2021-01 approval goes straight from PENDING to ACTIVE).
PENDING = "PENDING"
ACTIVE = "ACTIVE"
DECLINED = "DECLINED"
EXPIRED = "EXPIRED"
FROZEN = "FROZEN"
CANCELLED = "CANCELLED"
STATUSES = (PENDING, ACTIVE, DECLINED, EXPIRED, FROZEN, CANCELLED)
# Billed to the shop: what `activeSubscriptions` lists and a replacement cancels.
LIVE_STATUSES = (ACTIVE, FROZEN)

INTERVAL_DAYS = {"EVERY_30_DAYS": 30, "ANNUAL": 365}


@dataclass
class AppSubscription:
    id: int
    name: str
    status: str
    test: bool
    trial_days: int
    return_url: str
    price: str  # "39.00"
    currency: str
    interval: str  # AppPricingInterval: EVERY_30_DAYS | ANNUAL
    replacement_behavior: str
    # The confirmation URL's `signature`: only whoever got the URL from the API may answer it.
    signature: str
    created_at: datetime
    updated_at: datetime
    current_period_end: datetime | None = None
