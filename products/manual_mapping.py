"""Map by hand: link one of the source's variants to one of this store's, when no SKU or barcode
pairs them (or pairs them wrongly).

The source's variants come from the mirror; this store's from its latest finished check (the
catalogue scan `products.mapping.sku_scan_start` makes), never from a live call per keystroke.
A link is one-to-one on each side, and a product of this store follows one source product per
connection (`product_link_unique_destination`), so a second variant of the same pair extends
the product link and a variant of another pair is refused with words. The new variant's stock
is set to the source's at once (`product_links_stock_sync_task`) and follows from then on,
like a mapped one. Every hand link records a "linked by hand" event: that is how a hand link is
told from a mapped one when it is listed or unlinked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q

from products.allowance import (
    HAND,
    AllowanceRefusal,
    allowance_check,
    allowance_reached_alert,
    allowance_refused_alert,
    destination_allowance_lock,
)
from products.autosync_tasks import product_links_stock_sync_task
from products.imports import (
    ImportRefused,
    connection_busy_product_ids,
    connection_require_connected,
)
from products.labels import variant_label
from products.models import CatalogueScan, ProductLink, SourceVariant, SyncEvent, VariantLink
from products.sync_events import sync_event_record
from stores.models import Connection

SEARCH_RESULTS = 20
LINKED_BY_HAND = "linked by hand"


class ManualLinkRefused(Exception):
    """Shown to the merchant as it is; `refusal` (and its `upgrade_url`) when it is the plan's
    allowance that refused it."""

    def __init__(self, message: str, *, refusal: AllowanceRefusal | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.upgrade_url = refusal.upgrade_url if refusal is not None else ""


@dataclass(frozen=True, slots=True)
class SourceVariantRow:
    id: int
    product_title: str
    title: str
    sku: str
    barcode: str

    @property
    def label(self) -> str:
        return variant_label(self.product_title, self.title)


@dataclass(frozen=True, slots=True)
class DestinationVariantRow:
    variant_id: int
    product_id: int
    product_title: str
    title: str
    sku: str
    barcode: str
    inventory_item_id: int

    @property
    def label(self) -> str:
        return variant_label(self.product_title, self.title)


@dataclass(frozen=True, slots=True)
class HandLink:
    variant_link_id: int
    source: str
    source_sku: str
    destination: str
    destination_sku: str
    linked_at: datetime


def _destination_row(row: dict) -> DestinationVariantRow:
    return DestinationVariantRow(
        variant_id=row["variant_id"], product_id=row["product_id"],
        product_title=row.get("product_title") or "", title=row.get("variant_title") or "",
        sku=row.get("sku") or "", barcode=row.get("barcode") or "",
        inventory_item_id=row["inventory_item_id"])


# --- reads ------------------------------------------------------------------------------------


def destination_scan_for_mapping(*, connection: Connection) -> CatalogueScan | None:
    """The latest finished read of this store's products for this connection."""
    return (CatalogueScan.objects.filter(connection=connection,
                                         purpose=CatalogueScan.Purpose.DESTINATION_SKUS,
                                         status=CatalogueScan.Status.DONE)
            .order_by("-pk").first())


def manual_source_variants_search(*, connection: Connection, search: str = "",
                                  limit: int = SEARCH_RESULTS) -> list[SourceVariantRow]:
    """The source's visible variants not linked for this connection yet, by product title,
    variant title, SKU or barcode."""
    variants = (SourceVariant.objects
                .filter(shop_id=connection.source_id, deleted_at__isnull=True,
                        product__deleted_at__isnull=True, product__hidden=False)
                .exclude(links__connection=connection))
    search = search.strip()
    if search:
        variants = variants.filter(Q(product__title__icontains=search)
                                   | Q(title__icontains=search) | Q(sku__icontains=search)
                                   | Q(barcode__icontains=search))
    rows = variants.order_by("product__title", "product_id", "position", "pk").values(
        "pk", "product__title", "title", "sku", "barcode")[:limit]
    return [SourceVariantRow(id=row["pk"], product_title=row["product__title"],
                             title=row["title"], sku=row["sku"], barcode=row["barcode"])
            for row in rows]


def manual_destination_variants_search(*, connection: Connection, scan: CatalogueScan | None,
                                       search: str = "", limit: int = SEARCH_RESULTS,
                                       ) -> list[DestinationVariantRow]:
    """This store's variants as the scan read them, not linked for this connection, by product
    title, variant title, SKU or barcode."""
    if scan is None:
        return []
    linked = set(VariantLink.objects.filter(connection=connection)
                 .values_list("destination_variant_id", flat=True))
    needle = search.strip().casefold()
    found = []
    for row in sorted(scan.destination_variants,
                      key=lambda row: ((row.get("product_title") or "").casefold(),
                                       row["product_id"], row["variant_id"])):
        if row["variant_id"] in linked:
            continue
        if needle and not any(needle in (row.get(name) or "").casefold() for name in (
                "product_title", "variant_title", "sku", "barcode")):
            continue
        found.append(_destination_row(row))
        if len(found) >= limit:
            break
    return found


def _hand_links(connection: Connection):
    made_by_hand = SyncEvent.objects.filter(
        connection=connection, kind=SyncEvent.Kind.MAPPED, to_value=LINKED_BY_HAND,
        destination_product_id=OuterRef("product_link__destination_product_id"),
        source_variant_id=OuterRef("source_variant_id"), created_at__gte=OuterRef("created_at"))
    return VariantLink.objects.filter(connection=connection).filter(Exists(made_by_hand))


def manual_links_list(*, connection: Connection, scan: CatalogueScan | None) -> list[HandLink]:
    """The variants linked by hand for this connection, newest first; this store's side named
    as the scan read it."""
    destinations = {row["variant_id"]: _destination_row(row)
                    for row in (scan.destination_variants if scan else [])}
    links = []
    for link in (_hand_links(connection).select_related("source_variant__product")
                 .order_by("-created_at", "-pk")):
        destination = destinations.get(link.destination_variant_id)
        variant = link.source_variant
        links.append(HandLink(
            variant_link_id=link.pk, source=variant_label(variant.product.title, variant.title),
            source_sku=variant.sku,
            destination=(destination.label if destination
                         else f"Variant {link.destination_variant_id}"),
            destination_sku=destination.sku if destination else "", linked_at=link.created_at))
    return links


# --- writes -----------------------------------------------------------------------------------


def _cause(actor_user_id: str) -> str:
    return f"linked by hand by user {actor_user_id}" if actor_user_id else "linked by hand"


def variant_link_by_hand(*, connection: Connection, source_variant_id: int,
                         destination_variant_id: int, actor_user_id: str = "") -> VariantLink:
    """Links the source variant to this store's variant; its stock is set to the source's
    right after, and follows from then on. Raises ManualLinkRefused saying why not."""
    try:
        connection_require_connected(connection)
    except ImportRefused as exc:
        raise ManualLinkRefused(str(exc)) from None
    scan = destination_scan_for_mapping(connection=connection)
    row = next((_destination_row(row) for row in (scan.destination_variants if scan else [])
                if row["variant_id"] == destination_variant_id), None)
    if row is None:
        raise ManualLinkRefused("That variant is not in the last read of your store's products. "
                                "Check again to read them, then link it.")
    cause = _cause(actor_user_id)
    try:
        with transaction.atomic():
            link, variant_link = _link(connection=connection, source_variant_id=source_variant_id,
                                       destination=row, cause=cause)
            transaction.on_commit(lambda: product_links_stock_sync_task.delay(
                connection.pk, [link.pk], cause))
    except IntegrityError:
        # Linked by a job or another tab between our checks and the insert.
        raise ManualLinkRefused("One of these variants was linked by something else a moment "
                                "ago. Search again and pick from what is left.") from None
    except ManualLinkRefused as exc:
        if exc.refusal is not None:  # told once nothing was linked
            allowance_refused_alert(shop=connection.destination, refusal=exc.refusal)
        raise
    if variant_link.product_link.variant_links.count() == 1:  # a product synced just now
        allowance_reached_alert(shop=connection.destination)
    return variant_link


def _link(*, connection: Connection, source_variant_id: int, destination: DestinationVariantRow,
          cause: str) -> tuple[ProductLink, VariantLink]:
    # One linker at a time per connection (jobs start under the same locks), and one action
    # that may sync a new product per destination (the plan's allowance counts them).
    destination_allowance_lock(shop=connection.destination)
    Connection.objects.select_for_update().filter(pk=connection.pk).first()
    variant = (SourceVariant.objects.select_related("product")
               .filter(pk=source_variant_id, shop_id=connection.source_id,
                       deleted_at__isnull=True, product__deleted_at__isnull=True,
                       product__hidden=False).first())
    if variant is None:
        raise ManualLinkRefused("That source variant is no longer available: it was hidden or "
                                "deleted at the source. Search again.")
    source_label = variant_label(variant.product.title, variant.title)
    if VariantLink.objects.filter(connection=connection, source_variant=variant).exists():
        raise ManualLinkRefused(f"The source's “{source_label}” is already linked to a variant "
                                "in your store. Unlink it first to link it to another.")
    if VariantLink.objects.filter(connection=connection,
                                  destination_variant_id=destination.variant_id).exists():
        raise ManualLinkRefused(f"Your “{destination.label}” is already linked to a source "
                                "variant. Unlink it first to link it to another.")
    if variant.product_id in connection_busy_product_ids(connection):
        raise ManualLinkRefused(f"The source product “{variant.product.title}” is being synced "
                                "or mapped right now. Link it by hand once that job is done.")
    link = ProductLink.objects.filter(connection=connection, source_product=variant.product).first()
    if link is not None and link.destination_product_id != destination.product_id:
        raise ManualLinkRefused(
            f"The source product “{variant.product.title}” already follows another product in "
            "your store: its variants can only be linked to that product's variants. Unsync it "
            "first to link it to this one.")
    other = (ProductLink.objects.select_related("source_product")
             .filter(connection=connection, destination_product_id=destination.product_id)
             .exclude(source_product=variant.product).first())
    if other is not None:
        raise ManualLinkRefused(
            f"Your product “{destination.product_title}” already follows the source product "
            f"“{other.source_product.title}”, and a product of yours follows one source product "
            "only. Pick one of that product's variants, or unsync it first.")
    if link is None:
        refusal = allowance_check(shop=connection.destination, adding=1, action=HAND)
        if refusal is not None:
            raise ManualLinkRefused(refusal.message, refusal=refusal)
        link = ProductLink.objects.create(connection=connection, source_product=variant.product,
                                          destination_product_id=destination.product_id,
                                          origin=ProductLink.Origin.LINKED_BY_HAND)
        sync_event_record(connection=connection, kind=SyncEvent.Kind.MAPPED, product_link=link,
                          field="product", from_value="", to_value=destination.product_title,
                          cause=cause)
    variant_link = VariantLink.objects.create(
        product_link=link, connection=connection, source_variant=variant,
        destination_variant_id=destination.variant_id,
        destination_inventory_item_id=destination.inventory_item_id)
    sync_event_record(connection=connection, kind=SyncEvent.Kind.MAPPED, product_link=link,
                      field=f"variant {variant.sku or source_label}"[:100],
                      from_value="", to_value=LINKED_BY_HAND, cause=cause,
                      source_variant_id=variant.pk)
    return link, variant_link


def variant_link_by_hand_remove(*, connection: Connection, variant_link_id: int,
                                actor_user_id: str = "") -> str:
    """Unlinks a variant linked by hand: it keeps its stock as it is and stops following the
    source. A product linked by hand goes with its last variant. Returns what was unlinked, in
    words; raises ManualLinkRefused if it is not a hand link of this connection (any more)."""
    cause = (f"unlinked by hand by user {actor_user_id}" if actor_user_id
             else "unlinked by hand") + "; it stays in your store as it is"
    with transaction.atomic():
        Connection.objects.select_for_update().filter(pk=connection.pk).first()
        variant_link = (_hand_links(connection)
                        .select_related("product_link", "source_variant__product")
                        .filter(pk=variant_link_id).first())
        if variant_link is None:
            raise ManualLinkRefused("That link is gone already (or was not made by hand). "
                                    "Reload the page to see the links as they are.")
        link, variant = variant_link.product_link, variant_link.source_variant
        label = variant_label(variant.product.title, variant.title)
        sync_event_record(connection=connection, kind=SyncEvent.Kind.UNLINKED, product_link=link,
                          field=f"variant {variant.sku or label}"[:100], from_value="synced",
                          to_value="unsynced", cause=cause, source_variant_id=variant.pk)
        variant_link.delete()
        if (link.origin == ProductLink.Origin.LINKED_BY_HAND
                and not link.variant_links.exists()):
            sync_event_record(connection=connection, kind=SyncEvent.Kind.UNLINKED,
                              product_link=link, field="product", from_value="synced",
                              to_value="unsynced", cause=cause)
            link.delete()
    return label
