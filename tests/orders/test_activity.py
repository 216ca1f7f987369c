"""The Activity page and its CSV: a store-wide log of sync events, order pushes, fulfilments and
connection changes, scoped to the shop asking, filtered, paged by keyset, in the shop's time
zone.

The world (straight in the database, every moment set by hand): one source in Asia/Kolkata
(UTC+05:30, so its days do not start at UTC midnight) with two stores, and, beside it, another
source and store whose activity neither may see."""

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import unescape

import pytest
from django.utils import timezone

from orders.models import DestinationOrder, OrderFulfillment, OrderLine, OrderPush, OrderPushLine
from products.models import InventoryEffect, SourceProduct, SourceVariant, SyncEvent
from stores.models import Connection, ConnectionEvent, Shop
from tests.orders.dashboard_world import ZONE, session_headers
from tests.stores.factories import ConnectionFactory, DestinationFactory, SourceFactory

pytestmark = pytest.mark.django_db

HEADER = ["When (Asia/Kolkata)", "Kind", "Store", "Product", "Variant", "SKU", "Order",
          "From → to", "Result", "Error", "Details", "Latency (ms)"]
REFUSED = "Shopify refused the stock change: the location does not stock this item."
PUSH_REFUSED = "The source store no longer sells Stoneware mug."


@dataclass
class World:
    source: Shop
    dest_1: Shop
    dest_2: Shop
    other_source: Shop
    other_dest: Shop
    a: Connection  # source ↔ dest 1
    b: Connection  # source ↔ dest 2
    elsewhere: Connection  # other source ↔ other dest
    day: datetime  # 00:00 of a day, in ZONE, ten days ago


def sync_event(connection: Connection, moment: datetime, **fields) -> SyncEvent:
    event = SyncEvent.objects.create(connection=connection, **fields)
    SyncEvent.objects.filter(pk=event.pk).update(created_at=moment)
    return event


def push_of(*, destination: Shop, source: Shop, name: str, moment: datetime, status: str,
            trigger: str = OrderPush.Trigger.AUTOMATIC, error: str = "",
            sku: str = "SHIRT-S", title: str = "Linen shirt") -> OrderPush:
    order = DestinationOrder.objects.create(shop=destination, shopify_id=abs(hash(name)) % 10**9,
                                            name=name, processed_at=moment, currency="USD")
    line = OrderLine.objects.create(order=order, shopify_id=abs(hash(name + "l")) % 10**9,
                                    source=source, sku=sku, title=title, quantity=1,
                                    current_quantity=1)
    pushed = status == OrderPush.Status.PUSHED
    push = OrderPush.objects.create(order=order, source=source, status=status, trigger=trigger,
                                    error=error, pushed_at=moment if pushed else None,
                                    source_order_name=f"#S{name[1:]}" if pushed else "")
    OrderPushLine.objects.create(push=push, line=line, quantity=1)
    OrderPush.objects.filter(pk=push.pk).update(updated_at=moment)
    return push


@pytest.fixture
def world(db):
    source = SourceFactory(name="Main Source", iana_timezone=ZONE.key)
    dest_1 = DestinationFactory(name="Dest One", iana_timezone=ZONE.key)
    dest_2 = DestinationFactory(name="Dest Two")
    other_source = SourceFactory(name="Other Source")
    other_dest = DestinationFactory(name="Other Dest")
    a = ConnectionFactory(source=source, destination=dest_1)
    b = ConnectionFactory(source=source, destination=dest_2)
    elsewhere = ConnectionFactory(source=other_source, destination=other_dest)
    day = datetime.combine(timezone.now().astimezone(ZONE).date() - timedelta(days=10),
                           datetime.min.time(), tzinfo=ZONE)
    shirt = SourceProduct.objects.create(shop=source, shopify_id=1, title="Linen shirt")
    small = SourceVariant.objects.create(product=shirt, shop=source, shopify_id=11,
                                         inventory_item_id=111, title="S", sku="SHIRT-S")
    mug = SourceProduct.objects.create(shop=source, shopify_id=2, title="Stoneware mug")
    secret = SourceProduct.objects.create(shop=other_source, shopify_id=3, title="Secret tee")
    hour = timedelta(hours=1)
    # dest 1: a stock write that took 0.8 s, a failed one, a price change; dest 2: a stock
    # write; elsewhere: a stock write no one here may see
    sync_event(a, day + 1 * hour, kind="inventory", source_product=shirt, source_variant=small,
               from_value="10", to_value="7", reason="source_change", latency_ms=800)
    sync_event(a, day + 2 * hour, kind="inventory", source_product=shirt, source_variant=small,
               from_value="7", to_value="5", result="failed", error=REFUSED)
    sync_event(a, day + 3 * hour, kind="price", source_product=mug, field="Price",
               from_value="12.00", to_value="14.00")
    sync_event(b, day + 4 * hour, kind="inventory", source_product=shirt, source_variant=small,
               from_value="3", to_value="4", latency_ms=1500)
    sync_event(elsewhere, day + 4 * hour, kind="inventory", source_product=secret,
               from_value="1", to_value="2")
    # orders: dest 1 pushed #1001 (and its fulfilment came back), #1002 failed
    pushed = push_of(destination=dest_1, source=source, name="#1001", moment=day + 5 * hour,
                     status=OrderPush.Status.PUSHED)
    push_of(destination=dest_1, source=source, name="#1002", moment=day + 6 * hour,
            status=OrderPush.Status.FAILED, trigger=OrderPush.Trigger.MANUAL,
            error=PUSH_REFUSED, sku="MUG-1", title="Stoneware mug")
    push_of(destination=other_dest, source=other_source, name="#9001",
            moment=day + 6 * hour, status=OrderPush.Status.PUSHED)
    fulfilment = OrderFulfillment.objects.create(
        push=pushed, source_fulfillment_id=77, status=OrderFulfillment.Status.SYNCED,
        tracking_company="UPS", tracking_number="1Z999", synced_at=day + 7 * hour)
    assert fulfilment.pk
    # the source blocked dest 2
    ConnectionEvent.objects.create(connection=b, action="blocked", actor_shop=source,
                                   at=day + 8 * hour, links_removed=2)
    ConnectionEvent.objects.create(connection=elsewhere, action="disconnected",
                                   actor_shop=other_dest, at=day + 8 * hour)
    return World(source=source, dest_1=dest_1, dest_2=dest_2, other_source=other_source,
                 other_dest=other_dest, a=a, b=b, elsewhere=elsewhere, day=day)


def page(client, shop: Shop, *, htmx: bool = False, **params):
    return client.get("/activity/", params, headers=session_headers(shop, htmx=htmx))


def rows_of(html: str) -> list[list[str]]:
    """The table's rows, each cell's text."""
    rows = re.findall(r'<tr class="activity-row"[^>]*>(.*?)</tr>', html, re.S)
    return [[" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split())
             for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]


def table(client, shop: Shop, **params) -> list[list[str]]:
    response = page(client, shop, **params)
    assert response.status_code == 200, response.content.decode()[:500]
    return rows_of(response.content.decode())


def kinds(rows: list[list[str]]) -> list[tuple[str, str]]:
    """(kind, what) of each row."""
    return [(row[1], row[3]) for row in rows]


def csv_of(client, shop: Shop, **params) -> list[list[str]]:
    response = client.get("/activity.csv", params, headers=session_headers(shop))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="syncer-activity-')
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def local(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")


# --- scope ---------------------------------------------------------------------------------------


def test_a_destination_sees_its_own_activity_newest_first_and_nothing_of_other_stores(
        client, world):
    rows = table(client, world.dest_1)
    day = world.day
    hours = [local(day + timedelta(hours=n)) for n in range(9)]
    assert rows == [
        [hours[7], "Fulfilment", "Main Source", "Order #1001 Tracking UPS 1Z999",
         "#S1001 → #1001", "Synced", "—"],
        [hours[6], "Order push (by hand)", "Main Source", "Order #1002", "#1002 → —",
         f"Failed {PUSH_REFUSED}", "—"],
        [hours[5], "Order push (automatic)", "Main Source", "Order #1001", "#1001 → #S1001",
         "Pushed", "—"],
        [hours[3], "Price", "Main Source", "Stoneware mug / Price", "12.00 → 14.00",
         "Applied", "—"],
        [hours[2], "Inventory", "Main Source", "Linen shirt / S · SKU SHIRT-S", "7 → 5",
         f"Failed {REFUSED}", "—"],
        [hours[1], "Inventory", "Main Source",
         "Linen shirt / S · SKU SHIRT-S A stock change at the source", "10 → 7", "Applied",
         "800 ms"],
    ]


def test_a_source_sees_every_stores_activity_and_not_another_sources(client, world):
    rows = table(client, world.source)
    assert [(row[1], row[2]) for row in rows] == [
        ("Connection", "Dest Two"), ("Fulfilment", "Dest One"),
        ("Order push (by hand)", "Dest One"), ("Order push (automatic)", "Dest One"),
        ("Inventory", "Dest Two"), ("Price", "Dest One"), ("Inventory", "Dest One"),
        ("Inventory", "Dest One")]
    assert rows[0][3] == "Blocked by you 2 product links removed"
    html = page(client, world.source).content.decode()
    for other in ("Secret tee", "#9001", "Other Dest"):
        assert other not in html
    # the other source sees its own, and none of these
    assert [(row[1], row[2]) for row in table(client, world.other_source)] == [
        ("Connection", "Other Dest"), ("Order push (automatic)", "Other Dest"),
        ("Inventory", "Other Dest")]


def test_a_store_filter_of_another_shop_is_refused_not_shown(client, world):
    # the other source's connection id, typed into the address
    response = page(client, world.source, store=world.elsewhere.pk)
    html = response.content.decode()
    assert response.status_code == 422
    assert "Store: Choose one of the stores in the list." in unescape(html)
    for other in ("Other Dest", "Secret tee"):
        assert other not in html
    response = client.get("/activity.csv", {"store": world.elsewhere.pk},
                          headers=session_headers(world.source))
    assert response.status_code == 422


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "expected"), [
    ("stock", [("Inventory", "Dest Two"), ("Inventory", "Dest One"), ("Inventory", "Dest One")]),
    ("details", [("Price", "Dest One")]),
    ("orders", [("Order push (by hand)", "Dest One"), ("Order push (automatic)", "Dest One")]),
    ("fulfilment", [("Fulfilment", "Dest One")]),
    ("connections", [("Connection", "Dest Two")]),
    ("failures", [("Order push (by hand)", "Dest One"), ("Inventory", "Dest One")]),
])
def test_each_kind_narrows_the_log_exactly(client, world, kind, expected):
    rows = table(client, world.source, kind=kind)
    assert [(row[1], row[2]) for row in rows] == expected


def test_the_store_filter_keeps_that_store_only(client, world):
    assert [(row[1], row[2]) for row in table(client, world.source, store=world.b.pk)] == [
        ("Connection", "Dest Two"), ("Inventory", "Dest Two")]
    # a destination filters by source
    assert len(table(client, world.dest_1, store=world.a.pk)) == 6


def test_the_text_filter_finds_products_skus_and_orders(client, world):
    # a SKU: the stock events of that variant, and the orders with a line of it (why a stock
    # event happened, worded for the source)
    assert kinds(table(client, world.source, q="shirt-s")) == [
        ("Fulfilment", "Order #1001 Tracking UPS 1Z999"), ("Order push (automatic)",
                                                          "Order #1001"),
        ("Inventory", "Linen shirt / S · SKU SHIRT-S"),
        ("Inventory", "Linen shirt / S · SKU SHIRT-S"),
        ("Inventory", "Linen shirt / S · SKU SHIRT-S A change of your stock")]
    # a product title: its events, and the orders with a line of it
    assert kinds(table(client, world.source, q="stoneware")) == [
        ("Order push (by hand)", "Order #1002"), ("Price", "Stoneware mug / Price")]
    # an order name
    assert kinds(table(client, world.dest_1, q="#1002")) == [
        ("Order push (by hand)", "Order #1002")]
    # and filters combine
    assert kinds(table(client, world.source, q="shirt", kind="failures")) == [
        ("Inventory", "Linen shirt / S · SKU SHIRT-S")]


def test_why_a_stock_change_happened_is_worded_for_each_side(client, world):
    # given at dest 1: a hand edit found, a sale of it counted by Shopify before its order
    # reached Syncer, and that sale taken off the source
    small = SourceVariant.objects.get(sku="SHIRT-S")
    moment = world.day + timedelta(hours=9)
    for from_value, to_value, minutes in (("7", "9", 0), ("9", "8", 1)):
        sync_event(world.a, moment + timedelta(minutes=minutes), kind="drift",
                   source_product=small.product, source_variant=small, from_value=from_value,
                   to_value=to_value, reason="hand_edit", result="skipped")
    sale = InventoryEffect.objects.create(
        destination=world.dest_1, source=world.source, kind="sale", key="line-1", order_id=1,
        order_name="#1003", line_item_id=1, inventory_item_id=111, location_id=1, delta=-1,
        idempotency_key="k-sale-1")
    InventoryEffect.objects.filter(pk=sale.pk).update(created_at=moment + timedelta(minutes=2))
    sync_event(world.a, moment + timedelta(minutes=2), kind="source_decrement",
               source_product=small.product, source_variant=small, to_value="-1",
               reason="sale", order_name="#1003")

    def why(shop: Shop) -> list[str]:
        return [row[3] for row in table(client, shop, q="shirt-s")[:3]]

    # then dest 1 reads them as its own store's changes
    assert why(world.dest_1) == [
        "Linen shirt / S · SKU SHIRT-S · #1003 A sale on Dest One, order #1003",
        "Linen shirt / S · SKU SHIRT-S A sale on Dest One, order #1003, counted by Shopify in "
        "your store",
        "Linen shirt / S · SKU SHIRT-S Changed by hand in your store (not sent to the source)"]
    # and the source by the store's name
    assert why(world.source) == [
        "Linen shirt / S · SKU SHIRT-S · #1003 A sale on Dest One, order #1003",
        "Linen shirt / S · SKU SHIRT-S A sale on Dest One, order #1003, counted by Shopify in "
        "Dest One",
        "Linen shirt / S · SKU SHIRT-S Changed by hand in Dest One (not sent to the source)"]
    # and the sale Shopify counted is named for what it was, the hand edit stays drift
    assert [(row[1], row[5]) for row in table(client, world.dest_1, q="shirt-s")[1:3]] == [
        ("Store stock (sale)", "Recorded"), ("Drift found", "Skipped")]


def test_the_date_range_is_whole_days_in_the_shops_time_zone(client, world):
    # 23:59 the day before and 00:00 the day after, in Kolkata: just outside a one-day range
    sync_event(world.a, world.day - timedelta(minutes=1), kind="price", field="Before the day")
    sync_event(world.a, world.day + timedelta(days=1), kind="price", field="The day after")
    day = f"{world.day:%Y-%m-%d}"
    rows = table(client, world.dest_1, start=day, end=day)
    assert len(rows) == 6
    assert {row[0][:10] for row in rows} == {day}
    assert not [row for row in rows if row[3] in ("Before the day", "The day after")]
    # from the day on: the one after joins; up to the day: the one before
    assert table(client, world.dest_1, start=day)[0][3] == "The day after"
    assert table(client, world.dest_1, end=day)[-1][3] == "Before the day"


# --- CSV ------------------------------------------------------------------------------------------


def test_the_csv_has_the_header_and_the_same_rows_as_the_page(client, world):
    rows = csv_of(client, world.dest_1)
    assert rows[0] == HEADER
    screen = table(client, world.dest_1)
    assert [(row[0], row[1], row[2]) for row in rows[1:]] == [
        (row[0], row[1], row[2]) for row in screen]
    by_kind = {(row[1], row[6] or row[3]): row for row in rows[1:]}
    written = next(row for row in rows[1:] if row[11] == "800")
    assert written == [local(world.day + timedelta(hours=1)), "Inventory", "Main Source",
                       "Linen shirt", "S", "SHIRT-S", "", "10 → 7", "Applied", "",
                       "A stock change at the source", "800"]
    assert by_kind[("Order push (by hand)", "#1002")][8:10] == ["Failed", PUSH_REFUSED]
    # filtered the same way as the page
    assert len(csv_of(client, world.dest_1, kind="failures")) == 1 + 2


def test_a_failure_row_shows_its_error(client, world):
    response = page(client, world.dest_1, kind="failures", htmx=True)
    html = response.content.decode()
    assert "<html" not in html  # the table alone
    assert [row[5] for row in rows_of(html)] == [f"Failed {PUSH_REFUSED}", f"Failed {REFUSED}"]
    assert html.count('data-result="failed"') == 2


# --- pages ----------------------------------------------------------------------------------------


def test_pages_follow_each_other_without_gaps_or_repeats(client, world):
    # 120 more events, many at the very same moment (the order falls back to table and id)
    moment = world.day + timedelta(days=2)
    for n in range(120):
        sync_event(world.a, moment + timedelta(seconds=n // 7), kind="price", field=f"P{n}")
    seen: list[str] = []
    params: dict[str, str] = {}
    pages = []
    while True:
        response = page(client, world.dest_1, **params)
        html = unescape(response.content.decode())
        rows = rows_of(html)
        pages.append(rows)
        seen += [row[3] for row in rows]
        older = re.search(r'rel="next" href="/activity/\?([^"]+)"', html)
        if not older:
            break
        params = dict(part.split("=", 1) for part in older.group(1).split("&"))
    assert [len(rows) for rows in pages] == [50, 50, 26]
    assert len(seen) == len(set(seen)) == 126
    assert seen[:3] == ["P119", "P118", "P117"]
    # Newer from the last page is the page before it, exactly
    newer = re.search(r'rel="prev" href="/activity/\?([^"]+)"', html)
    assert newer
    params = dict(part.split("=", 1) for part in newer.group(1).split("&"))
    html = unescape(page(client, world.dest_1, **params).content.decode())
    assert rows_of(html) == pages[1]
    # and Newer from there is the first page, which has no Newer
    newer = re.search(r'rel="prev" href="/activity/\?([^"]+)"', html)
    assert newer
    params = dict(part.split("=", 1) for part in newer.group(1).split("&"))
    html = unescape(page(client, world.dest_1, **params).content.decode())
    assert rows_of(html) == pages[0]
    assert 'rel="prev"' not in html


def test_the_first_page_is_a_bounded_number_of_queries(client, world,
                                                       django_assert_max_num_queries):
    for n in range(60):
        sync_event(world.a, world.day + timedelta(days=1, minutes=n), kind="inventory",
                   from_value=str(n), to_value=str(n + 1))
    with django_assert_max_num_queries(20):
        assert len(table(client, world.source)) == 50


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "message"), [
    ({"kind": "everything"}, "Show: Choose what to show from the list."),
    ({"start": "2026-02-31"}, "From: Enter the first day as a date, e.g. 2026-01-20."),
    ({"start": "2026-03-02", "end": "2026-03-01"}, "To: The last day is before the first day."),
    ({"end": "1999-12-31"}, "To: Choose a day between Jan 1, 2000 and Dec 31, 2099."),
    ({"store": "abc"}, "Store: Choose one of the stores in the list."),
    ({"before": "not-a-page"},
     "Before: That page link no longer works: the list starts again from the newest."),
])
def test_bad_filters_are_field_errors_never_a_server_error(client, world, params, message):
    response = page(client, world.dest_1, **params)
    html = unescape(response.content.decode())
    assert response.status_code == 422
    assert message in html
    assert "Download CSV" not in html
    csv_response = client.get("/activity.csv", params, headers=session_headers(world.dest_1))
    assert csv_response.status_code == 422
    assert message.split(": ", 1)[1] in csv_response.content.decode()


def test_a_store_without_a_role_is_told_the_page_is_not_for_it(client, world):
    shop = DestinationFactory(role="")
    response = page(client, shop)
    assert response.status_code == 403


def test_the_csv_keeps_a_stores_formulas_as_text_and_a_sales_change_as_a_number(client, world):
    trap = SourceProduct.objects.create(shop=world.source, shopify_id=9,
                                        title='=HYPERLINK("https://evil.example")')
    sync_event(world.a, world.day + timedelta(days=1), kind="source_decrement",
               source_product=trap, to_value="-2", order_name="#1003")
    row = csv_of(client, world.source)[1]
    assert (row[1], row[3], row[6], row[7]) == (
        "Source stock (destination sale)", '\'=HYPERLINK("https://evil.example")', "#1003", "-2")
    assert row[10] == "A sale on Dest One, order #1003"
