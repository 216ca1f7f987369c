"""Receiving a delivery: headers that do not fit what we store are refused with a 4xx (never a
database error's 500), and the body is read whatever its framing (issue 17, items 6 and 9)."""

import json

import pytest

from tests.webhooks.conftest import sign, webhook_headers
from tests.webhooks.gunicorn_wsgi import gunicorn_call, http_request
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = "demo-source.myshopify.com"
TOPIC = "syncer_test/received"
BODY = json.dumps({"id": 7, "title": "Linen shirt"}).encode()


def post(client, *, body: bytes = BODY, **overrides: str):
    headers = webhook_headers(topic=TOPIC, shop=SHOP, body=body) | overrides
    return client.post("/webhooks/shopify", data=body, content_type="application/json",
                       headers=headers)


# --- item 6: every stored header fits its column ----------------------------------------------

@pytest.mark.parametrize(("header", "value", "error"), [
    ("X-Shopify-Shop-Domain", "a" * 300 + ".myshopify.com",
     "Missing or invalid X-Shopify-Shop-Domain"),
    ("X-Shopify-Shop-Domain", "demo.myshopify.com.evil.example",
     "Missing or invalid X-Shopify-Shop-Domain"),
    ("X-Shopify-Topic", "a" * 50 + "/" + "b" * 50, "Missing or invalid X-Shopify-Topic"),
    ("X-Shopify-Webhook-Id", "w" * 256, "Missing or invalid X-Shopify-Webhook-Id"),
    ("X-Shopify-Webhook-Id", "w-1\x00", "Missing or invalid X-Shopify-Webhook-Id"),
    ("X-Shopify-Webhook-Id", "w 1\t", "Missing or invalid X-Shopify-Webhook-Id"),
    ("X-Shopify-Event-Id", "e" * 256, "Invalid X-Shopify-Event-Id"),
    ("X-Shopify-Event-Id", "e\x00", "Invalid X-Shopify-Event-Id"),
])
def test_header_that_cannot_be_stored_is_refused_with_400(client, handled, header, value,
                                                          error):
    # when a signed delivery carries a header that is not Shopify's shape or does not fit
    response = post(client, **{header: value})
    # then it is refused, and nothing is stored or handled
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert WebhookDelivery.objects.count() == 0
    assert handled == []


def test_longest_shop_domain_and_topic_that_fit_are_accepted(client):
    # given the longest values the columns hold
    domain = "a" * (255 - len(".myshopify.com")) + ".myshopify.com"
    topic = "a" * 50 + "/" + "b" * 49
    # when
    response = post(client, **{"X-Shopify-Shop-Domain": domain, "X-Shopify-Topic": topic})
    # then
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().shop_domain == domain


@pytest.mark.parametrize("triggered_at", [
    "0001-01-01T00:00:00+14:00",  # year 0 once in UTC
    "9999-12-31T23:59:59-14:00",  # year 10000 once in UTC
    "1970-01-01T00:00:00Z",
    "2026-02-30T10:00:00Z",
    "2026-11-23T10:00:00",  # no offset: which instant is unknown
    "yesterday",
])
def test_implausible_triggered_at_is_dropped_and_the_delivery_kept(client, handled,
                                                                   triggered_at):
    # when
    response = post(client, **{"X-Shopify-Triggered-At": triggered_at})
    # then the delivery is kept and handled, without the timestamp
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.triggered_at) == ("processed", None)
    assert handled == [{"id": 7, "title": "Linen shirt"}]


def test_api_version_that_does_not_fit_is_dropped_and_the_delivery_kept(client, handled):
    # when
    response = post(client, **{"X-Shopify-API-Version": "2026-07-" + "x" * 30})
    # then it is not cut to a version that never existed
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().api_version == ""
    assert handled == [{"id": 7, "title": "Linen shirt"}]


# --- item 9: the body whatever its framing ---------------------------------------------------

def signed_headers(*, signed_over: bytes, webhook_id: str = "w-1") -> dict[str, str]:
    return webhook_headers(topic=TOPIC, shop=SHOP, body=signed_over, webhook_id=webhook_id)


@pytest.mark.parametrize("chunks", [[], [1], [5, 5, 5], [len(BODY) - 1]])
def test_chunked_delivery_is_read_whole_and_processed(handled, chunks):
    # when Shopify (or a proxy) sends the body chunked, without Content-Length
    answer = gunicorn_call(http_request(headers=signed_headers(signed_over=BODY), body=BODY,
                                        chunks=chunks))
    # then its HMAC is checked over the whole body, and it is stored and handled
    assert answer.status_code == 200
    assert json.loads(answer.body) == {"status": "accepted"}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.raw_body, delivery.status) == (BODY.decode(), "processed")
    assert handled == [{"id": 7, "title": "Linen shirt"}]


def test_chunked_delivery_signed_over_an_empty_body_is_refused(handled):
    # when the signature is of "" but a body is sent chunked
    answer = gunicorn_call(http_request(headers=signed_headers(signed_over=b""), body=BODY,
                                        chunks=[4]))
    # then the body is not taken for empty: the HMAC does not match it
    assert answer.status_code == 401
    assert WebhookDelivery.objects.count() == 0
    assert handled == []


@pytest.mark.parametrize("chunks", [None, []])
def test_empty_body_correctly_signed_is_refused_with_400(handled, chunks):
    # when a delivery is signed over an empty body (Shopify always sends an object)
    answer = gunicorn_call(http_request(headers=signed_headers(signed_over=b""), body=b"",
                                        chunks=chunks))
    # then
    assert answer.status_code == 400
    assert json.loads(answer.body) == {"error": "Empty body"}
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize("chunks", [None, [10, 10]])
def test_body_over_the_limit_is_refused_with_413_whatever_its_framing(settings, handled, chunks):
    # given
    settings.WEBHOOK_MAX_BODY_BYTES = len(BODY) - 1
    # when
    answer = gunicorn_call(http_request(headers=signed_headers(signed_over=BODY), body=BODY,
                                        chunks=chunks))
    # then
    assert answer.status_code == 413
    assert json.loads(answer.body) == {"error": f"Body larger than {len(BODY) - 1} bytes"}
    assert WebhookDelivery.objects.count() == 0


def test_body_of_exactly_the_limit_is_accepted_chunked(settings, handled):
    # given
    settings.WEBHOOK_MAX_BODY_BYTES = len(BODY)
    # when
    answer = gunicorn_call(http_request(headers=signed_headers(signed_over=BODY), body=BODY,
                                        chunks=[3]))
    # then
    assert answer.status_code == 200
    assert handled == [{"id": 7, "title": "Linen shirt"}]


def test_malformed_chunking_is_refused_with_400(handled):
    # given a chunk that claims more bytes than follow before the stream ends
    raw = http_request(headers=signed_headers(signed_over=BODY), body=b"", chunks=[])
    raw = raw.removesuffix(b"0\r\n\r\n") + b"ff\r\n" + BODY + b"\r\n"
    # when
    answer = gunicorn_call(raw)
    # then
    assert answer.status_code == 400
    assert json.loads(answer.body) == {"error": "Body could not be read"}
    assert WebhookDelivery.objects.count() == 0


def test_delivery_with_content_length_through_gunicorn_is_processed(handled):
    # when
    answer = gunicorn_call(http_request(headers=signed_headers(signed_over=BODY), body=BODY))
    # then
    assert answer.status_code == 200
    assert handled == [{"id": 7, "title": "Linen shirt"}]


def test_signature_is_checked_before_the_body_is_judged_empty(client):
    # when an empty body comes with a wrong signature
    response = client.post("/webhooks/shopify", data=b"", content_type="application/json",
                           headers={"X-Shopify-Hmac-Sha256": sign(b"{}")})
    # then it is answered as unsigned, saying nothing about the body
    assert response.status_code == 401


def test_chunked_body_on_a_server_that_cannot_end_it_is_answered_411(client, handled):
    # given a server that hands over a chunked body without saying where it ends (the
    # development server), so reading on would wait for the client forever
    headers = signed_headers(signed_over=BODY)
    # when
    response = client.post("/webhooks/shopify", data=BODY, content_type="application/json",
                           headers={**headers, "Transfer-Encoding": "chunked"},
                           CONTENT_LENGTH="")
    # then the sender is told to send a length, rather than the body taken for empty
    assert response.status_code == 411
    assert WebhookDelivery.objects.count() == 0
    assert handled == []
