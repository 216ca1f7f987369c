"""The source dashboard's products sold (issue 23, item 2), through the emulator: a paid
sale of a synced variant at a destination counts for the source whether or not the order is
ever pushed, once per line whatever the webhooks do, at the source's price; a sale still
pending, or of a product the source does not sync, does not."""

import re

import pytest

from products.models import DestinationSale, InventoryEffect, SourceVariant
from stores.models import Connection, Shop
from tests.orders.dashboard_world import session_headers
from tests.products.inventory_world import build
from tests.products.test_inventory_engine import reconcile_all, settle
from tests.products.test_stock_paths import counting_pending, pending_order
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_deliveries_retry

pytestmark = pytest.mark.django_db(transaction=True)

# The source's own prices, unlike the destinations' 10.00 (inventory_world).
SOURCE_PRICES = {"SHIRT-S": "12.50", "SHIRT-M": "20.00", "TOTE-1": "30.00"}


def source_dashboard(client, source: Shop, **params) -> tuple[dict[str, str], list[list[str]]]:
    """The dashboard's figures and its products sold table, as text."""
    html = client.get("/dashboard/", params, headers=session_headers(source)).content.decode()
    figures = {name: " ".join(re.sub(r"<[^>]+>", " ", value).split())
               for name, value in re.findall(r'data-figure="([\w-]+)">(.*?)</dd>', html, re.S)}
    table = re.search(r'id="top-products">(.*?)</table>', html, re.S)
    rows = [[" ".join(re.sub(r"<[^>]+>", " ", cell).split())
             for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:]] if table else []
    return {name: figures[name] for name in ("orders", "revenue", "units", "sales")}, rows


def priced_world(emulator):
    world = build(emulator)
    reconcile_all(world)
    # Amounts written "1,234.50 USD", whatever format the emulator's shop has.
    Shop.objects.filter(domain=world.source).update(money_format="", currency="USD")
    source = Shop.objects.get(domain=world.source)
    for sku, price in SOURCE_PRICES.items():
        SourceVariant.objects.filter(shop=source, sku=sku).update(price=price)
    return world, source


def money(amount: str) -> str:
    return f"{amount} USD"


def test_paid_sales_count_for_the_source_though_no_order_is_pushed(client, emulator):
    world, source = priced_world(emulator)
    first, second = world.destinations
    # when destination 1 sells 3 small shirts and destination 2 two totes and a medium shirt,
    # all paid, and neither pushes an order to the source
    emulator.order_create(first, lines=[{"sku": "SHIRT-S", "quantity": 3}],
                          financial_status="paid")
    emulator.order_create(second, lines=[{"sku": "TOTE-1", "quantity": 2},
                                         {"sku": "SHIRT-M", "quantity": 1}],
                          financial_status="paid")
    settle(world)
    # then the source's dashboard (all time, all stores) counts every unit, at its own prices,
    # and no order received
    figures, products = source_dashboard(client, source)
    assert figures == {"orders": "0", "revenue": money("0.00"), "units": "6",
                       "sales": money("117.50")}
    assert products == [
        ["Linen shirt – SHIRT-S", "SHIRT-S", "3", money("37.50"), "50%"],
        ["Canvas tote", "TOTE-1", "2", money("60.00"), "33%"],
        ["Linen shirt – SHIRT-M", "SHIRT-M", "1", money("20.00"), "17%"],
    ]
    # and per store
    store = Connection.objects.get(destination__domain=second)
    figures, products = source_dashboard(client, source, store=store.pk)
    assert figures == {"orders": "0", "revenue": money("0.00"), "units": "3",
                       "sales": money("80.00")}
    # (the order created paid sends orders/create and orders/paid: one sale per line)
    assert DestinationSale.objects.count() == 3


def test_a_retried_paid_webhook_is_not_counted_twice(client, emulator):
    world, source = priced_world(emulator)
    seller = world.destinations[0]
    emulator.order_create(seller, lines=[{"sku": "TOTE-1", "quantity": 4}],
                          financial_status="paid")
    settle(world)
    before = source_dashboard(client, source)
    assert before[0]["units"] == "4"
    # when the order's deliveries are processed again (a failure after the handler ran, then
    # the merchant's Try again)
    deliveries = WebhookDelivery.objects.filter(shop_domain=seller, topic__startswith="orders/")
    assert deliveries.count() == 2
    deliveries.update(status=WebhookDelivery.Status.FAILED)
    assert webhook_deliveries_retry(shop_domain=seller) == 2
    settle(world)
    assert not deliveries.exclude(status=WebhookDelivery.Status.PROCESSED).exists()
    # then the sale still counts once
    assert source_dashboard(client, source) == before
    assert list(DestinationSale.objects.values_list("quantity", "price")) == [
        (4, SourceVariant.objects.get(shop=source, sku="TOTE-1").price)]


def test_a_pending_sale_counts_once_paid_even_when_its_stock_moved_at_once(client, emulator):
    world, source = priced_world(emulator)
    seller = world.destinations[0]
    counting_pending(Connection.objects.get(destination__domain=seller), on=True)
    # when a customer orders 2 totes with payment pending: the source's stock moves at once
    order_id = pending_order(emulator, seller, "TOTE-1", 2)
    settle(world)
    assert list(InventoryEffect.objects.values_list("kind", "delta")) == [("sale", -2)]
    # then it is no sale yet
    figures, products = source_dashboard(client, source)
    assert (figures["units"], figures["sales"], products) == ("0", money("0.00"), [])
    assert not DestinationSale.objects.exists()
    # when the payment arrives: it is, once
    emulator._json("POST", f"/_emulator/shops/{seller}/orders/{order_id}/pay")
    settle(world)
    figures, _ = source_dashboard(client, source)
    assert (figures["units"], figures["sales"]) == ("2", money("60.00"))


def test_a_sale_of_a_product_the_source_does_not_sync_is_not_counted(client, emulator):
    world, source = priced_world(emulator)
    seller = world.destinations[1]
    # given a product of the destination's own, linked to no source
    emulator.product_create(seller, title="Beeswax candle", vendor="Local", variants=[
        {"sku": "CANDLE-1", "price": "9.00", "available": 10}])
    settle(world)
    # when it sells, paid, alongside nothing of the source's
    emulator.order_create(seller, lines=[{"sku": "CANDLE-1", "quantity": 4}],
                          financial_status="paid")
    settle(world)
    # then the source sees no sale
    figures, products = source_dashboard(client, source)
    assert (figures["units"], figures["sales"], products) == ("0", money("0.00"), [])
    assert not DestinationSale.objects.exists()
