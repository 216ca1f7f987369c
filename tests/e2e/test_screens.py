"""Browser: screens a merchant met broken in the walk-through — shared locations that could not
be ticked, a partly shipped order said to be unfulfilled, not-found pages outside the app."""

import re

import pytest

from orders.models import DestinationOrder
from orders.services import order_push_request
from tests.e2e.admin import (
    DEST,
    SOURCE,
    follow,
    go_to,
    menu_items,
    open_app,
    source_and_destination_connected,
    wait_for_title,
)
from tests.orders.factories import link_product
from tests.stores.factories import subscription_active

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ADDRESS = {"first_name": "Ada", "last_name": "Lovelace", "address1": "12 Analytical Row",
           "city": "London", "zip": "N1 7AA", "country_code": "GB"}


def connected(embedded):
    connection = source_and_destination_connected(embedded)
    subscription_active(connection.destination)  # order push is the Orders add-on
    link_product(embedded, connection=connection, title="Linen shirt",
                 variants=[("SHIRT-S", "30.00", 10)])
    return connection


def test_the_source_ticks_its_shared_locations_and_saves(page, embedded):
    # given a source with two locations, both shared until it chooses
    connected(embedded)
    locations = [location["name"] for location in embedded.shop(SOURCE)["locations"]]
    assert len(locations) == 2
    app = open_app(page, embedded, SOURCE)
    go_to(page, "Inventory")
    boxes = app.get_by_role("checkbox")
    boxes.first.wait_for()
    assert [box.is_checked() for box in boxes.all()] == [True, True]

    # when it unticks the second location and saves
    app.get_by_role("checkbox", name=locations[1]).uncheck()
    with page.expect_response(lambda r: r.url.endswith("/inventory/source")) as saved:
        page.locator("#savebar").get_by_role("button", name="Save").click()

    # then it is saved: the page keeps its choice and no field error shows
    assert saved.value.status == 200
    app.locator("#source-form").wait_for()
    assert app.get_by_role("checkbox", name=locations[0]).is_checked()
    assert not app.get_by_role("checkbox", name=locations[1]).is_checked()
    assert app.locator(".field-error").count() == 0


def test_a_partial_shipment_at_the_source_shows_in_the_list_and_the_header(page, embedded):
    # given an order of two shirts pushed to the source, which ships one of them
    connected(embedded)
    embedded.order_create(DEST, lines=[{"sku": "SHIRT-S", "quantity": 2}],
                          financial_status="paid", shipping_address=ADDRESS,
                          customer={"first_name": "Ada", "email": "ada@example.com"})
    embedded.flush_webhooks()
    order = DestinationOrder.objects.get(shop__domain=DEST)
    order_push_request(order=order)
    push = order.pushes.get()
    embedded._json("POST", f"/_emulator/shops/{SOURCE}/orders/{push.source_order_id}/fulfill",
                   json={"lines": [{"sku": "SHIRT-S", "quantity": 1}]})
    embedded.flush_webhooks()

    # when the destination owner opens the Pushed orders
    app = open_app(page, embedded, DEST)
    go_to(page, "Orders")
    app.get_by_role("tab", name=re.compile("^Pushed")).click()

    # then the row, and the order's header, say what its lines say
    row = app.locator("tr", has=app.get_by_role("link", name=order.name))
    row.wait_for()
    assert "Partially fulfilled" in row.inner_text()
    row.get_by_role("link", name=order.name).click()
    app.locator("h1.page-title", has_text=order.name).wait_for()
    assert "Partially fulfilled" in app.locator(".page-header").inner_text()
    assert "Unfulfilled" not in app.locator(".page-header").inner_text()


def test_not_found_pages_are_the_apps_own_inside_the_admin(page, embedded, live_server):
    # given a destination in its admin, and an order of another store
    connected(embedded)
    app = open_app(page, embedded, DEST)

    # when it opens an order id that is not its own
    follow(page, f"{live_server.url}/orders/999999/")

    # then the app's 404 shows in the app's shell (the admin's title bar and menu), with a way
    # back
    app.locator("h1.page-title", has_text="Page not found").wait_for()
    wait_for_title(page, "Page not found")
    assert menu_items(page) == [
        "Dashboard", "Sources", "Products", "Orders", "Inventory", "Activity", "Plan & billing",
        "Help"]
    assert app.get_by_role("link", name="Back to Home").is_visible()

    # when the admin loads an unknown address of the app (a document load, with its shop)
    page.frames[1].goto(f"{live_server.url}/no-such-page?shop={DEST}&host=abc")

    # then it is framed (not the browser's broken-frame page) and leads back Home
    app.locator("h1.page-title", has_text="Page not found").wait_for()
    app.get_by_role("link", name="Back to Home").click()
    app.locator("h1.page-title", has_text="Demo Dest 1").wait_for()
