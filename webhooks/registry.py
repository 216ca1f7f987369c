"""Topic → handlers table. Each app registers its handlers in AppConfig.ready().

A handler is `handler(*, shop_domain: str, payload: dict, delivery_id: int) -> None`. Several
apps may handle one topic (orders/paid moves stock in products/ and mirrors the order in
orders/); they run in registration order, and a failure retries the delivery, so every handler
must be idempotent — Shopify delivers at least once and a worker may die mid-handler anyway.
"""

import json
import logging
import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import DataError

logger = logging.getLogger(__name__)

WebhookHandler = Callable[..., None]


class WebhookPayloadInvalid(ValueError):
    """Raised by a handler when the payload's shape is wrong: retrying cannot fix it, so the
    delivery is kept as failed for inspection and not retried."""


# What the same payload raises again on every retry, so the delivery fails once, for good: a
# wrong shape met in a handler (a list where a dict was due, a missing key, a number that is
# text), arithmetic on such values, a value the database can never store (DataError: integer
# out of range, text it cannot hold). Everything else (the database or broker unreachable, a
# lock timeout, Shopify throttled, failing or slow) may pass later and keeps the retry
# schedule. The merchant's Try again still re-runs a delivery failed for good, e.g. once a
# handler's bug is fixed.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, TypeError, AttributeError, LookupError, ArithmeticError, RecursionError,
    DataError,
)


def webhook_error_is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, PERMANENT_ERRORS)


# Shopify's payloads are a few levels deep (an order's line's tax line's price set) and their
# numbers fit PostgreSQL's bigint; past these bounds a body is not Shopify's.
MAX_PAYLOAD_DEPTH = 32
_BIGINT = 2**63


def _text_storable(text: str) -> bool:
    if "\x00" in text:  # PostgreSQL text cannot hold NUL
        return False
    try:
        text.encode()
    except UnicodeEncodeError:  # half a surrogate pair
        return False
    return True


def webhook_payload_parse(raw_body: str) -> dict:
    """A delivery's payload, checked for what no handler could ever store or walk (NUL or half
    a surrogate pair in text, numbers past bigint or not finite, nesting past
    MAX_PAYLOAD_DEPTH); raises WebhookPayloadInvalid saying why."""
    try:
        payload = json.loads(raw_body)
    except RecursionError:
        raise WebhookPayloadInvalid(
            f"the body is nested more than {MAX_PAYLOAD_DEPTH} levels deep") from None
    except ValueError as exc:
        raise WebhookPayloadInvalid(str(exc)) from None
    if not isinstance(payload, dict):
        raise WebhookPayloadInvalid("the body is JSON but not an object")
    # Decoded text holds NUL or half a surrogate pair (which UTF-8, so PostgreSQL, cannot
    # encode) only from a \u escape; most bodies skip that look.
    text_checked = "\\u0000" in raw_body or "\\ud" in raw_body.lower()
    stack: list[tuple[object, int]] = [(payload, 1)]
    while stack:  # no recursion: the depth is what is being checked
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_PAYLOAD_DEPTH:
                raise WebhookPayloadInvalid(
                    f"the body is nested more than {MAX_PAYLOAD_DEPTH} levels deep")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if text_checked and isinstance(key, str) and not _text_storable(key):
                    raise WebhookPayloadInvalid(
                        f"a key holds a character PostgreSQL cannot store: {ascii(key)[:80]}")
                stack.append((item, depth + 1))
        elif isinstance(value, str):
            if text_checked and not _text_storable(value):
                raise WebhookPayloadInvalid(
                    f"a text holds a character PostgreSQL cannot store: {ascii(value)[:80]}")
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            if not -_BIGINT <= value < _BIGINT:
                raise WebhookPayloadInvalid(f"a number is outside the 64-bit range: {value}")
        elif isinstance(value, float) and not math.isfinite(value):
            raise WebhookPayloadInvalid(f"a number is not finite: {value}")
    return payload


# Outside these, a time is not Shopify's; PostgreSQL would store a year Python cannot read
# back (0 or 10000 once in UTC), and every page showing the row would fail.
PLAUSIBLE_TIMES = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def webhook_payload_int(value: Any) -> int | None:
    """A payload's number (an id, a quantity: Shopify sends numbers, a test or a hand-made
    delivery may send digits), or None for anything else; a boolean is not a number here."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def webhook_time_plausible(value: datetime | None) -> datetime | None:
    """`value` (in UTC) if it is an aware time Shopify could have sent, else None: a time in a
    webhook is only ever recorded or compared, so an odd one counts as missing."""
    if value is None or value.tzinfo is None:
        return None
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        return None
    earliest, latest = PLAUSIBLE_TIMES
    return value if earliest <= value < latest else None


_handlers: dict[str, list[WebhookHandler]] = {}
# Topic → a handler that takes many deliveries of one shop at once (see
# webhook_batch_handler_register).
WebhookBatchHandler = Callable[..., dict[int, Exception]]
_batch_handlers: dict[str, WebhookBatchHandler] = {}
# Topic → which Celery queue a shop's deliveries of it go to (None: the "webhooks" queue).
WebhookQueueChooser = Callable[[str], str | None]
_queues: dict[str, WebhookQueueChooser] = {}


def webhook_handler_register(topic: str) -> Callable[[WebhookHandler], WebhookHandler]:
    def decorator(handler: WebhookHandler) -> WebhookHandler:
        handlers = _handlers.setdefault(topic, [])
        if handler not in handlers:
            handlers.append(handler)
        return handler

    return decorator


def webhook_handlers_for(topic: str) -> list[WebhookHandler]:
    return list(_handlers.get(topic, ()))


def webhook_topics_handled() -> list[str]:
    return sorted(set(_handlers) | set(_batch_handlers))


def webhook_queue_register(topic: str, chooser: WebhookQueueChooser) -> None:
    """`chooser(shop_domain)` names the queue for that shop's deliveries of `topic`; it runs
    in the web tier on every such delivery, so it must be one cheap query at most."""
    _queues[topic] = chooser


def webhook_queue_for(*, shop_domain: str, topic: str) -> str | None:
    chooser = _queues.get(topic)
    return chooser(shop_domain) if chooser is not None else None


# Topic → a check the door runs on a verified delivery before storing it: True when the
# delivery is known to change nothing (the echo of Syncer's own write), so it is answered 200
# and not stored or processed. It runs in the web tier on every delivery of its topic: one
# Redis round trip at most, and it must never raise (a delivery it cannot judge is stored).
WebhookEchoCheck = Callable[[str, str], bool]
_echo_checks: dict[str, WebhookEchoCheck] = {}


def webhook_echo_check_register(topic: str, check: WebhookEchoCheck) -> None:
    """`check(shop_domain, raw_body)`: see _echo_checks."""
    _echo_checks[topic] = check


def webhook_is_echo(*, shop_domain: str, topic: str, raw_body: str) -> bool:
    check = _echo_checks.get(topic)
    if check is None:
        return False
    try:
        return check(shop_domain, raw_body)
    except Exception:  # a bug here must not refuse every delivery of the topic: store it
        logger.exception("echo check of %s failed; the delivery is stored", topic)
        return False


def webhook_batch_handler_register(topic: str) -> Callable[[WebhookBatchHandler],
                                                           WebhookBatchHandler]:
    """`handler(*, shop_domain: str, items: list[tuple[int, dict]]) -> {delivery id: error}`
    handles one or many deliveries of one shop and topic, in delivery order: a worker that
    finds several waiting hands them over together, so a burst of stock changes costs one
    pass over the shared work, not one per delivery. Deliveries it returns an error for fail
    (and are retried) one by one; the rest go on to the topic's one-at-a-time handlers, if
    any, and then count as processed."""

    def decorator(handler: WebhookBatchHandler) -> WebhookBatchHandler:
        _batch_handlers[topic] = handler
        return handler

    return decorator


def webhook_batch_handler_for(topic: str) -> WebhookBatchHandler | None:
    return _batch_handlers.get(topic)


def webhook_items_one_at_a_time(*, handlers: Iterable[WebhookHandler], shop_domain: str,
                                items: list[tuple[int, dict]]) -> dict[int, Exception]:
    """Runs one-at-a-time handlers over many deliveries, as a batch handler answers: a
    delivery whose handler raises fails alone (and is retried alone)."""
    errors: dict[int, Exception] = {}
    for delivery_id, payload in items:
        try:
            for handler in handlers:
                handler(shop_domain=shop_domain, payload=payload, delivery_id=delivery_id)
        except Exception as exc:
            errors[delivery_id] = exc
    return errors
