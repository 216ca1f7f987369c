"""The emulated Shopify world: shops and everything in them, and Shopify's business rules.

Every read and write happens under ``World.lock``. Domain operations record the webhooks they
cause; the records are turned into REST payloads while the lock is held and handed to
``World.listeners`` once the outermost operation has committed.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shopify_emulator import rest
from shopify_emulator.ids import gid, inventory_level_gid

Listener = Callable[[str, str, dict], None]

# Quantity states that count in on_hand (available + the unavailable-but-present states).
ON_HAND_PARTS = ("available", "committed", "reserved", "damaged", "safety_stock", "quality_control")
QUANTITY_NAMES = (*ON_HAND_PARTS, "incoming", "on_hand")
IDEMPOTENCY_TTL_SECONDS = 25 * 3600
FIRST_ORDER_NUMBER = 1001
FIRST_ID = 7_000_000_000


class EmulatorError(ValueError):
    """A merchant action the emulated Shopify refuses (bad sku, unknown order, ...)."""


def money(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else "0")).quantize(Decimal("0.01"))


def money_str(value: Any) -> str:
    return str(money(value))


def handleize(title: str) -> str:
    handle = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return handle or "product"


# --------------------------------------------------------------------------- models


@dataclass
class Location:
    id: int
    group_id: int  # the number inside InventoryLevel gids for this location
    name: str
    created_at: datetime
    updated_at: datetime
    is_active: bool = True
    fulfills_online_orders: bool = True
    address1: str = "150 Elgin Street"
    city: str = "Ottawa"
    province: str = "Ontario"
    province_code: str = "ON"
    country: str = "Canada"
    country_code: str = "CA"
    zip: str = "K2P 1L4"
    phone: str = ""


@dataclass
class InventoryLevel:
    inventory_item_id: int
    location_id: int
    group_id: int
    created_at: datetime
    updated_at: datetime
    quantities: dict[str, int] = field(default_factory=dict)
    quantity_updated_at: dict[str, datetime] = field(default_factory=dict)

    def get(self, name: str) -> int:
        if name == "on_hand":
            return sum(self.quantities.get(part, 0) for part in ON_HAND_PARTS)
        return self.quantities.get(name, 0)

    @property
    def available(self) -> int:
        return self.get("available")

    @property
    def gid(self) -> str:
        return inventory_level_gid(group_id=self.group_id, inventory_item_id=self.inventory_item_id)


@dataclass
class InventoryItem:
    id: int
    variant_id: int
    sku: str
    created_at: datetime
    updated_at: datetime
    tracked: bool = True
    requires_shipping: bool = True
    cost: str | None = None
    levels: dict[int, InventoryLevel] = field(default_factory=dict)  # by location id


@dataclass
class Variant:
    id: int
    product_id: int
    inventory_item_id: int
    price: str
    position: int
    created_at: datetime
    updated_at: datetime
    option_values: list[str] = field(default_factory=list)
    barcode: str | None = None
    compare_at_price: str | None = None
    inventory_policy: str = "DENY"
    taxable: bool = True
    grams: int = 0

    @property
    def title(self) -> str:
        return " / ".join(self.option_values) if self.option_values else "Default Title"


@dataclass
class Product:
    id: int
    title: str
    handle: str
    created_at: datetime
    updated_at: datetime
    vendor: str = ""
    product_type: str = ""
    body_html: str = ""
    status: str = "ACTIVE"  # ACTIVE | DRAFT | ARCHIVED
    tags: list[str] = field(default_factory=list)
    options: list[dict] = field(default_factory=list)  # [{"id", "name", "values": [...]}]
    variant_ids: list[int] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)  # [{"id", "src", "alt", "created_at"}]
    published_at: datetime | None = None


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


@dataclass
class WebhookSubscription:
    id: int
    topic: str  # REST form, "orders/paid"
    uri: str
    created_at: datetime
    updated_at: datetime
    source: str = "api"
    format: str = "JSON"
    include_fields: list[str] = field(default_factory=list)
    filter: str | None = None
    name: str | None = None


@dataclass
class BulkOperation:
    id: int
    query: str
    created_at: datetime
    type: str = "QUERY"
    status: str = "CREATED"
    error_code: str | None = None
    completed_at: datetime | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None
    result: bytes | None = None


@dataclass
class AdjustmentGroup:
    id: int
    created_at: datetime
    reason: str
    reference_document_uri: str | None
    changes: list[dict]  # [{"name","delta","item_id","location_id","ledger_document_uri"}]


@dataclass
class Shop:
    id: int
    domain: str
    name: str
    plan: str
    currency: str
    email: str
    created_at: datetime
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


# --------------------------------------------------------------------------- world


class World:
    """All emulated shops. Thread-safe: everything runs under ``lock``."""

    def __init__(self, *, clock: Callable[[], float] | None = None) -> None:
        self.lock = threading.RLock()
        self.listeners: list[Listener] = []
        self.clock: Callable[[], float] = clock or time.time
        self.base_url: str = "http://127.0.0.1:8765"
        self._depth = 0
        self._pending: list[tuple[str, str, dict]] = []
        self._now: tuple[int, datetime] = (-1, datetime.fromtimestamp(0, tz=UTC))
        self.reset()

    # ---- infrastructure

    def reset(self) -> None:
        with self.lock:
            self.shops: dict[str, Shop] = {}
            self._next_id = FIRST_ID
            # (shop domain, key) -> {"fingerprint", "result", "at"}
            self.idempotency: dict[tuple[str, str], dict] = {}
            # A lower bound of every entry's "at" (resolvers.core.idempotent keeps it).
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

    # ---- shops

    def shop_create(
        self,
        *,
        domain: str,
        name: str,
        plan: str = "standard",
        currency: str = "USD",
        email: str | None = None,
    ) -> Shop:
        with self.transaction():
            if domain in self.shops:
                raise EmulatorError(f"Shop {domain!r} already exists")
            now = self.now()
            shop = Shop(
                id=self.next_id(),
                domain=domain,
                name=name,
                plan=plan,
                currency=currency,
                email=email or f"owner@{domain}",
                created_at=now,
            )
            for index, location_name in enumerate(("Main warehouse", "Second location")):
                location = Location(
                    id=self.next_id(),
                    group_id=self.next_id(),
                    name=location_name,
                    created_at=now,
                    updated_at=now,
                )
                shop.locations[location.id] = location
                if index == 0:
                    shop.primary_location_id = location.id
            self.shops[domain] = shop
            return shop

    def shop_get(self, domain: str) -> Shop | None:
        with self.lock:
            return self.shops.get(domain)

    def location_create(self, *, shop_domain: str, name: str) -> Location:
        with self.transaction():
            shop = self.require_shop(shop_domain)
            now = self.now()
            location = Location(
                id=self.next_id(), group_id=self.next_id(), name=name, created_at=now,
                updated_at=now,
            )
            shop.locations[location.id] = location
            return location

    # ---- products

    def product_create(
        self,
        *,
        shop_domain: str,
        title: str,
        vendor: str = "",
        tags: list[str] | tuple[str, ...] = (),
        variants: list[dict],
        product_type: str = "",
        body_html: str = "",
        status: str = "ACTIVE",
    ) -> dict:
        """Merchant creates a product; each variant is stocked at the primary location."""
        with self.transaction():
            shop = self.require_shop(shop_domain)
            now = self.now()
            product = Product(
                id=self.next_id(),
                title=title,
                handle=self.unique_handle(shop, handleize(title)),
                created_at=now,
                updated_at=now,
                vendor=vendor,
                product_type=product_type,
                body_html=body_html,
                status=status.upper(),
                tags=normalize_tags(list(tags)),
                published_at=now if status.upper() == "ACTIVE" else None,
            )
            has_options = any(v.get("option1") for v in variants)
            if has_options:
                values = [str(v.get("option1")) for v in variants]
                product.options = [
                    {"id": self.next_id(), "name": "Title", "values": dedupe(values)}
                ]
            else:
                product.options = [
                    {"id": self.next_id(), "name": "Title", "values": ["Default Title"]}
                ]
            shop.products[product.id] = product
            created_items: list[InventoryItem] = []
            for position, spec in enumerate(variants, start=1):
                option_values = [str(spec["option1"])] if spec.get("option1") else []
                variant = self.variant_add(
                    shop,
                    product,
                    sku=str(spec.get("sku") or ""),
                    price=spec.get("price", "0.00"),
                    barcode=spec.get("barcode"),
                    option_values=option_values,
                    position=position,
                )
                item = shop.item_of(variant)
                created_items.append(item)
                level = self.level_activate(shop, item, shop.primary_location)
                available = int(spec.get("available") or 0)
                if available:
                    self.level_change(level, "available", available)
            self.emit(shop, "products/create", rest.product(shop, product))
            for item in created_items:
                self.emit(shop, "inventory_items/create", rest.inventory_item(shop, item))
            for item in created_items:
                for level in item.levels.values():
                    self.emit(shop, "inventory_levels/update", rest.inventory_level(level))
            return rest.product(shop, product)

    def unique_handle(self, shop: Shop, handle: str, *, exclude: int | None = None) -> str:
        taken = {p.handle for p in shop.products.values() if p.id != exclude}
        candidate, suffix = handle, 1
        while candidate in taken:
            candidate = f"{handle}-{suffix}"
            suffix += 1
        return candidate

    def variant_add(
        self,
        shop: Shop,
        product: Product,
        *,
        sku: str,
        price: Any,
        option_values: list[str],
        position: int,
        barcode: str | None = None,
        compare_at_price: Any = None,
        tracked: bool = True,
        inventory_policy: str = "DENY",
    ) -> Variant:
        now = self.now()
        variant_id = self.next_id()
        item = InventoryItem(
            id=self.next_id(),
            variant_id=variant_id,
            sku=sku,
            created_at=now,
            updated_at=now,
            tracked=tracked,
        )
        variant = Variant(
            id=variant_id,
            product_id=product.id,
            inventory_item_id=item.id,
            price=money_str(price),
            position=position,
            created_at=now,
            updated_at=now,
            option_values=option_values,
            barcode=barcode,
            compare_at_price=money_str(compare_at_price) if compare_at_price is not None else None,
            inventory_policy=inventory_policy,
        )
        shop.inventory_items[item.id] = item
        shop.variants[variant.id] = variant
        product.variant_ids.append(variant.id)
        return variant

    def variant_remove(self, shop: Shop, product: Product, variant: Variant) -> None:
        product.variant_ids = [v for v in product.variant_ids if v != variant.id]
        shop.variants.pop(variant.id, None)
        shop.inventory_items.pop(variant.inventory_item_id, None)

    # ---- inventory primitives (caller holds the transaction)

    def level_activate(self, shop: Shop, item: InventoryItem, location: Location) -> InventoryLevel:
        level = item.levels.get(location.id)
        if level is None:
            now = self.now()
            level = InventoryLevel(
                inventory_item_id=item.id,
                location_id=location.id,
                group_id=location.group_id,
                created_at=now,
                updated_at=now,
                quantities={name: 0 for name in ON_HAND_PARTS + ("incoming",)},
            )
            item.levels[location.id] = level
        return level

    def level_change(self, level: InventoryLevel, name: str, delta: int) -> None:
        """Move one quantity state by ``delta`` (on_hand moves with its parts)."""
        if delta == 0:
            return
        if name == "on_hand":
            name = "available"
        now = self.now()
        level.quantities[name] = level.quantities.get(name, 0) + delta
        level.quantity_updated_at[name] = now
        level.updated_at = now

    def find_level(self, shop: Shop, *, sku: str, location_id: int | None) -> InventoryLevel:
        variant = shop.variant_by_sku(sku)
        if variant is None:
            raise EmulatorError(f"No variant with sku {sku!r} in {shop.domain}")
        item = shop.item_of(variant)
        location = shop.locations.get(location_id or shop.primary_location_id)
        if location is None:
            raise EmulatorError(f"Unknown location {location_id}")
        level = item.levels.get(location.id)
        if level is None:
            raise EmulatorError(f"{sku!r} is not stocked at location {location.id}")
        return level

    def inventory_set_available(
        self, *, shop_domain: str, sku: str, available: int, location_id: int | None = None
    ) -> dict:
        """The merchant types a new available quantity in the admin."""
        with self.transaction():
            shop = self.require_shop(shop_domain)
            level = self.find_level(shop, sku=sku, location_id=location_id)
            delta = int(available) - level.available
            if delta:
                self.level_change(level, "available", delta)
                self.emit(shop, "inventory_levels/update", rest.inventory_level(level))
            return rest.inventory_level(level)

    def inventory_adjust_available(
        self, *, shop_domain: str, sku: str, delta: int, location_id: int | None = None
    ) -> dict:
        with self.transaction():
            shop = self.require_shop(shop_domain)
            level = self.find_level(shop, sku=sku, location_id=location_id)
            if delta:
                self.level_change(level, "available", int(delta))
                self.emit(shop, "inventory_levels/update", rest.inventory_level(level))
            return rest.inventory_level(level)

    def inventory_level_set(
        self,
        *,
        shop_domain: str,
        inventory_item_id: int,
        location_id: int | None = None,
        available: int | None = None,
        delta: int | None = None,
    ) -> dict:
        """Like inventory_set_available / _adjust_available, by inventory item id."""
        with self.transaction():
            shop = self.require_shop(shop_domain)
            item = shop.inventory_items.get(inventory_item_id)
            if item is None:
                raise EmulatorError(f"Unknown inventory item {inventory_item_id}")
            level = item.levels.get(location_id or shop.primary_location_id)
            if level is None:
                raise EmulatorError(f"{inventory_item_id} is not stocked at {location_id}")
            change = int(available) - level.available if available is not None else int(delta or 0)
            if change:
                self.level_change(level, "available", change)
                self.emit(shop, "inventory_levels/update", rest.inventory_level(level))
            return rest.inventory_level(level)

    # ---- orders

    def customer_upsert(self, shop: Shop, data: dict | None, email: str | None) -> dict | None:
        if not data and not email:
            return None
        data = dict(data or {})
        address_email = (data.get("email") or email or "").strip()
        key = address_email.lower() or f"anonymous-{self.next_id()}"
        now = self.now()
        customer = shop.customers.get(key)
        if customer is None:
            customer = {
                "id": self.next_id(),
                "email": address_email or None,
                "first_name": None,
                "last_name": None,
                "phone": None,
                "created_at": now,
                "updated_at": now,
                "tags": "",
            }
            shop.customers[key] = customer
        for attr in ("first_name", "last_name", "phone"):
            if data.get(attr):
                customer[attr] = data[attr]
        customer["updated_at"] = now
        return customer

    def order_build(
        self,
        shop: Shop,
        *,
        lines: list[dict],
        financial_status: str,
        email: str | None,
        customer: dict | None,
        shipping_address: dict | None,
        billing_address: dict | None = None,
        shipping_lines: list[dict] | None = None,
        tags: list[str] | None = None,
        note: str | None = None,
        source_name: str = "web",
        source_identifier: str | None = None,
        phone: str | None = None,
        currency: str | None = None,
        test: bool = False,
        processed_at: datetime | None = None,
    ) -> Order:
        """Create the order and its fulfillment order (no stock moves, no webhooks)."""
        now = self.now()
        order = Order(
            id=self.next_id(),
            number=shop.next_order_number,
            created_at=now,
            updated_at=now,
            processed_at=processed_at or now,
            currency=currency or shop.currency,
            financial_status=financial_status,
            email=email or (customer or {}).get("email"),
            phone=phone,
            shipping_address=clean_address(shipping_address),
            billing_address=clean_address(billing_address or shipping_address),
            tags=normalize_tags(tags or []),
            note=note,
            source_name=source_name,
            source_identifier=source_identifier,
            test=test,
        )
        shop.next_order_number += 1
        order.customer = self.customer_upsert(shop, customer, order.email)
        for spec in shipping_lines or []:
            order.shipping_lines.append(
                {
                    "id": self.next_id(),
                    "title": spec.get("title") or "Shipping",
                    "code": spec.get("code") or spec.get("title") or "Shipping",
                    "price": money_str(spec.get("price", "0.00")),
                    "source": spec.get("source") or "shopify",
                }
            )
        for spec in lines:
            line = self.line_item_build(shop, spec)
            line.order_id = order.id
            order.line_items.append(line)
        fulfillment_order = FulfillmentOrder(
            id=self.next_id(),
            order_id=order.id,
            location_id=shop.primary_location_id,
            created_at=now,
            updated_at=now,
        )
        for line in order.line_items:
            if not line.requires_shipping and line.variant_id is None:
                continue
            variant = shop.variants.get(line.variant_id) if line.variant_id else None
            fulfillment_order.line_items.append(
                FulfillmentOrderLineItem(
                    id=self.next_id(),
                    line_item_id=line.id,
                    inventory_item_id=variant.inventory_item_id if variant else None,
                    total_quantity=line.quantity,
                    remaining_quantity=line.quantity,
                    order_id=order.id,
                )
            )
            line.location_id = shop.primary_location_id
        if fulfillment_order.line_items:
            shop.fulfillment_orders[fulfillment_order.id] = fulfillment_order
            order.fulfillment_order_ids.append(fulfillment_order.id)
        shop.orders[order.id] = order
        return order

    def line_item_build(self, shop: Shop, spec: dict) -> LineItem:
        variant: Variant | None = None
        if spec.get("variant_id") is not None:
            variant = shop.variants.get(int(spec["variant_id"]))
            if variant is None:
                raise EmulatorError(f"Unknown variant {spec['variant_id']}")
        elif spec.get("sku"):
            variant = shop.variant_by_sku(str(spec["sku"]))
            if variant is None:
                raise EmulatorError(f"No variant with sku {spec['sku']!r} in {shop.domain}")
        quantity = int(spec.get("quantity") or 0)
        if quantity <= 0:
            raise EmulatorError("Line quantity must be greater than 0")
        if variant is not None:
            product = shop.products[variant.product_id]
            item = shop.item_of(variant)
            variant_title = "" if variant.title == "Default Title" else variant.title
            return LineItem(
                id=self.next_id(),
                variant_id=variant.id,
                product_id=product.id,
                sku=spec.get("sku_override") or item.sku,
                title=spec.get("title") or product.title,
                variant_title=variant_title,
                vendor=product.vendor,
                quantity=quantity,
                price=money_str(spec.get("price") if spec.get("price") is not None
                                else variant.price),
                requires_shipping=item.requires_shipping,
                taxable=variant.taxable,
            )
        return LineItem(
            id=self.next_id(),
            variant_id=None,
            product_id=None,
            sku=str(spec.get("sku") or ""),
            title=str(spec.get("title") or "Custom item"),
            variant_title="",
            vendor="",
            quantity=quantity,
            price=money_str(spec.get("price", "0.00")),
            requires_shipping=bool(spec.get("requires_shipping", True)),
        )

    def order_commit_stock(self, shop: Shop, order: Order) -> list[InventoryLevel]:
        """available → committed for every tracked line at its location."""
        changed: list[InventoryLevel] = []
        for line in order.line_items:
            if line.variant_id is None or line.variant_id not in shop.variants:
                continue
            item = shop.item_of(shop.variants[line.variant_id])
            if not item.tracked:
                continue
            location = shop.locations[line.location_id or shop.primary_location_id]
            level = self.level_activate(shop, item, location)
            self.level_change(level, "available", -line.quantity)
            self.level_change(level, "committed", line.quantity)
            line.committed = line.quantity
            line.location_id = location.id
            if level not in changed:
                changed.append(level)
        return changed

    def emit_order_created(self, shop: Shop, order: Order) -> None:
        payload = rest.order(shop, order)
        self.emit(shop, "orders/create", payload)
        if order.financial_status == "paid":
            self.emit(shop, "orders/paid", payload)

    def order_checkout(
        self,
        *,
        shop_domain: str,
        lines: list[dict],
        financial_status: str = "paid",
        customer: dict | None = None,
        shipping_address: dict | None = None,
        email: str | None = None,
        shipping_lines: list[dict] | None = None,
        tags: list[str] | None = None,
        note: str | None = None,
    ) -> dict:
        """A storefront checkout: commits stock at the primary location, fires order webhooks."""
        with self.transaction():
            shop = self.require_shop(shop_domain)
            if not lines:
                raise EmulatorError("A checkout needs at least one line")
            if customer is None and email is None:
                customer = {"email": "customer@example.com", "first_name": "Alex",
                            "last_name": "Buyer"}
            if shipping_address is None:
                first = (customer or {}).get("first_name") or "Alex"
                last = (customer or {}).get("last_name") or "Buyer"
                shipping_address = {
                    "first_name": first, "last_name": last, "address1": "1 Main Street",
                    "city": "Toronto", "province": "Ontario", "province_code": "ON",
                    "country": "Canada", "country_code": "CA", "zip": "M5V 2T6",
                }
            order = self.order_build(
                shop,
                lines=lines,
                financial_status=financial_status.lower(),
                email=email or (customer or {}).get("email"),
                customer=customer,
                shipping_address=shipping_address,
                shipping_lines=shipping_lines
                if shipping_lines is not None
                else [{"title": "Standard", "code": "STANDARD", "price": "5.00"}],
                tags=tags,
                note=note,
            )
            changed = self.order_commit_stock(shop, order)
            self.emit_order_created(shop, order)
            for level in changed:
                self.emit(shop, "inventory_levels/update", rest.inventory_level(level))
            return rest.order(shop, order)

    def require_order(self, shop: Shop, order_id: int) -> Order:
        order = shop.orders.get(int(order_id))
        if order is None:
            raise EmulatorError(f"Unknown order {order_id} in {shop.domain}")
        return order

    def resolve_line(self, order: Order, spec: dict) -> LineItem:
        if spec.get("line_item_id") is not None:
            line = order.line(int(spec["line_item_id"]))
        else:
            line = next((li for li in order.line_items if li.sku == spec.get("sku")), None)
        if line is None:
            raise EmulatorError(f"Order {order.id} has no line {spec}")
        return line

    def fulfillable_quantity(self, shop: Shop, order: Order, line: LineItem) -> int:
        order_fos = [shop.fulfillment_orders[fo_id] for fo_id in order.fulfillment_order_ids]
        order_fos = [fo for fo in order_fos
                     if fo.status in ("OPEN", "IN_PROGRESS", "SCHEDULED", "ON_HOLD")]
        return sum(
            fli.remaining_quantity for fo in order_fos for fli in fo.line_items
            if fli.line_item_id == line.id
        )

    def refund_apply(
        self,
        shop: Shop,
        order: Order,
        *,
        lines: list[tuple[LineItem, int]],
        restock: bool,
        note: str | None = None,
        location_id: int | None = None,
    ) -> tuple[Refund, list[InventoryLevel]]:
        """Refund quantities of lines; unfulfilled units are cancelled, fulfilled are returned."""
        now = self.now()
        refund = Refund(id=self.next_id(), order_id=order.id, created_at=now, note=note,
                        restock=restock)
        changed: list[InventoryLevel] = []
        amount = Decimal("0.00")
        for line, quantity in lines:
            refundable = line.quantity - line.refunded_quantity
            if quantity <= 0 or quantity > refundable:
                raise EmulatorError(
                    f"Cannot refund {quantity} of line {line.id} (refundable {refundable})"
                )
            unfulfilled = self.fulfillable_quantity(shop, order, line)
            cancel_quantity = min(quantity, unfulfilled)
            return_quantity = quantity - cancel_quantity
            line.refunded_quantity += quantity
            amount += money(line.price) * quantity
            # Unfulfilled units leave the fulfillment orders.
            left = cancel_quantity
            for fo_id in order.fulfillment_order_ids:
                fo = shop.fulfillment_orders[fo_id]
                for fli in fo.line_items:
                    if fli.line_item_id == line.id and left > 0:
                        take = min(left, fli.remaining_quantity)
                        fli.remaining_quantity -= take
                        fli.total_quantity -= take
                        left -= take
                if fo.status in ("OPEN", "IN_PROGRESS") and all(
                    fli.remaining_quantity == 0 for fli in fo.line_items
                ):
                    fo.status = "CLOSED"
                    fo.updated_at = now
            level = self.line_level(shop, line, location_id)
            if cancel_quantity:
                released = min(cancel_quantity, line.committed)
                if level is not None and released:
                    self.level_change(level, "committed", -released)
                    if restock:
                        self.level_change(level, "available", released)
                    line.committed -= released
                    if level not in changed:
                        changed.append(level)
                refund.refund_line_items.append(
                    self.refund_line(line, cancel_quantity, "cancel" if restock else "no_restock",
                                     level)
                )
            if return_quantity:
                if restock and level is not None:
                    self.level_change(level, "available", return_quantity)
                    if level not in changed:
                        changed.append(level)
                refund.refund_line_items.append(
                    self.refund_line(line, return_quantity, "return" if restock else "no_restock",
                                     level)
                )
        if order.financial_status in ("paid", "partially_refunded", "partially_paid"):
            refund.transactions.append(
                {
                    "id": self.next_id(),
                    "order_id": order.id,
                    "kind": "refund",
                    "gateway": "manual",
                    "status": "success",
                    "amount": money_str(amount),
                    "currency": order.currency,
                    "created_at": now,
                }
            )
            refunded_total = sum(
                (money(t["amount"]) for r_id in order.refund_ids
                 for t in shop.refunds[r_id].transactions),
                Decimal("0.00"),
            ) + amount
            all_gone = all(li.refunded_quantity >= li.quantity for li in order.line_items)
            order.financial_status = (
                "refunded" if all_gone or refunded_total >= order.total else "partially_refunded"
            )
        shop.refunds[refund.id] = refund
        order.refund_ids.append(refund.id)
        order.updated_at = now
        return refund, changed

    def refund_line(
        self, line: LineItem, quantity: int, restock_type: str, level: InventoryLevel | None
    ) -> dict:
        return {
            "id": self.next_id(),
            "line_item_id": line.id,
            "quantity": quantity,
            "restock_type": restock_type,
            "location_id": level.location_id if level is not None and restock_type != "no_restock"
            else None,
            "subtotal": money_str(money(line.price) * quantity),
        }

    def line_level(
        self, shop: Shop, line: LineItem, location_id: int | None = None
    ) -> InventoryLevel | None:
        if line.variant_id is None or line.variant_id not in shop.variants:
            return None
        item = shop.item_of(shop.variants[line.variant_id])
        if not item.tracked:
            return None
        location = shop.locations.get(location_id or line.location_id or shop.primary_location_id)
        if location is None:
            return None
        return self.level_activate(shop, item, location)

    def order_refund(
        self, *, shop_domain: str, order_id: int, lines: list[dict], restock: bool = True
    ) -> dict:
        with self.transaction():
            shop = self.require_shop(shop_domain)
            order = self.require_order(shop, order_id)
            pairs = [(self.resolve_line(order, spec), int(spec.get("quantity") or 0))
                     for spec in lines]
            refund, changed = self.refund_apply(shop, order, lines=pairs, restock=restock)
            self.emit(shop, "refunds/create", rest.refund(shop, order, refund))
            self.emit(shop, "orders/updated", rest.order(shop, order))
            for level in changed:
                self.emit(shop, "inventory_levels/update", rest.inventory_level(level))
            return rest.refund(shop, order, refund)

    def order_cancel(
        self, *, shop_domain: str, order_id: int, restock: bool = True, reason: str = "customer"
    ) -> dict:
        with self.transaction():
            shop = self.require_shop(shop_domain)
            order = self.require_order(shop, order_id)
            result = self.cancel_apply(shop, order, restock=restock, reason=reason)
            return result

    def cancel_apply(self, shop: Shop, order: Order, *, restock: bool, reason: str) -> dict:
        if order.cancelled_at is not None:
            raise EmulatorError("Cannot cancel an order that has already been canceled")
        if any(li.fulfilled_quantity > 0 for li in order.line_items):
            raise EmulatorError("Cannot cancel an order that has outstanding fulfillments")
        was_paid = order.financial_status in ("paid", "partially_refunded")
        pairs = [(li, li.quantity - li.refunded_quantity) for li in order.line_items
                 if li.quantity - li.refunded_quantity > 0]
        refund: Refund | None = None
        changed: list[InventoryLevel] = []
        if pairs:
            refund, changed = self.refund_apply(shop, order, lines=pairs, restock=restock)
        now = self.now()
        order.cancelled_at = now
        order.cancel_reason = reason.lower()
        order.closed_at = now
        order.updated_at = now
        if not was_paid and order.financial_status in ("pending", "authorized"):
            order.financial_status = "voided"
        for fo_id in order.fulfillment_order_ids:
            fo = shop.fulfillment_orders[fo_id]
            if fo.status in ("OPEN", "IN_PROGRESS", "SCHEDULED", "ON_HOLD"):
                fo.status = "CLOSED" if fo.fulfillment_ids else "CANCELLED"
                fo.updated_at = now
        if refund is not None:
            self.emit(shop, "refunds/create", rest.refund(shop, order, refund))
        payload = rest.order(shop, order)
        self.emit(shop, "orders/cancelled", payload)
        self.emit(shop, "orders/updated", payload)
        for level in changed:
            self.emit(shop, "inventory_levels/update", rest.inventory_level(level))
        return payload

    def fulfillment_apply(
        self,
        shop: Shop,
        order: Order,
        *,
        items: list[tuple[FulfillmentOrder, FulfillmentOrderLineItem, int]],
        tracking_company: str | None,
        tracking_numbers: list[str],
        tracking_urls: list[str],
        notify_customer: bool = False,
    ) -> Fulfillment:
        """Fulfil quantities of fulfillment order line items; committed stock leaves."""
        now = self.now()
        location_id = items[0][0].location_id if items else shop.primary_location_id
        fulfillment = Fulfillment(
            id=self.next_id(),
            order_id=order.id,
            name=f"{order.name}.{len(order.fulfillment_ids) + 1}",
            location_id=location_id,
            created_at=now,
            updated_at=now,
            tracking_company=tracking_company,
            tracking_numbers=list(tracking_numbers),
            tracking_urls=list(tracking_urls),
            notify_customer=notify_customer,
        )
        by_line: dict[int, int] = {}
        for fo, fli, quantity in items:
            fli.remaining_quantity -= quantity
            by_line[fli.line_item_id] = by_line.get(fli.line_item_id, 0) + quantity
            if fo.id not in fulfillment.fulfillment_order_ids:
                fulfillment.fulfillment_order_ids.append(fo.id)
        for fo_id in fulfillment.fulfillment_order_ids:
            fo = shop.fulfillment_orders[fo_id]
            fo.fulfillment_ids.append(fulfillment.id)
            fo.updated_at = now
            fo.status = (
                "CLOSED" if all(f.remaining_quantity == 0 for f in fo.line_items) else "IN_PROGRESS"
            )
        for line_item_id, quantity in by_line.items():
            line = order.line(line_item_id)
            assert line is not None
            line.fulfilled_quantity += quantity
            shipped = min(quantity, line.committed)
            if shipped:
                level = self.line_level(shop, line)
                if level is not None:
                    self.level_change(level, "committed", -shipped)
                line.committed -= shipped
            fulfillment.line_items.append(
                {"id": self.next_id(), "line_item_id": line_item_id, "quantity": quantity}
            )
        shop.fulfillments[fulfillment.id] = fulfillment
        order.fulfillment_ids.append(fulfillment.id)
        order.updated_at = now
        return fulfillment

    def emit_fulfillment_created(self, shop: Shop, order: Order, fulfillment: Fulfillment) -> None:
        self.emit(shop, "fulfillments/create", rest.fulfillment(shop, order, fulfillment))
        payload = rest.order(shop, order)
        self.emit(shop, "orders/updated", payload)
        if order_fulfillment_status(shop, order) == "fulfilled":
            self.emit(shop, "orders/fulfilled", payload)
        elif order_fulfillment_status(shop, order) == "partial":
            self.emit(shop, "orders/partially_fulfilled", payload)

    def order_fulfill(
        self,
        *,
        shop_domain: str,
        order_id: int,
        tracking_company: str | None,
        tracking_number: str | None,
        tracking_url: str | None,
        lines: list[dict] | None = None,
    ) -> dict:
        with self.transaction():
            shop = self.require_shop(shop_domain)
            order = self.require_order(shop, order_id)
            if order.cancelled_at is not None:
                raise EmulatorError("Cannot fulfill a cancelled order")
            wanted: dict[int, int] | None = None
            if lines:
                wanted = {}
                for spec in lines:
                    line = self.resolve_line(order, spec)
                    wanted[line.id] = wanted.get(line.id, 0) + int(spec.get("quantity") or 0)
            items: list[tuple[FulfillmentOrder, FulfillmentOrderLineItem, int]] = []
            for fo_id in order.fulfillment_order_ids:
                fo = shop.fulfillment_orders[fo_id]
                if fo.status not in ("OPEN", "IN_PROGRESS"):
                    continue
                for fli in fo.line_items:
                    if fli.remaining_quantity <= 0:
                        continue
                    if wanted is None:
                        quantity = fli.remaining_quantity
                    else:
                        quantity = min(wanted.get(fli.line_item_id, 0), fli.remaining_quantity)
                        wanted[fli.line_item_id] = wanted.get(fli.line_item_id, 0) - quantity
                    if quantity > 0:
                        items.append((fo, fli, quantity))
            if wanted and any(q > 0 for q in wanted.values()):
                raise EmulatorError("Invalid fulfillment order line item quantity requested.")
            if not items:
                raise EmulatorError("Nothing left to fulfil on this order")
            fulfillment = self.fulfillment_apply(
                shop,
                order,
                items=items,
                tracking_company=tracking_company,
                tracking_numbers=[tracking_number] if tracking_number else [],
                tracking_urls=[tracking_url] if tracking_url else [],
            )
            self.emit_fulfillment_created(shop, order, fulfillment)
            return rest.fulfillment(shop, order, fulfillment)

    # ---- webhook subscriptions

    def subscription_create(
        self,
        *,
        shop_domain: str,
        topic: str,
        uri: str,
        source: str = "api",
        include_fields: list[str] | None = None,
        filter: str | None = None,  # noqa: A002 - Shopify's name
        name: str | None = None,
    ) -> dict:
        with self.transaction():
            shop = self.require_shop(shop_domain)
            now = self.now()
            subscription = WebhookSubscription(
                id=self.next_id(),
                topic=topic,
                uri=uri,
                created_at=now,
                updated_at=now,
                source=source,
                include_fields=list(include_fields or []),
                filter=filter,
                name=name,
            )
            shop.subscriptions[subscription.id] = subscription
            return subscription_dict(subscription)

    def subscription_delete(self, *, shop_domain: str, subscription_id: int) -> bool:
        with self.transaction():
            shop = self.require_shop(shop_domain)
            return shop.subscriptions.pop(int(subscription_id), None) is not None

    def subscriptions_for(self, *, shop_domain: str, topic: str) -> list[dict]:
        shop = self.shops.get(shop_domain)
        if shop is None or not shop.subscriptions:
            # Asked once per webhook-worthy change (250 times by a 250-item inventory write),
            # mostly for shops that subscribe to nothing: answered without queueing for the
            # lock (a dict lookup and a length are atomic).
            return []
        with self.lock:
            shop = self.shops.get(shop_domain)
            if shop is None:
                return []
            return [
                subscription_dict(s) for s in shop.subscriptions.values() if s.topic == topic
            ]

    # ---- bulk operations

    def bulk_result_jsonl(self, *, bulk_id: str) -> bytes | None:
        text = str(bulk_id)
        if text.endswith(".jsonl"):
            text = text[: -len(".jsonl")]
        numeric = text.rsplit("/", 1)[-1]
        if not numeric.isdigit():
            return None
        with self.lock:
            for shop in self.shops.values():
                operation = shop.bulk_operations.get(int(numeric))
                if operation is not None:
                    return operation.result
        return None

    def bulk_url(self, operation: BulkOperation) -> str | None:
        if operation.status != "COMPLETED" or operation.result is None:
            return None
        return f"{self.base_url.rstrip('/')}/_emulator/bulk/{operation.id}.jsonl"

    # ---- snapshots

    def shop_snapshot(self, domain: str, *, orders: bool = True) -> dict:
        """The shop as JSON; orders=False leaves out orders and fulfilments, which grow with
        every sale and dominate the cost of a snapshot polled in a loop."""
        with self.lock:
            shop = self.require_shop(domain)
            products = []
            levels = []
            for product in shop.products.values():
                variants = []
                for variant in shop.product_variants(product):
                    item = shop.item_of(variant)
                    variants.append(
                        {
                            "id": variant.id,
                            "admin_graphql_api_id": gid("ProductVariant", variant.id),
                            "sku": item.sku,
                            "price": variant.price,
                            "barcode": variant.barcode,
                            "title": variant.title,
                            "inventory_item_id": item.id,
                            "inventory_item_admin_graphql_api_id": gid("InventoryItem", item.id),
                            "inventory_quantity": shop.inventory_quantity(variant),
                        }
                    )
                    for level in item.levels.values():
                        levels.append(
                            {
                                "inventory_item_id": item.id,
                                "location_id": level.location_id,
                                "sku": item.sku,
                                "available": level.available,
                                "on_hand": level.get("on_hand"),
                                "committed": level.get("committed"),
                                "updated_at": rest.ts(level.updated_at),
                                "admin_graphql_api_id": level.gid,
                            }
                        )
                products.append(
                    {
                        "id": product.id,
                        "admin_graphql_api_id": gid("Product", product.id),
                        "title": product.title,
                        "handle": product.handle,
                        "vendor": product.vendor,
                        "tags": list(product.tags),
                        "status": product.status.lower(),
                        "variants": variants,
                    }
                )
            return {
                "id": shop.id,
                "admin_graphql_api_id": gid("Shop", shop.id),
                "domain": shop.domain,
                "name": shop.name,
                "plan": shop.plan,
                "currency": shop.currency,
                "email": shop.email,
                "primary_location_id": shop.primary_location_id,
                "locations": [
                    {
                        "id": loc.id,
                        "admin_graphql_api_id": gid("Location", loc.id),
                        "name": loc.name,
                        "active": loc.is_active,
                    }
                    for loc in shop.locations.values()
                ],
                "products": products,
                "inventory_levels": levels,
                "orders": [rest.order(shop, order) for order in shop.orders.values()]
                if orders else None,
                "fulfillments": [
                    rest.fulfillment(shop, shop.orders[f.order_id], f)
                    for f in shop.fulfillments.values()
                ] if orders else None,
                "subscriptions": [subscription_dict(s) for s in shop.subscriptions.values()],
            }

    def to_snapshot(self) -> dict:
        with self.lock:
            return {
                "version": 1,
                "next_id": self._next_id,
                "shops": [_dump(shop) for shop in self.shops.values()],
            }

    @classmethod
    def from_snapshot(cls, data: dict, *, clock: Callable[[], float] | None = None) -> World:
        world = cls(clock=clock)
        world._next_id = int(data.get("next_id", FIRST_ID))
        for raw in data.get("shops", []):
            shop = _load_shop(raw)
            world.shops[shop.domain] = shop
        return world


# --------------------------------------------------------------------------- helpers


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


_ADDRESS_KEYS = (
    "first_name", "last_name", "name", "company", "address1", "address2", "city", "province",
    "province_code", "country", "country_code", "zip", "phone", "latitude", "longitude",
)


def clean_address(data: dict | None) -> dict | None:
    if not data:
        return None
    address = {key: data.get(key) for key in _ADDRESS_KEYS}
    if not address.get("name"):
        joined = " ".join(p for p in (address.get("first_name"), address.get("last_name")) if p)
        address["name"] = joined or None
    return address


def order_fulfillment_status(shop: Shop, order: Order) -> str | None:
    """REST fulfillment_status: None (unfulfilled), "partial", "fulfilled", "restocked"."""
    live = [li for li in order.line_items if li.quantity - li.refunded_quantity > 0]
    fulfilled = sum(li.fulfilled_quantity for li in order.line_items)
    if not live:
        return "fulfilled" if fulfilled else ("restocked" if order.refund_ids else None)
    if fulfilled == 0:
        return None
    outstanding = sum(
        fli.remaining_quantity
        for fo_id in order.fulfillment_order_ids
        for fli in shop.fulfillment_orders[fo_id].line_items
    )
    return "fulfilled" if outstanding == 0 else "partial"


def order_line_fulfillable(shop: Shop, order: Order, line: LineItem) -> int:
    """Units of ``line`` still waiting in open fulfillment orders."""
    total = 0
    for fo_id in order.fulfillment_order_ids:
        fo = shop.fulfillment_orders[fo_id]
        if fo.status not in ("OPEN", "IN_PROGRESS", "SCHEDULED", "ON_HOLD"):
            continue
        total += sum(f.remaining_quantity for f in fo.line_items if f.line_item_id == line.id)
    return total


def subscription_dict(subscription: WebhookSubscription) -> dict:
    return {
        "id": subscription.id,
        "admin_graphql_api_id": gid("WebhookSubscription", subscription.id),
        "topic": subscription.topic,
        "uri": subscription.uri,
        "address": subscription.uri,
        "source": subscription.source,
        "format": subscription.format.lower(),
        "include_fields": list(subscription.include_fields),
        "filter": subscription.filter,
        "name": subscription.name,
        "created_at": rest.ts(subscription.created_at),
        "updated_at": rest.ts(subscription.updated_at),
    }


# ---- snapshot (de)serialisation


def _dump(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"__dt__": value.isoformat()}
    if isinstance(value, bytes):
        return {"__bytes__": value.decode("utf-8")}
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _dump(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {"__dict__": [[_dump(k), _dump(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_dump(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        if "__dt__" in value:
            return datetime.fromisoformat(value["__dt__"])
        if "__bytes__" in value:
            return value["__bytes__"].encode("utf-8")
        if "__dict__" in value:
            return {_plain(k): _plain(v) for k, v in value["__dict__"]}
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _build(cls: type, raw: dict) -> Any:
    return cls(**{k: v for k, v in _plain(raw).items()})


def _load_shop(raw: dict) -> Shop:
    data = _plain(raw)
    shop = Shop(**{k: v for k, v in data.items() if not isinstance(v, dict)
                   and k not in ("locations",)}, )
    shop.locations = {k: Location(**v) for k, v in data["locations"].items()}
    shop.products = {k: Product(**v) for k, v in data["products"].items()}
    shop.variants = {k: Variant(**v) for k, v in data["variants"].items()}
    shop.inventory_items = {}
    for key, value in data["inventory_items"].items():
        levels = {lk: InventoryLevel(**lv) for lk, lv in value.pop("levels").items()}
        shop.inventory_items[key] = InventoryItem(**value, levels=levels)
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
    return shop


__all__ = [
    "AdjustmentGroup", "BulkOperation", "EmulatorError", "Fulfillment", "FulfillmentOrder",
    "FulfillmentOrderLineItem", "InventoryItem", "InventoryLevel", "LineItem", "Location",
    "Order", "Product", "Refund", "Shop", "Variant", "WebhookSubscription", "World", "asdict",
]
