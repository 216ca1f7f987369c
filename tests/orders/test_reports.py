"""The source's report on one store: on screen (paginated) and as a streamed CSV, for
connected, blocked and disconnected stores, over the hand-counted world of
tests/orders/dashboard_world.py."""

import csv
import io
import re
from datetime import timedelta

import pytest

from orders.models import OrderPush
from tests.orders.dashboard_world import (
    V1,
    V2,
    ZONE,
    pushed_order,
    sales_world,
    session_headers,
    start_of,
    track,
)
from tests.stores.factories import ConnectionFactory

__all__ = ["sales_world"]  # the fixture, imported for pytest

pytestmark = pytest.mark.django_db

HEADER = ["Your order", "Your order ID", "Store order", "Store order date (Asia/Kolkata)",
          "Pushed at (Asia/Kolkata)", "SKU", "Product", "Variant", "Quantity", "Unit price",
          "Line total", "Fulfilled quantity", "Order shipping", "Order total", "Currency",
          "Fulfilment status", "Tracking company", "Tracking number", "Tracking URL",
          "Cancelled by the store"]


def report(client, world, connection, *, htmx=False, **params):
    return client.get(f"/stores/{connection.pk}/report", params or world.custom(),
                      headers=session_headers(world.source, htmx=htmx))


def report_csv(client, world, connection, **params) -> list[list[str]]:
    response = client.get(f"/stores/{connection.pk}/report.csv", params or world.custom(),
                          headers=session_headers(world.source))
    assert response.status_code == 200
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def screen_rows(html: str) -> list[list[str]]:
    rows = re.findall(r'<tr data-order="[^"]*">(.*?)</tr>', html, re.S)
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).split())
             for cell in re.findall(r"<td>(.*?)</td>", row, re.S)] for row in rows]


def local(moment) -> str:
    return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")


def test_the_report_lists_the_stores_orders_in_the_range_and_the_csv_matches(client,
                                                                             sales_world):
    p1 = sales_world.pushes["p1"]
    track(p1, company="UPS", number="1Z999", url="https://ups.example/1Z999")
    track(p1, company="DHL", number="JD0001", status="cancelled")  # never happened
    # when the source opens store A's report for [D0, D0 + 2]
    response = report(client, sales_world, sales_world.a)
    html = response.content.decode()
    # then only p1: p2 is the instant before D0, p6/p7 were never pushed, p8 went elsewhere
    assert response.status_code == 200
    assert screen_rows(html) == [[
        p1.source_order_name, p1.order.name, local(p1.order.processed_at)[:16],
        f"{sales_world.d0:%Y-%m-%d} 00:00", "2", "3", "28.00 USD", "Unfulfilled", "UPS 1Z999"]]
    assert re.findall(r'data-figure="(\w+)">(.*?)</dd>', html) == [
        ("orders", "1"), ("units", "3"), ("revenue", "28.00 USD")]
    query = f"range=custom&amp;start={sales_world.d0:%Y-%m-%d}&amp;end={sales_world.d2:%Y-%m-%d}"
    assert f'href="/stores/{sales_world.a.pk}/report.csv?{query}"' in html
    # and the CSV has p1's two lines, with the order's figures on each
    order = [p1.source_order_name, str(p1.source_order_id), p1.order.name,
             local(p1.order.processed_at), f"{sales_world.d0:%Y-%m-%d} 00:00:00"]
    tail = ["3.00", "28.00", "USD", "Unfulfilled", "UPS", "1Z999", "https://ups.example/1Z999",
            "no"]
    assert report_csv(client, sales_world, sales_world.a) == [
        HEADER,
        [*order, "SHIRT-S", "Linen shirt", "S", "2", "10.00", "20.00", "0", *tail],
        [*order, "MUG-1", "Stoneware mug", "", "1", "5.00", "5.00", "0", *tail],
    ]


def test_csv_rows_add_up_to_the_screen(client, sales_world):
    # given more of store B's orders in the range, one of them cancelled by the store
    for number in range(3):
        pushed_order(store=sales_world.b.destination, source=sales_world.source,
                     at=start_of(sales_world.d0) + timedelta(hours=number),
                     lines=[(V1, number + 1, "10.00"), (V2, 2, "5.00")], shipping="4.00",
                     cancelled=number == 2)
    screen = screen_rows(report(client, sales_world, sales_world.b).content.decode())
    rows = report_csv(client, sales_world, sales_world.b)[1:]
    by_order: dict[str, list[list[str]]] = {}
    for row in rows:
        by_order.setdefault(row[0], []).append(row)
    assert [row[0].split()[0] for row in screen] == list(by_order)  # same orders, same order
    for cells in screen:
        lines = by_order[cells[0].split()[0]]
        assert cells[1] == lines[0][2]  # the store's order number
        assert int(cells[4]) == len(lines)  # lines
        assert int(cells[5]) == sum(int(line[8]) for line in lines)  # items
        assert cells[6] == f"{lines[0][13]} USD"  # total
        assert ("Cancelled by the store" in cells[0]) == (lines[0][19] == "yes")
    assert len(rows) == 7  # p3's line and three orders of two lines


@pytest.mark.parametrize(("store", "pushes"), [("b", ["p3"]), ("c", ["p5"]), ("d", ["p9"])])
def test_each_stores_report_has_only_its_own_orders(client, sales_world, store, pushes):
    connection = getattr(sales_world, store)
    # given the blocked store tried to push again after it was blocked (refused: failed)
    pushed_order(store=sales_world.c.destination, source=sales_world.source, at=None,
                 status=OrderPush.Status.FAILED, lines=[(V1, 1, "10.00")])
    wide = sales_world.custom(sales_world.d0 - timedelta(days=1), sales_world.d2)
    html = report(client, sales_world, connection, **wide).content.decode()
    assert [row[0] for row in screen_rows(html)] == [
        sales_world.pushes[name].source_order_name for name in pushes]
    assert [row[0] for row in report_csv(client, sales_world, connection, **wide)[1:]] == [
        sales_world.pushes[name].source_order_name for name in pushes
        for _ in sales_world.pushes[name].lines.all()]


def test_the_range_includes_its_first_00_00_and_excludes_the_next_days_00_00(client,
                                                                            sales_world):
    d0, d2 = sales_world.d0, sales_world.d2
    names = {key: push.source_order_name for key, push in sales_world.pushes.items()}

    def orders(store, first, last):
        rows = report_csv(client, sales_world, store, **sales_world.custom(first, last))[1:]
        return list(dict.fromkeys(row[0] for row in rows))

    # p3 at the last instant of D0 + 2 is in [D0, D0 + 2]; p4 at 00:00 of D0 + 3 is not
    assert orders(sales_world.b, d0, d2) == [names["p3"]]
    assert orders(sales_world.b, d2 + timedelta(days=1), d2 + timedelta(days=1)) == [names["p4"]]
    # p1 at 00:00 of D0 is in D0; p2 an instant earlier is the day before
    assert orders(sales_world.a, d0, d0) == [names["p1"]]
    assert orders(sales_world.a, d0 - timedelta(days=1), d0 - timedelta(days=1)) == [
        names["p2"]]


def test_the_report_is_paginated_and_the_csv_has_every_order(client, sales_world):
    for number in range(30):
        pushed_order(store=sales_world.b.destination, source=sales_world.source,
                     at=start_of(sales_world.d0) + timedelta(minutes=number),
                     lines=[(V2, 1, "5.00")])
    first = report(client, sales_world, sales_world.b).content.decode()
    second = report(client, sales_world, sales_world.b, htmx=True,
                    **sales_world.custom(page=2)).content.decode()
    assert len(screen_rows(first)) == 25
    assert "Page 1 of 2" in first
    assert second.lstrip().startswith('<div id="report-results"')
    assert len(screen_rows(second)) == 6
    assert screen_rows(second)[-1][0] == sales_world.pushes["p3"].source_order_name
    assert re.search(r'data-figure="orders">(\d+)<', first).group(1) == "31"
    assert len(report_csv(client, sales_world, sales_world.b)) == 1 + 31


def test_the_csv_is_a_named_attachment_and_neutralises_formulas(client, sales_world):
    pushed_order(store=sales_world.a.destination, source=sales_world.source,
                 at=start_of(sales_world.d0) + timedelta(hours=5), name="=HYPERLINK(1)",
                 lines=[((V1[0], "+SKU", "@Shirt", "-S"), 1, "10.00")])
    response = client.get(f"/stores/{sales_world.a.pk}/report.csv", sales_world.custom(),
                          headers=session_headers(sales_world.source))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="syncer-orders-store-a-{sales_world.d0:%Y%m%d}-'
        f'{sales_world.d2:%Y%m%d}.csv"')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[-1][2] == "'=HYPERLINK(1)"
    assert rows[-1][5:8] == ["'+SKU", "'@Shirt", "'-S"]


def test_the_csv_downloads_with_a_session_token_in_the_link(client, sales_world):
    # what the browser does inside Shopify's iframe: the token rides in the URL
    token = session_headers(sales_world.source)["Authorization"].removeprefix("Bearer ")
    response = client.get(f"/stores/{sales_world.a.pk}/report.csv",
                          {**sales_world.custom(), "id_token": token})
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode().startswith("Your order,")


def test_bad_dates_are_refused(client, sales_world):
    params = sales_world.custom(sales_world.d2, sales_world.d0)
    page = report(client, sales_world, sales_world.a, **params)
    assert page.status_code == 422
    assert "The last day is before the first day." in page.content.decode()
    assert "Download CSV" not in page.content.decode()
    download = client.get(f"/stores/{sales_world.a.pk}/report.csv", params,
                          headers=session_headers(sales_world.source))
    assert download.status_code == 422
    assert download.content.decode() == "The last day is before the first day."


def test_only_the_source_of_a_store_can_report_on_it(client, sales_world):
    foreign = ConnectionFactory(source=sales_world.other_source,
                                destination=sales_world.a.destination)
    for suffix in ("report", "report.csv"):
        # another source's connection, even with a store this source also has: not found
        assert client.get(f"/stores/{foreign.pk}/{suffix}", sales_world.custom(),
                          headers=session_headers(sales_world.source)).status_code == 404
        # the other source cannot read this source's store
        assert client.get(f"/stores/{sales_world.a.pk}/{suffix}", sales_world.custom(),
                          headers=session_headers(sales_world.other_source)).status_code == 404
        # a destination store gets the wrong-role page; nobody without a token gets in
        assert client.get(f"/stores/{sales_world.a.pk}/{suffix}",
                          headers=session_headers(sales_world.a.destination)).status_code == 403
        assert client.get(f"/stores/{sales_world.a.pk}/{suffix}",
                          headers={"HX-Request": "true"}).status_code == 401
