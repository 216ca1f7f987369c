"""Browser: what an action on the Orders pages changes is redrawn without a reload — a bulk push
shows "Pushing" and then, as the worker finishes, the pushed orders leave the tab; turning
shipping rules on updates the Shipping rules card on the same page."""

import pytest
from playwright.sync_api import expect

from orders.models import DestinationOrder, OrderPush
from orders.tasks import order_push_task
from stores.models import Shop
from syncer.celery import app as celery_app
from tests.e2e.admin import DEST, go_to, open_app, source_and_destination_connected, title_bar
from tests.orders.factories import link_product
from tests.stores.factories import subscription_active

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ADDRESS = {"first_name": "Ada", "last_name": "Lovelace", "address1": "12 Analytical Row",
           "city": "London", "zip": "N1 7AA", "country_code": "GB"}


def connected_destination(embedded) -> Shop:
    connection = source_and_destination_connected(embedded)
    subscription_active(connection.destination)  # order push is the Orders add-on
    link_product(embedded, connection=connection, title="Linen shirt",
                 variants=[("SHIRT-S", "30.00", 10)])
    return connection.destination


def test_a_bulk_push_updates_the_list_until_it_is_done(page, embedded, artifacts):
    page.set_default_timeout(60_000)  # the shared CI box can be slow; every wait is an event
    connected_destination(embedded)
    for _ in range(2):
        embedded.order_create(DEST, lines=[{"sku": "SHIRT-S", "quantity": 1}],
                              financial_status="paid", shipping_address=ADDRESS,
                              customer={"first_name": "Ada", "email": "ada@example.com"})
    embedded.flush_webhooks()
    assert DestinationOrder.objects.filter(shop__domain=DEST).count() == 2

    app = open_app(page, embedded, DEST)
    go_to(page, "Orders")
    app.get_by_role("tab", name="Not pushed 2", exact=True).wait_for()
    # the merchant selects both orders and pushes them; no worker has picked them up yet
    celery_app.conf.task_always_eager = False  # queued in Redis, as in production
    try:
        for box in app.locator('input[name="order"]').all():
            box.check()
        app.get_by_role("button", name="Push selected").click()
        expect(app.locator("#order-table .badge", has_text="Pushing")).to_have_count(2)
    finally:
        celery_app.conf.task_always_eager = True
    page.screenshot(path=str(artifacts / "1-pushing.png"))
    # when the worker runs the pushes
    for push in OrderPush.objects.filter(status=OrderPush.Status.PENDING).order_by("pk"):
        order_push_task.apply(args=[push.pk])
    assert set(OrderPush.objects.values_list("status", flat=True)) == {OrderPush.Status.PUSHED}
    # then the list follows by itself: the orders leave Not pushed for Pushed
    app.get_by_role("tab", name="Pushed 2", exact=True).wait_for(timeout=20_000)
    expect(app.locator("#order-table .badge", has_text="Pushing")).to_have_count(0)
    expect(app.locator("#order-table")).to_contain_text("Nothing waiting to be pushed")
    page.screenshot(path=str(artifacts / "2-pushed.png"))
    # and it stops asking once nothing is pushing
    assert app.locator("#order-table").get_attribute("hx-trigger") is None


def test_turning_shipping_rules_on_updates_the_rules_card(page, embedded, artifacts):
    page.set_default_timeout(60_000)
    connected_destination(embedded)
    app = open_app(page, embedded, DEST)
    go_to(page, "Orders")
    title_bar(page).get_by_role("button", name="Order settings").click()
    rules = app.locator("#shipping-rules")
    expect(rules).to_contain_text("Rules are off")
    # when the merchant turns the rules on and saves
    app.get_by_label("Charge shipping by my rules").check()
    page.locator("#savebar").get_by_role("button", name="Save").click()
    # then the rules card says so without a reload
    expect(rules).not_to_contain_text("Rules are off", timeout=20_000)
    expect(app.get_by_label("Charge shipping by my rules")).to_be_checked()
    page.screenshot(path=str(artifacts / "rules-on.png"))
    # and turning them off again says so again
    app.get_by_label("Charge shipping by my rules").uncheck()
    page.locator("#savebar").get_by_role("button", name="Save").click()
    expect(rules).to_contain_text("Rules are off", timeout=20_000)
