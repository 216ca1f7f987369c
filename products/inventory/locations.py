"""Which locations count: the shop's locations (read once, cached on the shop), the source's
shared and sale-taking locations, and each destination's receiving location."""

from __future__ import annotations

from typing import TypedDict, cast

from django.db import transaction

from stores.models import Connection, Shop
from stores.services import shop_admin_session
from syncer.shopify.operations.inventory import locations_read


class LocationChoice(TypedDict):
    id: int
    name: str


def shop_locations(*, shop: Shop) -> list[LocationChoice]:
    """The shop's active locations [{"id", "name"}] (read once, cached in shop.settings)."""
    cached = (shop.settings or {}).get("locations")
    if cached:
        return cast(list[LocationChoice], cached)
    read = locations_read(session=shop_admin_session(shop_domain=shop.domain))
    locations = [LocationChoice(id=location.id, name=location.name)
                 for location in read if location.is_active]
    with transaction.atomic():
        fresh = Shop.objects.select_for_update().get(pk=shop.pk)
        fresh.settings = dict(fresh.settings or {}, locations=locations)
        fresh.save(update_fields=["settings", "updated_at"])
    shop.settings = fresh.settings
    return locations


def shop_location_ids(*, shop: Shop) -> list[int]:
    return [location["id"] for location in shop_locations(shop=shop)]


def source_shared_location_ids(*, source: Shop) -> list[int]:
    """The source locations whose stock is shared (all of them until the owner chooses)."""
    shared = (source.settings or {}).get("shared_location_ids")
    return [int(i) for i in shared] if shared else shop_location_ids(shop=source)


def source_decrement_location_id(*, source: Shop) -> int:
    """The source location that destination sales are taken from."""
    chosen = (source.settings or {}).get("decrement_location_id")
    return int(chosen) if chosen else source_shared_location_ids(source=source)[0]


def destination_location_id(*, connection: Connection) -> int:
    """The destination's receiving location for one source: its choice or its first."""
    return receiving_location_id(destination=connection.destination,
                                 chosen=connection.destination_location_id)


def receiving_location_id(*, destination: Shop, chosen: int | None) -> int:
    """The location a receiving-location choice means: the one chosen, or the first."""
    if chosen:
        return int(chosen)
    return shop_location_ids(shop=destination)[0]
