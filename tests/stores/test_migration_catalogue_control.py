"""stores/migrations/0006_catalogue_control.py: the price and publish-status switches become
the "Sync" choice of those fields, so an existing destination's products keep following what
they followed before (issue 20: "defaults match today's behaviour"), and nothing else does."""

import pytest
from django.db import connection as db
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from products.field_sync import SYNC, field_choices
from stores.models import Connection

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("stores", "0005_shop_money_format")]
AFTER = [("stores", "0006_catalogue_control")]


def migrate(targets):
    executor = MigrationExecutor(db)
    executor.migrate(targets)
    return MigrationExecutor(db).loader.project_state(targets).apps


def test_the_switches_become_the_sync_choice_of_their_fields():
    # given, before the migration, a source and three destinations: prices on, publish status
    # on, and neither
    old = migrate(BEFORE)
    shop, connection = old.get_model("stores", "Shop"), old.get_model("stores", "Connection")
    now = timezone.now()
    source = shop.objects.create(domain="old-source.myshopify.com", role="source",
                                 installed_at=now)
    switches = {"old-prices": (True, False), "old-status": (False, True),
                "old-neither": (False, False)}
    for name, (price, status) in switches.items():
        connection.objects.create(
            source=source, destination=shop.objects.create(
                domain=f"{name}.myshopify.com", role="destination", installed_at=now),
            sync_price=price, sync_publish_status=status, connected_at=now)
    try:
        # when the migration runs
        migrate(AFTER)
    finally:
        migrate(MigrationExecutor(db).loader.graph.leaf_nodes())
    # then each follows what it followed: prices (and compare-at prices), or the status;
    # every other field keeps its default
    synced = {c.destination.domain.split(".")[0]: sorted(
        name for name, choice in field_choices(connection=c).items() if choice == SYNC)
        for c in Connection.objects.select_related("destination")}
    assert synced == {"old-prices": ["compare_at", "price"], "old-status": ["status"],
                      "old-neither": []}
    # and no price rule came with it
    assert set(Connection.objects.values_list(
        "price_markup_percent", "price_markup_fixed", "price_rounding", "currency_rate",
        "compare_at_rule")) == {(0, 0, "none", None, "copy")}
