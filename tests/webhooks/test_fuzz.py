"""Throw malformed bodies and headers at the webhook endpoint: it may refuse, never 5xx."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webhooks.conftest import sign

HEADER_NAMES = ["X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id",
                "X-Shopify-Event-Id", "X-Shopify-Triggered-At", "X-Shopify-API-Version"]
header_value = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300),
    st.sampled_from(["orders/paid", "app/uninstalled", "customers/redact", "shop/redact",
                     "demo.myshopify.com", "2026-11-23T10:00:00Z", "not-a-date", ""]),
)
bodies = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(str.encode),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=20,
    ).map(lambda value: __import__("json").dumps(value).encode()),
)


@pytest.mark.django_db(transaction=True)
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies, headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_value),
       signed=st.booleans(), content_length=st.one_of(st.none(), st.sampled_from(["-1", "abc"])))
def test_webhook_endpoint_never_answers_5xx(client, body, headers, signed, content_length):
    if signed:
        headers["X-Shopify-Hmac-Sha256"] = sign(body)
    extra = {}
    if content_length is not None:
        extra["CONTENT_LENGTH"] = content_length
    response = client.post("/webhooks/shopify", data=body, content_type="application/json",
                           headers=headers, **extra)
    assert response.status_code < 500
    if not signed and content_length is None:
        assert response.status_code == 401
