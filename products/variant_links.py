"""Linking the destination variants Shopify just made (an import's productSet, auto sync's new
variants) to the source variants they were made from."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from products.models import ProductLink, SourceVariant, StockReason, SyncEvent, VariantLink
from products.sync_events import sync_event_record
from stores.models import Connection
from syncer.shopify.operations.products import CreatedVariant


def variant_links_create(*, product_link: ProductLink, connection: Connection,
                         variants: Sequence[SourceVariant], made: Sequence[CreatedVariant],
                         quantities: dict[int, int], cause: str) -> list[SourceVariant]:
    """Links each source variant to the variant made for it — the one with its option values,
    else the one in its position (Shopify answers in the order asked) — with the quantity it
    was made with as the link's last written quantity, and records that quantity in the audit
    trail. Returns the source variants linked (one Shopify did not make is left unlinked)."""
    by_values = {variant.option_values: variant for variant in made}
    now = timezone.now()
    linked = []
    for index, variant in enumerate(variants):
        node = by_values.get(tuple(value["value"] for value in variant.option_values))
        if node is None and index < len(made):
            node = made[index]
        if node is None:
            continue
        VariantLink.objects.create(
            product_link=product_link, connection=connection, source_variant=variant,
            destination_variant_id=node.id, destination_inventory_item_id=node.inventory_item_id,
            last_written_quantity=quantities[variant.pk], last_written_at=now)
        sync_event_record(connection=connection, kind=SyncEvent.Kind.INVENTORY,
                          product_link=product_link,
                          field=f"{variant.sku or variant.title} available",
                          from_value="", to_value=quantities[variant.pk], cause=cause,
                          source_variant_id=variant.pk,
                          location_id=connection.destination_location_id,
                          reason=StockReason.LINKED)
        linked.append(variant)
    return linked
