"""A source's tracking URL becomes a link on our pages and on the destination's fulfilment:
only an http(s) URL is kept when stored, rendered or copied (issue 17, item 10)."""

import csv
import io
import json

import pytest

from orders.fulfillment_sync import order_fulfillment_sync
from orders.fulfillments import URL_REFUSED
from orders.models import DestinationOrder, OrderFulfillment
from orders.services import order_settings_update
from tests.orders.conftest import DEST, SOURCE
from tests.webhooks.conftest import webhook_headers

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE = "javascript:alert(document.domain)//"


@pytest.fixture
def pushed(world):
    """A paid destination order with two shirts from the first source, pushed to it."""
    order_settings_update(shop=world.destination, auto_push=True, contact_email_method="store",
                          custom_email="", shipping_rules_enabled=False, notify_customer=True)
    sold = world.sell({"SHIRT-S": 2})
    order = world.mirrored(sold)
    assert order.push_state == DestinationOrder.PushState.PUSHED
    return sold, order, order.pushes.get(source=world.source)


def fulfil(world, order_id: int, **body) -> dict:
    created = world.emulator._json("POST", f"/_emulator/shops/{SOURCE}/orders/{order_id}/fulfill",
                                   json=body)
    world.emulator.flush_webhooks()
    return created


def destination_tracking(world, order_id: int) -> list[tuple]:
    return [(f["tracking_company"], f["tracking_number"], f["tracking_url"])
            for f in world.emulator.shop(DEST)["fulfillments"] if f["order_id"] == order_id]


def pages(world, order: DestinationOrder) -> dict[str, str]:
    """The destination's order page, and the source's report on screen and as CSV."""
    report_csv = world.client.get(f"/stores/{world.connection.pk}/report.csv",
                                  headers=world.headers(SOURCE))
    assert report_csv.status_code == 200
    return {
        "order page": world.client.get(f"/orders/{order.pk}/",
                                       headers=world.headers()).content.decode(),
        "report": world.client.get(f"/stores/{world.connection.pk}/report",
                                   headers=world.headers(SOURCE)).content.decode(),
        "report csv": b"".join(report_csv.streaming_content).decode(),
    }


def test_a_javascript_tracking_url_is_dropped_and_the_tracking_kept(world, pushed):
    sold, order, push = pushed
    # when the source ships with a javascript: "tracking URL"
    fulfil(world, push.source_order_id, tracking_company="UPS", tracking_number="1Z999",
           tracking_url=HOSTILE)
    # then the company and number are kept, the URL is not, and we say why
    row = OrderFulfillment.objects.get(push=push)
    assert (row.tracking_company, row.tracking_number, row.tracking_url,
            row.tracking_url_refused, row.status) == (
        "UPS", "1Z999", "", URL_REFUSED, OrderFulfillment.Status.SYNCED)
    # and the destination's fulfilment carries the tracking without the URL
    assert destination_tracking(world, sold["id"]) == [("UPS", "1Z999", None)]
    # and no page links to it
    shown = pages(world, order)
    assert [name for name, text in shown.items() if "javascript" in text.lower()] == []
    assert URL_REFUSED.replace("'", "&#x27;") in shown["order page"]
    assert "1Z999" in shown["report"]


@pytest.mark.parametrize("url", [
    " JavaScript:alert(1)", "java\tscript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)", "//evil.example/track", "https:evil.example", "https://",
    "https://ups.example/track?n=1 onmouseover=alert(1)",
])
def test_only_web_urls_are_kept_from_a_fulfilment_webhook(client, world, pushed, url):
    sold, order, push = pushed
    # when a signed fulfillments/create from the source carries `url`
    body = json.dumps({"id": 9100001, "order_id": push.source_order_id, "status": "success",
                       "tracking_company": "UPS", "tracking_number": "1Z1",
                       "tracking_url": url, "tracking_urls": [url],
                       "updated_at": "2026-11-23T10:00:00Z",
                       "line_items": []}).encode()
    response = client.post("/webhooks/shopify", data=body, content_type="application/json",
                           headers=webhook_headers(topic="fulfillments/create", shop=SOURCE,
                                                   body=body))
    assert response.status_code == 200
    # then the row keeps the tracking and not the URL
    row = OrderFulfillment.objects.get(push=push, source_fulfillment_id=9100001)
    assert (row.tracking_number, row.tracking_url, row.tracking_url_refused) == (
        "1Z1", "", URL_REFUSED)


def test_a_web_tracking_url_is_kept(world, pushed):
    sold, order, push = pushed
    fulfil(world, push.source_order_id, tracking_company="UPS", tracking_number="1Z2",
           tracking_url="HTTPS://ups.example/track?n=1Z2")
    row = OrderFulfillment.objects.get(push=push)
    assert (row.tracking_url, row.tracking_url_refused) == ("HTTPS://ups.example/track?n=1Z2", "")
    assert destination_tracking(world, sold["id"]) == [
        ("UPS", "1Z2", "HTTPS://ups.example/track?n=1Z2")]
    shown = pages(world, order)
    assert 'href="HTTPS://ups.example/track?n=1Z2"' in shown["order page"]
    assert 'href="HTTPS://ups.example/track?n=1Z2"' in shown["report"]
    rows = list(csv.reader(io.StringIO(shown["report csv"])))
    assert [r[-2] for r in rows[1:]] == ["HTTPS://ups.example/track?n=1Z2"]


def stored_before_the_fix(row: OrderFulfillment, **fields) -> None:
    """A row written before URLs were checked on the way in."""
    OrderFulfillment.objects.filter(pk=row.pk).update(tracking_url=HOSTILE, **fields)


def test_a_javascript_url_stored_earlier_is_never_rendered(world, pushed):
    sold, order, push = pushed
    fulfil(world, push.source_order_id, tracking_company="UPS", tracking_number="1Z3")
    stored_before_the_fix(OrderFulfillment.objects.get(push=push))
    # when the destination opens the order and the source its report
    shown = pages(world, order)
    # then the tracking shows, as text, with no link to the URL
    assert [name for name, text in shown.items() if "javascript" in text.lower()] == []
    assert "1Z3" in shown["order page"]
    assert "UPS 1Z3" in shown["report"]
    rows = list(csv.reader(io.StringIO(shown["report csv"])))
    assert [(r[-4], r[-3], r[-2]) for r in rows[1:]] == [("UPS", "1Z3", "")]


def test_a_javascript_url_stored_earlier_is_never_copied(world, pushed):
    sold, order, push = pushed
    fulfil(world, push.source_order_id)  # shipped, no tracking yet
    row = OrderFulfillment.objects.get(push=push)
    assert row.status == OrderFulfillment.Status.SYNCED
    # given tracking stored before the fix, not yet on the destination
    stored_before_the_fix(row, tracking_company="UPS", tracking_number="1Z4",
                          status=OrderFulfillment.Status.PENDING)
    # when it is copied to the destination
    order_fulfillment_sync(fulfillment_id=row.pk)
    # then the destination's fulfilment gets the company and number, not the URL
    assert destination_tracking(world, sold["id"]) == [("UPS", "1Z4", None)]
