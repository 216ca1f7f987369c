"""Automatic push per source and the partially pushed order setting (issue 20 part 5): each
source's own choice over the store-wide switch, "each" or "all" for an order whose parts are
not all ready, the looks again when a part can become ready (the order's update, an unblock,
Push waiting parts), and never a part pushed twice. The emulator's destination sells, its
webhooks reach the real endpoint, and the source orders are made through the Admin API."""

from decimal import Decimal
from html import escape

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from orders.models import DestinationOrder, OrderPush, OrderSettings
from orders.services import (
    connection_auto_push_set,
    order_push_automatic,
    order_settings_update,
)
from products.models import ProductLink, SourceProduct, SourceVariant, VariantLink
from stores.connections import connection_block, connection_unblock
from stores.models import Connection
from stores.services import shop_access_token
from tests.htmx_events import said
from tests.orders.conftest import ADDRESS, DEST, SOURCE, SOURCE_2
from tests.orders.factories import DestinationOrderFactory, OrderLineFactory
from tests.stores.factories import ConnectionFactory, DestinationFactory

pytestmark = pytest.mark.django_db(transaction=True)

NO_ADDRESS = {"first_name": "Ada", "last_name": "Lovelace", "city": "London"}
ADDRESS_MISSING = ("This order has no complete shipping address (street, city and country). "
                   "Add it in Shopify, then push again.")
BLOCKED = "Second Source has blocked your store, so orders cannot be pushed to it."
ORDER_UPDATE = """
mutation Fix($input: OrderInput!) { orderUpdate(input: $input) { userErrors { message } } }
"""


def settings_for(world, **overrides) -> OrderSettings:
    values = {"auto_push": True, "contact_email_method": "store", "custom_email": "",
              "shipping_rules_enabled": False, "notify_customer": True, **overrides}
    return order_settings_update(shop=world.destination, **values)


def address_fixed_in_shopify(world, sold: dict) -> None:
    """The merchant completes the order's shipping address in Shopify: orders/updated."""
    answer = world.emulator.http.post(
        f"/shops/{DEST}/admin/api/2026-07/graphql.json",
        headers={"X-Shopify-Access-Token": shop_access_token(shop_domain=DEST)},
        json={"query": ORDER_UPDATE, "variables": {"input": {
            "id": f"gid://shopify/Order/{sold['id']}",
            "shippingAddress": {"firstName": "Ada", "lastName": "Lovelace",
                                "address1": ADDRESS["address1"], "city": "London",
                                "zip": ADDRESS["zip"], "countryCode": "GB"}}}})
    assert answer.json()["data"]["orderUpdate"]["userErrors"] == []
    world.emulator.flush_webhooks()


def mapped_by_hand(world, *, connection: Connection, sold: dict, sku: str) -> None:
    """The destination's own product sold in `sold` (by SKU) is mapped onto a new product of
    the connection's source, the way mapping leaves it: a product link and a variant link."""
    made = world.emulator.product_create(connection.source.domain, title="Gift wrap",
                                         vendor="Acme", variants=[
                                             {"sku": sku, "price": "5.00", "available": 9}])
    world.emulator.flush_webhooks()
    (variant,) = made["variants"]
    line = next(li for li in sold["line_items"] if li["sku"] == sku)
    product, _ = SourceProduct.objects.get_or_create(
        shop=connection.source, shopify_id=made["id"], defaults={"title": "Gift wrap"})
    source_variant, _ = SourceVariant.objects.update_or_create(
        shop=connection.source, shopify_id=variant["id"], defaults={
            "product": product, "inventory_item_id": variant["inventory_item_id"], "sku": sku,
            "price": Decimal("5.00")})
    destination_product = next(p for p in world.emulator.shop(DEST, orders=False)["products"]
                               if any(v["id"] == line["variant_id"] for v in p["variants"]))
    link = ProductLink.objects.create(connection=connection, source_product=product,
                                      destination_product_id=destination_product["id"],
                                      origin=ProductLink.Origin.LINKED_BY_HAND)
    destination_variant = next(v for v in destination_product["variants"]
                               if v["id"] == line["variant_id"])
    VariantLink.objects.create(product_link=link, connection=connection,
                               source_variant=source_variant,
                               destination_variant_id=line["variant_id"],
                               destination_inventory_item_id=destination_variant[
                                   "inventory_item_id"])


def pushed_to(order: DestinationOrder) -> dict[str, tuple[str, str]]:
    return {push.source.domain: (push.status, push.trigger)
            for push in OrderPush.objects.filter(order=order).select_related("source")}


def order_page(world, order: DestinationOrder) -> str:
    return world.client.get(f"/orders/{order.pk}/", headers=world.headers()).content.decode()


# --- each source's own choice ------------------------------------------------------------------


@pytest.mark.parametrize(("store_wide", "choice", "pushed"), [
    (True, "", {SOURCE, SOURCE_2}),
    (True, "on", {SOURCE, SOURCE_2}),
    (True, "off", {SOURCE_2}),
    (False, "", set()),
    (False, "on", {SOURCE}),
    (False, "off", set()),
])
def test_automatic_push_pushes_exactly_the_sources_whose_choice_is_on(world, store_wide, choice,
                                                                      pushed):
    # given the store-wide switch, and the first source's own choice (the second inherits)
    settings_for(world, auto_push=store_wide)
    connection_auto_push_set(shop=world.destination, choices={world.connection.pk: choice})
    # when a paid order with items from both sources arrives
    order = world.mirrored(world.sell({"SHIRT-S": 1, "MUG-1": 2}))
    # then exactly those sources got their part, once, automatically
    assert pushed_to(order) == {domain: ("pushed", "automatic") for domain in pushed}
    assert (len(world.orders_of(SOURCE)), len(world.orders_of(SOURCE_2))) == (
        int(SOURCE in pushed), int(SOURCE_2 in pushed))
    # and nothing waits for automatic push: what is left is the merchant's
    assert order.auto_push_waiting_since is None


def test_a_part_set_to_never_waits_for_the_merchant_and_says_so(world):
    # given automatic push on, but never for the first source
    settings_for(world, auto_push=True)
    connection_auto_push_set(shop=world.destination,
                             choices={world.connection.pk: Connection.AutoPush.OFF})
    order = world.mirrored(world.sell({"SHIRT-S": 1, "MUG-1": 1}))
    # then the order is partially pushed, and its page says which part waits and why
    assert order.push_state == DestinationOrder.PushState.PARTIAL
    page = order_page(world, order)
    assert escape("Waiting for you to push it: automatic push is set to Never for Demo "
                  "Source.") in page
    assert "Push to Demo Source" in page
    assert 'data-push-status="waiting"' in page
    # and the merchant pushes it by hand
    response = world.client.post(f"/orders/{order.pk}/push", {"source": world.source.pk},
                                 headers=world.headers())
    assert said(response)["message"] == "Pushed to Demo Source."
    assert pushed_to(order) == {SOURCE: ("pushed", "manual"), SOURCE_2: ("pushed", "automatic")}


# --- each or all, and looking again ----------------------------------------------------------


@pytest.mark.parametrize("partial_push", ["each", "all"])
def test_a_part_not_ready_each_pushes_the_others_all_waits_then_the_unblock_pushes(
        world, partial_push):
    settings_for(world, auto_push=True, partial_push=partial_push)
    # given a paid order that cannot be pushed yet (no street in its address)
    sold = world.sell({"SHIRT-S": 1, "MUG-1": 2}, shipping_address=NO_ADDRESS)
    order = world.mirrored(sold)
    assert pushed_to(order) == {}
    assert order.auto_push_waiting_since is not None
    page = order_page(world, order)
    assert escape(f"Waiting to be pushed automatically: {ADDRESS_MISSING}") in page
    assert "Push waiting parts" in page
    # and the second source blocks the store meanwhile
    connection_block(connection=world.connection_2, actor=world.source_2)
    # when the merchant completes the address in Shopify
    address_fixed_in_shopify(world, sold)
    order.refresh_from_db()
    if partial_push == "each":
        # then the first source's part goes at once; the blocked one waits
        assert pushed_to(order) == {SOURCE: ("pushed", "automatic")}
        assert order.push_state == DestinationOrder.PushState.PARTIAL
        waiting_words = f"Waiting to be pushed automatically: {BLOCKED}"
    else:
        # then nothing goes: the first part waits for the second
        assert pushed_to(order) == {}
        assert order.push_state == DestinationOrder.PushState.NOT_PUSHED
        waiting_words = ("Waiting to be pushed together with the part from Second Source, "
                         f"which cannot be pushed yet: {BLOCKED}")
    assert order.auto_push_waiting_since is not None
    assert escape(waiting_words) in order_page(world, order)
    listed = world.client.get(f"/orders/?tab={order.push_state}",
                              headers=world.headers()).content.decode()
    first_waiting = "Second Source" if partial_push == "each" else "Demo Source"
    assert escape(f"{first_waiting}: {waiting_words}") in listed
    # when the source unblocks the store from its page
    response = world.client.post(f"/stores/{world.connection_2.pk}/unblock",
                                 headers=world.headers(SOURCE_2))
    assert response.status_code == 200
    # then what waited is pushed, and every source has exactly one order
    order.refresh_from_db()
    assert pushed_to(order) == {SOURCE: ("pushed", "automatic"),
                                SOURCE_2: ("pushed", "automatic")}
    assert (len(world.orders_of(SOURCE)), len(world.orders_of(SOURCE_2))) == (1, 1)
    assert order.push_state == DestinationOrder.PushState.PUSHED
    assert order.auto_push_waiting_since is None
    assert "Push waiting parts" not in order_page(world, order)


def test_an_item_mapped_later_joins_the_order_and_all_parts_go_together(world):
    settings_for(world, auto_push=True, partial_push="all")
    # given a paid order that waits (no street), with one item of the store's own
    sold = world.sell({"SHIRT-S": 1, "LOCAL-1": 1}, shipping_address=NO_ADDRESS)
    order = world.mirrored(sold)
    assert order.auto_push_waiting_since is not None
    # when that item is mapped onto the second source's product, then the address is fixed
    mapped_by_hand(world, connection=world.connection_2, sold=sold, sku="LOCAL-1")
    address_fixed_in_shopify(world, sold)
    # then both parts are pushed, the mapped item to the second source
    order.refresh_from_db()
    assert pushed_to(order) == {SOURCE: ("pushed", "automatic"),
                                SOURCE_2: ("pushed", "automatic")}
    (second,) = world.orders_of(SOURCE_2)
    assert [(li["sku"], li["quantity"]) for li in second["line_items"]] == [("LOCAL-1", 1)]
    assert order.auto_push_waiting_since is None


def test_push_waiting_parts_looks_again_links_new_items_and_pushes(world):
    settings_for(world, auto_push=True, partial_push="each")
    sold = world.sell({"SHIRT-S": 1, "MUG-1": 1, "LOCAL-1": 1}, shipping_address=NO_ADDRESS)
    order = world.mirrored(sold)
    connection_block(connection=world.connection_2, actor=world.source_2)
    address_fixed_in_shopify(world, sold)
    order.refresh_from_db()
    assert pushed_to(order) == {SOURCE: ("pushed", "automatic")}
    # given the second source unblocked by a path that looks at no order, and the store's own
    # item mapped onto the first source meanwhile (no webhook of the order since)
    connection_unblock(connection=world.connection_2, actor=world.source_2)
    mapped_by_hand(world, connection=world.connection, sold=sold, sku="LOCAL-1")
    order.refresh_from_db()
    assert order.auto_push_waiting_since is not None
    # when the merchant presses Push waiting parts
    response = world.client.post(f"/orders/{order.pk}/push-waiting", headers=world.headers())
    # then the second source's part goes; the item mapped to the first source, whose part is
    # pushed already, is not sent again (a source gets one order)
    assert response.status_code == 200
    assert said(response)["message"] == "Pushing to Second Source."
    assert pushed_to(order) == {SOURCE: ("pushed", "automatic"),
                                SOURCE_2: ("pushed", "manual")}
    assert order.lines.get(sku="LOCAL-1").source_id == world.source.pk
    assert (len(world.orders_of(SOURCE)), len(world.orders_of(SOURCE_2))) == (1, 1)
    order.refresh_from_db()
    assert order.auto_push_waiting_since is None
    # and pressing it again on a page left open changes nothing
    again = world.client.post(f"/orders/{order.pk}/push-waiting", headers=world.headers())
    assert said(again)["message"] == "Nothing on this order waits for automatic push."
    assert (len(world.orders_of(SOURCE)), len(world.orders_of(SOURCE_2))) == (1, 1)


def test_an_order_that_never_qualifies_is_never_pushed_and_says_why(world):
    settings_for(world, auto_push=True, partial_push="all")
    sold = world.sell({"SHIRT-S": 1, "MUG-1": 1}, shipping_address=NO_ADDRESS)
    order = world.mirrored(sold)
    connection_block(connection=world.connection_2, actor=world.source_2)
    address_fixed_in_shopify(world, sold)
    response = world.client.post(f"/orders/{order.pk}/push-waiting", headers=world.headers())
    assert said(response)["message"] == (
        "Nothing could be pushed yet. Demo Source: Waiting to be pushed together with the part "
        f"from Second Source, which cannot be pushed yet: {BLOCKED} Second Source: Waiting to "
        f"be pushed automatically: {BLOCKED}")
    assert pushed_to(order) == {}
    assert world.orders_of(SOURCE) == world.orders_of(SOURCE_2) == []


def test_an_order_paid_while_automatic_push_was_off_is_left_alone_later(world):
    # given an order that arrived with automatic push off
    settings_for(world, auto_push=False)
    sold = world.sell({"SHIRT-S": 1}, shipping_address=NO_ADDRESS)
    # when automatic push is turned on and the order is updated
    settings_for(world, auto_push=True)
    address_fixed_in_shopify(world, sold)
    # then it stays the merchant's to push
    order = world.mirrored(sold)
    assert (pushed_to(order), order.auto_push_waiting_since) == ({}, None)
    assert world.orders_of(SOURCE) == []


def test_a_cancelled_waiting_order_waits_no_more(world):
    settings_for(world, auto_push=True)
    sold = world.sell({"SHIRT-S": 1}, shipping_address=NO_ADDRESS)
    world.emulator._json("POST", f"/_emulator/shops/{DEST}/orders/{sold['id']}/cancel",
                         json={"restock": True})
    world.emulator.flush_webhooks()
    order = world.mirrored(sold)
    assert (order.push_state, order.auto_push_waiting_since) == (
        DestinationOrder.PushState.CANCELLED, None)


# --- never twice -------------------------------------------------------------------------------


def test_duplicate_webhooks_and_looks_again_never_push_a_part_twice(world):
    settings_for(world, auto_push=True, partial_push="each")
    world.emulator.faults(webhook_duplicate_rate=1.0)
    # given every webhook delivered twice: the sale, then the address fix
    sold = world.sell({"SHIRT-S": 1, "MUG-1": 1}, shipping_address=NO_ADDRESS)
    order = world.mirrored(sold)
    address_fixed_in_shopify(world, sold)
    # and every other way of looking again, twice
    for _ in range(2):
        order_push_automatic(order=order)
        order_push_automatic(order=order, waiting_only=True)
        world.client.post(f"/orders/{order.pk}/push-waiting", headers=world.headers())
    world.emulator.flush_webhooks()
    # then each source got its part exactly once
    assert pushed_to(order) == {SOURCE: ("pushed", "automatic"),
                                SOURCE_2: ("pushed", "automatic")}
    assert (len(world.orders_of(SOURCE)), len(world.orders_of(SOURCE_2))) == (1, 1)


# --- the settings page ------------------------------------------------------------------------


def test_settings_page_lists_each_connected_source_with_its_choice(world):
    settings_for(world, auto_push=False)
    connection_auto_push_set(shop=world.destination,
                             choices={world.connection_2.pk: Connection.AutoPush.ON})
    page = world.client.get("/orders/settings", headers=world.headers()).content.decode()
    assert "Automatic push per source" in page
    assert page.count("As store-wide (currently Off)") == 2
    assert (f'<select id="id_source_auto_push_{world.connection_2.pk}" '
            f'name="source_auto_push_{world.connection_2.pk}">') in page
    assert '<option value="on" selected>Always</option>' in page
    assert "Wait until every source&#x27;s part can be pushed, then push them together" in page


def test_settings_save_each_sources_choice_and_the_partial_push_rule(world):
    response = world.client.post("/orders/settings", {
        "auto_push": "on", "contact_email_method": "store", "partial_push": "all",
        f"source_auto_push_{world.connection.pk}": "off",
        f"source_auto_push_{world.connection_2.pk}": ""}, headers=world.headers())
    assert said(response)["message"] == "Order settings saved."
    settings = OrderSettings.objects.get(shop=world.destination)
    assert (settings.auto_push, settings.partial_push) == (True, "all")
    assert {c.source.domain: c.auto_push for c in Connection.objects.filter(
        destination=world.destination)} == {SOURCE: "off", SOURCE_2: ""}
    # a form without the new fields keeps them
    world.client.post("/orders/settings", {"contact_email_method": "store"},
                      headers=world.headers())
    settings.refresh_from_db()
    assert (settings.auto_push, settings.partial_push) == (False, "all")
    assert Connection.objects.get(pk=world.connection.pk).auto_push == "off"


def _nothing_changed(world, other: Connection) -> None:
    assert not OrderSettings.objects.filter(shop=world.destination).exists()
    assert set(Connection.objects.values_list("auto_push", flat=True)) == {""}
    other.refresh_from_db()
    assert other.auto_push == ""


@pytest.mark.parametrize("whose", ["another store's", "blocked", "made up"])
def test_settings_refuse_a_source_that_is_not_this_stores_and_change_nothing(world, whose):
    other = ConnectionFactory(source=world.source, destination=DestinationFactory())
    if whose == "blocked":
        connection_block(connection=world.connection_2, actor=world.source_2)
    connection_id = {"another store's": other.pk, "blocked": world.connection_2.pk,
                     "made up": 987654321}[whose]
    response = world.client.post("/orders/settings", {
        "auto_push": "on", "contact_email_method": "store", "partial_push": "all",
        f"source_auto_push_{world.connection.pk}": "on",
        f"source_auto_push_{connection_id}": "on"}, headers=world.headers())
    assert response.status_code == 422
    assert ('<p class="field-error" role="alert">A source in this list is not connected to your '
            'store. Reload the page and try again.</p>') in response.content.decode()
    _nothing_changed(world, other)


@pytest.mark.parametrize(("field", "value", "error"), [
    ("source_auto_push", "sometimes", "Choose As store-wide, Always or Never."),
    ("partial_push", "some", "Choose whether to push each part as soon as it can be pushed, "
                             "or all parts together."),
])
def test_settings_refuse_an_unknown_choice_under_its_field(world, field, value, error):
    other = ConnectionFactory(source=world.source, destination=DestinationFactory())
    name = f"source_auto_push_{world.connection.pk}" if field == "source_auto_push" else field
    response = world.client.post("/orders/settings", {
        "auto_push": "on", "contact_email_method": "store", name: value},
        headers=world.headers())
    assert response.status_code == 422
    assert escape(error) in response.content.decode()
    _nothing_changed(world, other)


def test_the_service_refuses_another_stores_connection_and_changes_nothing(world):
    other = ConnectionFactory(source=world.source, destination=DestinationFactory())
    with pytest.raises(ValidationError):
        connection_auto_push_set(shop=world.destination, choices={
            world.connection.pk: "on", other.pk: "on"})
    _nothing_changed(world, other)


# --- scoping ----------------------------------------------------------------------------------


def test_push_waiting_parts_is_the_destinations_own(world):
    other = DestinationOrderFactory()
    assert world.client.post(f"/orders/{other.pk}/push-waiting",
                             headers=world.headers()).status_code == 404
    assert world.client.post(f"/orders/{other.pk}/push-waiting",
                             headers=world.headers(SOURCE)).status_code == 403
    assert not OrderPush.objects.exists()


def test_an_unblock_looks_only_at_that_destinations_orders(world):
    # given a second destination whose waiting order has an item of the second source
    settings_for(world, auto_push=True)
    elsewhere = DestinationOrderFactory(auto_push_waiting_since=timezone.now())
    ConnectionFactory(source=world.source_2, destination=elsewhere.shop,
                      auto_push=Connection.AutoPush.ON)
    OrderLineFactory(order=elsewhere, source=world.source_2)
    # when the second source blocks and unblocks this destination
    connection_block(connection=world.connection_2, actor=world.source_2)
    world.client.post(f"/stores/{world.connection_2.pk}/unblock",
                      headers=world.headers(SOURCE_2))
    # then the other destination's order was not looked at
    elsewhere.refresh_from_db()
    assert elsewhere.auto_push_waiting_since is not None
    assert not OrderPush.objects.filter(order=elsewhere).exists()

