"""Browser: every page of both roles, as the walk-through opens them inside the admin, and the
standalone shell, pass axe-core's accessibility rules with no serious or critical violation
(issue 19)."""

from decimal import Decimal

import pytest

from orders.models import DestinationOrder
from orders.services import order_push_request, shipping_rule_add
from tests.e2e.admin import DEST, SOURCE, source_and_destination_connected
from tests.orders.factories import link_product
from tests.stores.factories import subscription_active
from tests.walkthrough import accessibility_problems, walk_app

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "address1": "12 Analytical Row",
    "city": "London",
    "zip": "N1 7AA",
    "country_code": "GB",
}


def world_with_content(embedded) -> dict[str, int]:
    """A source and a connected destination with a linked product, a source product not yet
    imported, a shipping rule, and an order of the destination pushed to the source: each page
    has rows, not its empty state. Returns the ids the pages' addresses hold."""
    connection = source_and_destination_connected(embedded)
    subscription_active(connection.destination)  # order push is the Orders add-on
    linked = link_product(
        embedded,
        connection=connection,
        title="Linen shirt",
        variants=[("SHIRT-S", "30.00", 10), ("SHIRT-M", "30.00", 4)],
    )
    shipping_rule_add(
        shop=connection.destination, source=None, min_subtotal=Decimal("0.00"), fee=Decimal("4.50")
    )
    embedded.product_create(
        SOURCE,
        title="Canvas tote",
        vendor="Acme",
        variants=[{"sku": "TOTE", "price": "18.00", "available": 7}],
    )
    embedded.order_create(
        DEST,
        lines=[{"sku": "SHIRT-S", "quantity": 2}],
        financial_status="paid",
        shipping_address=ADDRESS,
        customer={"first_name": "Ada", "email": "ada@example.com"},
    )
    embedded.flush_webhooks()
    order = DestinationOrder.objects.get(shop__domain=DEST)
    order_push_request(order=order)
    embedded.flush_webhooks()
    return {"c": connection.id, "o": order.id, "p": linked["SHIRT-S"].source_variant.product_id}


@pytest.mark.parametrize(
    ("shop", "main_pages"),
    [
        (
            SOURCE,
            {
                "/",
                "/dashboard/",
                "/stores/",
                "/stores/{c}/",
                "/stores/{c}/orders",
                "/stores/{c}/report",
                "/products/",
                "/products/?tab=synced",
                "/inventory/",
            },
        ),
        (
            DEST,
            {
                "/",
                "/dashboard/",
                "/sources/",
                "/products/",
                "/products/sources/{c}/",
                "/products/sources/{c}/map/",
                "/products/sources/{c}/products/{p}/history",
                "/inventory/",
                "/orders/",
                "/orders/?tab=pushed",
                "/orders/{o}/",
                "/orders/settings",
                "/orders/help",
            },
        ),
    ],
    ids=["source", "destination"],
)
def test_every_page_of_each_role_passes_axe(
    page, embedded, live_server, artifacts, shop, main_pages
):
    # given both roles with real content
    ids = world_with_content(embedded)

    # when the shop's owner walks every page the app links to, inside the admin
    walk = walk_app(
        page, admin_url=embedded.url, app_origin=live_server.url, shop=shop, out=artifacts
    )

    # then the walk reached the main pages, and none has a serious or critical violation (nor
    # anything else the walk-through looks for)
    assert {path.format(**ids) for path in main_pages} <= set(walk.pages), walk.pages
    assert walk.problems == []


def test_the_standalone_shell_passes_axe(page, live_server):
    # when the system status is opened outside the admin (the standalone shell)
    page.goto(f"{live_server.url}/status")
    page.locator("h1.page-title", has_text="System status").wait_for()

    # then it has no serious or critical violation
    assert accessibility_problems(page.main_frame, path="/status") == []
