"""When links end — the source deletes a product, the destination disconnects, the source blocks,
either side uninstalls — the destination's products become what it chose for that source
(Connection.on_link_end): stock set to zero (default), draft, deleted, or kept as they are (with a
warning). Applied at once through the destination's Admin API (the emulator), recorded in the
product's history; nothing is ever sent to a shop that uninstalled Syncer."""

import pytest

from products.catalogue_mirror import source_product_refresh
from products.inventory.links import variant_links_stock_write
from products.link_end import connection_links_capture, ended_links_apply
from products.link_end_tasks import ended_links_apply_task
from products.models import ProductLink, SyncEvent, VariantLink
from stores.auth import shop_csrf_token
from stores.connections import connection_block, connection_disconnect
from stores.models import Connection, ConnectionEvent, EndedLink, Shop
from stores.services import ShopNotInstalled
from syncer.shopify.client import admin_client
from syncer.shopify.errors import ShopifyRetryable
from tests.products.inventory_world import build, source_adjust

pytestmark = pytest.mark.django_db(transaction=True)

WRITTEN = {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}
ZEROED = {"SHIRT-S": 0, "SHIRT-M": 0, "TOTE-1": 0}


def _connected(emulator, *, choice: str | None = None, destinations: int = 1):
    """A world whose destination(s) show the source's stock, each with `choice` made."""
    world = build(emulator, destinations=destinations)
    for domain in world.destinations:
        connection = _connection(domain)
        if choice is not None:
            Connection.objects.filter(pk=connection.pk).update(on_link_end=choice)
            connection.refresh_from_db()
        variant_links_stock_write(connection=connection, variant_links=list(
            VariantLink.objects.filter(connection=connection)), cause="test")
        assert world.levels(domain) == WRITTEN
    return world


def _connection(domain: str) -> Connection:
    return Connection.objects.select_related("source", "destination").get(
        destination__domain=domain)


def _requests(emulator, domain: str) -> int:
    return emulator.stats()["shops"].get(domain, {}).get("graphql_requests", 0)


def _products(emulator, domain: str) -> dict[str, str]:
    return {p["title"]: p["status"] for p in emulator.shop(domain, orders=False)["products"]}


def _history(connection: Connection) -> list[tuple]:
    return sorted(SyncEvent.objects.filter(connection=connection).exclude(
        kind=SyncEvent.Kind.INVENTORY, cause__startswith="batch").values_list(
        "kind", "field", "from_value", "to_value", "result", "cause"))


def _ended(connection: Connection) -> list[tuple]:
    return sorted(EndedLink.objects.filter(connection=connection).values_list(
        "title", "reason", "choice", "status", "error"))


def _as_shop(emulator, domain: str) -> dict[str, str]:
    """An HTMX request from inside the shop's admin, with a fresh session token."""
    return {"Authorization": f"Bearer {emulator.session_token(domain)}", "HX-Request": "true",
            "X-CSRFToken": shop_csrf_token(shop_domain=domain, user_id="1")}


def _page(client, emulator, domain: str, path: str):
    return client.get(path, headers=_as_shop(emulator, domain))


def _delete_at_source(world, title: str) -> None:
    product = next(p for p in world.emulator.shop(world.source, orders=False)["products"]
                   if p["title"] == title)
    world.emulator._json("DELETE", f"/_emulator/shops/{world.source}/products/{product['id']}")
    world.emulator.flush_webhooks()


# --- the source deletes a product -------------------------------------------------------------


def test_source_deletes_a_product_and_its_destination_stock_goes_to_zero(emulator):
    # given a destination that left the default choice, showing the source's stock
    world = _connected(emulator)
    connection = _connection(world.destinations[0])
    assert connection.on_link_end == "zero"
    # when the source deletes the shirt
    _delete_at_source(world, "Linen shirt")
    # then the shirt's variants show 0 at the destination, the tote still follows the source
    assert world.levels(world.destinations[0]) == {"SHIRT-S": 0, "SHIRT-M": 0, "TOTE-1": 25}
    assert _products(emulator, world.destinations[0]) == {"Linen shirt": "active",
                                                          "Canvas tote": "active"}
    assert list(ProductLink.objects.filter(connection=connection).values_list(
        "source_product__title", flat=True)) == ["Canvas tote"]
    assert _ended(connection) == [("Linen shirt", "product_deleted", "zero", "done", "")]
    cause = ("link ended: the source deleted the product (src); your choice: set their stock "
             "to zero")
    history = [row for row in _history(connection) if row[0] == "inventory"]
    assert history == [("inventory", "variant SHIRT-M", "8", "0", "ok", cause),
                       ("inventory", "variant SHIRT-S", "10", "0", "ok", cause)]


@pytest.mark.parametrize(("choice", "expected_products", "history_row"), [
    ("draft", {"Linen shirt": "draft", "Canvas tote": "active"},
     ("status", "status", "", "draft", "ok")),
    ("delete", {"Canvas tote": "active"},
     ("unlinked", "product", "synced", "deleted", "ok")),
])
def test_source_deletes_a_product_and_the_destination_drafts_or_deletes_it(
        emulator, choice, expected_products, history_row):
    # given a destination that chose draft / delete
    world = _connected(emulator, choice=choice)
    connection = _connection(world.destinations[0])
    # when the source deletes the shirt
    _delete_at_source(world, "Linen shirt")
    # then only the shirt is drafted / deleted at the destination, its stock untouched
    assert _products(emulator, world.destinations[0]) == expected_products
    if choice == "draft":
        assert world.levels(world.destinations[0]) == WRITTEN
    assert _ended(connection) == [("Linen shirt", "product_deleted", choice, "done", "")]
    rows = [row[:5] for row in _history(connection) if row[0] in ("status", "unlinked")]
    assert rows == [history_row]


# --- the destination disconnects --------------------------------------------------------------


def test_destination_disconnects_and_every_synced_variant_goes_to_zero(emulator):
    world = _connected(emulator)
    connection = _connection(world.destinations[0])
    # when the destination disconnects
    connection_disconnect(connection=connection, actor=connection.destination)
    # then every synced variant shows 0 and each product's history says why
    assert world.levels(world.destinations[0]) == ZEROED
    assert _ended(connection) == [("Canvas tote", "disconnected", "zero", "done", ""),
                                  ("Linen shirt", "disconnected", "zero", "done", "")]
    cause = ("link ended: you disconnected from the source (src); your choice: set their "
             "stock to zero")
    assert [row for row in _history(connection) if row[0] == "inventory"] == [
        ("inventory", "variant SHIRT-M", "8", "0", "ok", cause),
        ("inventory", "variant SHIRT-S", "10", "0", "ok", cause),
        ("inventory", "variant TOTE-1", "25", "0", "ok", cause)]


def test_destination_disconnects_keeping_its_products_changes_nothing_at_shopify(emulator):
    # given a destination that chose to keep its products as they are
    world = _connected(emulator, choice="keep")
    destination = world.destinations[0]
    connection = _connection(destination)
    before = _requests(emulator, destination)
    # when it disconnects
    connection_disconnect(connection=connection, actor=connection.destination)
    # then no call reaches its store, its stock is frozen as it was, and it is told so
    assert _requests(emulator, destination) == before
    assert world.levels(destination) == WRITTEN
    assert _products(emulator, destination) == {"Linen shirt": "active", "Canvas tote": "active"}
    assert [row[:4] for row in _ended(connection)] == [
        ("Canvas tote", "disconnected", "keep", "kept"),
        ("Linen shirt", "disconnected", "keep", "kept")]
    assert [row[:5] for row in _history(connection)] == [
        ("unlinked", "product", "synced", "unsynced, kept as it is", "skipped")] * 2
    # and a source change afterwards does not reach it either
    source_adjust(world, "SHIRT-S", available=3)
    emulator.flush_webhooks()
    assert world.levels(destination) == WRITTEN
    assert _requests(emulator, destination) == before


def test_a_kept_link_is_shown_as_frozen_on_the_sources_page(emulator, client):
    world = _connected(emulator, choice="keep")
    connection = _connection(world.destinations[0])
    connection_disconnect(connection=connection, actor=connection.destination)
    page = _page(client, emulator, world.destinations[0], "/sources/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-warning="kept">2 products frozen</span>' in text
    assert "may sell stock you cannot get" in text


def test_the_destination_chooses_per_source_on_the_sources_page(emulator, client):
    # given a destination following a source, with the default choice
    world = build(emulator, destinations=1)
    destination = world.destinations[0]
    connection = _connection(destination)
    page = _page(client, emulator, destination, "/sources/").content.decode()
    assert '<option value="zero" selected>Set their stock to zero</option>' in page
    # when it chooses draft
    response = client.post(f"/sources/{connection.pk}/link-end", {"on_link_end": "draft"},
                           headers=_as_shop(emulator, destination))
    # then it is saved and confirmed in plain words
    assert response.status_code == 200
    assert '<option value="draft" selected>Set them to draft</option>' in response.content.decode()
    assert response["HX-Trigger"] == ('{"toast": {"message": "Saved. When a link with src ends: '
                                      'set them to draft."}}')
    connection.refresh_from_db()
    assert connection.on_link_end == "draft"
    # and a choice that does not exist is refused, changing nothing
    refused = client.post(f"/sources/{connection.pk}/link-end", {"on_link_end": "burn"},
                          headers=_as_shop(emulator, destination))
    assert refused.status_code == 422
    connection.refresh_from_db()
    assert connection.on_link_end == "draft"


# --- the source blocks ------------------------------------------------------------------------


def test_source_blocks_and_the_destination_drafts_every_synced_product(emulator):
    world = _connected(emulator, choice="draft")
    connection = _connection(world.destinations[0])
    # when the source blocks the destination
    connection_block(connection=connection, actor=connection.source)
    # then both products are drafts at the destination, stock untouched
    assert _products(emulator, world.destinations[0]) == {"Linen shirt": "draft",
                                                          "Canvas tote": "draft"}
    assert world.levels(world.destinations[0]) == WRITTEN
    assert [row[:4] for row in _ended(connection)] == [
        ("Canvas tote", "blocked", "draft", "done"), ("Linen shirt", "blocked", "draft", "done")]
    assert ConnectionEvent.objects.get(connection=connection, action="blocked").links_removed == 2


def test_source_blocks_and_the_destination_zeroes_its_stock(emulator):
    world = _connected(emulator)
    connection = _connection(world.destinations[0])
    connection_block(connection=connection, actor=connection.source)
    assert world.levels(world.destinations[0]) == ZEROED


# --- either side uninstalls -------------------------------------------------------------------


def test_source_uninstalls_and_each_destination_applies_its_own_choice(emulator):
    # given two destinations: one left the default (zero), the other chose delete
    world = _connected(emulator, destinations=2)
    first, second = world.destinations
    Connection.objects.filter(destination__domain=second).update(on_link_end="delete")
    # when the source uninstalls Syncer
    emulator.uninstall(world.source)
    emulator.flush_webhooks()
    # then the first shows 0 everywhere and the second's copies are gone
    assert world.levels(first) == ZEROED
    assert _products(emulator, second) == {}
    assert [row[:4] for row in _ended(_connection(first))] == [
        ("Canvas tote", "source_uninstalled", "zero", "done"),
        ("Linen shirt", "source_uninstalled", "zero", "done")]
    assert [row[:4] for row in _ended(_connection(second))] == [
        ("Canvas tote", "source_uninstalled", "delete", "done"),
        ("Linen shirt", "source_uninstalled", "delete", "done")]
    event = ConnectionEvent.objects.get(connection=_connection(first), action="uninstalled")
    assert (event.actor_shop.domain, event.links_removed) == (world.source, 2)
    assert VariantLink.objects.count() == 0
    assert _connection(first).resync_required is True


def test_after_the_source_uninstalls_no_call_is_made_with_its_empty_token(emulator):
    # given a source that uninstalled Syncer (its links ended, its tokens dropped)
    world = _connected(emulator)
    emulator.uninstall(world.source)
    emulator.flush_webhooks()
    before = emulator.stats()["shops"].get(world.source, {}).get("graphql_requests", 0)
    # when anything asks for a session on it (e.g. a live read of one of its products)
    source = Shop.objects.get(domain=world.source)
    with pytest.raises(ShopNotInstalled) as refused:
        source_product_refresh(source=source, shopify_id=1, cause="test")
    # then it is refused before any request: no call, no 401
    assert refused.value.merchant_message == ("This store uninstalled Syncer: nothing can be "
                                              "read or changed in it until it installs Syncer "
                                              "again.")
    after = emulator.stats()["shops"].get(world.source, {})
    assert (after.get("graphql_requests", 0), after.get("graphql_unauthorized", 0)) == (
        before, 0)


def test_destination_uninstalls_and_nothing_is_called_on_it(emulator):
    # given a destination showing the source's stock, with the default choice (zero)
    world = _connected(emulator)
    destination = world.destinations[0]
    connection = _connection(destination)
    before = _requests(emulator, destination)
    # when it uninstalls Syncer
    emulator.uninstall(destination)
    emulator.flush_webhooks()
    # then its choice is recorded as not applied (no token), with no call to its store
    assert [row[:4] for row in _ended(connection)] == [
        ("Canvas tote", "dest_uninstalled", "zero", "not_applied"),
        ("Linen shirt", "dest_uninstalled", "zero", "not_applied")]
    assert _requests(emulator, destination) == before
    assert world.levels(destination) == WRITTEN
    # and when the source's stock changes afterwards, still no call reaches it (no 401 either)
    source_adjust(world, "SHIRT-S", available=2)
    source_adjust(world, "TOTE-1", delta=-5)
    emulator.flush_webhooks()
    shop_stats = emulator.stats()["shops"].get(destination, {})
    assert (shop_stats.get("graphql_requests", 0), shop_stats.get("graphql_unauthorized", 0)) == (
        before, 0)


def test_the_source_sees_an_uninstalled_store_as_store_uninstalled(emulator, client):
    world = _connected(emulator)
    emulator.uninstall(world.destinations[0])
    emulator.flush_webhooks()
    connection = _connection(world.destinations[0])
    listing = _page(client, emulator, world.source, "/stores/")
    detail = _page(client, emulator, world.source, f"/stores/{connection.pk}/")
    assert 'data-status="store-uninstalled">Store uninstalled</span>' in listing.content.decode()
    assert 'data-status="store-uninstalled">Store uninstalled</span>' in detail.content.decode()


def test_the_destination_sees_an_uninstalled_source_as_source_uninstalled(emulator, client):
    world = _connected(emulator)
    emulator.uninstall(world.source)
    emulator.flush_webhooks()
    page = _page(client, emulator, world.destinations[0], "/sources/")
    assert ('data-status="source-uninstalled">Source uninstalled</span>'
            in page.content.decode())


# --- failures are retried, then shown ---------------------------------------------------------


def test_a_call_refused_for_now_is_retried_and_then_applied(emulator):
    # given ended links waiting for their zero write while the destination answers 503
    world = _connected(emulator)
    destination = world.destinations[0]
    connection = _connection(destination)
    admin_client().max_attempts = 1  # (the client's own retries would only slow the test)
    connection_links_capture(connection=connection, reason=EndedLink.Reason.DISCONNECTED)
    emulator.faults(error_rate=1.0, shop=destination)
    # when the work runs, it is refused for now: the rows wait and say they are retrying
    with pytest.raises(ShopifyRetryable):
        ended_links_apply(connection_id=connection.pk)
    assert sorted(EndedLink.objects.filter(connection=connection).values_list(
        "status", "error")) == [("pending", "Retrying: Shopify had a temporary problem. The "
                                            "change is queued and will be retried shortly.")] * 2
    assert world.levels(destination) == WRITTEN
    # when Shopify recovers and the work runs again
    emulator.faults(error_rate=0.0, shop=destination)
    result = ended_links_apply(connection_id=connection.pk)
    # then everything is zero, each variant once in the history
    assert (result.done, result.failed) == (2, 0)
    assert world.levels(destination) == ZEROED
    assert SyncEvent.objects.filter(connection=connection, kind="inventory",
                                    cause__startswith="link ended").count() == 3


def test_a_write_that_keeps_failing_ends_failed_and_is_shown(emulator, client, monkeypatch):
    world = _connected(emulator, choice="draft")
    destination = world.destinations[0]
    connection = _connection(destination)
    # (one retry of the task instead of ten: each try already costs the client's own retries)
    monkeypatch.setattr(ended_links_apply_task, "max_retries", 2)
    admin_client().max_attempts = 1
    emulator.faults(error_rate=1.0, shop=destination)
    # when the destination disconnects while its store answers 503 to everything
    connection_disconnect(connection=connection, actor=connection.destination)
    emulator.faults(error_rate=0.0, shop=destination)
    # then, the retries spent, both products end failed with the reason, in history and page
    assert [row[3:] for row in _ended(connection)] == [
        ("failed", "Shopify kept failing, so this was not applied. Change the product "
                   "yourself in Shopify.")] * 2
    assert _products(emulator, destination) == {"Linen shirt": "active", "Canvas tote": "active"}
    assert SyncEvent.objects.filter(connection=connection, kind="status",
                                    result="failed").count() == 2
    page = _page(client, emulator, destination, "/sources/")
    assert 'data-warning="failed">2 not changed</span>' in page.content.decode()
