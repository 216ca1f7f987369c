"""Browser: a destination merchant opens Orders → Not pushed, pushes an order by hand with a
shipping fee, and finds it under Pushed; the source store has the order."""

import pytest

from orders.models import DestinationOrder
from stores.connections import connection_create
from stores.models import Shop
from stores.services import shop_role_choose
from tests.e2e.admin import DEST, SOURCE, go_to, open_app
from tests.orders.factories import link_product

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_push_an_order_by_hand_with_a_shipping_fee(page, embedded, artifacts):
    page.set_default_timeout(60_000)  # the shared CI box can be slow; every wait is an event
    for shop, name in ((SOURCE, "Demo Source"), (DEST, "Demo Dest 1")):
        embedded.shop_create(shop, name=name)
        embedded.install(shop)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role="source")
    destination = shop_role_choose(shop=Shop.objects.get(domain=DEST), role="destination")
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
