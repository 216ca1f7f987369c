"""After the push, on the source's side: the source order is flagged when the destination
cancels, and the push notes when the source cancels its order.

Queues no task, so `orders.tasks` can import it.
"""

from django.utils import timezone

from orders import payloads as p
from orders.models import OrderPush
from orders.push import tag_safe
from orders.selectors import shop_label
from stores.models import Shop
from stores.services import shop_admin_session
from syncer.shopify.operations.orders import order_find, order_note_set, order_tags_add

PushStatus = OrderPush.Status
CANCELLED_TAG = "syncer-cancelled"


def order_push_flag_cancelled(*, push_id: int) -> OrderPush | None:
    """The destination cancelled a pushed order: tell the source owner on the order itself
    (a tag and a line in the note). Idempotent: both writes only set state."""
    push = OrderPush.objects.select_related("order", "order__shop", "source").filter(
        pk=push_id).first()
    if (push is None or push.status != PushStatus.PUSHED or push.cancel_flagged_at is not None
            or push.order.cancelled_at is None or push.source_order_id is None):
        return push
    session = shop_admin_session(shop_domain=push.source.domain)
    store = shop_label(push.order.shop)
    found = order_find(session=session, order_id=push.source_order_id)
    note = (found.note if found else "") or ""
    marker = f"CANCELLED by {store}"
    if marker not in note:
        when = timezone.localtime(push.order.cancelled_at).strftime("%Y-%m-%d")
        line = (f"{marker} on {when}: their order {push.order.name} was cancelled. Do not "
                f"fulfil this order; if it has already shipped, contact {store}.")
        order_note_set(session=session, order_id=push.source_order_id,
                       note=f"{note}\n\n{line}".strip())
    order_tags_add(session=session, order_id=push.source_order_id,
                   tags=[CANCELLED_TAG, tag_safe(f"Cancelled by {store}")])
    OrderPush.objects.filter(pk=push.pk).update(cancel_flagged_at=timezone.now(),
                                               updated_at=timezone.now())
    push.refresh_from_db()
    return push


def source_order_update_from_webhook(*, source: Shop, payload: dict) -> OrderPush | None:
    """orders/updated|cancelled on a source: note when the source cancels a pushed order."""
    order_id = p.as_int(payload.get("id"))
    if order_id is None:
        return None
    push = OrderPush.objects.filter(source=source, source_order_id=order_id).first()
    if push is None:
        return None
    cancelled_at = p.as_datetime(payload.get("cancelled_at"))
    if cancelled_at != push.source_cancelled_at:
        OrderPush.objects.filter(pk=push.pk).update(source_cancelled_at=cancelled_at,
                                                   updated_at=timezone.now())
        push.source_cancelled_at = cancelled_at
    return push
