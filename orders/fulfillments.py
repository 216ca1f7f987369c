"""Fulfilment back: a source fulfils a pushed order → the destination's order is fulfilled for
the same lines, with the same tracking, through its fulfilment orders.

`fulfillments/create|update` on the source records an OrderFulfillment row (writes only, no
Shopify call); a task then makes the destination match it: `fulfillmentCreate` once, and
`fulfillmentTrackingInfoUpdate` whenever the source's tracking changes later.
"""

import logging
from collections import defaultdict

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from orders import payloads as p
from orders.models import DestinationOrder, OrderFulfillment, OrderPush, OrderPushLine
from orders.services import _enqueue, order_settings_get_or_create, row_claim, row_release
from stores.models import Shop
from syncer.shopify import (
    ShopifyError,
    ShopifyOutcomeUnknown,
    ShopifyRetryable,
    admin_client,
    document,
    raise_for_user_errors,
)
from syncer.shopify.ids import gid, gid_id_or_none

logger = logging.getLogger(__name__)

Status = OrderFulfillment.Status
Fulfilled = DestinationOrder.FulfillmentStatus
# Source fulfilments in these states do not count (and are not copied).
NOT_SHIPPED = frozenset({"cancelled", "error", "failure"})
FULFILLABLE_FO = frozenset({"OPEN", "IN_PROGRESS"})


def _tracking_from_payload(payload: dict) -> dict[str, str]:
    numbers = [p.as_str(n) for n in p.as_list(payload.get("tracking_numbers")) if p.as_str(n)]
    urls = [p.as_str(u, limit=2048) for u in p.as_list(payload.get("tracking_urls"))
            if p.as_str(u, limit=2048)]
    return {
        "company": p.as_str(payload.get("tracking_company")),
        "number": p.as_str(payload.get("tracking_number")) or (numbers[0] if numbers else ""),
        "url": p.as_str(payload.get("tracking_url"), limit=2048) or (urls[0] if urls else ""),
    }


def _needs_sync(row: OrderFulfillment) -> bool:
    return row.status == Status.PENDING and row.source_status not in NOT_SHIPPED


def order_push_fulfillment_refresh(*, push: OrderPush) -> str:
    """Each pushed line's fulfilled quantity and the push's fulfilment status, from every
    source fulfilment recorded for it (order-independent: late webhooks cannot undo it)."""
    shipped: dict[int, int] = defaultdict(int)
    for lines in push.fulfillments.exclude(source_status__in=NOT_SHIPPED).values_list(
            "lines", flat=True):
        for line in lines:
            shipped[line["source_line_item_id"]] += line["quantity"]
    push_lines = list(push.lines.all())
    for push_line in push_lines:
        push_line.fulfilled_quantity = min(push_line.quantity,
                                           shipped.get(push_line.source_line_item_id, 0))
    OrderPushLine.objects.bulk_update(push_lines, ["fulfilled_quantity"])
    if push_lines and all(line.fulfilled_quantity >= line.quantity for line in push_lines):
        status = Fulfilled.FULFILLED
    elif any(line.fulfilled_quantity for line in push_lines):
        status = Fulfilled.PARTIAL
    else:
        status = Fulfilled.UNFULFILLED
    OrderPush.objects.filter(pk=push.pk).update(source_fulfillment_status=status,
                                               updated_at=timezone.now())
    push.source_fulfillment_status = status
    return status


def order_fulfillment_upsert_from_webhook(*, source: Shop,
                                          payload: dict) -> OrderFulfillment | None:
    """fulfillments/create|update on a source. Ignores fulfilments of orders we did not push."""
    from orders.tasks import order_fulfillment_sync_task

    fulfillment_id = p.as_int(payload.get("id"))
    order_id = p.as_int(payload.get("order_id"))
    if fulfillment_id is None or order_id is None:
        return None
    push = OrderPush.objects.filter(source=source, source_order_id=order_id,
                                    status=OrderPush.Status.PUSHED).first()
    if push is None:
        return None
    lines = [{"source_line_item_id": p.as_int(line.get("id")),
              "quantity": max(p.as_int(line.get("quantity")) or 0, 0)}
             for line in map(p.as_dict, p.as_list(payload.get("line_items")))
             if p.as_int(line.get("id")) is not None]
    tracking = _tracking_from_payload(payload)
    fields = {
        "source_status": p.as_str(payload.get("status"), limit=16),
        "lines": lines,
        "tracking_company": tracking["company"],
        "tracking_number": tracking["number"],
        "tracking_url": tracking["url"],
        "source_updated_at": p.as_datetime(payload.get("updated_at")),
    }
    with transaction.atomic():
        # One fulfilment webhook of a push at a time: they all rewrite its line counts.
        push = OrderPush.objects.select_for_update().get(pk=push.pk)
        row, created = OrderFulfillment.objects.get_or_create(
            push=push, source_fulfillment_id=fulfillment_id, defaults=fields)
        if not created:
            row = OrderFulfillment.objects.select_for_update().get(pk=row.pk)
            incoming = fields["source_updated_at"]
            if incoming and row.source_updated_at and incoming < row.source_updated_at:
                return row  # an older payload arriving late
            for name, value in fields.items():
                if name == "lines" and not value:
                    continue  # an update without line items keeps the lines we know
                setattr(row, name, value)
            if row.status == Status.FAILED or (row.status == Status.SYNCED
                                               and row.tracking != row.synced_tracking):
                row.status = Status.PENDING  # new tracking to copy, or another try
            row.save()
        order_push_fulfillment_refresh(push=push)
        if _needs_sync(row):
            _enqueue(order_fulfillment_sync_task, row.pk)
    return row


# --- making the destination match ---------------------------------------------------------------


def _tracking_input(tracking: dict[str, str]) -> dict[str, str]:
    value = {key: tracking[key] for key in ("company", "number") if tracking.get(key)}
    if tracking.get("url") and tracking.get("number"):
        value["url"] = tracking["url"]  # Shopify refuses a URL without a number
    return value


def _wanted(row: OrderFulfillment) -> dict[str, int]:
    """Destination line gid → quantity to fulfil, through the push's line map."""
    by_source_line = {line.source_line_item_id: line for line in
                      row.push.lines.select_related("line") if line.source_line_item_id}
    wanted: dict[str, int] = defaultdict(int)
    for entry in row.lines:
        push_line = by_source_line.get(entry["source_line_item_id"])
        if push_line is not None and entry["quantity"] > 0:
            wanted[gid("LineItem", push_line.line.shopify_id)] += entry["quantity"]
    return dict(wanted)


def _allocate(fulfillment_orders: list[dict], wanted: dict[str, int]) -> dict[str, list[dict]]:
    """Location gid → lineItemsByFulfillmentOrder entries covering `wanted` (what is still open)."""
    left = dict(wanted)
    groups: dict[str, list[dict]] = defaultdict(list)
    for fo in fulfillment_orders:
        if fo.get("status") not in FULFILLABLE_FO:
            continue
        entries = []
        for item in (fo.get("lineItems") or {}).get("nodes") or []:
            line_gid = (item.get("lineItem") or {}).get("id")
            take = min(left.get(line_gid, 0), item.get("remainingQuantity") or 0)
            if take > 0:
                entries.append({"id": item["id"], "quantity": take})
                left[line_gid] -= take
        if entries:
            location = (((fo.get("assignedLocation") or {}).get("location") or {}).get("id")
                        or "")
            groups[location].append({"fulfillmentOrderId": fo["id"],
                                     "fulfillmentOrderLineItems": entries})
    return dict(groups)


def _adopt_existing(*, row: OrderFulfillment, token: str, wanted: dict[str, int]) -> list[int]:
    """After a fulfillmentCreate whose answer was lost: destination fulfilments that match this
    one (same lines within what we wanted, same tracking number) and are nobody else's."""
    order = row.push.order
    data = admin_client().execute(
        shop_domain=order.shop.domain, access_token=token,
        document=document("order_fulfillments"), variables={"id": order.admin_graphql_api_id})
    known = {fid for ids in OrderFulfillment.objects.filter(push__order=order).exclude(
        pk=row.pk).values_list("destination_fulfillment_ids", flat=True) for fid in ids}
    adopted = []
    for fulfillment in (data.get("order") or {}).get("fulfillments") or []:
        fid = gid_id_or_none(fulfillment.get("id"))
        if fid is None or fid in known or fulfillment.get("status") != "SUCCESS":
            continue
        number = ((fulfillment.get("trackingInfo") or [{}])[0] or {}).get("number") or ""
        if number != row.tracking_number:
            continue
        lines = (fulfillment.get("fulfillmentLineItems") or {}).get("nodes") or []
        if lines and all(wanted.get((line.get("lineItem") or {}).get("id"), 0)
                         >= (line.get("quantity") or 0) for line in lines):
            adopted.append(fid)
    return adopted


def _token(shop: Shop) -> str:
    from stores.services import shop_access_token

    return shop_access_token(shop_domain=shop.domain)


def _mark_synced(row: OrderFulfillment, tracking: dict[str, str], **fields) -> None:
    """Done with `tracking`; the row only counts as synced if that is still the source's
    tracking (an update that came in meanwhile keeps it pending, for the next round)."""
    now = timezone.now()
    _finish(row, synced_tracking=tracking, synced_at=now, error="", **fields)
    if OrderFulfillment.objects.filter(
        pk=row.pk, tracking_company=tracking["company"], tracking_number=tracking["number"],
        tracking_url=tracking["url"],
    ).update(status=Status.SYNCED):
        row.status = Status.SYNCED


def _finish(row: OrderFulfillment, **fields) -> None:
    fields.setdefault("updated_at", timezone.now())
    OrderFulfillment.objects.filter(pk=row.pk).update(**fields)
    for name, value in fields.items():
        setattr(row, name, value)


def _create_on_destination(row: OrderFulfillment) -> None:
    order = row.push.order
    destination = order.shop
    settings = order_settings_get_or_create(shop=destination)
    token = _token(destination)
    client = admin_client()
    wanted = _wanted(row)
    if not wanted:
        _finish(row, status=Status.SKIPPED,
                error="None of the fulfilled items came from this store's order.")
        return
    if row.attempts:
        adopted = _adopt_existing(row=row, token=token, wanted=wanted)
        if adopted:
            _mark_synced(row, row.tracking, destination_fulfillment_ids=adopted)
            return
    data = client.execute(shop_domain=destination.domain, access_token=token,
                          document=document("order_fulfillment_orders"),
                          variables={"id": order.admin_graphql_api_id, "first": 20,
                                     "lineItemsFirst": 250})
    fulfillment_orders = (((data.get("order") or {}).get("fulfillmentOrders") or {})
                          .get("nodes") or [])
    groups = _allocate(fulfillment_orders, wanted)
    if not groups:
        _finish(row, status=Status.SKIPPED, synced_at=timezone.now(),
                error="These items are already fulfilled (or cancelled) on your store.")
        return
    created_ids: list[int] = []
    tracking_sent = row.tracking
    for entries in groups.values():
        OrderFulfillment.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        fulfillment = {"lineItemsByFulfillmentOrder": entries,
                       "notifyCustomer": settings.notify_customer}
        tracking = _tracking_input(tracking_sent)
        if tracking:
            fulfillment["trackingInfo"] = tracking
        result = client.execute(shop_domain=destination.domain, access_token=token,
                                document=document("fulfillment_create"),
                                variables={"fulfillment": fulfillment})
        payload = raise_for_user_errors(result.get("fulfillmentCreate"),
                                        shop_domain=destination.domain,
                                        document="fulfillment_create")
        created_ids.append(gid_id_or_none(payload["fulfillment"]["id"]))
        # Keep each id as soon as it exists: a failure on the next location must not lose it.
        _finish(row, destination_fulfillment_ids=list(created_ids))
    _mark_synced(row, tracking_sent)
    logger.info("fulfilment synced push=%s source_fulfillment=%s destination=%s", row.push_id,
                row.source_fulfillment_id, created_ids)


def _tracking_on_destination(row: OrderFulfillment) -> None:
    destination = row.push.order.shop
    settings = order_settings_get_or_create(shop=destination)
    token = _token(destination)
    tracking_sent = row.tracking
    tracking = _tracking_input(tracking_sent)
    for fulfillment_id in row.destination_fulfillment_ids:
        result = admin_client().execute(
            shop_domain=destination.domain, access_token=token,
            document=document("fulfillment_tracking_info_update"),
            variables={"fulfillmentId": gid("Fulfillment", fulfillment_id),
                       "trackingInfoInput": tracking,
                       "notifyCustomer": settings.notify_customer})
        raise_for_user_errors(result.get("fulfillmentTrackingInfoUpdate"),
                              shop_domain=destination.domain,
                              document="fulfillment_tracking_info_update")
    _mark_synced(row, tracking_sent)


def order_fulfillment_sync(*, fulfillment_id: int) -> OrderFulfillment | None:
    """Make the destination match one source fulfilment. One worker at a time; a change that
    arrives while it works is picked up before it lets go (no webhook is lost to the claim)."""
    for _ in range(5):
        row = OrderFulfillment.objects.filter(pk=fulfillment_id).first()
        if row is None or not _needs_sync(row) or not row_claim(OrderFulfillment, row.pk):
            return row
        try:
            row = OrderFulfillment.objects.select_related(
                "push", "push__order", "push__order__shop").get(pk=fulfillment_id)
            if not _needs_sync(row):
                continue
            try:
                if row.destination_fulfillment_ids:
                    _tracking_on_destination(row)
                else:
                    _create_on_destination(row)
            except (ShopifyOutcomeUnknown, ShopifyRetryable) as exc:
                _finish(row, error=exc.merchant_message)
                raise
            except ShopifyError as exc:
                logger.warning("fulfilment %s refused: %s", row.pk, exc)
                _finish(row, status=Status.FAILED, error=exc.merchant_message)
                return row
        finally:
            row_release(OrderFulfillment, fulfillment_id)
    return OrderFulfillment.objects.filter(pk=fulfillment_id).first()
