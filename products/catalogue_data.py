"""What Shopify says about a source product, in one shape whatever it came by (a products/*
webhook's REST body, a live read, a catalogue bulk read), and what applying it to the mirror
changed for the destinations linked to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime

from products.models import SourceProduct
from syncer.shopify.ids import gid_id
from syncer.shopify.operations.products import Product

# REST product payloads may be cut at 100 variants: never treat missing ones as removed then.
REST_VARIANT_LIMIT = 100


class CatalogueError(ValueError):
    """A payload that cannot be a product (the inbox records it as failed)."""


@dataclass
class VariantData:
    shopify_id: int
    inventory_item_id: int
    title: str = ""
    sku: str = ""
    barcode: str = ""
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    option_values: list[dict[str, str]] = field(default_factory=list)
    position: int = 1
    tracked: bool = True


@dataclass
class ProductData:
    shopify_id: int
    title: str
    handle: str = ""
    description_html: str = ""
    vendor: str = ""
    product_type: str = ""
    tags: list[str] = field(default_factory=list)
    status: str = "ACTIVE"
    options: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, str]] = field(default_factory=list)
    updated_at: datetime | None = None
    variants: list[VariantData] = field(default_factory=list)
    # False when the payload may not list every variant (do not treat the rest as removed).
    variants_complete: bool = True


def _money(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def _tags(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    return [str(tag).strip() for tag in value or [] if str(tag).strip()]


def payload_id(value: Any, what: str) -> int:
    """An id from a webhook payload, or CatalogueError."""
    try:
        return gid_id(value)
    except (TypeError, ValueError):
        raise CatalogueError(f"{what} is missing or not an id: {value!r}") from None


def product_data_from_rest(payload: dict) -> ProductData:
    """A `products/create|update` webhook body (Shopify's REST product)."""
    if not isinstance(payload, dict) or payload.get("id") is None:
        raise CatalogueError("The product payload has no id")
    options: list[dict[str, Any]] = [
        {"name": str(o.get("name") or ""), "values": [str(v) for v in o.get("values") or []]}
        for o in sorted(payload.get("options") or [], key=lambda o: o.get("position") or 0)]
    names = [o["name"] for o in options]
    variants = []
    for raw in payload.get("variants") or []:
        values = []
        for index, name in enumerate(names[:3]):
            value = raw.get(f"option{index + 1}")
            if value is not None:
                values.append({"name": name, "value": str(value)})
        variants.append(VariantData(
            shopify_id=payload_id(raw.get("id"), "variant id"),
            inventory_item_id=payload_id(raw.get("inventory_item_id"), "inventory item id"),
            title=str(raw.get("title") or ""), sku=str(raw.get("sku") or ""),
            barcode=str(raw.get("barcode") or ""), price=_money(raw.get("price")),
            compare_at_price=_money(raw.get("compare_at_price")), option_values=values,
            position=int(raw.get("position") or 1),
            tracked=raw.get("inventory_management") == "shopify",
        ))
    images = [{"src": str(i.get("src") or ""), "alt": str(i.get("alt") or "")}
              for i in sorted(payload.get("images") or [], key=lambda i: i.get("position") or 0)
              if i.get("src")]
    return ProductData(
        shopify_id=payload_id(payload["id"], "product id"),
        title=str(payload.get("title") or ""), handle=str(payload.get("handle") or ""),
        description_html=str(payload.get("body_html") or ""),
        vendor=str(payload.get("vendor") or ""),
        product_type=str(payload.get("product_type") or ""), tags=_tags(payload.get("tags")),
        status=str(payload.get("status") or "active").upper(), options=options, images=images,
        updated_at=parse_datetime(str(payload.get("updated_at") or "")), variants=variants,
        variants_complete=len(variants) < REST_VARIANT_LIMIT,
    )


def product_data_from_shopify(product: Product) -> ProductData:
    """A product from a live read or a catalogue bulk read."""
    variants = [
        VariantData(
            shopify_id=variant.id, inventory_item_id=variant.inventory_item_id,
            title=variant.title, sku=variant.sku, barcode=variant.barcode, price=variant.price,
            compare_at_price=variant.compare_at_price,
            option_values=[{"name": option.name, "value": option.value}
                           for option in variant.selected_options],
            position=variant.position, tracked=variant.tracked,
        )
        for variant in product.variants
    ]
    return ProductData(
        shopify_id=product.id, title=product.title, handle=product.handle,
        description_html=product.description_html, vendor=product.vendor,
        product_type=product.product_type, tags=list(product.tags), status=product.status,
        options=[{"name": option.name, "values": list(option.values)}
                 for option in product.options],
        images=[{"src": image.src, "alt": image.alt} for image in product.images],
        updated_at=product.updated_at, variants=sorted(variants, key=lambda v: v.position),
        variants_complete=product.variants_complete,
    )


@dataclass
class MirrorChange:
    """What one upsert changed, for the destinations linked to the product."""

    product: SourceProduct
    created: bool = False
    was_hidden: bool = False
    old_status: str = ""
    price_changed: list[int] = field(default_factory=list)  # SourceVariant pks
    sku_changed: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    undeleted: bool = False

    @property
    def hidden_changed(self) -> bool:
        return not self.created and self.was_hidden != self.product.hidden

    @property
    def status_changed(self) -> bool:
        return not self.created and self.old_status != self.product.status

    @property
    def variants_changed(self) -> bool:
        return bool(self.added or self.removed)
