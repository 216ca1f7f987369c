"""What a merchant reads on the order screens: amounts in the shop's own money format, payment
and fulfilment as badges, the amount paid net of refunds, and a header that agrees with the
lines about what the sources shipped."""

import re
from decimal import Decimal

import pytest

from orders.models import DestinationOrder, OrderFulfillment
from orders.services import order_push_request, order_settings_update
from stores.models import Shop
from stores.services import shop_tokens_forget
from tests.orders.conftest import DEST, SOURCE
from tests.orders.dashboard_world import sales_world, session_headers

__all__ = ["sales_world"]  # the fixture, imported for pytest

pytestmark = pytest.mark.django_db(transaction=True)


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def list_rows(html: str) -> dict[str, dict[str, str]]:
    """Order name → its payment, fulfilment and amount paid cells, as text."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        name = re.search(r"<strong>(#\d+)</strong>", row)
        if name is None:
            continue
        cells = {key: text(value) for key, value in re.findall(
            r'<td data-(payment|fulfillment|amount-paid)[^>]*>(.*?)</td>', row, re.S)}
        rows[name.group(1)] = cells
    return rows


def header(html: str) -> str:
    subtitle = re.search(r'<p class="page-subtitle">(.*?)</p>', html, re.S)
    assert subtitle is not None
    return text(subtitle.group(1))


def page(world, url: str, domain: str = DEST) -> str:
    headers = {k: v for k, v in world.headers(domain).items() if k != "HX-Request"}
    response = world.client.get(url, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def test_install_keeps_the_shops_money_format(emulator):
    # given a Swedish shop whose amounts read "1.234,50 kr"
    emulator._json("POST", "/_emulator/shops", json={
        "domain": "krona.myshopify.com", "name": "Krona", "currency": "SEK",
        "money_format": "{{amount_with_comma_separator}} kr"})
    # when it installs Syncer
    emulator.install("krona.myshopify.com")
    # then Syncer kept its currency and money format
    shop = Shop.objects.get(domain="krona.myshopify.com")
    assert (shop.currency, shop.money_format) == ("SEK", "{{amount_with_comma_separator}} kr")


def test_orders_list_and_header_show_badges_and_the_amount_paid_after_refunds(world):
    # given a paid order of 2 shirts (30.00) and a local item (20.00) with 5.00 shipping, and a
    # pending one
    sold = world.sell({"SHIRT-S": 2, "LOCAL-1": 1})
    pending = world.mirrored(world.sell({"MUG-1": 1}, financial_status="pending"))
    # when the local item is refunded
    world.emulator._json("POST", f"/_emulator/shops/{DEST}/orders/{sold['id']}/refund",
                         json={"lines": [{"sku": "LOCAL-1", "quantity": 1}]})
    world.emulator.flush_webhooks()
    order = world.mirrored(sold)
    # then the list shows badges and what was paid less the refund, in the shop's format
    rows = list_rows(page(world, "/orders/"))
    assert rows[order.name] == {"payment": "Partially refunded", "fulfillment": "Unfulfilled",
                                "amount-paid": "$65.00 ($20.00 refunded)"}
    assert rows[pending.name] == {"payment": "Payment pending", "fulfillment": "Unfulfilled",
                                  "amount-paid": "$17.00"}
    html = page(world, f"/orders/{order.pk}/")
    assert 'class="badge badge-neutral" data-payment="partially_refunded"' in html
    assert 'class="badge badge-attention" data-fulfillment="unfulfilled"' in html
    assert header(html).endswith("Partially refunded Unfulfilled · $65.00 paid, after $20.00 "
                                 "refunded")
    assert "<td>$30.00</td>" in html  # a line's price
    assert "<td>$20.00</td>" in html  # the unsynced line's


def test_pushed_totals_are_in_money_format_on_both_sides(world):
    # given an order pushed with a 7.5 shipping fee
    order = world.mirrored(world.sell({"SHIRT-S": 2}))
    order_push_request(order=order, shipping_fee=Decimal("7.5"))
    push = order.pushes.get()
    # then the destination's order page, and the source's received orders and report, say
    # what it cost in the shop's format
    assert f"as <strong>{push.source_order_name}</strong> · shipping $7.50 · total $67.50" in page(
        world, f"/orders/{order.pk}/")
    received = page(world, f"/stores/{world.connection.pk}/orders", SOURCE)
    assert "<td>$67.50</td>" in received
    report = page(world, f"/stores/{world.connection.pk}/report?range=7d", SOURCE)
    assert "<td>$67.50</td>" in report
    assert re.search(r'data-figure="revenue">(.*?)</dd>', report).group(1) == "$67.50"


def test_a_partial_fulfilment_at_the_source_shows_in_the_list_and_the_header(world):
    # given an order of two shirts pushed to the source
    order = world.mirrored(world.sell({"SHIRT-S": 2}))
    order_push_request(order=order)
    push = order.pushes.get()
    # when the source ships one of them
    world.emulator._json("POST", f"/_emulator/shops/{SOURCE}/orders/{push.source_order_id}/"
                                 "fulfill", json={"lines": [{"sku": "SHIRT-S", "quantity": 1}]})
    world.emulator.flush_webhooks()
    # then the list, the header and the lines agree
    assert list_rows(page(world, "/orders/?tab=pushed"))[order.name]["fulfillment"] == (
        "Partially fulfilled")
    html = page(world, f"/orders/{order.pk}/")
    assert "Partially fulfilled" in header(html)
    assert "Partially fulfilled at the source" in html


def test_the_header_follows_the_sources_shipment_before_the_destination_has_it(world):
    # given an order of two shirts pushed to the source, and a destination Syncer cannot reach
    # for now (the copy of the shipment fails; it would as well wait in a queue or a retry)
    order = world.mirrored(world.sell({"SHIRT-S": 2}))
    order_push_request(order=order)
    push = order.pushes.get()
    shop_tokens_forget(shop_domain=DEST)
    # when the source ships one of the shirts
    world.emulator._json("POST", f"/_emulator/shops/{SOURCE}/orders/{push.source_order_id}/"
                                 "fulfill", json={"lines": [{"sku": "SHIRT-S", "quantity": 1}]})
    world.emulator.flush_webhooks()
    # then the destination's own order is not fulfilled yet...
    order.refresh_from_db()
    assert OrderFulfillment.objects.get(push=push).status == OrderFulfillment.Status.FAILED
    assert order.shopify_fulfillment_status == DestinationOrder.FulfillmentStatus.UNFULFILLED
    # ...but the list and the header say what the lines say
    assert list_rows(page(world, "/orders/?tab=pushed"))[order.name]["fulfillment"] == (
        "Partially fulfilled")
    html = page(world, f"/orders/{order.pk}/")
    assert "Partially fulfilled" in header(html)
    assert "1 of 2" in html


def test_shipping_rules_show_fees_in_money_format(world):
    order_settings_update(shop=world.destination, auto_push=False, contact_email_method="store",
                          custom_email="", shipping_rules_enabled=True, notify_customer=True)
    response = world.client.post("/orders/settings/shipping-rules",
                                 {"source": "", "min_subtotal": "1000", "fee": "4.9"},
                                 headers=world.headers())
    assert response.status_code == 200
    assert "<td>$1,000.00</td><td>$4.90</td>" in response.content.decode()


def test_the_source_dashboard_writes_revenue_in_the_shops_format(client, sales_world):
    # given a source whose amounts read "€1.234,50"
    Shop.objects.filter(pk=sales_world.source.pk).update(
        money_format="<span class=money>€{{amount_with_comma_separator}}</span>")
    # when it opens its dashboard
    html = client.get("/dashboard/", sales_world.custom(),
                      headers=session_headers(sales_world.source)).content.decode()
    # then the figure, the chart's label and tooltips and the products table use it
    assert re.search(r'data-figure="revenue">(.*?)</dd>', html).group(1) == "€83,00"
    assert 'aria-label="Orders and revenue by day: 4 orders, €83,00"' in html
    assert [title.split(", ")[-1] for title in re.findall(
        r'<rect class="chart-bar"[^>]*><title>(.*?)</title>', html)] == [
        "€28,00", "€25,00", "€30,00"]
    assert "<td>€25,00</td>" in html  # the mug's revenue
