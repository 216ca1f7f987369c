import hashlib

import pytest

from products.models import ProductLink, SourceProduct, SourceVariant, VariantLink
from stores.connections import (
    ConnectionRefused,
    connection_block,
    connection_create,
    connection_disconnect,
    connection_on_link_end_set,
    connection_unblock,
)
from stores.models import Connection, ConnectionEvent, Shop
from stores.services import RoleChangeRefused, shop_role_choose, store_key_rotate
from tests.stores.factories import ConnectionFactory, DestinationFactory, SourceFactory

pytestmark = pytest.mark.django_db


def link(connection: Connection) -> ProductLink:
    product = SourceProduct.objects.create(shop=connection.source, shopify_id=1, title="Shirt")
    return ProductLink.objects.create(connection=connection, source_product=product,
                                      destination_product_id=99, origin="imported")


def test_destination_connects_with_the_source_key():
    source, destination = SourceFactory(), DestinationFactory()
    connection = connection_create(destination=destination, store_key=f"  {source.store_key} ",
                                   actor_user_id="42")
    assert (connection.source, connection.destination, connection.status) == (
        source, destination, "connected")
    event = ConnectionEvent.objects.get()
    assert (event.action, event.actor_shop, event.actor_user_id) == ("connected", destination,
                                                                     "42")


@pytest.mark.parametrize(("key", "message"), [
    ("", "Enter the source store's key."),
    ("syncer_nope", "No store has this key. Check it with the source store's owner "
                    "(keys change when they are rotated)."),
])
def test_connect_refuses_missing_or_unknown_keys(key, message):
    with pytest.raises(ConnectionRefused) as refused:
        connection_create(destination=DestinationFactory(), store_key=key)
    assert str(refused.value) == message
    assert Connection.objects.count() == 0


def test_connect_refuses_a_store_of_the_wrong_role():
    source = SourceFactory()
    other_source = SourceFactory()
    with pytest.raises(ConnectionRefused, match="Only destination stores can connect"):
        connection_create(destination=other_source, store_key=source.store_key)
    assert Connection.objects.count() == 0


def test_connect_refuses_its_own_key():
    shop = DestinationFactory(store_key="syncer_own")
    with pytest.raises(ConnectionRefused, match="This is your own store's key"):
        connection_create(destination=shop, store_key="syncer_own")


def test_connect_refuses_a_key_that_is_not_a_source():
    destination = DestinationFactory()
    lapsed = DestinationFactory(store_key="syncer_was_a_source")
    with pytest.raises(ConnectionRefused, match="not a source store"):
        connection_create(destination=destination, store_key=lapsed.store_key)


def test_connect_refuses_an_existing_connection():
    connection = ConnectionFactory()
    with pytest.raises(ConnectionRefused, match="You are already connected to"):
        connection_create(destination=connection.destination,
                          store_key=connection.source.store_key)
    assert ConnectionEvent.objects.count() == 0


def test_blocked_destination_cannot_reconnect():
    connection = ConnectionFactory(status="blocked")
    with pytest.raises(ConnectionRefused, match="has blocked your store"):
        connection_create(destination=connection.destination,
                          store_key=connection.source.store_key)
    connection.refresh_from_db()
    assert connection.status == "blocked"


def test_destination_may_follow_several_sources_and_a_source_many_destinations():
    sources = SourceFactory.create_batch(2)
    destinations = DestinationFactory.create_batch(2)
    for destination in destinations:
        for source in sources:
            connection_create(destination=destination, store_key=source.store_key)
    assert Connection.objects.filter(status="connected").count() == 4


def test_block_removes_links_and_records_it():
    connection = ConnectionFactory()
    link(connection)
    blocked = connection_block(connection=connection, actor=connection.source, actor_user_id="7")
    assert blocked.status == "blocked"
    assert blocked.blocked_at is not None
    assert ProductLink.objects.count() == 0
    event = ConnectionEvent.objects.get()
    assert (event.action, event.links_removed, event.actor_user_id) == ("blocked", 1, "7")


def test_block_counts_product_links_not_the_variant_links_removed_with_them():
    # given a synced product of three variants (the variant links go with their product link)
    connection = ConnectionFactory()
    product_link = link(connection)
    for n in range(3):
        variant = SourceVariant.objects.create(
            shop=connection.source, product=product_link.source_product, shopify_id=10 + n,
            sku=f"SKU-{n}", inventory_item_id=20 + n)
        VariantLink.objects.create(product_link=product_link, connection=connection,
                                   source_variant=variant, destination_variant_id=30 + n,
                                   destination_inventory_item_id=40 + n)
    # when the source blocks the store
    connection_block(connection=connection, actor=connection.source)
    # then its history says one product link was removed
    assert ConnectionEvent.objects.get().links_removed == 1
    assert VariantLink.objects.count() == 0


def test_only_the_source_can_block_and_not_twice():
    connection = ConnectionFactory()
    with pytest.raises(ConnectionRefused, match="Only the source store can block"):
        connection_block(connection=connection, actor=connection.destination)
    connection_block(connection=connection, actor=connection.source)
    with pytest.raises(ConnectionRefused, match="already blocked"):
        connection_block(connection=connection, actor=connection.source)
    assert ConnectionEvent.objects.count() == 1


def test_unblock_requires_a_resync_and_only_from_blocked():
    connection = ConnectionFactory()
    with pytest.raises(ConnectionRefused, match="Only a blocked store can be unblocked"):
        connection_unblock(connection=connection, actor=connection.source)
    connection_block(connection=connection, actor=connection.source)
    unblocked = connection_unblock(connection=connection, actor=connection.source)
    assert (unblocked.status, unblocked.resync_required) == ("connected", True)


def test_disconnect_is_for_the_destination_and_keeps_the_row():
    connection = ConnectionFactory()
    link(connection)
    with pytest.raises(ConnectionRefused, match="Only the destination store can disconnect"):
        connection_disconnect(connection=connection, actor=connection.source)
    disconnected = connection_disconnect(connection=connection, actor=connection.destination)
    assert disconnected.status == "disconnected"
    assert ProductLink.objects.count() == 0
    with pytest.raises(ConnectionRefused, match="Only a connected store can be disconnected"):
        connection_disconnect(connection=connection, actor=connection.destination)


def test_reconnect_with_the_key_after_disconnecting():
    connection = ConnectionFactory()
    connection_disconnect(connection=connection, actor=connection.destination)
    again = connection_create(destination=connection.destination,
                              store_key=connection.source.store_key)
    assert again.pk == connection.pk
    assert (again.status, again.resync_required) == ("connected", True)
    assert list(ConnectionEvent.objects.values_list("action", flat=True)) == [
        "reconnected", "disconnected"]


def test_key_rotation_keeps_connections_and_retires_the_old_key():
    connection = ConnectionFactory()
    old_key = connection.source.store_key
    rotated = store_key_rotate(shop=connection.source)
    connection.refresh_from_db()
    assert connection.status == "connected"
    assert rotated.store_key != old_key
    assert rotated.store_key.startswith("syncer_")
    with pytest.raises(ConnectionRefused, match="No store has this key"):
        connection_create(destination=DestinationFactory(), store_key=old_key)
    assert connection_create(destination=DestinationFactory(),
                             store_key=rotated.store_key).source == connection.source


def test_choosing_source_role_creates_a_key_and_connections_pin_the_role():
    shop = DestinationFactory(role="")
    shop = shop_role_choose(shop=shop, role="source")
    assert len(shop.store_key) == len("syncer_") + 22
    # (stored as its hash and prefix only; read back, the shop no longer knows the key)
    stored = Shop.objects.get(pk=shop.pk)
    assert (stored.store_key, stored.store_key_hash, stored.store_key_prefix) == (
        None, hashlib.sha256(shop.store_key.encode()).hexdigest(), shop.store_key[:11])
    # (choosing the role again keeps the key)
    assert shop_role_choose(shop=stored, role="source").store_key_hash == stored.store_key_hash
    connection_create(destination=DestinationFactory(), store_key=shop.store_key)
    with pytest.raises(RoleChangeRefused, match="has connections"):
        shop_role_choose(shop=shop, role="destination")
    assert Shop.objects.get(pk=shop.pk).role == "source"


def test_only_the_destination_chooses_what_happens_when_its_links_end():
    # given a connection with the default choice
    connection = ConnectionFactory()
    assert connection.on_link_end == "zero"
    # when the source tries to choose, or the destination picks an unknown choice
    with pytest.raises(ConnectionRefused, match="Only the destination store chooses this."):
        connection_on_link_end_set(connection=connection, actor=connection.source, choice="keep")
    with pytest.raises(ConnectionRefused, match="Choose what happens to your products"):
        connection_on_link_end_set(connection=connection, actor=connection.destination,
                                   choice="burn")
    # then nothing changed; the destination's own choice is saved
    connection.refresh_from_db()
    assert connection.on_link_end == "zero"
    connection_on_link_end_set(connection=connection, actor=connection.destination,
                               choice="delete")
    connection.refresh_from_db()
    assert connection.on_link_end == "delete"
