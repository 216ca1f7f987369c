"""Absurd or hostile input on the orders pages (issue 17, items 8 and 12): a field error or a
toast, never a 500 or Django's bare 400 page, and nothing changed."""


import pytest

from orders.models import OrderPush, OrderSettings
from stores.auth import shop_csrf_token
from tests.htmx_events import said
from tests.orders.dashboard_world import session_headers
from tests.orders.factories import DestinationOrderFactory
from tests.stores.factories import ConnectionFactory, DestinationFactory

pytestmark = pytest.mark.django_db

OUT_OF_BOUNDS = "Choose a day between Jan 1, 2000 and Dec 31, 2099."


def post_headers(shop) -> dict[str, str]:
    return {**session_headers(shop, htmx=True),
            "X-CSRFToken": shop_csrf_token(shop_domain=shop.domain, user_id="1")}


def toast(response) -> dict:
    return said(response)


@pytest.mark.parametrize(("start", "end", "errors"), [
    ("2026-01-01", "9999-12-31", 1),
    ("9999-12-30", "9999-12-31", 2),
    ("0001-01-01", "2026-01-03", 1),
])
@pytest.mark.parametrize("page", ["source dashboard", "destination dashboard", "report"])
def test_days_far_out_are_a_field_error_on_dashboards_and_reports(client, page, start, end,
                                                                  errors):
    # given a source with one store
    connection = ConnectionFactory()
    shop, url = {
        "source dashboard": (connection.source, "/dashboard/"),
        "destination dashboard": (connection.destination, "/dashboard/"),
        "report": (connection.source, f"/stores/{connection.pk}/report"),
    }[page]
    # when the merchant asks for a custom range reaching near year 9999 (or year 1)
    response = client.get(url, {"range": "custom", "start": start, "end": end},
                          headers=session_headers(shop))
    # then each such field says which days may be chosen, keeping what was typed
    html = response.content.decode()
    assert response.status_code == 422
    assert html.count(OUT_OF_BOUNDS) == errors
    assert f'name="start" value="{start}"' in html
    assert f'name="end" value="{end}"' in html


@pytest.mark.parametrize(("start", "end"), [("2026-01-01", "9999-12-31"),
                                            ("0001-01-01", "2026-01-01")])
def test_days_far_out_refuse_the_csv_with_the_reason(client, start, end):
    connection = ConnectionFactory()
    response = client.get(f"/stores/{connection.pk}/report.csv",
                          {"range": "custom", "start": start, "end": end},
                          headers=session_headers(connection.source))
    assert response.status_code == 422
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == OUT_OF_BOUNDS


@pytest.mark.parametrize("store", ["99999999999999999999999", "-3", "abc"])
def test_an_absurd_store_on_the_source_dashboard_is_not_found(client, store):
    connection = ConnectionFactory()
    response = client.get("/dashboard/", {"store": store},
                          headers=session_headers(connection.source))
    assert response.status_code == 404


def test_a_300_character_email_is_a_field_error_and_nothing_is_saved(client):
    # given a destination with default order settings
    destination = DestinationFactory()
    # when it saves a custom contact email of 300 characters
    email = "a" * 288 + "@example.com"
    response = client.post("/orders/settings", {"contact_email_method": "custom",
                                                "custom_email": email},
                           headers=post_headers(destination))
    # then the field says so, under itself and named by it, and nothing was saved
    assert response.status_code == 422
    html = response.content.decode()
    assert ('<span class="field-error" id="custom-email-error" role="alert">Use an email address '
            'of at most 254 characters (this one has 300).') in html
    assert 'aria-invalid="true" aria-describedby="custom-email-error"' in html
    assert not OrderSettings.objects.filter(shop=destination).exists()


@pytest.mark.parametrize("value", ["maybe", "yes please", "2"])
def test_auto_push_takes_on_or_off_and_nothing_else(client, value):
    destination = DestinationFactory()
    response = client.post("/orders/auto-push", {"enabled": value},
                           headers=post_headers(destination))
    assert response.status_code == 400
    assert toast(response) == {
        "message": "Automatic push is either on or off; reload the page and try again.",
        "error": True}
    assert not OrderSettings.objects.filter(shop=destination).exists()


@pytest.mark.parametrize(("value", "expected"), [("on", True), ("true", True), ("1", True),
                                                 ("off", False), ("false", False), ("0", False),
                                                 (None, False)])
def test_auto_push_understands_every_way_of_saying_on_or_off(client, value, expected):
    destination = DestinationFactory()
    response = client.post("/orders/auto-push", {} if value is None else {"enabled": value},
                           headers=post_headers(destination))
    assert response.status_code == 200
    assert OrderSettings.objects.get(shop=destination).auto_push is expected


@pytest.mark.parametrize("field", ["auto_push", "shipping_rules_enabled", "notify_customer"])
def test_order_settings_refuse_a_checkbox_that_is_neither_on_nor_off(client, field):
    destination = DestinationFactory()
    response = client.post("/orders/settings", {"contact_email_method": "store",
                                                field: "maybe"},
                           headers=post_headers(destination))
    assert response.status_code == 422
    # the error sits under its switch, which names it (and its help) and says it is invalid
    html = response.content.decode()
    slug = field.replace("_", "-")
    assert (f'<span class="field-error" id="{slug}-error" role="alert">Choose on or off.</span>'
            in html)
    assert (f'name="{field}" aria-describedby="{slug}-help {slug}-error" aria-invalid="true"'
            in html)
    assert not OrderSettings.objects.filter(shop=destination).exists()


def test_five_thousand_selected_orders_are_a_toast_not_a_bare_400(client):
    # given a destination with an order
    destination = DestinationFactory()
    order = DestinationOrderFactory(shop=destination)
    # when a script (or a select-all gone wild) posts 5,000 order ids at once
    response = client.post("/orders/push", {"order": [order.pk] * 5000},
                           headers=post_headers(destination))
    # then the merchant reads why in a toast, and nothing was pushed
    message = ("That is more than can be sent at once. Select fewer items (a page at a time) "
               "and try again.")
    assert response.status_code == 400
    assert toast(response) == {"message": message, "error": True}
    assert response.content.decode() == message
    assert not OrderPush.objects.exists()
