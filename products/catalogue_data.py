"""What Shopify says about a source product, in one shape whatever it came by (a products/*
webhook's REST body, a live read, a catalogue bulk read), and what applying it to the mirror
changed for the destinations linked to it.

A REST body cannot show a product's SEO or metafields (and may lack a variant's weight): those
are None in its `ProductData`, and the mirror keeps what it holds for them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime

from products.models import SourceProduct, SourceVariant
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
    weight: Decimal | None = None  # None: the payload does not say (kept as held)
    weight_unit: str = ""
    inventory_policy: str = "DENY"  # CONTINUE: sold when out of stock (backorders)


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
    # None: the payload cannot show them (REST bodies); the mirror keeps what it holds.
    seo_title: str | None = None
    seo_description: str | None = None
    metafields: list[dict[str, str]] | None = None


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


# REST's weight units, as the Admin API's WeightUnit names them.
REST_WEIGHT_UNITS = {"g": "GRAMS", "kg": "KILOGRAMS", "oz": "OUNCES", "lb": "POUNDS"}


def _weight(raw: dict) -> tuple[Decimal | None, str]:
    """A REST variant's weight: `weight` in `weight_unit`, else `grams`; (None, "") when the
    payload has neither."""
    unit = REST_WEIGHT_UNITS.get(str(raw.get("weight_unit") or "").lower())
    for value, value_unit in ((raw.get("weight"), unit), (raw.get("grams"), "GRAMS")):
        if value is None or value_unit is None:
            continue
        try:
            return Decimal(str(value)).quantize(Decimal("0.001")), value_unit
        except (InvalidOperation, ValueError):
            continue
    return None, ""


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
        weight, weight_unit = _weight(raw)
        variants.append(VariantData(
            shopify_id=payload_id(raw.get("id"), "variant id"),
            inventory_item_id=payload_id(raw.get("inventory_item_id"), "inventory item id"),
            title=str(raw.get("title") or ""), sku=str(raw.get("sku") or ""),
            barcode=str(raw.get("barcode") or ""), price=_money(raw.get("price")),
            compare_at_price=_money(raw.get("compare_at_price")), option_values=values,
            position=int(raw.get("position") or 1),
            tracked=raw.get("inventory_management") == "shopify",
            weight=weight, weight_unit=weight_unit,
            inventory_policy=str(raw.get("inventory_policy") or "deny").upper(),
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
            weight=variant.weight, weight_unit=variant.weight_unit,
            inventory_policy=variant.inventory_policy,
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
        variants_complete=product.variants_complete, seo_title=product.seo_title,
        seo_description=product.seo_description,
        metafields=[{"namespace": m.namespace, "key": m.key, "type": m.type, "value": m.value}
                    for m in product.metafields],
    )


# --- field values as text (what a change was, in the history) -----------------------------------

NONE_TEXT = "none"
TEXT_LIMIT = 200
_TAG = re.compile(r"<[^>]+>")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT - 1] + "…"


def _or_none(text: str) -> str:
    # Never "": an empty from-text marks a field sent again by Syncer, not edited at the source.
    return text or NONE_TEXT


def product_field_text(*, name: str, product: SourceProduct) -> str:
    """A product-level field of the mirror as the history shows it (never empty)."""
    if name == "title":
        return _or_none(product.title)
    if name == "description":
        return _or_none(_short(_TAG.sub(" ", product.description_html)))
    if name == "images":
        return _or_none(", ".join((image.get("src") or "").rsplit("/", 1)[-1]
                                  for image in product.images or []))
    if name == "tags":
        return _or_none(", ".join(product.tags or []))
    if name == "vendor":
        return _or_none(product.vendor)
    if name == "product_type":
        return _or_none(product.product_type)
    if name == "seo":
        return _or_none(" / ".join(part for part in (product.seo_title,
                                                     _short(product.seo_description)) if part))
    if name == "metafields":
        return _or_none(_short("; ".join(
            f"{m.get('namespace')}.{m.get('key')} = {m.get('value')}"
            for m in product.metafields or [])))
    if name == "options":
        return _or_none("; ".join(f"{o.get('name')}: {', '.join(o.get('values') or [])}"
                                  for o in product.options or []))
    if name == "status":
        return product.status.lower()
    raise ValueError(f"not a product-level field: {name}")


def variant_field_text(*, name: str, variant: SourceVariant) -> str:
    """A variant-level field of the mirror as the history shows it (never empty)."""
    if name == "price":
        return f"{variant.price:.2f}" if variant.price is not None else NONE_TEXT
    if name == "compare_at":
        return (f"{variant.compare_at_price:.2f}" if variant.compare_at_price is not None
                else NONE_TEXT)
    if name == "barcode":
        return _or_none(variant.barcode)
    if name == "weight":
        if variant.weight is None:
            return NONE_TEXT
        return f"{variant.weight.normalize():f} {variant.weight_unit.lower()}".strip()
    if name == "options":
        return _or_none(" / ".join(value.get("value") or "" for value in
                                   variant.option_values or []))
    raise ValueError(f"not a variant-level field: {name}")


def variant_texts(texts: dict[int, str]) -> str:
    """Variant-level old values as one text: {SourceVariant pk: text} as JSON."""
    return json.dumps({str(pk): text for pk, text in sorted(texts.items())},
                      ensure_ascii=False)


def variant_texts_read(text: str) -> dict[int, str]:
    """The inverse of `variant_texts`; {} for "" (sent again by Syncer) or anything else."""
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {int(pk): str(value) for pk, value in data.items()} if isinstance(data, dict) else {}


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
    # The field_sync fields that changed, with their old values as text: product-level ones
    # as `product_field_text`, variant-level ones (price, compare_at, barcode, weight; options
    # also when only values changed) as `variant_texts` of the variants that changed.
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def hidden_changed(self) -> bool:
        return not self.created and self.was_hidden != self.product.hidden

    @property
    def status_changed(self) -> bool:
        return not self.created and self.old_status != self.product.status

    @property
    def variants_changed(self) -> bool:
        return bool(self.added or self.removed)
