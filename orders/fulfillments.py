"""Fulfilment back: a source fulfils a pushed order → the destination's order is fulfilled for
the same lines, with the same tracking, through its fulfilment orders.

`fulfillments/create|update` on the source records an OrderFulfillment row (writes only, no
Shopify call); `orders.tasks.order_fulfillment_sync_task` then makes the destination match it
(`orders.fulfillment_sync`).
"""

import logging
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from orders import payloads as p
from orders.fulfillment_sync import NOT_SHIPPED, fulfillment_needs_sync
from orders.models import DestinationOrder, OrderFulfillment, OrderPush, OrderPushLine
from orders.push import fulfillment_status_of, order_fulfillment_status_refresh
from orders.tasks import order_fulfillment_sync_task, task_enqueue_on_commit
from stores.models import Shop

logger = logging.getLogger(__name__)

Status = OrderFulfillment.Status


URL_REFUSED = ("The source's tracking link was left out: it was not a web (http or https) "
               "address.")


def _tracking_from_payload(payload: dict) -> dict[str, str]:
    """Company, number and URL, and why the URL was refused ("" when it was not). Only an
    http(s) URL is kept: the source's data becomes a link on our pages and the destination's."""
    numbers = [p.as_str(n) for n in p.as_list(payload.get("tracking_numbers")) if p.as_str(n)]
    urls = [p.as_str(u, limit=2048) for u in p.as_list(payload.get("tracking_urls"))
            if p.as_str(u, limit=2048)]
    url = p.as_str(payload.get("tracking_url"), limit=2048) or (urls[0] if urls else "")
    safe_url = p.http_url(url)
    return {
        "company": p.as_str(payload.get("tracking_company")),
        "number": p.as_str(payload.get("tracking_number")) or (numbers[0] if numbers else ""),
        "url": safe_url,
        "url_refused": URL_REFUSED if url and not safe_url else "",
    }


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
    status = fulfillment_status_of(
        [(line.quantity, line.fulfilled_quantity) for line in push_lines])
    OrderPush.objects.filter(pk=push.pk).update(source_fulfillment_status=status,
                                               updated_at=timezone.now())
    push.source_fulfillment_status = status
    return status


def order_fulfillment_upsert_from_webhook(*, source: Shop,
                                          payload: dict) -> OrderFulfillment | None:
    """fulfillments/create|update on a source. Ignores fulfilments of orders we did not push."""
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
        "tracking_url_refused": tracking["url_refused"],
        "source_updated_at": p.as_datetime(payload.get("updated_at")),
    }
    if tracking["url_refused"]:
        logger.warning("fulfilment %s of %s: tracking URL refused (not http(s))",
                       fulfillment_id, source.domain)
    with transaction.atomic():
        # The order first (as everywhere): its shown fulfilment status follows the push's.
        order = DestinationOrder.objects.select_for_update().get(pk=push.order_id)
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
        order_fulfillment_status_refresh(order=order)
        if fulfillment_needs_sync(row):
            task_enqueue_on_commit(order_fulfillment_sync_task, row.pk)
    return row
