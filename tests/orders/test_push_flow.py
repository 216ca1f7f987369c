"""Order push end to end: the emulator's destination sells, its webhooks reach the real
endpoint, Syncer mirrors the order and creates the source orders through the Admin API."""

import re
from decimal import Decimal
from html import unescape

import pytest

from orders.models import DestinationOrder, OrderPush
from orders.services import order_push_request, order_settings_update, shipping_rule_add
from tests.orders.conftest import ADDRESS, DEST, SOURCE, SOURCE_2

pytestmark = pytest.mark.django_db(transaction=True)


def settings_for(world, **overrides):
    values = {"auto_push": False, "contact_email_method": "store", "custom_email": "",
              "shipping_rules_enabled": False, "notify_customer": True, **overrides}
    return order_settings_update(shop=world.destination, **values)


def test_auto_push_creates_one_source_order_per_source_with_the_synced_lines(world):
    settings_for(world, auto_push=True, contact_email_method="custom",
                 custom_email="orders@dest.example", shipping_rules_enabled=True)
    shipping_rule_add(shop=world.destination, source=world.source, min_subtotal=Decimal("0"),
                      fee=Decimal("4.00"))
    shipping_rule_add(shop=world.destination, source=world.source, min_subtotal=Decimal("100"),
                      fee=Decimal("0.00"))
    shipping_rule_add(shop=world.destination, source=None, min_subtotal=Decimal("0"),
                      fee=Decimal("6.50"))
    # when a customer buys two synced items from two sources and one local item
    sold = world.sell({"SHIRT-S": 2, "MUG-1": 1, "LOCAL-1": 1})
    # then the order is mirrored, with each line's source
    order = world.mirrored(sold)
    assert order.push_state == DestinationOrder.PushState.PUSHED
    assert {(line.sku, line.source_id) for line in order.lines.all()} == {
        ("SHIRT-S", world.source.pk), ("MUG-1", world.source_2.pk), ("LOCAL-1", None)}
    pushes = {push.source.domain: push for push in order.pushes.all()}
    assert set(pushes) == {SOURCE, SOURCE_2}
    assert {push.status for push in pushes.values()} == {OrderPush.Status.PUSHED}
    # and each source got exactly one order, with only its own lines
    (first,) = world.orders_of(SOURCE)
    (second,) = world.orders_of(SOURCE_2)
    assert [(li["sku"], li["quantity"], li["price"]) for li in first["line_items"]] == [
        ("SHIRT-S", 2, "30.00")]
    assert [(li["sku"], li["quantity"]) for li in second["line_items"]] == [("MUG-1", 1)]
    tag = f"syncer-{sold['id']}"
    for source_order, fee in ((first, "4.00"), (second, "6.50")):
        assert source_order["tags"].split(", ") == ["Demo Dest One",
                                                    f"Demo Dest One {sold['name']}", tag]
        assert source_order["note"].startswith(
            f"Pushed by Syncer from Demo Dest One ({DEST}), order {sold['name']}.")
        assert source_order["email"] == "orders@dest.example"
        assert [(s["title"], s["price"]) for s in source_order["shipping_lines"]] == [
            ("Shipping", fee)]
        assert source_order["source_identifier"] == tag
        assert source_order["financial_status"] == "pending"
        address = source_order["shipping_address"]
        assert (address["first_name"], address["last_name"], address["address1"],
                address["city"], address["zip"], address["country_code"]) == (
            "Ada", "Lovelace", ADDRESS["address1"], "London", "N1 7AA", "GB")
    assert pushes[SOURCE].source_order_id == first["id"]
    assert pushes[SOURCE].source_order_name == first["name"]
    assert (pushes[SOURCE].shipping_fee, pushes[SOURCE].total_price) == (Decimal("4.00"),
                                                                         Decimal("64.00"))
    # and every pushed line knows its source line (for fulfilments coming back)
    assert [line.source_line_item_id for line in pushes[SOURCE].lines.all()] == [
        first["line_items"][0]["id"]]


def test_an_order_without_synced_lines_is_not_mirrored(world):
    settings_for(world, auto_push=True)
    sold = world.sell({"LOCAL-1": 1})
    assert not DestinationOrder.objects.filter(shopify_id=sold["id"]).exists()
    assert world.orders_of(SOURCE) == []


def test_repeated_webhooks_and_requests_never_push_twice(world):
    settings_for(world, auto_push=True)
    world.emulator.faults(webhook_duplicate_rate=1.0)
    sold = world.sell({"SHIRT-S": 1})
    order = world.mirrored(sold)
    # when the merchant also pushes by hand, twice
    order_push_request(order=order)
    order_push_request(order=order)
    world.emulator.flush_webhooks()
    assert len(world.orders_of(SOURCE)) == 1
    assert OrderPush.objects.filter(order=order).count() == 1


def test_units_added_after_the_push_are_named_on_the_order_page(world):
    # given an order of 2 shirts S pushed to its source at once
    settings_for(world, auto_push=True)
    sold = world.sell({"SHIRT-S": 2}, financial_status="paid")
    order = world.mirrored(sold)
    assert order.pushes.get().status == OrderPush.Status.PUSHED
    page = world.client.get(f"/orders/{order.pk}/", headers=world.headers()).content.decode()
    assert "data-not-in-push" not in page
    # when the merchant edits it: one more on that line and a new line of 1 shirt M
    line_id = sold["line_items"][0]["id"]
    world.emulator._json("POST", f"/_emulator/shops/{DEST}/orders/{sold['id']}/edit",
                         json={"lines": [{"line_item_id": line_id, "quantity": 1},
                                         {"sku": "SHIRT-M", "quantity": 1}]})
    world.emulator.flush_webhooks()
    # then the order page says what the source's order lacks, and that it will not ship it
    page = world.client.get(f"/orders/{order.pk}/", headers=world.headers()).content.decode()
    (source_order,) = world.orders_of(SOURCE)
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert (f"Changed after the push: 1 × Linen shirt – SHIRT-S, 1 × Linen shirt – SHIRT-M not "
            f"in Demo Source's order {source_order['name']}. Demo Source ships what was "
            "pushed: ask them to add it to their order, or send it yourself.") in text
