"""A shop's locations (warehouses, stores): where stock is held."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
