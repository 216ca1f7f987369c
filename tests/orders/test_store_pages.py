"""Stores' pages that show products and orders too: a destination's Home (its sources), the
source's Stores list (recent activity) and the source's page about one store (its products)."""

import re
from datetime import timedelta

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import OrderPush
from products.models import ProductLink, SourceProduct, SyncEvent, VariantLink
from stores.models import Connection, EndedLink
from tests.orders.dashboard_world import V1, pushed_order, session_headers
from tests.orders.store_world import link, product
from tests.stores.factories import ConnectionFactory, DestinationFactory, SourceFactory

pytestmark = pytest.mark.django_db

def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def row(html: str, marker: str) -> str:
    """The words of the table row carrying `marker` (an attribute), tags and spacing gone."""
    found = re.search(rf'<tr {marker}>(.*?)</tr>', html, re.S)
    assert found, f"no row {marker}"
    return text(found.group(1))


# --- item 3: a destination's Home ----------------------------------------------------------


def test_a_connected_destinations_home_summarises_each_source(client):
    # given a destination following Main Source (two products, three variants, one of them
    # hidden since by the source; stock last written two hours ago; one failed update this
    # week and one last month; one order that failed to push) and a source it left three days
    # ago, whose stock it last wrote four days ago (the links that said so are gone)
    destination = DestinationFactory(name="Corner Shop")
    main = ConnectionFactory(destination=destination, source=SourceFactory(
        name="Main Source", domain="main-source.myshopify.com"))
    gone = ConnectionFactory(destination=destination, status=Connection.Status.DISCONNECTED,
                             disconnected_at=timezone.now() - timedelta(days=3),
                             source=SourceFactory(name="Old Source",
                                                  domain="old-source.myshopify.com"))
    two_hours_ago = timezone.now() - timedelta(hours=2)
    link(main, product(main.source, "Linen shirt", ["SHIRT-S", "SHIRT-M"]),
         written_at=two_hours_ago)
    link(main, product(main.source, "Stoneware mug", ["MUG-1"], hidden=True),
         written_at=two_hours_ago - timedelta(days=1))
    SyncEvent.objects.create(connection=main, kind=SyncEvent.Kind.INVENTORY,
                             result=SyncEvent.Result.FAILED, error="Not stocked")
    old = SyncEvent.objects.create(connection=main, kind=SyncEvent.Kind.INVENTORY,
                                   result=SyncEvent.Result.FAILED, error="Not stocked")
    SyncEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    pushed_order(store=destination, source=main.source, at=None,
                 status=OrderPush.Status.FAILED, lines=[(V1, 1, "10.00")])
    last_written = SyncEvent.objects.create(connection=gone, kind=SyncEvent.Kind.INVENTORY,
                                            result=SyncEvent.Result.OK)
    SyncEvent.objects.filter(pk=last_written.pk).update(
        created_at=timezone.now() - timedelta(days=4))
    EndedLink.objects.create(connection=gone, reason=EndedLink.Reason.DISCONNECTED,
                             choice=Connection.LinkEnd.KEEP, destination_product_id=77,
                             status=EndedLink.Status.KEPT)
    # when it opens Home
    response = client.get("/", headers=session_headers(destination))
    # then each source says how it is, what syncs and what needs the merchant, with links
    html = response.content.decode()
    assert response.status_code == 200
    assert "Follow a source store" not in html
    assert row(html, 'data-source="main-source.myshopify.com"') == (
        "Main Source main-source.myshopify.com Connected 2 products, 3 variants 2 hours ago "
        "1 failed update in the past week. See them on the Dashboard "
        "1 order failed to push. Push again from Orders "
        "1 synced product hidden by the source: it no longer syncs. Review it")
    assert row(html, 'data-source="old-source.myshopify.com"') == (
        "Old Source old-source.myshopify.com Disconnected You disconnected 3 days ago. "
        "0 products, 0 variants 4 days ago 1 product kept as it was when its link ended: its stock "
        "no longer follows this source. Open Sources")
    assert f'href="/products/sources/{main.pk}/?tab=hidden">Review it</a>' in html
    assert 'href="/orders/">Push again from Orders</a>' in html


def test_a_quiet_connected_source_needs_nothing(client):
    destination = DestinationFactory()
    ConnectionFactory(destination=destination, source=SourceFactory(
        name="Calm Source", domain="calm-source.myshopify.com"))
    html = client.get("/", headers=session_headers(destination)).content.decode()
    assert row(html, 'data-source="calm-source.myshopify.com"') == (
        "Calm Source calm-source.myshopify.com Connected 0 products, 0 variants Never Nothing")


def test_a_destination_without_sources_is_asked_to_follow_one(client):
    destination = DestinationFactory()
    ConnectionFactory(destination=DestinationFactory())  # someone else's
    html = client.get("/", headers=session_headers(destination)).content.decode()
    assert "Follow a source store" in html
    assert "home-sources" not in html


# --- item 6: the source's Stores list -------------------------------------------------------


def test_the_stores_list_says_what_syncs_and_counts_all_recent_work(client):
    # given a source with a connected store that, this week, had two stock updates written,
    # one failed, one order pushed and one that failed to push (and older work before that),
    # and a blocked and a disconnected store
    source = SourceFactory()
    connected = ConnectionFactory(
        source=source, last_activity_at=timezone.now() - timedelta(days=20),
        destination=DestinationFactory(name="Busy Store", domain="busy.myshopify.com"))
    blocked = ConnectionFactory(
        source=source, status=Connection.Status.BLOCKED,
        last_activity_at=timezone.now() - timedelta(days=2),
        destination=DestinationFactory(name="Blocked Store", domain="blocked.myshopify.com"))
    ConnectionFactory(
        source=source, status=Connection.Status.DISCONNECTED,
        last_activity_at=timezone.now() - timedelta(days=4),
        destination=DestinationFactory(name="Gone Store", domain="gone.myshopify.com"))
    link(connected, product(source, "Linen shirt", ["SHIRT-S"]))
    for result in ("ok", "ok", "failed"):
        SyncEvent.objects.create(connection=connected, kind=SyncEvent.Kind.INVENTORY,
                                 result=result)
    SyncEvent.objects.create(connection=connected, kind=SyncEvent.Kind.PRICE)  # not stock
    old = SyncEvent.objects.create(connection=connected, kind=SyncEvent.Kind.INVENTORY)
    SyncEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    pushed_order(store=connected.destination, source=source,
                 at=timezone.now() - timedelta(minutes=5), lines=[(V1, 1, "10.00")])
    pushed_order(store=connected.destination, source=source, at=None,
                 status=OrderPush.Status.FAILED, lines=[(V1, 1, "10.00")])
    pushed_order(store=connected.destination, source=source,
                 at=timezone.now() - timedelta(days=9), lines=[(V1, 1, "10.00")])
    pushed_order(store=blocked.destination, source=SourceFactory(),  # another source's
                 at=timezone.now(), lines=[(V1, 1, "10.00")])
    headers = session_headers(source)
    # when the source opens each tab of its Stores list
    connected_tab = client.get("/stores/", headers=headers).content.decode()
    blocked_tab = client.get("/stores/?tab=blocked", headers=headers).content.decode()
    disconnected_tab = client.get("/stores/?tab=disconnected", headers=headers).content.decode()
    # then only the connected store's inventory follows, and its activity counts every kind
    assert "Recent activity (past 7 days)" in connected_tab
    assert row(connected_tab, 'data-store="busy.myshopify.com"') == (
        "Busy Store busy.myshopify.com Connected Inventory follows yours 1 "
        "2 stock updates, 1 order received, 2 failed Last activity just now View")
    assert row(blocked_tab, 'data-store="blocked.myshopify.com"') == (
        "Blocked Store blocked.myshopify.com Blocked Blocked — stock no longer follows yours 0 "
        "No stock updates or orders Last activity 2 days ago View")
    assert row(disconnected_tab, 'data-store="gone.myshopify.com"') == (
        "Gone Store gone.myshopify.com Disconnected Disconnected — stock no longer follows "
        "yours 0 No stock updates or orders Last activity 4 days ago View")


def test_a_store_that_must_resync_is_not_said_to_follow(client):
    source = SourceFactory()
    ConnectionFactory(source=source, resync_required=True,
                      destination=DestinationFactory(domain="again.myshopify.com"))
    html = client.get("/stores/", headers=session_headers(source)).content.decode()
    assert "Not yet — the store must sync its products again" in row(
        html, 'data-store="again.myshopify.com"')
    assert "Inventory follows yours" not in html


# --- item 7: the source's page about one store ----------------------------------------------


# What htmx sends for a tab, a search or a page of the store's products.
SWAP = {"HX-Request": "true", "HX-Target": "store-products"}


def tabs(html: str) -> list[tuple[str, str, str]]:
    """(label, count, selected) of each tab."""
    return [(label, count, selected) for selected, label, count in re.findall(
        r'role="tab".*?aria-selected="(\w+)"[^>]*>\s*(\w+) <span class="badge">(\d+)</span>',
        html, re.S)]


def product_rows(html: str) -> list[str]:
    return [text(found) for found in re.findall(r'<tr data-product="\d+">(.*?)</tr>', html, re.S)]


@pytest.fixture
def store_world(db):
    """A source sharing four products with a connected store, which synced two of them (one
    with auto sync off); a fifth product is hidden and a sixth belongs to another source."""
    source = SourceFactory()
    connection = ConnectionFactory(source=source)
    shirt = product(source, "Linen shirt", ["SHIRT-S", "SHIRT-M"], stock=[4, 6])
    mug = product(source, "Stoneware mug", ["MUG-1"], stock=[12])
    product(source, "Canvas tote", ["TOTE-1"], stock=[3])
    product(source, "Wool scarf", ["SCARF-1", "SCARF-2", "SCARF-3"], stock=[1, 0, 2])
    product(source, "Secret thing", ["SECRET-1"], hidden=True, stock=[5])
    product(SourceFactory(), "Someone else's", ["ELSE-1"], stock=[9])
    link(connection, shirt, targets=[3, 5])
    mug_link = link(connection, mug, targets=[11])
    ProductLink.objects.filter(pk=mug_link.pk).update(auto_sync=False)
    return connection


def test_the_store_page_lists_the_stores_synced_and_available_products(client, store_world):
    headers = session_headers(store_world.source)
    # when the source opens the store's page, then its Available tab
    page = client.get(f"/stores/{store_world.pk}/", headers=headers).content.decode()
    available = client.get(f"/stores/{store_world.pk}/?tab=not_synced",
                           headers={**headers, **SWAP}).content.decode()
    # then the synced products show their SKUs and both stocks; the others wait to be imported
    assert product_rows(page) == [
        "Linen shirt Acme SHIRT-S, SHIRT-M 2 10 8 Stock follows yours",
        "Stoneware mug Acme MUG-1 1 12 11 Auto sync off",
    ]
    assert tabs(page) == [("Synced", "2", "true"), ("Available", "2", "false")]
    assert product_rows(available) == [
        "Canvas tote Acme TOTE-1 1 3",
        "Wool scarf Acme SCARF-1, SCARF-2, SCARF-3 3 3",
    ]
    assert available.strip().startswith('<div id="store-products">')
    assert "<dt>Available products</dt><dd>2</dd>" in page


def test_a_product_the_store_syncs_in_part_says_how_many_variants_sync(client, store_world):
    # given the store mapped the scarf by SKU, and it has only one of its three SKUs
    scarf = SourceProduct.objects.get(title="Wool scarf")
    link(store_world, scarf, targets=[1, 0, 2])
    VariantLink.objects.filter(connection=store_world, source_variant__product=scarf).exclude(
        source_variant__sku="SCARF-1").delete()
    # when the source opens the store's page
    page = client.get(f"/stores/{store_world.pk}/",
                      headers=session_headers(store_world.source)).content.decode()
    # then the scarf's row says one of its three variants syncs (the store's stock is that one's)
    assert "Wool scarf Acme SCARF-1, SCARF-2, SCARF-3 1 of 3 synced 3 1 Stock follows yours" in (
        product_rows(page))
    assert "Linen shirt Acme SHIRT-S, SHIRT-M 2 10 8 Stock follows yours" in product_rows(page)


def test_the_store_products_search_narrows_by_title_or_sku(client, store_world):
    headers = {**session_headers(store_world.source), **SWAP}
    by_sku = client.get(f"/stores/{store_world.pk}/?tab=synced&q=mug-1",
                        headers=headers).content.decode()
    by_title = client.get(f"/stores/{store_world.pk}/?tab=not_synced&q=scarf",
                          headers=headers).content.decode()
    nothing = client.get(f"/stores/{store_world.pk}/?tab=synced&q=tote",
                         headers=headers).content.decode()
    assert product_rows(by_sku) == ["Stoneware mug Acme MUG-1 1 12 11 Auto sync off"]
    assert product_rows(by_title) == ["Wool scarf Acme SCARF-1, SCARF-2, SCARF-3 3 3"]
    assert product_rows(nothing) == []
    assert "No products match your search" in nothing


def test_the_store_products_are_paginated_in_a_constant_number_of_queries(client, store_world):
    headers = {**session_headers(store_world.source), **SWAP}
    url = f"/stores/{store_world.pk}/?tab=not_synced"
    with CaptureQueriesContext(db) as few:
        client.get(url, headers=headers)
    for number in range(30):
        product(store_world.source, f"Zz item {number:02d}", [f"ZZ-{number:02d}"], stock=[1])
    with CaptureQueriesContext(db) as many:
        first = client.get(url, headers=headers).content.decode()
    second = client.get(url + "&page=2", headers=headers).content.decode()
    assert len(many) == len(few)
    assert len(product_rows(first)) == 25
    assert "Page 1 of 2" in first
    assert product_rows(second) == [f"Zz item {n:02d} Acme ZZ-{n:02d} 1 1" for n in range(23, 30)]
    assert "Page 2 of 2" in second


def test_a_blocked_stores_page_lists_no_products(client, store_world):
    Connection.objects.filter(pk=store_world.pk).update(status=Connection.Status.BLOCKED)
    page = client.get(f"/stores/{store_world.pk}/",
                      headers=session_headers(store_world.source)).content.decode()
    assert "This store syncs none of your products now: you blocked it." in page
    assert product_rows(page) == []
    # and no products are offered to it as available
    assert "Available products" not in page


def test_bad_product_filters_show_the_first_synced_page(client, store_world):
    headers = {**session_headers(store_world.source), **SWAP}
    response = client.get(f"/stores/{store_world.pk}/?tab=hidden&page=zero&q={'x' * 300}",
                          headers=headers)
    assert response.status_code == 200
    assert tabs(response.content.decode())[0] == ("Synced", "2", "true")
    assert len(product_rows(response.content.decode())) == 2


def test_home_and_the_stores_list_read_the_same_number_of_queries_for_more_stores(client):
    source, destination = SourceFactory(), DestinationFactory()
    ConnectionFactory(source=source, destination=destination)

    def queries(shop, url: str) -> int:
        with CaptureQueriesContext(db) as captured:
            assert client.get(url, headers=session_headers(shop)).status_code == 200
        return len(captured)

    few = queries(source, "/stores/"), queries(destination, "/")
    for _ in range(5):
        other_source = SourceFactory()
        ConnectionFactory(source=source)
        ConnectionFactory(source=other_source, destination=destination)
        link(ConnectionFactory(source=other_source), product(other_source, "Tee", ["TEE-1"]))
    assert (queries(source, "/stores/"), queries(destination, "/")) == few


def test_a_blocked_store_says_where_its_orders_are_only_when_it_sent_any(client, store_world):
    # given a blocked store that never pushed an order
    Connection.objects.filter(pk=store_world.pk).update(status=Connection.Status.BLOCKED,
                                                        blocked_at=timezone.now())
    headers = session_headers(store_world.source)
    none_sent = text(client.get(f"/stores/{store_world.pk}/", headers=headers).content.decode())
    # then it does not point at orders that are not there
    assert "Blocked just now. This store cannot see your catalogue and nothing syncs. It never " \
           "pushed an order to you." in none_sent
    assert "stay below" not in none_sent

    # when it had pushed two
    for _ in range(2):
        pushed_order(store=store_world.destination, source=store_world.source, at=None,
                     lines=[(V1, 1, "10.00")])
    two_sent = text(client.get(f"/stores/{store_world.pk}/", headers=headers).content.decode())
    assert ("nothing syncs. The 2 orders it pushed to you stay under Orders received and in "
            "reports.") in two_sent
