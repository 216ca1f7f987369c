"""A shop and the tables of everything in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shopify_emulator.domains.billing.models import AppSubscription
    from shopify_emulator.domains.bulk.models import BulkOperation
    from shopify_emulator.domains.fulfillments.models import Fulfillment, FulfillmentOrder
    from shopify_emulator.domains.inventory.models import AdjustmentGroup, InventoryItem
    from shopify_emulator.domains.locations.models import Location
    from shopify_emulator.domains.orders.models import Order, Refund
    from shopify_emulator.domains.products.models import Product, Variant
    from shopify_emulator.domains.webhook_subscriptions.models import WebhookSubscription

FIRST_ORDER_NUMBER = 1001


@dataclass
class Shop:
    id: int
    domain: str
    name: str
    plan: str
    currency: str
    email: str
    created_at: datetime
    # `currencyFormats.moneyFormat`: how the shop writes an amount ("${{amount}}").
    money_format: str = "${{amount}}"
    primary_location_id: int = 0
    locations: dict[int, Location] = field(default_factory=dict)
    products: dict[int, Product] = field(default_factory=dict)
    variants: dict[int, Variant] = field(default_factory=dict)
    inventory_items: dict[int, InventoryItem] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    fulfillment_orders: dict[int, FulfillmentOrder] = field(default_factory=dict)
    fulfillments: dict[int, Fulfillment] = field(default_factory=dict)
    refunds: dict[int, Refund] = field(default_factory=dict)
    subscriptions: dict[int, WebhookSubscription] = field(default_factory=dict)
    bulk_operations: dict[int, BulkOperation] = field(default_factory=dict)
    adjustment_groups: dict[int, AdjustmentGroup] = field(default_factory=dict)
    customers: dict[str, dict] = field(default_factory=dict)  # by lowercased email
    # The app's recurring charges (``subscriptions`` above are webhook subscriptions).
    app_subscriptions: dict[int, AppSubscription] = field(default_factory=dict)
    # The emails Shopify sent this shop's customers (its notification log): shipping
    # confirmations of fulfilments made with notifyCustomer, oldest first.
    customer_notifications: list[dict] = field(default_factory=list)
    next_order_number: int = FIRST_ORDER_NUMBER

    @property
    def primary_location(self) -> Location:
        return self.locations[self.primary_location_id]

    def variant_by_sku(self, sku: str) -> Variant | None:
        for variant in self.variants.values():
            item = self.inventory_items.get(variant.inventory_item_id)
            if item is not None and item.sku == sku:
                return variant
        return None

    def item_of(self, variant: Variant) -> InventoryItem:
        return self.inventory_items[variant.inventory_item_id]

    def product_variants(self, product: Product) -> list[Variant]:
        return [self.variants[v] for v in product.variant_ids if v in self.variants]

    def inventory_quantity(self, variant: Variant) -> int:
        item = self.item_of(variant)
        return sum(level.available for level in item.levels.values())
