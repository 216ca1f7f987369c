"""stores/migrations/0003_store_key_hash.py: keys stored in plain text before it are hashed,
the plain column goes, and destinations still connect with the key they were given."""

import hashlib

import pytest
from django.db import connection as db
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from stores.connections import connection_create
from stores.models import Shop

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("stores", "0002_shop_iana_timezone")]
AFTER = [("stores", "0003_store_key_hash")]
OLD_KEY = "syncer_Pl41nT3xtK3yFr0mB3f0"


def migrate(targets):
    executor = MigrationExecutor(db)
    executor.migrate(targets)
    return MigrationExecutor(db).loader.project_state(targets).apps


def shop_columns() -> set[str]:
    with db.cursor() as cursor:
        return {column.name for column in db.introspection.get_table_description(
            cursor, "stores_shop")}


def test_plain_keys_are_hashed_and_the_plain_column_is_dropped():
    # given a source whose key was stored in plain text, and a destination
    old = migrate(BEFORE)
    old_shop = old.get_model("stores", "Shop")
    installed = timezone.now()
    old_shop.objects.create(domain="old-source.myshopify.com", role="source", store_key=OLD_KEY,
                            installed_at=installed)
    old_shop.objects.create(domain="old-dest.myshopify.com", role="destination",
                            installed_at=installed)
    try:
        # when the migration runs
        migrate(AFTER)
        # then the key is kept as its hash and prefix only
        assert "store_key" not in shop_columns()
        with db.cursor() as cursor:
            cursor.execute("SELECT domain, store_key_hash, store_key_prefix FROM stores_shop "
                           "ORDER BY domain")
            rows = cursor.fetchall()
        assert rows == [("old-dest.myshopify.com", None, ""),
                        ("old-source.myshopify.com", hashlib.sha256(OLD_KEY.encode()).hexdigest(),
                         "syncer_Pl41")]
    finally:
        migrate(MigrationExecutor(db).loader.graph.leaf_nodes())
    # and the destination connects with the key it was given before
    connection = connection_create(destination=Shop.objects.get(domain="old-dest.myshopify.com"),
                                   store_key=OLD_KEY)
    assert connection.source.domain == "old-source.myshopify.com"
