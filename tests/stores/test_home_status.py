"""Home's status card (Built for Shopify 4.2.3): per role, set up and working or what is missing
with the next step, the key figures, and what needs the merchant."""

import re
from dataclasses import dataclass
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import OrderPush
from products.models import SourceLevel, SyncEvent
from stores.models import Connection, Shop
from tests.orders.dashboard_world import V1, pushed_order, session_headers
from tests.orders.store_world import link, product
from tests.stores.factories import ConnectionFactory, DestinationFactory, SourceFactory
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

_numbers = iter(range(1, 1_000_000))


def words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@dataclass(frozen=True)
class Card:
    headline: str
    badge: tuple[str, str]  # (tone, words)
    next_step: tuple[str, str] | None  # (label, href)
    figures: dict[str, tuple[str, str]]  # data-figure → (label, value)
    attention: list[str]
    links: list[tuple[str, str]]  # the attention list's (label, href)


def status_card(client, shop: Shop) -> Card:
    response = client.get("/", headers=session_headers(shop))
    assert response.status_code == 200
    html = response.content.decode()
    card = re.search(r'<section class="card" id="home-status".*?</section>', html, re.S)
    assert card, "no status card"
    card_html = card.group(0)
    headline = re.search(r'id="home-status-title">(.*?)</h2>', card_html)
    badge = re.search(
        r'<span class="badge badge-(\w+)" id="home-status-badge">(.*?)</span>', card_html
    )
    assert headline, "no headline"
    assert badge, "no badge"
    step = re.search(
        r'<a class="button button-primary" id="home-next-step" href="([^"]*)">'
        r"(.*?)</a>",
        card_html,
    )
    attention = re.search(
        r'<ul class="attention" id="home-attention"[^>]*>(.*?)</ul>', card_html, re.S
    )
    return Card(
        headline=words(headline.group(1)),
        badge=(badge.group(1), words(badge.group(2))),
        next_step=(words(step.group(2)), unescape(step.group(1))) if step else None,
        figures={
            key: (words(label), words(value))
            for label, key, value in re.findall(
                r'<dt>(.*?)</dt><dd data-figure="([\w-]+)">(.*?)</dd>', card_html
            )
        },
        attention=[
            words(item) for item in re.findall(r"<li[^>]*>(.*?)</li>", attention.group(1), re.S)
        ]
        if attention
        else [],
        links=[
            (words(label), unescape(href))
            for href, label in re.findall(r'<a href="([^"]*)">(.*?)</a>', attention.group(1))
        ]
        if attention
        else [],
    )


def values(card: Card) -> dict[str, str]:
    return {key: value for key, (_, value) in card.figures.items()}


def stock_update(
    connection: Connection,
    *,
    ago: timedelta,
    latency_ms: int | None = None,
    result: str = SyncEvent.Result.OK,
) -> SyncEvent:
    event = SyncEvent.objects.create(
        connection=connection, kind=SyncEvent.Kind.INVENTORY, result=result, latency_ms=latency_ms
    )
    SyncEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - ago)
    return event


def delivery(shop: Shop, *, status: str, received_ago: timedelta) -> WebhookDelivery:
    now = timezone.now()
    failed = status == WebhookDelivery.Status.FAILED
    return WebhookDelivery.objects.create(
        shop_domain=shop.domain,
        topic="inventory_levels/update",
        webhook_id=f"w-{next(_numbers)}",
        raw_body="{}",
        status=status,
        received_at=now - received_ago,
        failed_at=now if failed else None,
        last_error="KeyError: 'inventory_item_id'" if failed else "",
        due_at=now + timedelta(days=3650) if failed else now - received_ago,
    )


# --- source -----------------------------------------------------------------------------------


def test_a_source_whose_stores_sync_its_products_is_set_up_and_working(client):
    # given a source followed by two stores that sync two of its products (one by both), with
    # stock written at them three times today, once three days ago and once twelve days ago,
    # an order received yesterday and one ten days ago; and a store it disconnected, whose
    # work no longer counts
    source = SourceFactory()
    first, second = ConnectionFactory(source=source), ConnectionFactory(source=source)
    gone = ConnectionFactory(source=source, status=Connection.Status.DISCONNECTED)
    shirt, mug = product(source, "Linen shirt", ["SHIRT-S"]), product(source, "Mug", ["MUG-1"])
    link(first, shirt), link(first, mug), link(second, shirt), link(gone, mug)
    for latency_ms in (300, 700, 1200):
        stock_update(first, ago=timedelta(hours=2), latency_ms=latency_ms)
    stock_update(second, ago=timedelta(days=3), latency_ms=2500)
    stock_update(second, ago=timedelta(days=12), latency_ms=9000)
    stock_update(gone, ago=timedelta(hours=1), latency_ms=50)
    pushed_order(
        store=first.destination,
        source=source,
        at=timezone.now() - timedelta(days=1),
        lines=[(V1, 1, "10.00")],
    )
    pushed_order(
        store=second.destination,
        source=source,
        at=timezone.now() - timedelta(days=10),
        lines=[(V1, 1, "10.00")],
    )
    # when it opens Home
    card = status_card(client, source)
    # then it is set up and working, with its figures (the median of 300, 700, 1200, 2500 ms)
    assert card.headline == "Your stock reaches 2 connected stores"
    assert card.badge == ("success", "Set up and working")
    assert card.next_step is None
    assert card.figures == {
        "connected-stores": ("Connected stores", "2"),
        "products-synced": ("Products synced", "2"),
        "stock-updates-day": ("Stock updates, past 24 hours", "3"),
        "stock-updates-week": ("Stock updates, past 7 days", "4"),
        "median-latency": ("Median time to reach stores", "950 ms"),
        "orders-received": ("Orders received, past 7 days", "1"),
    }
    assert card.attention == []


def test_a_source_without_stores_is_asked_to_share_its_key(client):
    # given a source no store ever connected to (another source's store does not count)
    source = SourceFactory()
    ConnectionFactory()
    # when it opens Home
    card = status_card(client, source)
    html = client.get("/", headers=session_headers(source)).content.decode()
    # then the next step is its store key, on the same page; nothing measured is shown
    assert card.headline == "No store is connected yet"
    assert card.badge == ("warning", "Setup incomplete")
    assert card.next_step == ("Share your store key", "#store-key")
    assert 'id="store-key"' in html
    assert values(card) == {
        "connected-stores": "0",
        "products-synced": "0",
        "stock-updates-day": "0",
        "stock-updates-week": "0",
        "orders-received": "0",
    }
    assert card.attention == []


def test_a_source_whose_stores_all_left_says_none_is_connected_now(client):
    source = SourceFactory()
    ConnectionFactory(source=source, status=Connection.Status.BLOCKED)
    ConnectionFactory(source=source, status=Connection.Status.DISCONNECTED)
    card = status_card(client, source)
    assert card.headline == "No store is connected now"
    assert card.next_step == ("Share your store key", "#store-key")


def test_a_source_whose_stores_sync_nothing_yet_says_so(client):
    # given a connected store that imported none of the source's products
    source = SourceFactory()
    ConnectionFactory(source=source)
    product(source, "Linen shirt", ["SHIRT-S"])
    # when the source opens Home
    card = status_card(client, source)
    # then it is not working yet, and its stores are where to look
    assert card.headline == "Your connected stores sync none of your products yet"
    assert card.badge == ("warning", "Setup incomplete")
    assert card.next_step == ("See your stores", "/stores/")
    assert values(card)["connected-stores"] == "1"


def test_a_source_with_failed_syncs_and_webhooks_needs_attention(client):
    # given a working source whose store had two stock updates fail this week (and one twelve
    # days ago), with one of its webhook deliveries failed and one waiting for ten minutes
    source = SourceFactory()
    connection = ConnectionFactory(source=source)
    link(connection, product(source, "Linen shirt", ["SHIRT-S"]))
    for days in (1, 2, 12):
        stock_update(connection, ago=timedelta(days=days), result=SyncEvent.Result.FAILED)
    delivery(source, status=WebhookDelivery.Status.FAILED, received_ago=timedelta(hours=2))
    delivery(source, status=WebhookDelivery.Status.RECEIVED, received_ago=timedelta(minutes=10))
    delivery(
        SourceFactory(),
        status=WebhookDelivery.Status.FAILED,  # another shop's
        received_ago=timedelta(hours=1),
    )
    # when it opens Home
    card = status_card(client, source)
    # then the failures head the card, each with where to see it
    assert card.headline == "2 syncs with your stores failed in the past 7 days"
    assert card.badge == ("critical", "Needs attention")
    assert card.next_step == ("See them in Stores", "/stores/")
    assert card.attention == [
        "1 webhook delivery from Shopify failed. See System status",
        "1 webhook delivery from Shopify is waiting longer than it should. See System status",
    ]
    assert card.links == [("See System status", "/status"), ("See System status", "/status")]


def oversold_world():
    """A source (locations 1 and 2 shared) with two stores syncing its shirt: S is at -2 and +1
    (1 short in all), M at -3 and 0; its mug, at -5, no store syncs; its hoodie, at -4, sells
    on backorder; and another store syncing the shirt of a source with nothing oversold."""
    source = SourceFactory(name="Main Source",
                           settings={"locations": [{"id": 1, "name": "A"}, {"id": 2, "name": "B"}]})
    first, second = ConnectionFactory(source=source), ConnectionFactory(source=source)
    shirt = product(source, "Linen shirt", ["SHIRT-S", "SHIRT-M"], stock=[-2, -3])
    SourceLevel.objects.create(shop=source, location_id=2, available=1,
                               inventory_item_id=shirt.variants.get(sku="SHIRT-S").inventory_item_id,
                               shopify_updated_at=timezone.now(), seen_at=timezone.now())
    link(first, shirt), link(second, shirt)
    product(source, "Mug", ["MUG-1"], stock=[-5])
    # (a hoodie sold on pre-order: below zero on purpose)
    hoodie = product(source, "Hoodie", ["HOOD-1"], stock=[-4])
    hoodie.variants.update(inventory_policy="CONTINUE")
    link(first, hoodie)
    other = ConnectionFactory()
    link(other, product(other.source, "Linen shirt", ["SHIRT-S"], stock=[4]))
    return source, first.destination, other.destination


def test_a_source_whose_stores_sold_more_than_it_has_says_so_first(client):
    # given a source whose stores sold 3 medium shirts and 1 small shirt it does not have
    source, _, _ = oversold_world()
    # when it opens Home
    card = status_card(client, source)
    # then the most oversold comes first, with where to see its sales; the next is listed; the
    # mug its stores do not sync and the hoodie on backorder are not
    assert card.headline == ("Linen shirt / SHIRT-M (SHIRT-M) is oversold: your stores sold 3 "
                             "more than you have")
    assert card.badge == ("critical", "Needs attention")
    assert card.next_step == ("See its sales in Activity", "/activity/?kind=stock&q=SHIRT-M")
    assert card.attention[0] == ("Linen shirt / SHIRT-S (SHIRT-S) is oversold: your stores sold 1 "
                                 "more than you have. See its sales in Activity")
    assert len(card.attention) == 1

    # when the source restocks them
    SourceLevel.objects.filter(shop=source, available__lt=0).update(available=0)
    # then Home no longer says so
    assert not says_oversold(client, source)


def test_a_destination_whose_source_is_oversold_says_so_and_another_does_not(client):
    # given two stores: one syncing a source with oversold shirts, the other not
    _, destination, unaffected = oversold_world()
    # when each opens Home
    card = status_card(client, destination)
    # then the first is told, the second is not
    assert card.headline == ("Linen shirt / SHIRT-M (SHIRT-M) is oversold at Main Source: 3 sold "
                             "that it does not have")
    assert card.badge == ("critical", "Needs attention")
    assert not says_oversold(client, unaffected)
    # and the source's row counts its two oversold variants; the other store's says nothing
    assert sources_attention(client, destination) == [
        "2 synced variants oversold: their stock at this source is below zero. See stock in "
        "Activity"]
    assert sources_attention(client, unaffected) == ["Nothing"]


def says_oversold(client, shop: Shop) -> bool:
    card = status_card(client, shop)
    return "oversold" in " ".join([card.headline, *card.attention])


def sources_attention(client, shop: Shop) -> list[str]:
    """The "Needs attention" cell of each row of Home's sources table."""
    html = client.get("/", headers=session_headers(shop)).content.decode()
    return [words(cell) for cell in re.findall(r'<td data-figure="attention">(.*?)</td>', html,
                                                re.S)]


# --- destination ------------------------------------------------------------------------------


def test_a_destination_following_a_source_is_set_up_and_working(client):
    # given a destination syncing two products of Main Source, stock written twice today and
    # once three days ago, an order pushed two days ago and one nine days ago
    destination = DestinationFactory()
    connection = ConnectionFactory(
        destination=destination, source=SourceFactory(name="Main Source")
    )
    link(
        connection,
        product(connection.source, "Linen shirt", ["SHIRT-S", "SHIRT-M"]),
        written_at=timezone.now(),
    )
    link(connection, product(connection.source, "Mug", ["MUG-1"]), written_at=timezone.now())
    for ago in (timedelta(hours=1), timedelta(hours=5), timedelta(days=3)):
        stock_update(connection, ago=ago, latency_ms=400)
    for days in (2, 9):
        pushed_order(
            store=destination,
            source=connection.source,
            at=timezone.now() - timedelta(days=days),
            lines=[(V1, 1, "10.00")],
        )
    # when it opens Home
    card = status_card(client, destination)
    # then it is set up and working, with its figures
    assert card.headline == "Your stock follows 1 source"
    assert card.badge == ("success", "Set up and working")
    assert card.next_step is None
    assert card.figures == {
        "sources": ("Sources", "1"),
        "products-synced": ("Products synced", "2"),
        "stock-updates-day": ("Stock updates, past 24 hours", "2"),
        "orders-pushed": ("Orders pushed, past 7 days", "1"),
    }
    assert card.attention == []


def test_a_destination_without_sources_is_asked_to_connect_with_a_store_key(client):
    destination = DestinationFactory()
    ConnectionFactory()  # someone else's
    card = status_card(client, destination)
    assert card.headline == "No source is connected yet"
    assert card.badge == ("warning", "Setup incomplete")
    assert card.next_step == ("Connect with a store key", "/sources/")
    assert values(card) == {
        "sources": "0",
        "products-synced": "0",
        "stock-updates-day": "0",
        "orders-pushed": "0",
    }


@pytest.mark.parametrize("gone", ["blocked", "disconnected", "uninstalled"])
def test_a_destination_whose_sources_are_gone_says_none_is_connected_now(client, gone):
    # given a destination whose only source blocked it, it left, or the source uninstalled
    destination = DestinationFactory()
    source = SourceFactory(uninstalled_at=timezone.now() if gone == "uninstalled" else None)
    connection = ConnectionFactory(
        destination=destination,
        source=source,
        status=Connection.Status.CONNECTED if gone == "uninstalled" else gone,
    )
    link(connection, product(source, "Linen shirt", ["SHIRT-S"]))
    # when it opens Home
    card = status_card(client, destination)
    # then it is asked to connect again, and no product counts as syncing
    assert card.headline == "No source is connected now"
    assert card.next_step == ("Connect with a store key", "/sources/")
    assert values(card)["sources"] == "0"
    assert values(card)["products-synced"] == "0"


def test_a_connected_destination_without_products_is_asked_to_import_them(client):
    destination = DestinationFactory()
    connection = ConnectionFactory(destination=destination)
    product(connection.source, "Linen shirt", ["SHIRT-S"])
    card = status_card(client, destination)
    assert card.headline == "No products are synced yet"
    assert card.badge == ("warning", "Setup incomplete")
    assert card.next_step == ("Import products", "/products/")
    assert values(card)["sources"] == "1"


def test_a_destination_with_failed_work_needs_attention(client):
    # given a working destination with a webhook delivery that failed and an order that
    # failed to push to Main Source
    destination = DestinationFactory()
    connection = ConnectionFactory(
        destination=destination, source=SourceFactory(name="Main Source")
    )
    link(
        connection,
        product(connection.source, "Linen shirt", ["SHIRT-S"]),
        written_at=timezone.now(),
    )
    delivery(destination, status=WebhookDelivery.Status.FAILED, received_ago=timedelta(hours=3))
    pushed_order(
        store=destination,
        source=connection.source,
        at=None,
        status=OrderPush.Status.FAILED,
        lines=[(V1, 1, "10.00")],
    )
    # when it opens Home
    card = status_card(client, destination)
    # then the first failure heads the card with Sync health as the way to fix it, and the
    # rest is listed: the push, and Main Source's row, which says more
    assert card.headline == "1 webhook delivery from Shopify failed"
    assert card.badge == ("critical", "Needs attention")
    assert card.next_step == ("See Sync health", "/dashboard/#work-health")
    assert card.attention == [
        "1 order push failed. See Sync health",
        "Main Source needs attention. Review Main Source",
    ]
    assert card.links == [
        ("See Sync health", "/dashboard/#work-health"),
        ("Review Main Source", f"#home-source-{connection.pk}"),
    ]
    html = client.get("/", headers=session_headers(destination)).content.decode()
    assert f'<td id="home-source-{connection.pk}">' in html


def test_a_destination_with_only_something_to_review_says_where(client):
    # given a working destination one of whose synced products the source hid
    destination = DestinationFactory()
    connection = ConnectionFactory(
        destination=destination, source=SourceFactory(name="Main Source")
    )
    link(
        connection,
        product(connection.source, "Linen shirt", ["SHIRT-S"], hidden=True),
        written_at=timezone.now(),
    )
    # when it opens Home
    card = status_card(client, destination)
    # then it needs a look, not a fix
    assert card.headline == "Main Source needs attention"
    assert card.badge == ("warning", "Needs attention")
    assert card.next_step == ("Review Main Source", f"#home-source-{connection.pk}")
    assert card.attention == []


def test_a_shop_without_a_role_is_asked_to_choose_one_and_shows_no_status(client):
    shop = DestinationFactory(role="")
    html = client.get("/", headers=session_headers(shop)).content.decode()
    assert "How will this store use Syncer?" in html
    assert 'id="home-status"' not in html


# --- a fixed number of queries ----------------------------------------------------------------


def troubled(connection: Connection) -> None:
    """Synced, with stock written, a failed stock update and a failed push, as any store."""
    link(connection, product(connection.source, "Tee", ["TEE-1"]), written_at=timezone.now())
    stock_update(connection, ago=timedelta(hours=1), latency_ms=500)
    stock_update(connection, ago=timedelta(hours=2), result=SyncEvent.Result.FAILED)
    pushed_order(
        store=connection.destination,
        source=connection.source,
        at=None,
        status=OrderPush.Status.FAILED,
        lines=[(V1, 1, "10.00")],
    )


def test_home_reads_the_same_number_of_queries_however_many_stores(client):
    # given a source and a destination, each with one troubled connection and failed webhooks
    source, destination = SourceFactory(), DestinationFactory()
    troubled(ConnectionFactory(source=source))
    troubled(ConnectionFactory(destination=destination))
    for shop in (source, destination):
        delivery(shop, status=WebhookDelivery.Status.FAILED, received_ago=timedelta(hours=1))

    def queries(shop: Shop) -> int:
        with CaptureQueriesContext(db) as captured:
            assert client.get("/", headers=session_headers(shop)).status_code == 200
        return len(captured)

    few = queries(source), queries(destination)
    # when each has five more troubled connections
    for _ in range(5):
        troubled(ConnectionFactory(source=source))
        troubled(ConnectionFactory(destination=destination))
    # then Home reads as many queries as before
    assert (queries(source), queries(destination)) == few
    # (and counts all of them: six stock updates and six orders that failed to reach it)
    assert status_card(client, source).headline == (
        "12 syncs with your stores failed in the past 7 days"
    )
    card = status_card(client, destination)
    assert card.headline == "1 webhook delivery from Shopify failed"
    names = (
        Connection.objects.filter(destination=destination)
        .order_by("source__name")
        .values_list("source__name", flat=True)
    )
    assert sorted(card.attention) == sorted(
        [
            "6 order pushes failed. See Sync health",
            *(f"{name} needs attention. Review {name}" for name in names),
        ]
    )
