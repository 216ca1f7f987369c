"""The Orders section, order settings, help and the source's received orders, through the real
views with session tokens, the shop-bound CSRF token and HTMX headers."""

import json
import re
from decimal import Decimal

import pytest

from orders.models import DestinationOrder, OrderSettings, ShippingRateRule
from orders.services import order_push_request
from tests.htmx_events import said
from tests.orders.conftest import DEST, SOURCE
from tests.orders.factories import DestinationOrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db(transaction=True)


def tab_counts(html: str) -> dict[str, int]:
    return {label: int(count) for label, count in re.findall(
        r'role="tab"[^>]*>\s*([\w ]+?) <span class="badge">(\d+)</span>', html)}


def toast(response) -> dict:
    return said(response)


def test_tabs_move_as_orders_are_pushed(world):
    paid = world.mirrored(world.sell({"SHIRT-S": 1}))
    both = world.mirrored(world.sell({"SHIRT-M": 1, "MUG-1": 1}))
    world.mirrored(world.sell({"MUG-1": 2}, financial_status="pending"))
    page = world.client.get("/orders/", headers=world.headers()).content.decode()
    assert tab_counts(page) == {"Not pushed": 3, "Pushed": 0, "Partially pushed": 0,
                                "Cancelled": 0}
    assert "Cannot push</span> This order is not paid (payment status: pending)." in page
    assert "Ada Lovelace" in page
    # when the merchant pushes two orders from the list (one to one source only)
    order_push_request(order=both, source_ids=[world.source.pk])
    response = world.client.post("/orders/push", {"order": [paid.pk], "tab": "not_pushed"},
                                 headers=world.headers())
    assert response.status_code == 200
    assert toast(response) == {"message": "Pushing 1 order.", "error": False}
    page = response.content.decode()
    assert tab_counts(page) == {"Not pushed": 1, "Pushed": 1, "Partially pushed": 1,
                                "Cancelled": 0}
    pushed = world.client.get("/orders/?tab=pushed", headers=world.headers()).content.decode()
    assert f"<strong>{paid.name}</strong>" in pushed
    assert f"<strong>{both.name}</strong>" not in pushed
    partial = world.client.get("/orders/?tab=partial", headers=world.headers()).content.decode()
    assert f"<strong>{both.name}</strong>" in partial
    assert "Demo Source #" in partial  # the source's order number


def test_bulk_push_reports_refusals(world):
    pending = world.mirrored(world.sell({"MUG-1": 1}, financial_status="pending"))
    response = world.client.post("/orders/push", {"order": [pending.pk]},
                                 headers=world.headers())
    assert toast(response) == {
        "message": f"{pending.name}: This order is not paid (payment status: pending). Only "
                   "paid orders are pushed.", "error": True}
    empty = world.client.post("/orders/push", {}, headers=world.headers())
    assert empty.status_code == 422
    assert toast(empty) == {"message": "Select the orders to push first.", "error": True}


def test_order_page_groups_lines_by_source_and_shows_unsynced_lines(world):
    order = world.mirrored(world.sell({"SHIRT-S": 1, "MUG-1": 1, "LOCAL-1": 1}))
    page = world.client.get(f"/orders/{order.pk}/", headers=world.headers()).content.decode()
    assert "From Demo Source" in page
    assert "From Second Source" in page
    assert "Push to Demo Source" in page
    assert "Push to Second Source" in page
    assert "Not synced: fulfil these yourself" in page
    assert "Discount codes and your original shipping method and cost are never sent." in page
    # a fragment request (polling) renders only the push part
    fragment = world.client.get(f"/orders/{order.pk}/", headers={
        **world.headers(), "HX-Target": "order-pushes"}).content.decode()
    assert fragment.lstrip().startswith('<div id="order-pushes"')


def test_manual_push_with_a_bad_fee_is_a_field_error(world):
    order = world.mirrored(world.sell({"SHIRT-S": 1}))
    response = world.client.post(f"/orders/{order.pk}/push",
                                 {"source": world.source.pk, "shipping_fee": "-3"},
                                 headers=world.headers())
    assert response.status_code == 422
    assert "The shipping fee cannot be negative." in response.content.decode()
    assert json.loads(response["HX-Trigger"]) == {"failed": {
        "message": "Not pushed: The shipping fee cannot be negative."}}
    assert world.orders_of(SOURCE) == []


def test_search_and_pagination(world):
    for n in range(25):
        order = DestinationOrderFactory(shop=world.destination, customer_name=f"Buyer {n:02d}")
        OrderLineFactory(order=order, source=world.source)
    first = world.client.get("/orders/", headers=world.headers()).content.decode()
    assert "Page 1 of 2" in first
    found = world.client.get("/orders/?q=Buyer 07", headers=world.headers()).content.decode()
    assert "Buyer 07" in found
    assert "Buyer 08" not in found
    by_number = DestinationOrder.objects.filter(shop=world.destination).first()
    found = world.client.get(f"/orders/?q={by_number.name.replace('#', '%23')}",
                             headers=world.headers()).content.decode()
    assert by_number.name in found


def test_auto_push_toggle(world):
    response = world.client.post("/orders/auto-push", {"enabled": "on"}, headers=world.headers())
    assert toast(response)["message"] == ("Automatic push is on: paid orders are pushed as "
                                          "they arrive.")
    assert OrderSettings.objects.get(shop=world.destination).auto_push is True
    world.client.post("/orders/auto-push", {}, headers=world.headers())
    assert OrderSettings.objects.get(shop=world.destination).auto_push is False


def test_settings_and_shipping_rules(world):
    page = world.client.get("/orders/settings", headers=world.headers()).content.decode()
    assert "Contact email on pushed orders" in page
    invalid = world.client.post("/orders/settings", {"contact_email_method": "custom"},
                                headers=world.headers())
    assert invalid.status_code == 422
    assert "Enter the email address to use." in invalid.content.decode()
    saved = world.client.post("/orders/settings", {
        "contact_email_method": "custom", "custom_email": "ops@dest.example",
        "shipping_rules_enabled": "on", "notify_customer": "on"}, headers=world.headers())
    assert toast(saved)["message"] == "Order settings saved."
    settings = OrderSettings.objects.get(shop=world.destination)
    assert (settings.contact_email_method, settings.custom_email, settings.auto_push,
            settings.shipping_rules_enabled) == ("custom", "ops@dest.example", False, True)
    added = world.client.post("/orders/settings/shipping-rules", {
        "source": world.source.pk, "min_subtotal": "50", "fee": "2.50"}, headers=world.headers())
    assert toast(added)["message"] == "Shipping rule saved."
    rule = ShippingRateRule.objects.get()
    assert (rule.source, rule.min_subtotal, rule.fee) == (world.source, Decimal("50.00"),
                                                          Decimal("2.50"))
    bad = world.client.post("/orders/settings/shipping-rules", {"min_subtotal": "x"},
                            headers=world.headers())
    assert bad.status_code == 422
    assert "Enter the fee to charge." in bad.content.decode()
    world.client.post("/orders/settings/shipping-rules", {"delete": rule.pk},
                      headers=world.headers())
    assert not ShippingRateRule.objects.exists()


def test_help_page_lists_what_is_and_is_not_sent(world):
    page = world.client.get("/orders/help", headers=world.headers()).content.decode()
    for sent in ("Customer name and shipping address", "Contact email", "Tags", "Note"):
        assert sent in page
    for never in ("Discount codes and discounts.", "Your original shipping method and shipping "
                  "cost.", "The billing address."):
        assert never in page


def test_source_sees_received_orders_with_fulfilment_filters(world):
    world.mirrored(world.sell({"SHIRT-S": 1}))
    order = world.mirrored(world.sell({"SHIRT-M": 2}))
    for mirrored in DestinationOrder.objects.filter(shop=world.destination):
        order_push_request(order=mirrored)
    push = order.pushes.get()
    world.emulator._json("POST", f"/_emulator/shops/{SOURCE}/orders/{push.source_order_id}/"
                                 "fulfill", json={"tracking_number": "TRK-42"})
    world.emulator.flush_webhooks()
    url = f"/stores/{world.connection.pk}/orders"
    page = world.client.get(url, headers=world.headers(SOURCE)).content.decode()
    assert tab_counts(page) == {"All": 2, "Unfulfilled": 1, "Partially fulfilled": 0,
                                "Fulfilled": 1}
    fulfilled = world.client.get(f"{url}?status=fulfilled",
                                 headers=world.headers(SOURCE)).content.decode()
    assert f"<strong>{push.source_order_name}</strong>" in fulfilled
    assert "TRK-42" in fulfilled
    unfulfilled = world.client.get(f"{url}?status=unfulfilled",
                                   headers=world.headers(SOURCE)).content.decode()
    assert f"<strong>{push.source_order_name}</strong>" not in unfulfilled


def test_sections_are_for_their_role_and_their_shop(world):
    assert world.client.get("/orders/", headers=world.headers(SOURCE)).status_code == 403
    assert world.client.get(f"/stores/{world.connection.pk}/orders",
                            headers=world.headers(DEST)).status_code == 403
    other = DestinationOrderFactory()
    assert world.client.get(f"/orders/{other.pk}/", headers=world.headers()).status_code == 404
    assert world.client.post(f"/orders/{other.pk}/push", headers=world.headers()
                             ).status_code == 404
    assert world.client.get(f"/stores/{world.connection_2.pk}/orders",
                            headers=world.headers(SOURCE)).status_code == 404


def test_another_stores_order_is_the_apps_own_404_inside_the_admin(world):
    # given an order of another store
    other = DestinationOrderFactory()
    # when this destination opens it
    response = world.client.get(f"/orders/{other.pk}/", headers=world.headers())
    # then it sees the app's page, in its own shell, framable by its admin
    html = response.content.decode()
    assert response.status_code == 404
    assert ("Page not found" in html, "<ui-nav-menu>" in html) == (True, True)
    assert "https://admin.shopify.com" in response["Content-Security-Policy"]


def test_nav_has_orders_for_destinations(world):
    page = world.client.get("/", headers={"Authorization": world.headers()["Authorization"]})
    assert 'href="/orders/"' in page.content.decode()
