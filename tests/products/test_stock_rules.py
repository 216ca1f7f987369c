"""The stock rules a destination sets per source (Inventory settings): safety stock, a share of
the source's stock, a maximum, in that order, never below zero, then the zero-stock breaker; and
"below N: set the product to draft", end to end through the emulator."""

import re

import pytest

from products.inventory.settings import connection_inventory_save
from products.inventory.stock_rules import stock_rule_apply, stock_rule_due_after_write
from products.inventory.targets import destination_targets
from products.inventory.tasks import inventory_flush_destination_task
from products.models import DestinationStock, ProductLink, SourceProduct, SyncEvent
from stores.models import Connection
from stores.services import shop_admin_session
from syncer.shopify.operations.products import product_status_set
from tests.products.catalogue_world import headers
from tests.products.inventory_world import build, source_adjust
from tests.products.test_inventory_engine import reconcile_all, settle

pytestmark = pytest.mark.django_db(transaction=True)

WRITTEN = {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}


def _following(emulator):
    """One destination showing the source's stock; returns (world, destination, connection)."""
    world = build(emulator, destinations=1)
    reconcile_all(world)
    destination = world.destinations[0]
    assert world.levels(destination) == WRITTEN
    return world, destination, Connection.objects.get()


def _save(client, emulator, destination, connection, **rules):
    """The merchant saves the source's inventory settings form."""
    location = emulator.shop(destination)["primary_location_id"]
    data = {"destination_location_id": location, "safety_stock": 0, "stock_percent": 100,
            "stock_max": "", "draft_below": ""} | rules
    return client.post(f"/inventory/sources/{connection.pk}",
                       {f"c{connection.pk}-{name}": value for name, value in data.items()},
                       headers=headers(emulator, destination))


def _statuses(emulator, domain):
    return {p["title"]: p["status"] for p in emulator.shop(domain, orders=False)["products"]}


def _status_history(connection):
    return list(SyncEvent.objects.filter(connection=connection, kind=SyncEvent.Kind.STATUS)
                .order_by("pk").values_list("product_link__source_product__title",
                                            "from_value", "to_value", "cause", "result"))


def _drafted_by_rule(connection):
    return set(ProductLink.objects.filter(connection=connection, drafted_by_rule=True)
               .values_list("source_product__title", flat=True))


# --- the target rule, stated once in SQL ---------------------------------------------------------

@pytest.mark.parametrize(("available", "safety", "percent", "maximum", "target"), [
    (37, 0, 100, None, 37),  # the defaults: all of it
    (9, 0, 50, None, 4),  # 4.5 rounded down
    (1, 0, 50, None, 0),  # 0.5 rounded down
    (199, 0, 99, None, 197),  # 197.01 rounded down
    (30, 0, 100, 10, 10),  # capped
    (5, 0, 100, 10, 5),  # below the cap: unchanged
    (5, 0, 100, 0, 0),  # a maximum of 0 shows nothing
    (37, 2, 50, None, 17),  # safety stock first: (37 - 2) × 50 %, not 37 × 50 % - 2 = 16
    (40, 0, 50, 15, 15),  # the cap after the share: 20 capped, not 15 × 50 % = 7
    (37, 2, 50, 10, 10),  # all of them: 35, 17, 10
    (1, 5, 100, None, 0),  # more safety stock than stock: zero
    (-3, 0, 100, None, 0),  # the source oversold: zero
    (30_000_000, 0, 100, None, 30_000_000),  # × 100 would overflow an integer
])
def test_each_rule_in_order(emulator, available, safety, percent, maximum, target):
    # given a connection with these rules
    build(emulator, destinations=1)
    Connection.objects.update(safety_stock=safety, stock_percent=percent, stock_max=maximum)
    connection = Connection.objects.get()
    # then the target of a source item with this much shared stock is exactly
    assert destination_targets(connection=connection, source_available={1: available}) == {
        1: target}


def test_saved_rules_bring_every_variant_in_line_and_source_changes_follow_them(
        client, emulator):
    world, destination, connection = _following(emulator)
    history = list(SyncEvent.objects.order_by("pk").values())
    # when the merchant keeps 2 back, shows half of the rest and at most 3
    response = _save(client, emulator, destination, connection, safety_stock=2,
                     stock_percent=50, stock_max=3)
    assert response.status_code == 200
    settle(world)
    # then each variant shows (stock - 2) × 50 % rounded down, at most 3
    assert world.levels(destination) == {"SHIRT-S": 3, "SHIRT-M": 3, "TOTE-1": 3}
    written = SyncEvent.objects.filter(kind=SyncEvent.Kind.INVENTORY).exclude(
        pk__in=[event["id"] for event in history])
    assert sorted(written.values_list("from_value", "to_value", "reason")) == [
        ("10", "3", "settings"), ("25", "3", "settings"), ("8", "3", "settings")]
    # and the history written before is untouched
    assert list(SyncEvent.objects.filter(pk__in=[event["id"] for event in history])
                .order_by("pk").values()) == history
    # when the source's stock changes, the same rules apply (the recompute in SQL)
    source_adjust(world, "SHIRT-M", available=7)
    source_adjust(world, "TOTE-1", available=37)
    settle(world)
    assert world.levels(destination) == {"SHIRT-S": 3, "SHIRT-M": 2, "TOTE-1": 3}
    # and the page shows what was saved, and the rules in the order they apply
    page = client.get("/inventory/", headers=headers(emulator, destination)).content.decode()
    steps = page[page.index('<ol class="stock-rules">'):page.index("</ol>")]
    assert re.findall(r"<li>(.*?)</li>", steps) == [
        "the source's available stock at the locations it shares,",
        "less the safety stock,", "times the share of the source's stock, rounded down,",
        "at most the most to show per variant,", "never below zero."]
    assert f'name="c{connection.pk}-stock_percent" value="50"' in page
    assert f'name="c{connection.pk}-stock_max" value="3"' in page


def test_the_zero_stock_breaker_applies_to_what_the_rules_give(client, emulator, settings):
    # given a breaker at two zeros and half the variants
    settings.INVENTORY_ZERO_BREAKER_MIN = 2
    settings.INVENTORY_ZERO_BREAKER_SHARE = 0.5
    world, destination, connection = _following(emulator)
    # when the merchant sets a maximum of 0, which takes every variant to zero at once, with
    # "below 1: draft"
    assert _save(client, emulator, destination, connection, stock_max=0,
                 draft_below=1).status_code == 200
    settle(world)
    # then the zeros are held back for the merchant, the destination's stock unchanged, and no
    # product is drafted for zeros it does not show
    assert world.levels(destination) == WRITTEN
    assert sorted(DestinationStock.objects.values_list("target", "hold")) == [
        (0, "held"), (0, "held"), (0, "held")]
    assert _statuses(emulator, destination) == {"Linen shirt": "active", "Canvas tote": "active"}
    assert _status_history(connection) == []
    # when the merchant lets the zeros through
    response = client.post(f"/inventory/sources/{connection.pk}/zeros",
                           headers=headers(emulator, destination))
    assert response.status_code == 200
    settle(world)
    # then they are written, and the rule drafts both products
    assert world.levels(destination) == {"SHIRT-S": 0, "SHIRT-M": 0, "TOTE-1": 0}
    assert _statuses(emulator, destination) == {"Linen shirt": "draft", "Canvas tote": "draft"}
    assert _drafted_by_rule(connection) == {"Linen shirt", "Canvas tote"}


def test_a_share_of_the_stock_too_small_to_show_one_unit_goes_through_one_zero_at_a_time(
        client, emulator, settings):
    # given the same breaker
    settings.INVENTORY_ZERO_BREAKER_MIN = 2
    settings.INVENTORY_ZERO_BREAKER_SHARE = 0.5
    world, destination, connection = _following(emulator)
    # when the merchant shows 10 %: 1, 0 (0.8 rounded down) and 2
    assert _save(client, emulator, destination, connection,
                 stock_percent=10).status_code == 200
    settle(world)
    # then one zero of three is written, as any sell-out
    assert world.levels(destination) == {"SHIRT-S": 1, "SHIRT-M": 0, "TOTE-1": 2}
    assert DestinationStock.objects.exclude(hold="").count() == 0


# --- the form -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("rules", "errors"), [
    ({"stock_percent": 0}, ["Enter a whole number from 1 to 100."]),
    ({"stock_percent": 101}, ["Enter a whole number from 1 to 100."]),
    ({"stock_percent": "half"}, ["Enter a whole number."]),
    ({"stock_max": -1}, ["Enter a whole number from 0 to 100,000."]),
    ({"draft_below": 0}, ["Enter a whole number from 1 to 100,000."]),
    ({"draft_below": "2.5"}, ["Enter a whole number."]),
])
def test_rules_out_of_range_are_field_errors_and_change_nothing(client, emulator, rules,
                                                                errors):
    world, destination, connection = _following(emulator)
    events = SyncEvent.objects.count()
    # when the merchant saves a rule out of its range
    response = _save(client, emulator, destination, connection, safety_stock=5, **rules)
    # then the field says what it takes, and nothing is saved or written
    assert response.status_code == 422
    (name,) = rules
    html = response.content.decode()
    field_id = f"id_c{connection.pk}-{name}"
    assert (f'<p class="field-error" id="{field_id}_error" role="alert">{errors[0]}</p>'
            in html)
    fresh = Connection.objects.get()
    assert (fresh.safety_stock, fresh.stock_percent, fresh.stock_max, fresh.draft_below) == (
        0, 100, None, None)
    settle(world)
    assert world.levels(destination) == WRITTEN
    assert SyncEvent.objects.count() == events


def test_empty_rules_take_their_defaults(client, emulator):
    world, destination, connection = _following(emulator)
    Connection.objects.update(stock_percent=50, stock_max=4, draft_below=2)
    # when the merchant empties the three rules
    response = _save(client, emulator, destination, connection, stock_percent="",
                     stock_max="", draft_below="")
    # then all of the stock shows, with no maximum, and no product is drafted
    assert response.status_code == 200
    fresh = Connection.objects.get()
    assert (fresh.stock_percent, fresh.stock_max, fresh.draft_below) == (100, None, None)
    settle(world)
    assert world.levels(destination) == WRITTEN


# --- below N: set the product to draft ------------------------------------------------------------

def test_a_product_below_n_is_drafted_and_set_active_again_once_back(client, emulator):
    world, destination, connection = _following(emulator)
    # given the rule "below 5: draft" (the shirt has 18, the tote 25)
    assert _save(client, emulator, destination, connection, draft_below=5).status_code == 200
    settle(world)
    assert _statuses(emulator, destination) == {"Linen shirt": "active", "Canvas tote": "active"}
    assert _status_history(connection) == []
    # when the shirt's sizes have 3 and 3 (6 together: not below 5) and the tote 4
    source_adjust(world, "SHIRT-S", available=3)
    source_adjust(world, "SHIRT-M", available=3)
    source_adjust(world, "TOTE-1", available=4)
    settle(world)
    # then only the tote is drafted, by the rule, and its history says why
    assert _statuses(emulator, destination) == {"Linen shirt": "active", "Canvas tote": "draft"}
    assert _drafted_by_rule(connection) == {"Canvas tote"}
    assert _status_history(connection) == [
        ("Canvas tote", "active", "draft", "stock below 5 (stock rule)", "ok")]
    # when the shirt's sizes fall to 2 and 2
    source_adjust(world, "SHIRT-S", available=2)
    source_adjust(world, "SHIRT-M", available=2)
    settle(world)
    assert _statuses(emulator, destination) == {"Linen shirt": "draft", "Canvas tote": "draft"}
    # when the tote is back at exactly 5
    source_adjust(world, "TOTE-1", available=5)
    settle(world)
    # then it is active again and no longer the rule's
    assert _statuses(emulator, destination) == {"Linen shirt": "draft", "Canvas tote": "active"}
    assert _drafted_by_rule(connection) == {"Linen shirt"}
    assert _status_history(connection) == [
        ("Canvas tote", "active", "draft", "stock below 5 (stock rule)", "ok"),
        ("Linen shirt", "active", "draft", "stock below 5 (stock rule)", "ok"),
        ("Canvas tote", "draft", "active", "stock back at 5 or above (stock rule)", "ok")]
    # and its stock followed the source all along
    assert world.levels(destination) == {"SHIRT-S": 2, "SHIRT-M": 2, "TOTE-1": 5}


def test_a_product_the_merchant_drafted_is_never_set_active_by_the_rule(client, emulator):
    world, destination, connection = _following(emulator)
    assert _save(client, emulator, destination, connection, draft_below=5).status_code == 200
    # given the merchant drafted the tote themselves (in their admin: the same productUpdate)
    tote = ProductLink.objects.get(source_product__title="Canvas tote")
    product_status_set(session=shop_admin_session(shop_domain=destination),
                       product_id=tote.destination_product_id, status="DRAFT")
    # when its stock falls below 5 and comes back
    source_adjust(world, "TOTE-1", available=1)
    settle(world)
    source_adjust(world, "TOTE-1", available=30)
    settle(world)
    # then the rule left it as the merchant set it, and says nothing
    assert _statuses(emulator, destination) == {"Linen shirt": "active", "Canvas tote": "draft"}
    assert _drafted_by_rule(connection) == set()
    assert _status_history(connection) == []
    assert world.level(destination, "TOTE-1") == 30


def test_turning_the_rule_off_sets_active_what_it_drafted(client, emulator):
    world, destination, connection = _following(emulator)
    # given the rule drafted the tote (the shirt stays drafted by the merchant)
    assert _save(client, emulator, destination, connection, draft_below=5).status_code == 200
    source_adjust(world, "TOTE-1", available=2)
    shirt = ProductLink.objects.get(source_product__title="Linen shirt")
    product_status_set(session=shop_admin_session(shop_domain=destination),
                       product_id=shirt.destination_product_id, status="DRAFT")
    settle(world)
    assert _statuses(emulator, destination) == {"Linen shirt": "draft", "Canvas tote": "draft"}
    history = list(SyncEvent.objects.order_by("pk").values())
    # when the merchant turns the rule off
    assert _save(client, emulator, destination, connection, draft_below="").status_code == 200
    settle(world)
    # then the tote is active again, the merchant's shirt still draft
    assert _statuses(emulator, destination) == {"Linen shirt": "draft", "Canvas tote": "active"}
    assert _drafted_by_rule(connection) == set()
    assert _status_history(connection) == [
        ("Canvas tote", "active", "draft", "stock below 5 (stock rule)", "ok"),
        ("Canvas tote", "draft", "active", "stock rule turned off", "ok")]
    # and the history written before is untouched
    assert list(SyncEvent.objects.filter(pk__in=[event["id"] for event in history])
                .order_by("pk").values()) == history


def test_raising_n_drafts_the_products_now_below_it(client, emulator):
    world, destination, connection = _following(emulator)
    # when the merchant turns the rule on at 20 (the shirt has 18, the tote 25)
    assert _save(client, emulator, destination, connection, draft_below=20).status_code == 200
    # then the shirt is drafted at once, no stock change needed
    assert _statuses(emulator, destination) == {"Linen shirt": "draft", "Canvas tote": "active"}
    assert _status_history(connection) == [
        ("Linen shirt", "active", "draft", "stock below 20 (stock rule)", "ok")]
    settle(world)
    assert world.levels(destination) == WRITTEN


def test_a_zero_counts_once_written_so_the_breaker_decides_first(emulator):
    world, destination, connection = _following(emulator)
    # given rules saved that take every variant to zero, "below 1: draft", not flushed yet
    location = emulator.shop(destination)["primary_location_id"]
    to_flush = connection_inventory_save(
        connection=connection, destination_location_id=location, safety_stock=25,
        count_pending_orders=False, stock_percent=100, stock_max=None, draft_below=1)
    assert to_flush == {connection.destination_id}
    # when the rule runs before the flush
    result = stock_rule_apply(connection_id=connection.pk)
    # then zeros the breaker has not seen yet draft nothing
    assert (result.drafted, result.activated) == (0, 0)
    assert _statuses(emulator, destination) == {"Linen shirt": "active", "Canvas tote": "active"}
    # and once the flush wrote them (three zeros: below the breaker's 20), both are drafted
    inventory_flush_destination_task(connection.destination_id)
    assert world.levels(destination) == {"SHIRT-S": 0, "SHIRT-M": 0, "TOTE-1": 0}
    assert _statuses(emulator, destination) == {"Linen shirt": "draft", "Canvas tote": "draft"}


def test_a_resync_brings_product_statuses_in_line_with_the_rule(emulator):
    world, destination, connection = _following(emulator)
    # given the rule at 20 set while nothing ran it (the shirt has 18)
    Connection.objects.update(draft_below=20)
    assert _statuses(emulator, destination) == {"Linen shirt": "active", "Canvas tote": "active"}
    # when the destination is resynced
    reconcile_all(world)
    # then the shirt is drafted
    assert _statuses(emulator, destination) == {"Linen shirt": "draft", "Canvas tote": "active"}
    assert _status_history(connection) == [
        ("Linen shirt", "active", "draft", "stock below 20 (stock rule)", "ok")]


@pytest.mark.parametrize(("source_status", "released"), [("ACTIVE", "active"),
                                                          ("DRAFT", "draft")])
def test_with_a_syncing_status_the_rule_lets_a_product_go_to_the_sources_status(
        client, emulator, source_status, released):
    world, destination, connection = _following(emulator)
    # given the status follows the source and the rule drafted the tote
    Connection.objects.update(field_sync={"status": "sync"})
    assert _save(client, emulator, destination, connection, draft_below=5).status_code == 200
    source_adjust(world, "TOTE-1", available=2)
    settle(world)
    assert _statuses(emulator, destination)["Canvas tote"] == "draft"
    # and the source's tote is (still) active, or was set to draft meanwhile (as the catalogue
    # mirror holds it)
    SourceProduct.objects.filter(title="Canvas tote").update(status=source_status)
    # when its stock is back
    source_adjust(world, "TOTE-1", available=9)
    settle(world)
    # then the rule lets it go, to the source's status
    assert _statuses(emulator, destination)["Canvas tote"] == released
    assert _drafted_by_rule(connection) == set()
    expected = [("Canvas tote", "active", "draft", "stock below 5 (stock rule)", "ok")]
    if released == "active":
        expected.append(("Canvas tote", "draft", "active",
                         "stock back at 5 or above (stock rule)", "ok"))
    assert _status_history(connection) == expected


def test_with_the_rule_off_everywhere_a_write_costs_one_query(emulator,
                                                             django_assert_num_queries):
    _following(emulator)
    stock_ids = list(DestinationStock.objects.values_list("pk", flat=True))
    destination_id = DestinationStock.objects.values_list("destination_id", flat=True)[0]
    # when a flush wrote every row of a destination none of whose sources has the rule on
    with django_assert_num_queries(1):
        due = stock_rule_due_after_write(destination_id=destination_id, stock_ids=stock_ids)
    # then there is nothing to look at
    assert due == {}
