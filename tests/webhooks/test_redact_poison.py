"""Redaction reaches a stored body that names the customer but can never be read (a poison
delivery): it cannot be scrubbed field by field, so its body goes; and it never breaks the
redaction or a data request of the shop's other deliveries."""

import json

import pytest
from django.utils import timezone

from webhooks.models import WebhookDelivery
from webhooks.services import (
    webhook_deliveries_for_customer,
    webhook_deliveries_redact_customer,
)

pytestmark = pytest.mark.django_db

SHOP = "demo-source.myshopify.com"
EMAIL = "ada@example.com"
POISON = '{"email": "' + EMAIL + '", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"


def _stored(webhook_id: str, topic: str, body: str) -> WebhookDelivery:
    now = timezone.now()
    return WebhookDelivery.objects.create(
        shop_domain=SHOP, topic=topic, webhook_id=webhook_id, raw_body=body, status="failed",
        received_at=now, due_at=now)


def test_customer_redact_empties_an_unreadable_body_that_names_the_customer():
    # given a poison delivery naming the customer, and a readable order of theirs
    poison = _stored("w-poison", "orders/create", POISON)
    order = _stored("w-order", "orders/create",
                    json.dumps({"id": 7, "email": EMAIL, "customer": {"id": 3}}))
    # when the customer is redacted
    redacted = webhook_deliveries_redact_customer(shop_domain=SHOP, customer_id=3, email=EMAIL,
                                                  order_ids=[7])
    # then both are rid of the email: the readable one scrubbed, the poison one emptied
    assert redacted == 2
    poison.refresh_from_db()
    order.refresh_from_db()
    assert poison.raw_body == ""
    assert EMAIL not in order.raw_body
    assert json.loads(order.raw_body)["id"] == 7


def test_data_request_skips_an_unreadable_body():
    _stored("w-poison", "orders/create", POISON)
    _stored("w-order", "orders/create", json.dumps({"id": 7, "email": EMAIL}))
    found = webhook_deliveries_for_customer(shop_domain=SHOP, customer_id=None, email=EMAIL,
                                            order_ids=[7])
    assert [entry["payload"]["id"] for entry in found] == [7]
