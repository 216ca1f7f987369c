"""Products and their variants."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
    seo_title: str | None = None
    seo_description: str | None = None
    # [{"id", "namespace", "key", "type", "value", "created_at", "updated_at"}]
    metafields: list[dict] = field(default_factory=list)
