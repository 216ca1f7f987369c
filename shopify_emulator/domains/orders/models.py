"""Orders, their line items and refunds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from shopify_emulator.formats import money


@dataclass
class LineItem:
    id: int
    variant_id: int | None
    product_id: int | None
    sku: str
    title: str
    variant_title: str
    vendor: str
    quantity: int
    price: str
    requires_shipping: bool = True
    taxable: bool = True
    grams: int = 0
    fulfilled_quantity: int = 0
    refunded_quantity: int = 0
    committed: int = 0  # units of this line currently held in `committed` at location_id
    location_id: int | None = None
    order_id: int = 0


@dataclass
class Refund:
    id: int
    order_id: int
    created_at: datetime
    note: str | None = None
    restock: bool = False
    # [{"id", "line_item_id", "quantity", "restock_type", "location_id", "subtotal"}]
    refund_line_items: list[dict] = field(default_factory=list)
    transactions: list[dict] = field(default_factory=list)


@dataclass
class Order:
    id: int
    number: int
    created_at: datetime
    updated_at: datetime
    processed_at: datetime
    currency: str
    financial_status: str = "paid"  # REST lowercase
    email: str | None = None
    phone: str | None = None
    customer: dict | None = None
    shipping_address: dict | None = None
    billing_address: dict | None = None
    shipping_lines: list[dict] = field(default_factory=list)  # [{"id","title","code","price"}]
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    line_items: list[LineItem] = field(default_factory=list)
    fulfillment_order_ids: list[int] = field(default_factory=list)
    fulfillment_ids: list[int] = field(default_factory=list)
    refund_ids: list[int] = field(default_factory=list)
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    closed_at: datetime | None = None
    source_name: str = "web"
    source_identifier: str | None = None
    test: bool = False
    restocked: bool = False

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @property
    def subtotal(self) -> Decimal:
        return sum((money(li.price) * li.quantity for li in self.line_items), Decimal("0.00"))

    @property
    def shipping_total(self) -> Decimal:
        return sum((money(s.get("price")) for s in self.shipping_lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping_total

    def line(self, line_item_id: int) -> LineItem | None:
        for line in self.line_items:
            if line.id == line_item_id:
                return line
        return None
