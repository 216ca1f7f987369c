"""The webhook inbox's services: receive a delivery, queue its processing, sweep up lost ones,
Try again, and the privacy erasures. Processing itself is `webhooks.inbox`.

Imports run one way: this module imports the tasks it queues at the top; the tasks import
`webhooks.inbox` (never this module) inside their bodies.
"""

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from webhooks.broker_marks import (
    webhook_deliveries_publish,
    webhook_deliveries_publish_soon,
    webhook_delivery_publish,
)
from webhooks.inbox import RECEIVED_GRACE
from webhooks.inbox import webhook_deliveries_sweep as _webhook_deliveries_sweep
from webhooks.metrics import webhooks_received
from webhooks.models import WebhookDelivery, webhook_body_sha256
from webhooks.registry import WebhookPayloadInvalid, webhook_payload_parse
from webhooks.selectors import deliveries_failed, deliveries_stuck
from webhooks.tasks import webhook_deliveries_take_task, webhook_delivery_process_task

Status = WebhookDelivery.Status


def webhook_delivery_enqueue(delivery_id: int, *, queue: str | None = None) -> None:
    webhook_delivery_publish(task=webhook_delivery_process_task, delivery_id=delivery_id,
                             queue=queue)


def webhook_deliveries_enqueue(*, shop_domain: str, topic: str) -> None:
    """Queues a task that takes the waiting deliveries of one shop and topic, unless one is
    waiting in the broker already (called after the rows are committed)."""
    webhook_deliveries_publish(task=webhook_deliveries_take_task, shop_domain=shop_domain,
                               topic=topic)


def webhook_deliveries_enqueue_soon(*, shop_domain: str, topic: str) -> None:
    """`webhook_deliveries_enqueue` from the process's publishing thread (the web tier: the
    answer waits for the commit, not for the broker)."""
    webhook_deliveries_publish_soon(task=webhook_deliveries_take_task, shop_domain=shop_domain,
                                    topic=topic)


def webhook_deliveries_sweep(*, limit: int = 500) -> int:
    """Queues the due rows whose task is not waiting in the broker already (see
    `webhooks.inbox.webhook_deliveries_sweep`). Returns how many were queued."""
    return _webhook_deliveries_sweep(process_task=webhook_delivery_process_task,
                                     take_task=webhook_deliveries_take_task, limit=limit)


_INSERT_SQL = """
    INSERT INTO webhooks_webhookdelivery
        (shop_domain, topic, webhook_id, event_id, triggered_at, api_version, raw_body,
         body_sha256, status, attempts, last_error, received_at, due_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '', %s, %s)
    ON CONFLICT (shop_domain, topic, webhook_id) DO NOTHING
    RETURNING id
"""


def webhook_delivery_receive(
    *,
    shop_domain: str,
    topic: str,
    webhook_id: str,
    event_id: str,
    triggered_at: datetime | None,
    api_version: str,
    raw_body: str,
    enqueue_soon: bool = False,
) -> tuple[int | None, bool]:
    """Stores a delivery in the inbox and queues its processing once committed (with
    `enqueue_soon`, from the process's publishing thread rather than before returning).

    Returns (delivery id, created); a repeated delivery id returns (None, False) and does
    nothing. One statement, one round trip: this is on the path Shopify times (5 s) and the
    one that sees every webhook of every shop. Outside a transaction the statement commits on
    its own (autocommit), so the row is durable when this returns; inside one, it is the
    caller's to commit, and the processing is queued then.

    Every topic is queued as one task per shop and topic (`webhook_deliveries_enqueue`): in a
    burst, the deliveries that find that task already waiting cost one Redis round trip and
    no publish.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, [
            shop_domain, topic, webhook_id, event_id, triggered_at, api_version, raw_body,
            webhook_body_sha256(raw_body), Status.RECEIVED, now, now + RECEIVED_GRACE,
        ])
        row = cursor.fetchone()
    if row is None:
        return None, False
    enqueue = webhook_deliveries_enqueue_soon if enqueue_soon else webhook_deliveries_enqueue
    transaction.on_commit(lambda: enqueue(shop_domain=shop_domain, topic=topic))
    webhooks_received.labels(topic=topic).inc()
    return row[0], True


# How many of one shop's deliveries one Try again queues; the rest wait for the next one.
RETRY_LIMIT = 500


def webhook_deliveries_retry(*, shop_domain: str) -> int:
    """The merchant's Try again: the shop's failed and stuck deliveries are processed again
    now, whatever their retry schedule (given-up ones too), queued once committed. Returns
    how many were queued."""
    now = timezone.now()
    troubled = deliveries_failed() | deliveries_stuck(now=now)
    with transaction.atomic():
        ids = list(WebhookDelivery.objects.filter(troubled, shop_domain=shop_domain)
                   .order_by("pk").values_list("pk", flat=True)[:RETRY_LIMIT])
        # Due now, so the sweeper takes them if the broker refuses the tasks; the filter again
        # so a claim a worker took meanwhile is not cut short.
        WebhookDelivery.objects.filter(troubled, pk__in=ids).update(due_at=now)

        def enqueue() -> None:
            for delivery_id in ids:
                webhook_delivery_enqueue(delivery_id)

        transaction.on_commit(enqueue)
    return len(ids)


def webhook_max_body_bytes() -> int:
    return settings.WEBHOOK_MAX_BODY_BYTES


# --- privacy: what the inbox holds is personal data too -------------------------------------
# Redaction reaches every stored body that holds the data, whatever its topic or status (a
# body still waiting is handled without it), and leaves the ids that say what it was about.

PII_KEYS = {
    "email", "contact_email", "phone", "first_name", "last_name", "company", "address1",
    "address2", "city", "zip", "province", "province_code", "latitude", "longitude",
    "browser_ip", "customer_locale", "note", "note_attributes", "properties", "landing_site",
    "referring_site",
}
PII_OBJECT_KEYS = {"billing_address", "shipping_address", "default_address", "addresses",
                   "client_details", "customer", "destination", "payment_details"}
# The topics whose bodies are about one order (`id` of orders/*, `order_id` of the others).
ORDER_TOPICS = ("orders/", "refunds/", "fulfillments/")
REDACTED = "[redacted]"


def _scrub(value, *, identifying: tuple[str, ...] = ()):
    """`value` without its personal data; `identifying` strings (a redacted shop's name,
    domain and email) are cut out of whatever text remains."""
    if isinstance(value, dict):
        scrubbed: dict[str, Any] = {}
        for key, item in value.items():
            if key == "customer" and isinstance(item, dict):
                scrubbed[key] = {"id": item.get("id"), "redacted": True}
            elif key in PII_OBJECT_KEYS or key in PII_KEYS:
                scrubbed[key] = None
            else:
                scrubbed[key] = _scrub(item, identifying=identifying)
        return scrubbed
    if isinstance(value, list):
        return [_scrub(item, identifying=identifying) for item in value]
    if isinstance(value, str) and identifying:
        for text in identifying:
            value = re.sub(re.escape(text), REDACTED, value, flags=re.IGNORECASE)
    return value


def _order_of(*, topic: str, payload: dict) -> int | None:
    if not topic.startswith(ORDER_TOPICS):
        return None
    order_id = payload.get("id") if topic.startswith("orders/") else payload.get("order_id")
    return order_id if isinstance(order_id, int) else None


def _mentions_customer(*, topic: str, payload: dict, customer_id: int | None, email: str,
                       order_ids: set[int]) -> bool:
    found = payload.get("customer")
    customer = found if isinstance(found, dict) else {}
    if customer_id is not None and customer.get("id") == customer_id:
        return True
    if email and email.lower() in {str(payload.get("email") or "").lower(),
                                   str(customer.get("email") or "").lower()}:
        return True
    return _order_of(topic=topic, payload=payload) in order_ids


def _candidate_deliveries(*, shop_domain: str, customer_id: int | None, email: str,
                          order_ids: set[int]) -> QuerySet[WebhookDelivery]:
    needles = Q()
    if customer_id is not None:
        needles |= Q(raw_body__contains=str(customer_id))
    if email:
        needles |= Q(raw_body__icontains=email)
    for order_id in order_ids:
        needles |= Q(raw_body__contains=str(order_id))
    if not needles:
        return WebhookDelivery.objects.none()
    return WebhookDelivery.objects.filter(needles, shop_domain=shop_domain)


def _payload_of(delivery: WebhookDelivery) -> dict | None:
    """The stored payload, or None for a body no handler could read (deeply nested, NUL, half a
    surrogate pair...): parsed as the inbox parses it, so it cannot fail here either."""
    try:
        return webhook_payload_parse(delivery.raw_body)
    except WebhookPayloadInvalid:
        return None


def _rewrite(deliveries: QuerySet[WebhookDelivery], *, concerned: Callable[[str, dict], bool],
             identifying: tuple[str, ...] = ()) -> int:
    """Scrubs the bodies of `deliveries` that `concerned(topic, payload)` picks out. The hash
    of the body as received stays: a redelivery of the event is still recognised."""
    rewritten = 0
    for delivery in deliveries.only("pk", "topic", "raw_body").order_by("pk").iterator():
        payload = _payload_of(delivery)
        if payload is None:
            # It names the customer (it matched) but cannot be read to scrub it: it never
            # could be processed either, so its body goes.
            if delivery.raw_body:
                WebhookDelivery.objects.filter(pk=delivery.pk).update(raw_body="")
                rewritten += 1
            continue
        if not concerned(delivery.topic, payload):
            continue
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            raw_body=json.dumps(_scrub(payload, identifying=identifying), separators=(",", ":")))
        rewritten += 1
    return rewritten


def webhook_deliveries_redact_customer(
    *, shop_domain: str, customer_id: int | None, email: str, order_ids: list[int]
) -> int:
    """customers/redact: strip the customer's personal data from the shop's stored payloads
    of every topic but customers/* (webhook_deliveries_redact_customer_requests does those,
    last, so the redact request keeps what a retry needs until everything else is done)."""
    wanted = set(order_ids)
    return _rewrite(
        _candidate_deliveries(shop_domain=shop_domain, customer_id=customer_id, email=email,
                              order_ids=wanted).exclude(topic__startswith="customers/"),
        concerned=lambda topic, payload: _mentions_customer(
            topic=topic, payload=payload, customer_id=customer_id, email=email,
            order_ids=wanted))


def webhook_deliveries_redact_customer_requests(
    *, shop_domain: str, customer_id: int | None, email: str
) -> int:
    """customers/redact, last step: the customer's data_request and redact deliveries
    themselves, this one included, keep only the ids."""
    return _rewrite(
        _candidate_deliveries(shop_domain=shop_domain, customer_id=customer_id, email=email,
                              order_ids=set()).filter(topic__startswith="customers/"),
        concerned=lambda topic, payload: _mentions_customer(
            topic=topic, payload=payload, customer_id=customer_id, email=email,
            order_ids=set()))


def webhook_deliveries_redact_orders(*, shop_domain: str, order_ids: list[int],
                                     identifying: list[str] | None = None) -> int:
    """The copies one shop holds of orders made from another shop's data (a source's
    webhooks about the orders pushed to it): their personal data goes, and so does every
    `identifying` string (the other shop's name, domain and email, when that shop is
    erased) in them and in any of the shop's payloads that carries one of its emails."""
    wanted = set(order_ids)
    needles = tuple(text for text in (identifying or []) if text)
    emails = [text for text in needles if "@" in text]
    match = Q()
    for order_id in wanted:
        match |= Q(raw_body__contains=str(order_id))
    for address in emails:
        match |= Q(raw_body__icontains=address)
    if not match:
        return 0

    def concerned(topic: str, payload: dict) -> bool:
        if _order_of(topic=topic, payload=payload) in wanted:
            return True
        body = json.dumps(payload).lower()
        return any(address.lower() in body for address in emails)

    return _rewrite(WebhookDelivery.objects.filter(match, shop_domain=shop_domain),
                    concerned=concerned, identifying=needles)


def webhook_deliveries_for_customer(
    *, shop_domain: str, customer_id: int | None, email: str, order_ids: list[int]
) -> list[dict]:
    """customers/data_request: the payloads we still hold that concern the customer (a
    delivery's body is dropped some days after it was processed: webhooks.retention)."""
    wanted = set(order_ids)
    found = []
    for delivery in _candidate_deliveries(shop_domain=shop_domain, customer_id=customer_id,
                                          email=email, order_ids=wanted).exclude(
            topic__startswith="customers/").order_by("pk"):
        payload = _payload_of(delivery)
        if payload is not None and _mentions_customer(
            topic=delivery.topic, payload=payload, customer_id=customer_id, email=email,
            order_ids=wanted,
        ):
            found.append({"topic": delivery.topic, "received_at": delivery.received_at.isoformat(),
                          "payload": payload})
    return found


def webhook_deliveries_erase_shop(*, shop_domain: str) -> int:
    """shop/redact: drop every stored payload of the shop except the redact request itself."""
    deleted, _ = WebhookDelivery.objects.filter(shop_domain=shop_domain).exclude(
        topic="shop/redact"
    ).delete()
    return deleted
