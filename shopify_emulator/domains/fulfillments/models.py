"""Fulfillment orders (what is left to ship, per location) and fulfillments (what shipped)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class FulfillmentOrderLineItem:
    id: int
    line_item_id: int
    inventory_item_id: int | None
    total_quantity: int
    remaining_quantity: int
    order_id: int = 0


@dataclass
class FulfillmentOrder:
    id: int
    order_id: int
    location_id: int
    created_at: datetime
    updated_at: datetime
    status: str = "OPEN"  # OPEN | IN_PROGRESS | CLOSED | CANCELLED | SCHEDULED | ON_HOLD
    request_status: str = "UNSUBMITTED"
    line_items: list[FulfillmentOrderLineItem] = field(default_factory=list)
    fulfillment_ids: list[int] = field(default_factory=list)


@dataclass
class Fulfillment:
    id: int
    order_id: int
    name: str
    location_id: int
    created_at: datetime
    updated_at: datetime
    status: str = "success"
    tracking_company: str | None = None
    tracking_numbers: list[str] = field(default_factory=list)
    tracking_urls: list[str] = field(default_factory=list)
    line_items: list[dict] = field(default_factory=list)  # [{"id", "line_item_id", "quantity"}]
    fulfillment_order_ids: list[int] = field(default_factory=list)
    notify_customer: bool = False
    shipment_status: str | None = None
