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

from datetime import datetime

from django.db.models import Max, Sum

from products.labels import variant_label
from products.models import InventoryEffect, SourceLevel, SourceVariant, VariantLink
from stores.alerts import alert_raise_on_commit
from stores.models import AlertKind, Connection, Shop


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


def oversold_alert_for_sale(*, effect: InventoryEffect, shared: int) -> None:
    """A destination's sale that left the source's shared stock below zero: stores sold the same
    last units at once (or the source sold them too). Both stores hear of it."""
    if shared >= 0:
        return
    what, backorder = _item_words(source=effect.source, inventory_item_id=effect.inventory_item_id)
    if backorder:
        return
    destination = Shop.objects.get(pk=effect.destination_id)
    source = effect.source.name or effect.source.domain
    alert_raise_on_commit(
        shop_ids=[effect.destination_id, effect.source_id], kind=AlertKind.OVERSOLD,
        detail=(f"Order {effect.order_name or effect.order_id} on "
                f"{destination.name or destination.domain}: {what} is at {shared} at {source} "
                f"after it, {-shared} sold that {source} does not have."))


def shared_stock_of(*, source: Shop, inventory_item_ids: set[int],
                    shared_location_ids: list[int]) -> dict[int, tuple[int, datetime]]:
    """The source's recorded shared stock of each item and when its levels were last recorded
    (items with no level left out)."""
    return {item: (total, seen) for item, total, seen in SourceLevel.objects.filter(
        shop=source, inventory_item_id__in=inventory_item_ids,
        location_id__in=shared_location_ids,
    ).values("inventory_item_id").annotate(total=Sum("available"), seen=Max("seen_at"))
        .values_list("inventory_item_id", "total", "seen")}


def oversold_alert_for_levels(*, source: Shop, before: dict[int, tuple[int, datetime]],
                              after: dict[int, tuple[int, datetime]]) -> None:
    """Items whose shared stock went further below zero between two readings: the source and
    the connected destinations syncing each hear of it (once per item per change)."""
    name = source.name or source.domain
    dropped = {item_id for item_id, (now, _) in after.items()
               if now < 0 and (item_id not in before or now < before[item_id][0])}
    # A destination's sale taken off the source since we last recorded its level alerts with
    # its order (oversold_alert_for_sale); its level webhook, often judged before that sale's
    # own read-back, is not told again. A sale of the source's own after that read-back is.
    for effect_item, applied_at, status in InventoryEffect.objects.filter(
            source=source, kind=InventoryEffect.Kind.SALE, inventory_item_id__in=dropped,
    ).exclude(status=InventoryEffect.Status.FAILED).values_list(
            "inventory_item_id", "applied_at", "status"):
        seen = before[effect_item][1] if effect_item in before else None
        if (status == InventoryEffect.Status.PENDING or seen is None
                or (applied_at is not None and applied_at >= seen)):
            dropped.discard(effect_item)
    for item_id in sorted(dropped):
        now, was = after[item_id][0], before[item_id][0] if item_id in before else None
        what, backorder = _item_words(source=source, inventory_item_id=item_id)
        if backorder:
            continue
        destinations = VariantLink.objects.filter(
            connection__source=source, connection__status=Connection.Status.CONNECTED,
            source_variant__inventory_item_id=item_id,
        ).order_by().values_list("connection__destination_id", flat=True).distinct()
        change = f"from {was} to {now}" if was is not None else f"to {now}"
        alert_raise_on_commit(
            shop_ids=[source.pk, *destinations], kind=AlertKind.OVERSOLD,
            detail=(f"{what} is at {now} at {name} (its stock went {change}): {-now} sold "
                    f"that {name} does not have."))
