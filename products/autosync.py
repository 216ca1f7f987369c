"""What a destination lets its source change after linking, and the switches for it.

* Per connection the destination chooses, field by field, what follows the source
  (`products.field_sync`: Sync, Create only, Ignore) and whether variants added or removed at
  the source are added or removed too. A Create only or Ignore field is never overwritten;
  the SKU always follows the source, being what links the two.
* Per product: auto sync on/off (off = nothing syncs, stock included) and unsync (unlink,
  keep the product).
* The source's hidden tag stops a synced product's sync and says so on the destination.

The catalogue mirror hands every change here (`source_changes_apply`, inside its transaction).
Edits of Sync fields wait on the product link (`pending_fields`, coalesced) for the
destination's field flush (`products.field_flush`), like stock waits for the stock flush.
Structural work (variants added or removed, SKU changes) is queued after commit for
`products.autosync_apply`, which reads the destination product and changes what differs, so
a retry or a duplicate webhook changes nothing twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from products.autosync_apply import variant_links_unlink
from products.autosync_tasks import product_link_autosync_task, product_links_stock_sync_task
from products.catalogue_data import MirrorChange
from products.field_flush import pending_fields_merge
from products.field_flush_tasks import field_flush_on_commit
from products.field_sync import fields_syncing
from products.link_end import product_links_capture
from products.link_end_tasks import ended_links_apply_on_commit
from products.models import ProductLink, SourceProduct, SourceVariant, SyncEvent
from products.sync_events import SyncEventSpec, sync_event_record, sync_events_record
from stores.models import Connection, EndedLink

logger = logging.getLogger(__name__)

Kind = SyncEvent.Kind

# Turning auto sync on writes stock now: one task per this many products keeps each task short
# when a merchant turns it on for a whole catalogue at once.
STOCK_SYNC_CHUNK = 100


# --- source changes → what each linked destination gets ---------------------------------------


def _enqueue_autosync(link_id: int, cause: str) -> None:
    transaction.on_commit(lambda: product_link_autosync_task.delay(link_id, cause))


def _enqueue_stock_sync(connection_id: int, link_ids: list[int], cause: str) -> None:
    transaction.on_commit(lambda: product_links_stock_sync_task.delay(connection_id, link_ids,
                                                                      cause))


def source_changes_apply(*, changes: list[MirrorChange], cause: str) -> None:
    """Called inside the mirror's transaction: records what destinations must be told and
    queues the Shopify work (after commit)."""
    changes = [c for c in changes if not c.created]
    if not changes:
        return
    by_product: dict[int, list[ProductLink]] = defaultdict(list)
    for link in (ProductLink.objects.filter(source_product__in=[c.product for c in changes])
                 .select_related("connection").order_by("pk")):
        by_product[link.source_product_id].append(link)
    pending: dict[int, dict[str, str]] = {}
    for change in changes:
        product = change.product
        for link in by_product.get(product.pk, []):
            link.source_product = product
            connection = link.connection
            if connection.status != Connection.Status.CONNECTED:
                continue
            if change.hidden_changed:
                _hidden_changed(link=link, hidden=product.hidden, cause=cause)
            needs_work = False
            if change.removed:
                gone = list(link.variant_links.filter(source_variant_id__in=change.removed)
                            .select_related("source_variant"))
                if gone and connection.sync_variants and link.auto_sync and not product.hidden:
                    needs_work = True  # the task deletes them at the destination, then unlinks
                elif gone:
                    variant_links_unlink(link=link, variant_links=gone, cause=cause,
                                         message="removed at the source; unsynced, kept in "
                                                 "your store")
            if product.hidden or not link.auto_sync:
                continue
            if change.sku_changed and link.variant_links.filter(
                    source_variant_id__in=change.sku_changed).exists():
                needs_work = True
            if change.added and connection.sync_variants:
                needs_work = True
            if needs_work:
                _enqueue_autosync(link.pk, cause)
            syncing = fields_syncing(connection=connection)
            edited = {name: old for name, old in change.fields.items() if name in syncing}
            if edited:
                pending[link.pk] = pending_fields_merge(pending=pending.get(link.pk, {}),
                                                        edited=edited)
    _pending_add(pending)


def _pending_add(pending: dict[int, dict[str, str]]) -> int:
    """Adds source edits ({link id: {field: from text}}) to the links' waiting fields, keeping
    the first from of each field, and queues each connection's field flush after commit."""
    if not pending:
        return 0
    now = timezone.now()
    links = list(ProductLink.objects.select_for_update().filter(pk__in=list(pending))
                 .order_by("pk"))
    for link in links:
        link.pending_fields = pending_fields_merge(pending=link.pending_fields or {},
                                                   edited=pending[link.pk])
        link.pending_since = link.pending_since or now
    ProductLink.objects.bulk_update(links, ["pending_fields", "pending_since"])
    field_flush_on_commit({link.connection_id for link in links})
    return len(links)


def product_links_fields_due(*, connection: Connection, fields: set[str], cause: str) -> int:
    """Sends the given fields of every product of the connection that syncs them again, from
    the mirror (e.g. "apply the price rule to synced products now"): they wait like source
    edits, with no "from" (""), for the field flush. Fields the connection does not sync are
    left out. Returns how many products will be sent. (`cause` is kept in the log: the
    events say the fields were sent again.)"""
    wanted = set(fields) & fields_syncing(connection=connection)
    if not wanted or connection.status != Connection.Status.CONNECTED:
        return 0
    with transaction.atomic():
        link_ids = list(ProductLink.objects.filter(
            connection=connection, auto_sync=True, source_product__hidden=False,
            source_product__deleted_at__isnull=True).values_list("pk", flat=True))
        edited = dict.fromkeys(sorted(wanted), "")
        count = _pending_add({link_id: edited for link_id in link_ids})
    logger.info("fields %s due for %s products of connection %s: %s", sorted(wanted), count,
                connection.pk, cause)
    return count


def _hidden_changed(*, link: ProductLink, hidden: bool, cause: str) -> None:
    tag = link.connection.source.hidden_tag
    if hidden:
        sync_event_record(connection=link.connection, kind=Kind.HIDDEN, product_link=link,
                          field="visibility", from_value="visible", to_value="hidden",
                          cause=f"{cause}: tagged {tag} by the source; sync stopped")
        return
    sync_event_record(connection=link.connection, kind=Kind.HIDDEN, product_link=link,
                      field="visibility", from_value="hidden", to_value="visible",
                      cause=f"{cause}: {tag} removed by the source; sync resumed")
    if link.auto_sync:
        _enqueue_stock_sync(link.connection_id, [link.pk], f"{cause} (visible again)")


def source_products_unlink_deleted(*, products: list[SourceProduct], cause: str) -> int:
    """The source deleted products: their links go, and each destination's copy becomes what
    the destination chose for when links end (products.link_end; queued after commit)."""
    links = list(ProductLink.objects.filter(source_product__in=products)
                 .select_related("connection", "source_product"))
    for link in links:
        sync_event_record(connection=link.connection, kind=Kind.SOURCE_DELETED,
                          product_link=link, field="product", from_value="synced",
                          to_value="unsynced", cause=f"{cause}: deleted at the source")
    ended_links_apply_on_commit(product_links_capture(
        product_links=ProductLink.objects.filter(pk__in=[link.pk for link in links]),
        reason=EndedLink.Reason.PRODUCT_DELETED))
    ProductLink.objects.filter(pk__in=[link.pk for link in links]).delete()
    return len(links)


def source_sku_changes_apply(*, variants: list[SourceVariant], cause: str) -> None:
    """A source SKU changed (inventory_items/update): linked destination variants follow."""
    link_ids = set(ProductLink.objects.filter(
        variant_links__source_variant__in=variants, auto_sync=True,
        connection__status=Connection.Status.CONNECTED, source_product__hidden=False,
    ).values_list("pk", flat=True))
    for link_id in sorted(link_ids):
        _enqueue_autosync(link_id, cause)


# --- the destination's switches ---------------------------------------------------------------


def _links(connection: Connection, source_product_ids: list[int]) -> QuerySet[ProductLink]:
    return (ProductLink.objects.filter(connection=connection,
                                       source_product_id__in=source_product_ids)
            .select_related("connection", "source_product").order_by("pk"))


def product_links_auto_sync_set(*, connection: Connection, source_product_ids: list[int],
                                enabled: bool, actor_user_id: str = "") -> int:
    """Turns auto sync on or off for the selected synced products. On: the destination's
    quantities are overwritten with the source's from now on (right away, too)."""
    cause = f"changed in Syncer by user {actor_user_id}" if actor_user_id else "changed in Syncer"
    with transaction.atomic():
        links = list(_links(connection, source_product_ids).select_for_update(of=("self",))
                     .filter(auto_sync=not enabled))
        ProductLink.objects.filter(pk__in=[link.pk for link in links]).update(auto_sync=enabled)
        sync_events_record(events=[SyncEventSpec(
            connection=connection, kind=Kind.AUTO_SYNC, product_link=link, field="auto sync",
            from_value="on" if not enabled else "off", to_value="on" if enabled else "off",
            cause=cause) for link in links])
        if enabled:
            for start in range(0, len(links), STOCK_SYNC_CHUNK):
                _enqueue_stock_sync(connection.pk, [link.pk for link in
                                                    links[start:start + STOCK_SYNC_CHUNK]],
                                    "auto sync turned on")
    return len(links)


def product_links_unsync(*, connection: Connection, source_product_ids: list[int],
                         actor_user_id: str = "") -> int:
    """Unlinks the selected products; they stay in the destination store as they are."""
    cause = f"unsynced in Syncer by user {actor_user_id}" if actor_user_id else "unsynced"
    with transaction.atomic():
        links = list(_links(connection, source_product_ids).select_for_update(of=("self",)))
        sync_events_record(events=[SyncEventSpec(
            connection=connection, kind=Kind.UNLINKED, product_link=link, field="product",
            from_value="synced", to_value="unsynced",
            cause=f"{cause}; the product stays in your store") for link in links])
        ProductLink.objects.filter(pk__in=[link.pk for link in links]).delete()
    return len(links)
