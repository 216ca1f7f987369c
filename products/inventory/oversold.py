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

from django.db.models import Sum

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
                    shared_location_ids: list[int]) -> dict[int, int]:
    """The source's recorded shared stock of each item (items with no level left out)."""
    return dict(SourceLevel.objects.filter(
        shop=source, inventory_item_id__in=inventory_item_ids,
        location_id__in=shared_location_ids,
    ).values("inventory_item_id").annotate(total=Sum("available"))
        .values_list("inventory_item_id", "total"))


def oversold_alert_for_levels(*, source: Shop, before: dict[int, int],
                              after: dict[int, int]) -> None:
    """Items whose shared stock went further below zero between two readings: the source and
    the connected destinations syncing each hear of it (once per item per change)."""
    name = source.name or source.domain
    for item_id, now in sorted(after.items()):
        was = before.get(item_id)
        if now >= 0 or (was is not None and now >= was):
            continue
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
