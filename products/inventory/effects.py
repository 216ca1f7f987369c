"""Flows 3 and 4: destination sales and restocks move the source.

One InventoryEffect per order line / refund line, made at most once whatever the webhooks do;
each is applied with one idempotent inventoryAdjustQuantities at the source, whose own level
webhook then fans out to every destination.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from products.inventory.levels import levels_read
from products.inventory.locations import (
    source_decrement_location_id,
    source_shared_location_ids,
)
from products.inventory.oversold import oversold_alert_for_sale
from products.inventory.sales import destination_sales_record
from products.inventory.selectors import destination_variant_links
from products.inventory.targets import source_levels_changed
from products.models import (
    InventoryEffect,
    StockReason,
    SyncEvent,
    VariantLink,
)
from products.sync_events import sync_event_record
from stores.alerts import alert_raise_on_commit
from stores.models import AlertKind, Connection, Shop
from stores.services import shop_admin_session
from syncer.shopify.errors import ShopifyError, ShopifyUserErrors
from syncer.shopify.operations.inventory import inventory_quantity_adjust
from webhooks.registry import WebhookPayloadInvalid

logger = logging.getLogger(__name__)

SALE_REASON = "correction"
RESTOCK_TYPES = {"return", "cancel", "legacy_restock"}


def _dicts(payload: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """payload[key] as the list of objects Shopify sends; anything else cannot be retried into
    shape, so it fails the delivery once instead of eight times."""
    value = payload.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise WebhookPayloadInvalid(f"{key} is not a list of objects")
    for item in value:
        if item.get("id") is None:
            raise WebhookPayloadInvalid(f"{key}[] has an item without an id")
        for field in ("id", "variant_id", "line_item_id", "quantity"):
            if item.get(field) is not None and not isinstance(item[field], int | str):
                raise WebhookPayloadInvalid(f"{key}[].{field} is not a number")
            if isinstance(item.get(field), str) and not item[field].lstrip("-").isdigit():
                raise WebhookPayloadInvalid(f"{key}[].{field} is not a number")
    return value


def inventory_effects_for_order(*, destination: Shop, payload: dict[str, Any],
                                trigger: str) -> list[int]:
    """orders/paid (and orders/create when the connection counts pending orders): each linked
    line counted at the source up to its quantity, once whatever the webhooks do."""
    lines = [line for line in _dicts(payload, "line_items") if line.get("variant_id")]
    links = destination_variant_links(destination=destination,
                                      variant_ids=[line["variant_id"] for line in lines])
    created = []
    paid = []
    for line in lines:
        link = links.get(line["variant_id"])
        if link is None or link.connection.status != Connection.Status.CONNECTED:
            continue
        if trigger == "create" and not link.connection.count_pending_orders:
            continue
        quantity = int(line.get("quantity") or 0)
        if quantity <= 0:
            continue
        if trigger == "paid":  # a sale for the source's dashboard, pending-counted or not
            paid.append((link, int(line["id"]), quantity))
        created += line_counted(destination=destination, link=link,
                                order_id=int(payload["id"]),
                                order_name=str(payload.get("name") or ""),
                                line_item_id=int(line["id"]), quantity=quantity)
    destination_sales_record(destination=destination, order_id=int(payload["id"]), lines=paid)
    return created


def line_counted(*, destination: Shop, link: VariantLink, order_id: int, order_name: str,
                  line_item_id: int, quantity: int) -> list[int]:
    """Counts an order line at the source up to `quantity` units: the first time, one sale
    effect keyed by the line (the unique key makes it once); when the line has grown since (an
    order edit added units), one more for the difference, keyed by the quantity reached. A
    payload older than what is counted (webhooks come in any order) counts nothing. The
    line's first effect is locked while it is compared, so two webhooks of one line cannot
    both count the same units. Returns the effects to apply."""
    fields = {"source": link.connection.source, "order_id": order_id,
              "order_name": order_name[:64], "line_item_id": line_item_id,
              "inventory_item_id": link.source_variant.inventory_item_id,
              "location_id": source_decrement_location_id(source=link.connection.source)}
    with transaction.atomic():
        first, was_created = InventoryEffect.objects.select_for_update().get_or_create(
            destination=destination, kind=InventoryEffect.Kind.SALE, key=str(line_item_id),
            defaults={**fields, "delta": -quantity,
                      "idempotency_key": f"syncer-sale-{uuid.uuid4()}"})
        if was_created:
            return [first.pk, *_restocks_release(sale=first)]
        counted = _line_sold(destination=destination, line_item_id=line_item_id)
        if quantity <= counted:
            return []
        more, was_created = InventoryEffect.objects.get_or_create(
            destination=destination, kind=InventoryEffect.Kind.SALE,
            key=f"{line_item_id}@{quantity}",
            defaults={**fields, "delta": counted - quantity,
                      "idempotency_key": f"syncer-sale-{uuid.uuid4()}"})
        return [more.pk, *_restocks_release(sale=more)] if was_created else []


def _line_sold(*, destination: Shop, line_item_id: int) -> int:
    """The units of a line taken off the source (its sale effects: one, or more if edited)."""
    return -sum(InventoryEffect.objects.filter(
        destination=destination, kind=InventoryEffect.Kind.SALE,
        line_item_id=line_item_id).values_list("delta", flat=True))


def _restocks_release(*, sale: InventoryEffect) -> list[int]:
    """Restocks that arrived before their sale was counted become due now, capped so a line
    never gives back more than it took."""
    released = []
    remaining = _line_sold(destination=sale.destination, line_item_id=sale.line_item_id)
    for restock in InventoryEffect.objects.filter(
            destination=sale.destination, kind=InventoryEffect.Kind.RESTOCK,
            line_item_id=sale.line_item_id).order_by("pk"):
        if restock.status != InventoryEffect.Status.WAITING:
            remaining -= restock.delta
            continue
        quantity = min(restock.delta, remaining)
        if quantity <= 0:
            InventoryEffect.objects.filter(pk=restock.pk).update(
                status=InventoryEffect.Status.FAILED, error="More restocked than sold")
            continue
        remaining -= quantity
        InventoryEffect.objects.filter(pk=restock.pk).update(
            status=InventoryEffect.Status.PENDING, delta=quantity, source=sale.source,
            inventory_item_id=sale.inventory_item_id, location_id=sale.location_id)
        released.append(restock.pk)
    return released



def inventory_effects_for_refund(*, destination: Shop, payload: dict[str, Any]) -> list[int]:
    """refunds/create with restock (return / cancel): give the units back to the source, once
    per refund line, and never more than that line moved out of the source."""
    created = []
    for refund_line in _dicts(payload, "refund_line_items"):
        if refund_line.get("restock_type") not in RESTOCK_TYPES:
            continue
        line_item_id: Any = refund_line.get("line_item_id")
        sale = InventoryEffect.objects.filter(
            destination=destination, kind=InventoryEffect.Kind.SALE,
            line_item_id=line_item_id).first()
        if sale is None:
            _restock_wait(destination=destination, payload=payload, refund_line=refund_line)
            continue
        restocked = sum(-e.delta for e in InventoryEffect.objects.filter(
            destination=destination, kind=InventoryEffect.Kind.RESTOCK,
            line_item_id=sale.line_item_id).exclude(key=str(refund_line["id"])))
        sold = _line_sold(destination=destination, line_item_id=sale.line_item_id)
        quantity = min(int(refund_line.get("quantity") or 0), sold + restocked)
        if quantity <= 0:
            continue
        effect, was_created = InventoryEffect.objects.get_or_create(
            destination=destination, kind=InventoryEffect.Kind.RESTOCK,
            key=str(refund_line["id"]),
            defaults={
                "source": sale.source, "order_id": sale.order_id,
                "line_item_id": sale.line_item_id, "inventory_item_id": sale.inventory_item_id,
                "location_id": sale.location_id, "delta": quantity,
                "idempotency_key": f"syncer-restock-{uuid.uuid4()}",
            },
        )
        if was_created:
            created.append(effect.pk)
    return created


def _restock_wait(*, destination: Shop, payload: dict[str, Any],
                  refund_line: dict[str, Any]) -> None:
    """A restock for a line whose sale we have not counted (yet): keep it, waiting."""
    line = refund_line.get("line_item") or {}
    variant_id: Any = line.get("variant_id")
    link = destination_variant_links(destination=destination,
                                           variant_ids=[variant_id]).get(variant_id)
    quantity = int(refund_line.get("quantity") or 0)
    if link is None or quantity <= 0:
        return  # not a synced line: it never moved source stock
    InventoryEffect.objects.get_or_create(
        destination=destination, kind=InventoryEffect.Kind.RESTOCK, key=str(refund_line["id"]),
        defaults={
            "source": link.connection.source, "order_id": int(payload.get("order_id") or 0),
            "line_item_id": int(refund_line.get("line_item_id") or 0),
            "inventory_item_id": link.source_variant.inventory_item_id,
            "location_id": source_decrement_location_id(source=link.connection.source),
            "delta": quantity, "idempotency_key": f"syncer-restock-{uuid.uuid4()}",
            "status": InventoryEffect.Status.WAITING,
        },
    )


def inventory_restocks_release_waiting() -> list[int]:
    """Releases waiting restocks whose sale exists (a refund and its paid webhook processed
    at the same moment can each miss the other)."""
    released = []
    waiting = InventoryEffect.objects.filter(status=InventoryEffect.Status.WAITING)
    for line_item_id, destination_id in set(waiting.values_list("line_item_id",
                                                                "destination_id")):
        sale = InventoryEffect.objects.filter(destination_id=destination_id,
                                              kind=InventoryEffect.Kind.SALE,
                                              line_item_id=line_item_id).first()
        if sale is not None:
            released += _restocks_release(sale=sale)
    return released


def inventory_effect_apply(*, effect_id: int) -> set[int]:
    """Moves the source's stock for one effect with inventoryAdjustQuantities (relative, so
    concurrent sales never conflict; changeFromQuantity explicitly null). Returns the
    destinations to flush.

    The source's level after the move is read back and recorded at once, and every target
    recomputed: until the source's own webhook for it arrived, the targets still held the
    units sold, and the selling destination — whose level already fell — could be handed them
    back by a flush in between. (Shopify's answer does not say the level after the move:
    quantityAfterChange is null for adjustments.)"""
    effect = InventoryEffect.objects.select_related("source").get(pk=effect_id)
    if effect.status in (InventoryEffect.Status.APPLIED, InventoryEffect.Status.WAITING):
        return set()
    try:
        inventory_quantity_adjust(
            session=shop_admin_session(shop_domain=effect.source.domain),
            inventory_item_id=effect.inventory_item_id, location_id=effect.location_id,
            delta=effect.delta, reason=SALE_REASON,
            reference_document_uri=f"gid://syncer/InventoryEffect/{effect.pk}",
            idempotency_key=effect.idempotency_key)
    except ShopifyUserErrors as exc:
        InventoryEffect.objects.filter(pk=effect.pk).update(
            status=InventoryEffect.Status.FAILED, error=exc.merchant_message)
        _effect_event(effect, result=SyncEvent.Result.FAILED, error=exc.merchant_message)
        alert_raise_on_commit(shop_ids=[effect.destination_id, effect.source_id],
                              kind=AlertKind.SOURCE_DECREMENT_FAILED,
                              detail=f"Order {effect.order_name or effect.order_id}: "
                                     f"{exc.merchant_message}")
        return set()
    InventoryEffect.objects.filter(pk=effect.pk).update(status=InventoryEffect.Status.APPLIED,
                                                        applied_at=timezone.now())
    _effect_event(effect, result=SyncEvent.Result.OK)
    try:
        live = levels_read(shop=effect.source, inventory_item_ids=[effect.inventory_item_id])
    except ShopifyError:
        # Applied all the same; the source's webhook (or the next check) brings the level.
        logger.warning("source level after effect %s not read", effect.pk, exc_info=True)
        return set()
    if effect.kind == InventoryEffect.Kind.SALE:
        shared = set(source_shared_location_ids(source=effect.source))
        after = [(available, updated_at) for (_, location_id), (available, updated_at)
                 in live.items() if location_id in shared]
        oversold_alert_for_sale(
            effect=effect, shared=sum(available for available, _ in after),
            stamp=max((updated_at for _, updated_at in after if updated_at), default=None))
    # (this sale's own alert, with its order, is the one about it: oversold_alerts=False)
    return source_levels_changed(source=effect.source, oversold_alerts=False, levels=[
        (item_id, location_id, available, updated_at)
        for (item_id, location_id), (available, updated_at) in live.items()])


def _effect_event(effect: InventoryEffect, *, result: str, error: str = "") -> None:
    link = VariantLink.objects.filter(connection__source=effect.source,
                                      connection__destination=effect.destination,
                                      source_variant__inventory_item_id=effect.inventory_item_id,
                                      ).select_related("product_link", "connection").first()
    sale = effect.kind == InventoryEffect.Kind.SALE
    # A refund's webhook does not name its order: its sale's did.
    order_name = effect.order_name or (InventoryEffect.objects.filter(
        destination=effect.destination, kind=InventoryEffect.Kind.SALE,
        line_item_id=effect.line_item_id).values_list("order_name", flat=True).first() or "")
    sync_event_record(
        connection=link.connection if link else None,
        product_link=link.product_link if link else None,
        kind=SyncEvent.Kind.SOURCE_DECREMENT if sale else SyncEvent.Kind.SOURCE_RESTOCK,
        field=f"source item {effect.inventory_item_id} available",
        from_value="", to_value=f"{effect.delta:+d}",
        cause=f"order {effect.order_id} line {effect.line_item_id}", result=result, error=error,
        source_variant_id=link.source_variant_id if link else None,
        location_id=effect.location_id,
        reason=StockReason.SALE if sale else StockReason.RESTOCK, order_name=order_name,
        # from the order's webhook being taken in to the source's stock moving
        latency_ms=(max(0, int((timezone.now() - effect.created_at).total_seconds() * 1000))
                    if result == SyncEvent.Result.OK else None),
    )
