"""When links end: what the destination's copies of a source's products become.

A link ends when the source deletes the product, blocks the store or uninstalls Syncer, or when
the destination disconnects or uninstalls. Without its link a product would keep selling stock
the destination can no longer get, so each destination chooses per source
(`Connection.on_link_end`): keep it as it is (frozen, with a warning), set its stock to zero
(the default), set it to draft, or delete it.

* `ended_links_capture` runs inside the transaction that removes the links, before they go: one
  `EndedLink` row per product keeps what the link knew (destination product, its synced
  variants and inventory items, the receiving location). "Keep", a product whose auto sync was
  off (its stock was the destination's own already) and a destination that uninstalled (no
  token: nothing can be called) are settled and recorded there and then; the rest wait.
* `ended_links_apply` does the waiting work for one connection through the destination's Admin
  API and records each outcome in the product's history (SyncEvent). Zero is a compare-and-set
  from the live level with an idempotency key kept on the row, so a retry sends the same
  request; draft and delete are safe to repeat. Throttling, 5xx and timeouts are raised for the
  task to retry with backoff (the row says it is retrying); refusals end the row failed with
  Shopify's reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from products.inventory.locations import destination_location_id
from products.models import DestinationStock, ProductLink, SourceProduct, SyncEvent
from products.sync_events import SyncEventSpec, sync_events_record
from stores.models import Connection, EndedLink
from stores.services import ShopNotInstalled, shop_admin_session
from syncer.shopify.admin_session import AdminSession
from syncer.shopify.errors import (
    ShopifyAuthError,
    ShopifyOutcomeUnknown,
    ShopifyRetryable,
    ShopifyUserErrors,
)
from syncer.shopify.operations.inventory import (
    QUANTITIES_SET_MAX,
    QuantitySet,
    QuantityStale,
    inventory_levels_read,
    inventory_quantities_set,
)
from syncer.shopify.operations.products import product_delete, product_status_set

logger = logging.getLogger(__name__)

Status = EndedLink.Status
Choice = Connection.LinkEnd
Kind = SyncEvent.Kind
Result = SyncEvent.Result

# Compare-and-set attempts when the destination's stock keeps moving under us.
STALE_ATTEMPTS = 3
STILL_CHANGING = ("The stock kept changing in your store while we set it to zero. Set it "
                  "yourself in Shopify.")
GAVE_UP = ("Shopify kept failing, so this was not applied. Change the product yourself in "
           "Shopify.")
KEEP_WARNING = ("its stock no longer follows the source and stays as it is: it may sell stock "
                "you cannot get")


@dataclass
class ApplyResult:
    done: int = 0
    failed: int = 0
    not_applied: int = 0


def _source_name(connection: Connection) -> str:
    return connection.source.name or connection.source.domain


def _cause(row: EndedLink) -> str:
    return (f"link ended: {row.get_reason_display().lower()} "
            f"({_source_name(row.connection)}); your choice: {row.get_choice_display().lower()}")


def _label(variant: dict) -> str:
    return f"variant {variant.get('label') or variant['variant']}"


# --- capture: before the links go -------------------------------------------------------------


def ended_links_capture(*, product_links: Iterable[ProductLink], reason: str) -> set[int]:
    """Keeps an EndedLink per product link about to be removed, and settles what needs no call.
    Call inside the transaction that removes the links. Returns the connection ids with work
    waiting (for the caller to queue on commit)."""
    links = list(product_links)
    if not links:
        return set()
    stocks = {stock.variant_link_id: stock.location_id for stock in
              DestinationStock.objects.filter(variant_link__product_link__in=links)}
    rows: list[EndedLink] = []
    for link in links:
        connection = link.connection
        variants = [{"variant": v.destination_variant_id, "item": v.destination_inventory_item_id,
                     "label": v.source_variant.sku or v.source_variant.title}
                    for v in sorted(link.variant_links.all(), key=lambda v: v.pk)]
        locations = [stocks[v.pk] for v in link.variant_links.all() if v.pk in stocks]
        row = EndedLink(
            connection=connection, reason=reason, choice=connection.on_link_end,
            destination_product_id=link.destination_product_id,
            source_product_id=link.source_product_id, title=link.source_product.title[:512],
            variants=variants,
            location_id=locations[0] if locations else connection.destination_location_id)
        if not connection.destination.is_installed:
            row.status, row.error = Status.NOT_APPLIED, ShopNotInstalled.default_merchant_message
        elif connection.on_link_end == Choice.KEEP:
            row.status = Status.KEPT
        elif not link.auto_sync and connection.on_link_end == Choice.ZERO:
            row.status = Status.KEPT
            row.error = "Auto sync was off: its stock was already yours to set."
        if row.status != Status.PENDING:
            row.finished_at = timezone.now()
        rows.append(row)
    EndedLink.objects.bulk_create(rows)
    _history(rows=[row for row in rows if row.status != Status.PENDING])
    return {row.connection_id for row in rows if row.status == Status.PENDING}


def connection_links_capture(*, connection: Connection, reason: str) -> set[int]:
    """Every product link of the connection is about to go (block, disconnect, uninstall)."""
    return ended_links_capture(product_links=_links(ProductLink.objects.filter(
        connection=connection)), reason=reason)


def _links(links: QuerySet[ProductLink]) -> QuerySet[ProductLink]:
    return (links.select_related("connection", "connection__source", "connection__destination",
                                 "source_product")
            .prefetch_related("variant_links__source_variant").order_by("pk"))


def product_links_capture(*, product_links: QuerySet[ProductLink], reason: str) -> set[int]:
    return ended_links_capture(product_links=_links(product_links), reason=reason)


# --- apply: at the destination ----------------------------------------------------------------


def ended_links_apply(*, connection_id: int) -> ApplyResult:
    """Applies the destination's choice to every waiting ended link of the connection. Safe to
    run twice: finished rows are left alone, a write in flight is sent again with its key."""
    result = ApplyResult()
    rows = list(EndedLink.objects.filter(connection_id=connection_id, status=Status.PENDING)
                .select_related("connection", "connection__source", "connection__destination")
                .order_by("pk"))
    if not rows:
        return result
    try:
        session = shop_admin_session(shop_domain=rows[0].connection.destination.domain)
    except ShopNotInstalled as exc:
        for row in rows:
            _finish(row, Status.NOT_APPLIED, error=exc.merchant_message)
        result.not_applied = len(rows)
        return result
    for row in rows:
        try:
            status = _apply(session, row)
        except ShopifyOutcomeUnknown as exc:
            _retrying(row, exc.merchant_message)
            raise ShopifyRetryable(str(exc), shop_domain=exc.shop_domain) from exc
        except ShopifyRetryable as exc:
            _retrying(row, exc.merchant_message)
            raise
        except ShopNotInstalled as exc:
            _finish(row, Status.NOT_APPLIED, error=exc.merchant_message)
            status = Status.NOT_APPLIED
        except (ShopifyAuthError, ShopifyUserErrors) as exc:
            _finish(row, Status.FAILED, error=exc.merchant_message)
            status = Status.FAILED
        if status == Status.DONE:
            result.done += 1
        elif status == Status.FAILED:
            result.failed += 1
        else:
            result.not_applied += 1
    return result


def ended_links_stalled(*, older_than_seconds: float = 900) -> list[int]:
    """Connections whose ended links still wait long after they ended (their task was lost:
    broker restart, worker killed): the sweeper queues them again."""
    since = timezone.now() - timedelta(seconds=older_than_seconds)
    return sorted(set(EndedLink.objects.filter(status=Status.PENDING, created_at__lt=since)
                      .values_list("connection_id", flat=True)))


def ended_links_give_up(*, connection_id: int, message: str) -> int:
    """The task's retries are spent: what still waits ends failed, with the last reason."""
    rows = list(EndedLink.objects.filter(connection_id=connection_id, status=Status.PENDING)
                .select_related("connection", "connection__source"))
    logger.warning("ended links of connection %s not applied, retries spent: %s",
                   connection_id, message)
    for row in rows:
        _finish(row, Status.FAILED, error=GAVE_UP)
    return len(rows)


def _apply(session: AdminSession, row: EndedLink) -> str:
    if row.choice == Choice.ZERO:
        return _zero(session, row)
    if row.choice == Choice.DRAFT:
        try:
            product_status_set(session=session, product_id=row.destination_product_id,
                               status="DRAFT")
        except ShopifyUserErrors as exc:
            if not exc.target_missing:
                raise
            _finish(row, Status.DONE, note="the product is no longer in your store")
            return Status.DONE
        _finish(row, Status.DONE)
        return Status.DONE
    if row.choice == Choice.DELETE:
        deleted = product_delete(session=session, product_id=row.destination_product_id)
        _finish(row, Status.DONE,
                note="" if deleted else "the product was no longer in your store")
        return Status.DONE
    _finish(row, Status.KEPT)
    return Status.KEPT


def _zero(session: AdminSession, row: EndedLink) -> str:
    """Sets every synced variant's available at the receiving location to 0, compared with what
    it showed (read live); the planned write and its key are kept on the row before sending."""
    for _ in range(STALE_ATTEMPTS):
        if not row.planned and not _zero_plan(session, row):
            _finish(row, Status.DONE, note="its stock was already 0")
            return Status.DONE
        try:
            for start in range(0, len(row.planned), QUANTITIES_SET_MAX):
                chunk = row.planned[start:start + QUANTITIES_SET_MAX]
                inventory_quantities_set(
                    session=session, reason="correction",
                    reference_document_uri=f"gid://syncer/EndedLink/{row.pk}",
                    idempotency_key=f"{row.idempotency_key}-{start // QUANTITIES_SET_MAX}",
                    quantities=[QuantitySet(inventory_item_id=item["item"],
                                            location_id=item["location"], quantity=0,
                                            change_from_quantity=item["from"])
                                for item in chunk])
        except QuantityStale:
            row.planned = []
            EndedLink.objects.filter(pk=row.pk).update(planned=[])
            continue
        _finish(row, Status.DONE)
        return Status.DONE
    _finish(row, Status.FAILED, error=STILL_CHANGING)
    return Status.FAILED


def _zero_plan(session: AdminSession, row: EndedLink) -> bool:
    """Reads the variants' live stock and keeps the write to make (with a new key) on the row.
    False when every variant shows 0 already."""
    location = row.location_id or destination_location_id(connection=row.connection)
    labels = {v["item"]: v for v in row.variants}
    live = {level.inventory_item_id: level.available for level in inventory_levels_read(
        session=session, inventory_item_ids=list(labels)) if level.location_id == location}
    row.planned = [{"item": item, "location": location, "from": live[item],
                    "label": labels[item].get("label") or labels[item]["variant"]}
                   for item in sorted(labels) if live.get(item)]
    if not row.planned:
        return False
    row.attempts += 1
    row.idempotency_key = f"syncer-link-end-{row.pk}-{row.attempts}"
    EndedLink.objects.filter(pk=row.pk).update(planned=row.planned, attempts=row.attempts,
                                               idempotency_key=row.idempotency_key,
                                               location_id=location)
    return True


def _retrying(row: EndedLink, message: str) -> None:
    """The row's try failed for a reason that may pass: it and every row waiting behind it say
    so until the task's next try."""
    if row.choice != Choice.ZERO:  # a zero write counts its tries when it plans them
        EndedLink.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
    EndedLink.objects.filter(connection_id=row.connection_id, status=Status.PENDING).update(
        error=f"Retrying: {message}")


@transaction.atomic
def _finish(row: EndedLink, status: str, *, error: str = "", note: str = "") -> None:
    row.status, row.error, row.finished_at = status, error or note, timezone.now()
    finished = EndedLink.objects.filter(pk=row.pk, status=Status.PENDING).update(
        status=row.status, error=row.error, finished_at=row.finished_at)
    if finished:  # a second run of the same work records nothing twice
        _history(rows=[row], note=note)


# --- history ----------------------------------------------------------------------------------


def _history(*, rows: list[EndedLink], note: str = "") -> None:
    """One history row per outcome (per variant for stock set to zero)."""
    sources = {p.pk: p for p in SourceProduct.objects.filter(
        pk__in=[row.source_product_id for row in rows if row.source_product_id])}
    events: list[SyncEventSpec] = []
    for row in rows:
        cause = _cause(row) + (f"; {note}" if note else "")
        failed = row.status in (Status.FAILED, Status.NOT_APPLIED)
        result = Result.FAILED if failed else (
            Result.SKIPPED if row.status == Status.KEPT else Result.OK)
        error = row.error if failed else ""

        def spec(kind: str, field: str, *, from_value: object = "", to_value: object = "",
                 row: EndedLink = row, cause: str = cause, result: str = result,
                 error: str = error) -> SyncEventSpec:
            return SyncEventSpec(
                connection=row.connection, source_product=sources.get(row.source_product_id or 0),
                destination_product_id=row.destination_product_id, kind=kind, field=field,
                from_value=from_value, to_value=to_value, cause=cause, result=result,
                error=error)

        if row.status == Status.KEPT:
            events.append(spec(Kind.UNLINKED, "product", from_value="synced",
                               to_value="unsynced, kept as it is",
                               cause=f"{cause}; {row.error or KEEP_WARNING}"))
        elif row.choice == Choice.ZERO and row.status == Status.DONE and row.planned:
            events.extend(spec(Kind.INVENTORY, _label(item), from_value=item["from"],
                               to_value=0) for item in row.planned)
        elif row.choice == Choice.ZERO:
            events.append(spec(Kind.INVENTORY, "available", to_value=0))
        elif row.choice == Choice.DRAFT:
            events.append(spec(Kind.STATUS, "status", to_value="draft"))
        else:
            events.append(spec(Kind.UNLINKED, "product", from_value="synced",
                               to_value="deleted"))
    sync_events_record(events=events)
