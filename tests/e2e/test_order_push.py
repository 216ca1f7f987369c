"""Browser: a destination merchant opens Orders → Not pushed, pushes an order by hand with a
shipping fee, and finds it under Pushed; the source store has the order."""

import pytest

from orders.models import DestinationOrder, OrderSettings
from stores.connections import connection_create
from stores.models import Connection, Shop
from stores.services import shop_role_choose
from tests.e2e.admin import DEST, SOURCE, go_to, open_app, source_and_destination_connected
from tests.orders.factories import link_product
from tests.stores.factories import subscription_active

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_push_an_order_by_hand_with_a_shipping_fee(page, embedded, artifacts):
    page.set_default_timeout(60_000)  # the shared CI box can be slow; every wait is an event
    for shop, name in ((SOURCE, "Demo Source"), (DEST, "Demo Dest 1")):
        embedded.shop_create(shop, name=name)
        embedded.install(shop)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role="source")
    destination = shop_role_choose(shop=Shop.objects.get(domain=DEST), role="destination")
    subscription_active(destination)  # order push is the Orders add-on
    connection = connection_create(destination=destination, store_key=source.store_key)
    link_product(embedded, connection=connection, title="Linen shirt",
                 variants=[("SHIRT-S", "30.00", 10)])
    sold = embedded.order_create(
        DEST, lines=[{"sku": "SHIRT-S", "quantity": 2}], financial_status="paid",
        customer={"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
        shipping_address={"first_name": "Ada", "last_name": "Lovelace",
                          "address1": "12 Analytical Row", "city": "London", "zip": "N1 7AA",
                          "country_code": "GB"})
    embedded.flush_webhooks()
    assert DestinationOrder.objects.filter(shopify_id=sold["id"]).exists()

    # the destination owner opens Orders: the order waits under Not pushed
    app = open_app(page, embedded, DEST)
    go_to(page, "Orders")
    row_link = app.get_by_role("link", name=sold["name"], exact=True)
    row_link.wait_for()
    assert app.locator("[role=tab][aria-selected=true]").inner_text().split() == [
        "Not", "pushed", "1"]
    page.screenshot(path=str(artifacts / "1-not-pushed.png"))

    # opens it, types a shipping fee and pushes it to the source
    row_link.click()
    app.get_by_role("heading", name=f"Order {sold['name']}").wait_for()
    assert app.locator("h1.page-title").count() == 1  # a whole page, not one nested in a table
    app.get_by_label("Shipping fee").fill("7.50")
    page.screenshot(path=str(artifacts / "2-order-before-push.png"))
    app.get_by_role("button", name="Push to Demo Source").click()
    app.locator('[data-push-status="pushed"]').wait_for()
    assert "shipping $7.50" in app.locator("#order-pushes").inner_text()
    page.screenshot(path=str(artifacts / "3-order-pushed.png"))

    # back in Orders, it moved to Pushed
    go_to(page, "Orders")
    app.get_by_role("tab", name="Pushed 1").click()
    app.get_by_role("link", name=sold["name"], exact=True).wait_for()
    assert app.locator("[role=tab][aria-selected=true]").inner_text().split() == ["Pushed", "1"]
    page.screenshot(path=str(artifacts / "4-pushed-tab.png"))

    (source_order,) = embedded.shop(SOURCE)["orders"]
    assert [s["price"] for s in source_order["shipping_lines"]] == ["7.50"]
    assert [(li["sku"], li["quantity"]) for li in source_order["line_items"]] == [("SHIRT-S", 2)]


def test_a_source_set_to_never_and_all_parts_together_from_order_settings(page, embedded):
    # given a destination connected to a source, automatic push off store-wide
    connection = source_and_destination_connected(embedded)
    app = open_app(page, embedded, DEST, "/orders/settings")
    source_choice = app.get_by_label(connection.source.name or connection.source.domain,
                                     exact=True)
    assert source_choice.locator("option:checked").inner_text() == "As store-wide (currently Off)"
    # when the owner sets the source to Never and orders to wait for every part, and saves
    source_choice.select_option(label="Never")
    app.get_by_label("Wait until every source's part can be pushed, then push them "
                     "together").check()
    save_bar = page.locator("#savebar")
    save_bar.wait_for()
    with page.expect_response(
        lambda r: r.url.endswith("/orders/settings") and r.request.method == "POST"
    ) as saved:
        save_bar.get_by_role("button", name="Save").click()
    # then both are saved, and the page shows them
    assert saved.value.status == 200
    save_bar.wait_for(state="hidden")
    assert Connection.objects.get(pk=connection.pk).auto_push == Connection.AutoPush.OFF
    assert OrderSettings.objects.get(shop__domain=DEST).partial_push == "all"
    assert source_choice.locator("option:checked").inner_text() == "Never"
