"""Inventory items (one per variant), their levels per location, and the adjustment groups
that record each change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shopify_emulator.ids import inventory_level_gid

# Quantity states that count in on_hand (available + the unavailable-but-present states).
ON_HAND_PARTS = ("available", "committed", "reserved", "damaged", "safety_stock", "quality_control")
QUANTITY_NAMES = (*ON_HAND_PARTS, "incoming", "on_hand")


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
    weight: float = 0.0  # InventoryItem.measurement.weight (variants' weight since 2024-04)
    weight_unit: str = "KILOGRAMS"  # WeightUnit: KILOGRAMS | GRAMS | POUNDS | OUNCES
    levels: dict[int, InventoryLevel] = field(default_factory=dict)  # by location id
    # Levels deactivated at a location (2026-04+): kept with their quantities, which count
    # nowhere until inventoryActivate brings the level back into `levels` as it was.
    inactive_levels: dict[int, InventoryLevel] = field(default_factory=dict)

    def level_at(self, location_id: int, *, include_inactive: bool = False
                 ) -> InventoryLevel | None:
        level = self.levels.get(location_id)
        if level is None and include_inactive:
            level = self.inactive_levels.get(location_id)
        return level

    def all_levels(self, *, include_inactive: bool) -> list[InventoryLevel]:
        if not include_inactive or not self.inactive_levels:
            return list(self.levels.values())
        return [*self.levels.values(), *self.inactive_levels.values()]


@dataclass
class AdjustmentGroup:
    id: int
    created_at: datetime
    reason: str
    reference_document_uri: str | None
    changes: list[dict]  # [{"name","delta","item_id","location_id","ledger_document_uri"}]
