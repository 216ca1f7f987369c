"""The world as JSON and back: dataclasses, datetimes, bytes and int-keyed dicts tagged so
that a snapshot file restores exactly the state that was saved."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from shopify_emulator.domains.billing.models import AppSubscription
from shopify_emulator.domains.bulk.models import BulkOperation
from shopify_emulator.domains.fulfillments.models import (
    Fulfillment,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
)
from shopify_emulator.domains.inventory.models import AdjustmentGroup, InventoryItem, InventoryLevel
from shopify_emulator.domains.locations.models import Location
from shopify_emulator.domains.orders.models import LineItem, Order, Refund
from shopify_emulator.domains.products.models import Product, Variant
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.domains.webhook_subscriptions.models import WebhookSubscription


def dump(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"__dt__": value.isoformat()}
    if isinstance(value, bytes):
        return {"__bytes__": value.decode("utf-8")}
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: dump(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {"__dict__": [[dump(k), dump(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    return value


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        if "__dt__" in value:
            return datetime.fromisoformat(value["__dt__"])
        if "__bytes__" in value:
            return value["__bytes__"].encode("utf-8")
        if "__dict__" in value:
            return {plain(k): plain(v) for k, v in value["__dict__"]}
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def shop_load(raw: dict) -> Shop:
    data = plain(raw)
    shop = Shop(**{k: v for k, v in data.items() if not isinstance(v, dict)
                   and k not in ("locations",)}, )
    shop.locations = {k: Location(**v) for k, v in data["locations"].items()}
    shop.products = {k: Product(**v) for k, v in data["products"].items()}
    shop.variants = {k: Variant(**v) for k, v in data["variants"].items()}
    shop.inventory_items = {}
    for key, value in data["inventory_items"].items():
        levels = {lk: InventoryLevel(**lv) for lk, lv in value.pop("levels").items()}
        # Absent from snapshots written before deactivated levels were kept.
        inactive = {lk: InventoryLevel(**lv)
                    for lk, lv in value.pop("inactive_levels", {}).items()}
        shop.inventory_items[key] = InventoryItem(**value, levels=levels,
                                                  inactive_levels=inactive)
    shop.orders = {}
    for key, value in data["orders"].items():
        line_items = [LineItem(**li) for li in value.pop("line_items")]
        shop.orders[key] = Order(**value, line_items=line_items)
    shop.fulfillment_orders = {}
    for key, value in data["fulfillment_orders"].items():
        lines = [FulfillmentOrderLineItem(**li) for li in value.pop("line_items")]
        shop.fulfillment_orders[key] = FulfillmentOrder(**value, line_items=lines)
    shop.fulfillments = {k: Fulfillment(**v) for k, v in data["fulfillments"].items()}
    shop.refunds = {k: Refund(**v) for k, v in data["refunds"].items()}
    shop.subscriptions = {k: WebhookSubscription(**v) for k, v in data["subscriptions"].items()}
    shop.bulk_operations = {k: BulkOperation(**v) for k, v in data["bulk_operations"].items()}
    shop.adjustment_groups = {k: AdjustmentGroup(**v) for k, v in
                              data["adjustment_groups"].items()}
    shop.customers = dict(data["customers"])
    # Absent from snapshots written before billing was emulated.
    shop.app_subscriptions = {k: AppSubscription(**v)
                              for k, v in data.get("app_subscriptions", {}).items()}
    return shop
