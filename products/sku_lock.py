"""The SKU lock: what links a destination variant to its source variant stays as the source's.

A mapped variant is linked by its SKU (or, mapped by barcode, by its barcode); an imported one
by the SKU it was made with. If the destination's merchant changes that value on a linked
variant, the next check or import would no longer find the pair, so Syncer puts it back and
says so in the product's history. A variant linked by hand has no such key and is left alone,
and so is a product whose auto sync is off (nothing of it syncs).

The destination's `products/update` webhook carries every variant with its SKU and barcode:
`destination_product_updated` compares them with the mirror (no Shopify call) and queues a
put-back for each product that differs. The put-back (`sku_lock_restore`) reads the product
live first and writes only what still differs, so Syncer's own writes echoing back, a
duplicate delivery or an older payload arriving late change nothing twice.
"""

from __future__ import annotations

import logging
from functools import partial

from celery import shared_task
from django.db import transaction

from products.models import ProductLink, SyncEvent, VariantLink
from products.sku_matching import key_normal, key_words
from products.sync_events import sync_event_record
from stores.models import Connection, Shop
from stores.services import shop_admin_session
from syncer.shopify.errors import ShopifyRetryable, ShopifyUserErrors
from syncer.shopify.operations.products import VariantUpdate, product_read, product_variants_update

logger = logging.getLogger(__name__)

MatchBy = Connection.MatchBy

RETRY_BACKOFF = 2
RETRY_BACKOFF_MAX = 120
MAX_RETRIES = 20


def link_lock_key(*, origin: str) -> str | None:
    """The variant value that links a product link's variants ("sku" or "barcode"), or None
    when nothing but the merchant's choice links them."""
    if origin == ProductLink.Origin.LINKED_BY_HAND:
        return None
    if origin == ProductLink.Origin.MAPPED_BARCODE:
        return MatchBy.BARCODE
    return MatchBy.SKU


def _put_back_words(key: str) -> str:
    words = key_words(key)
    return f"changed in your store, put back: the {words} links it to the source"


def destination_product_updated(*, destination: Shop, payload: dict, cause: str) -> list[int]:
    """products/update on a destination: queues a put-back for every linked product of it
    whose variants' SKU (or barcode) no longer is the source's. Returns their link ids."""
    product_id = int(payload["id"])
    values = {int(variant["id"]): variant for variant in payload.get("variants") or []}
    if not values:
        return []
    variant_links = (VariantLink.objects
                     .filter(connection__destination=destination,
                             connection__status=Connection.Status.CONNECTED,
                             product_link__destination_product_id=product_id,
                             product_link__auto_sync=True,
                             source_variant__deleted_at__isnull=True,
                             source_variant__product__hidden=False,
                             source_variant__product__deleted_at__isnull=True,
                             destination_variant_id__in=list(values))
                     .select_related("product_link", "source_variant"))
    changed: set[int] = set()
    for variant_link in variant_links:
        key = link_lock_key(origin=variant_link.product_link.origin)
        if key is None:
            continue
        wanted = key_normal(getattr(variant_link.source_variant, key))
        if wanted and key_normal(values[variant_link.destination_variant_id].get(key)) != wanted:
            changed.add(variant_link.product_link_id)
    for link_id in sorted(changed):
        transaction.on_commit(partial(sku_lock_restore_task.delay, link_id, cause))
    return sorted(changed)


def sku_lock_restore(*, link_id: int, cause: str) -> int:
    """Puts the source's SKU (or barcode) back on the link's destination variants that lost
    it, as the product is now. Returns how many variants were put back."""
    link = (ProductLink.objects.select_related("connection", "connection__destination")
            .filter(pk=link_id).first())
    key = link_lock_key(origin=link.origin) if link is not None else None
    if (link is None or key is None or not link.auto_sync
            or link.connection.status != Connection.Status.CONNECTED):
        return 0
    connection = link.connection
    session = shop_admin_session(shop_domain=connection.destination.domain)
    current = product_read(session=session, product_id=link.destination_product_id)
    if current is None:
        return 0  # deleted in the store: the product's own webhook ends the link
    now = {variant.id: variant for variant in current.variants}
    updates: list[VariantUpdate] = []
    events: list[dict] = []
    for variant_link in (link.variant_links.select_related("source_variant__product")
                         .filter(source_variant__deleted_at__isnull=True).order_by("pk")):
        variant = now.get(variant_link.destination_variant_id)
        source = variant_link.source_variant
        wanted = getattr(source, key)
        if variant is None or not key_normal(wanted):
            continue
        found = getattr(variant, key)
        if key_normal(found) == key_normal(wanted):
            continue
        updates.append(VariantUpdate(variant_id=variant.id, **{key: wanted}))
        events.append({"field": f"variant {source.title or wanted} {key_words(key)}"[:100],
                       "from_value": found, "to_value": wanted,
                       "source_variant_id": source.pk})
    if not updates:
        return 0
    why = f"{_put_back_words(key)} ({cause})"
    try:
        product_variants_update(session=session, product_id=link.destination_product_id,
                                updates=updates)
    except ShopifyUserErrors as exc:
        for event in events:
            sync_event_record(connection=connection, kind=SyncEvent.Kind.SKU, product_link=link,
                              cause=why, result=SyncEvent.Result.FAILED,
                              error=exc.merchant_message, **event)
        return 0
    for event in events:
        sync_event_record(connection=connection, kind=SyncEvent.Kind.SKU, product_link=link,
                          cause=why, **event)
    logger.info("sku lock: put back %d variant(s) of link %s", len(updates), link.pk)
    return len(updates)


@shared_task(name="products.tasks.sku_lock_restore_task", ignore_result=True,
             autoretry_for=(ShopifyRetryable,), retry_backoff=RETRY_BACKOFF,
             retry_backoff_max=RETRY_BACKOFF_MAX, retry_jitter=True, max_retries=MAX_RETRIES)
def sku_lock_restore_task(link_id: int, cause: str) -> None:
    sku_lock_restore(link_id=link_id, cause=cause)
