"""Locations a merchant adds beyond the two every shop starts with."""

from __future__ import annotations

from shopify_emulator.domains.locations.models import Location
from shopify_emulator.world import World


def location_create(*, world: World, shop_domain: str, name: str) -> Location:
    with world.transaction():
        shop = world.require_shop(shop_domain)
        now = world.now()
        location = Location(
            id=world.next_id(), group_id=world.next_id(), name=name, created_at=now,
            updated_at=now,
        )
        shop.locations[location.id] = location
        return location
