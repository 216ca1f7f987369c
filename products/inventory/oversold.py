"""Oversold: the source's shared stock of an item below zero, so an order somewhere cannot be
fulfilled. Home shows it (selectors.items_oversold) for as long as it lasts; the alerts here
tell the owners by email when it happens, whichever sale did it:

* a destination's sale taken off the source (effects.py): the source and that destination, with
  the order's name;
* anything else that takes the source's stock further below zero — the source's own store
  selling what a destination's sale had just taken, a hand edit — seen in its level webhooks
  (targets.source_levels_changed): the source and every connected destination that syncs the
  item (the ones whose Home says so).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

from django.db import transaction
from django.db.models import Max, Sum
from redis.exceptions import RedisError

from products.labels import variant_label
from products.models import InventoryEffect, SourceLevel, SourceVariant, VariantLink
from stores.alerts import alert_raise_on_commit
from stores.models import AlertKind, Connection, Shop
from syncer.redis import redis_client

logger = logging.getLogger(__name__)

# How long a told oversold state is remembered (the alerts' digests are hourly).
_CLAIM_SECONDS = 24 * 3600


class SharedStock(NamedTuple):
    """An item's shared stock at the source as recorded: the sum over the shared locations,
    when Syncer last recorded any of those levels, and Shopify's newest stamp among them."""

    total: int
    seen: datetime
    stamp: datetime


def _alert_once_on_commit(*, source_id: int, inventory_item_id: int, total: int,
                          stamp: datetime | None, shop_ids: list[int], detail: str) -> None:
    """The oversold alert, once the current transaction commits, unless this state was told
    already (claimed only then: a rolled-back delivery that is retried still tells it)."""
    def tell() -> None:
        if _told_once(source_id=source_id, inventory_item_id=inventory_item_id, total=total,
                      stamp=stamp):
            alert_raise_on_commit(shop_ids=shop_ids, kind=AlertKind.OVERSOLD, detail=detail)

    transaction.on_commit(tell, robust=True)


def _told_once(*, source_id: int, inventory_item_id: int, total: int,
               stamp: datetime | None) -> bool:
    """Whether this oversold state (the item's shared stock at `total`, as Shopify stamped its
    newest level) is told now: a sale's read-back and the source's level webhook often see the
    same change, in either order and at the same moment, and each state is one email. Whole
    seconds, as Shopify's REST and GraphQL stamps agree on them. Without Redis, told (twice
    rather than never)."""
    if stamp is None:
        return True
    key = (f"syncer:oversold:{source_id}:{inventory_item_id}:{total}:"
           f"{int(stamp.timestamp())}")
    try:
        return bool(redis_client().set(key, 1, nx=True, ex=_CLAIM_SECONDS))
    except RedisError as exc:
        logger.warning("oversold state of item %s not claimed: %r", inventory_item_id, exc)
        return True


def _item_words(*, source: Shop, inventory_item_id: int) -> tuple[str, bool]:
    """How the owners know the item ("Linen shirt / M (LIN-SHIRT-M)"), and whether it is sold
    on backorder on purpose (its variant continues selling when out of stock)."""
    variant = SourceVariant.objects.filter(
        shop=source, inventory_item_id=inventory_item_id).select_related("product").first()
    if variant is None:
        return f"inventory item {inventory_item_id}", False
    words = variant_label(variant.product.title, variant.title) + (
        f" ({variant.sku})" if variant.sku else "")
    return words, variant.inventory_policy == SourceVariant.InventoryPolicy.CONTINUE


def oversold_alert_for_sale(*, effect: InventoryEffect, shared: int,
                            stamp: datetime | None) -> None:
    """A destination's sale that left the source's shared stock below zero (`shared`, read back
    after it, Shopify's newest stamp among those levels `stamp`): stores sold the same last
    units at once (or the source sold them too). Both stores hear of it."""
    if shared >= 0:
        return
    what, backorder = _item_words(source=effect.source, inventory_item_id=effect.inventory_item_id)
    if backorder:
        return
    destination = Shop.objects.get(pk=effect.destination_id)
    source = effect.source.name or effect.source.domain
    _alert_once_on_commit(
        source_id=effect.source_id, inventory_item_id=effect.inventory_item_id, total=shared,
        stamp=stamp, shop_ids=[effect.destination_id, effect.source_id],
        detail=(f"Order {effect.order_name or effect.order_id} on "
                f"{destination.name or destination.domain}: {what} is at {shared} at {source} "
                f"after it, {-shared} sold that {source} does not have."))


def shared_stock_of(*, source: Shop, inventory_item_ids: set[int],
                    shared_location_ids: list[int]) -> dict[int, SharedStock]:
    """The source's recorded shared stock of each item (items with no level left out)."""
    return {item: SharedStock(total, seen, stamp) for item, total, seen, stamp
            in SourceLevel.objects.filter(
                shop=source, inventory_item_id__in=inventory_item_ids,
                location_id__in=shared_location_ids,
            ).values("inventory_item_id").annotate(
                total=Sum("available"), seen=Max("seen_at"), stamp=Max("shopify_updated_at"),
            ).values_list("inventory_item_id", "total", "seen", "stamp")}


def oversold_alert_for_levels(*, source: Shop, before: dict[int, SharedStock],
                              after: dict[int, SharedStock]) -> None:
    """Items whose shared stock went further below zero between two readings: the source and
    the connected destinations syncing each hear of it (once per item per change)."""
    name = source.name or source.domain
    dropped = {item_id for item_id, stock in after.items()
               if stock.total < 0 and (item_id not in before
                                       or stock.total < before[item_id].total)}
    # A destination's sale taken off the source since we last recorded its level alerts with
    # its order (oversold_alert_for_sale); its level webhook, often judged before that sale's
    # own read-back, is not told again. A sale of the source's own after that read-back is.
    for effect_item, applied_at, status in InventoryEffect.objects.filter(
            source=source, kind=InventoryEffect.Kind.SALE, inventory_item_id__in=dropped,
    ).exclude(status=InventoryEffect.Status.FAILED).values_list(
            "inventory_item_id", "applied_at", "status"):
        seen = before[effect_item].seen if effect_item in before else None
        if (status == InventoryEffect.Status.PENDING or seen is None
                or (applied_at is not None and applied_at >= seen)):
            dropped.discard(effect_item)
    for item_id in sorted(dropped):
        now, was = after[item_id].total, before[item_id].total if item_id in before else None
        what, backorder = _item_words(source=source, inventory_item_id=item_id)
        if backorder:
            continue
        destinations = VariantLink.objects.filter(
            connection__source=source, connection__status=Connection.Status.CONNECTED,
            source_variant__inventory_item_id=item_id,
        ).order_by().values_list("connection__destination_id", flat=True).distinct()
        change = f"from {was} to {now}" if was is not None else f"to {now}"
        _alert_once_on_commit(
            source_id=source.pk, inventory_item_id=item_id, total=now,
            stamp=after[item_id].stamp, shop_ids=[source.pk, *destinations],
            detail=(f"{what} is at {now} at {name} (its stock went {change}): {-now} sold "
                    f"that {name} does not have."))
