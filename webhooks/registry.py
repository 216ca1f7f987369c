"""Topic → handlers table. Each app registers its handlers in AppConfig.ready().

A handler is `handler(*, shop_domain: str, payload: dict, delivery_id: int) -> None`. Several
apps may handle one topic (orders/paid moves stock in products/ and mirrors the order in
orders/); they run in registration order, and a failure retries the delivery, so every handler
must be idempotent — Shopify delivers at least once and a worker may die mid-handler anyway.
"""

from collections.abc import Callable, Iterable

WebhookHandler = Callable[..., None]


class WebhookPayloadInvalid(ValueError):
    """Raised by a handler when the payload's shape is wrong: retrying cannot fix it, so the
    delivery is kept as failed for inspection and not retried."""

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
