import base64
import hashlib
import hmac
import json
import uuid

import pytest
from django.conf import settings

from tests.conftest import broker_unreachable
from webhooks.registry import (
    _batch_handlers,
    _handlers,
    webhook_batch_handler_register,
    webhook_handler_register,
)


def sign(body: bytes, secret: str | None = None) -> str:
    key = (secret or settings.SHOPIFY_API_SECRET).encode()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def webhook_headers(*, topic: str, shop: str, body: bytes, webhook_id: str | None = None,
                    event_id: str | None = None, secret: str | None = None) -> dict[str, str]:
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(body, secret),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": "2026-11-23T10:00:00.000Z",
    }


@pytest.fixture
def post_webhook(client):
    """Posts a Shopify-signed webhook through the real endpoint."""

    def post(topic: str, payload: dict | bytes, *, shop: str = "demo-source.myshopify.com",
             **kwargs):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = webhook_headers(topic=topic, shop=shop, body=body, **kwargs)
        return client.post("/webhooks/shopify", data=body, content_type="application/json",
                           headers=headers)

    return post


@pytest.fixture
def handled(request):
    """A real one-at-a-time handler on the test module's TOPIC; it records the payloads it was
    given."""
    topic = request.module.TOPIC
    payloads: list[dict] = []
    webhook_handler_register(topic)(lambda *, payload, **_: payloads.append(payload))
    yield payloads
    _handlers.pop(topic)


@pytest.fixture
def broker_down():
    """Point Celery at a port where no broker listens, for real, then restore it."""
    with broker_unreachable():
        yield


@pytest.fixture
def batched_handler():
    """A real batch handler registered for a test topic; it records each call's payloads."""
    calls: list[list[dict]] = []
    topic = "syncer_test/batched"

    @webhook_batch_handler_register(topic)
    def handler(*, shop_domain, items):
        calls.append([payload for _, payload in items])
        return {}

    yield topic, calls
    _batch_handlers.pop(topic)


@pytest.fixture
def flaky_handler():
    """A real handler on a test topic that fails while `state["broken"]`."""
    state = {"broken": True, "handled": []}
    topic = "syncer_test/flaky"

    @webhook_handler_register(topic)
    def handler(*, shop_domain, payload, delivery_id):
        if state["broken"]:
            raise RuntimeError("the handler has a bug")
        state["handled"].append(payload)

    yield topic, state
    _handlers.pop(topic)
