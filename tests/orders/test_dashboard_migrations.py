"""products/0012_destination_sale and orders/0007_dashboard_sales_and_all_time (issue 23): the
sale effects recorded before become sales when their order is paid, and the old roll-ups (whose
products were pushed lines) are thrown away, to be built afresh on the next view."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection as db
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from products.models import DestinationSale

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("products", "0011_sync_event_lean_writes"),
          ("orders", "0006_order_settings_partial_push")]


def migrate(targets):
    MigrationExecutor(db).migrate(targets)
    return MigrationExecutor(db).loader.project_state(targets).apps


def test_paid_sale_effects_become_sales_and_the_roll_ups_are_rebuilt():
    old = migrate(BEFORE)
    shop = old.get_model("stores", "Shop")
    model = {name: old.get_model(app, name) for app, name in (
        ("products", "SourceProduct"), ("products", "SourceVariant"),
        ("products", "InventoryEffect"), ("orders", "DestinationOrder"),
        ("orders", "SourceDayStat"), ("orders", "SourceStatsClosed"))}
    try:
        # given a source, a store, a variant priced 12.50 at the source
        source = shop.objects.create(domain="old-source.myshopify.com", role="source")
        store = shop.objects.create(domain="old-store.myshopify.com", role="destination")
        product = model["SourceProduct"].objects.create(shop=source, shopify_id=1, title="Mug")
        model["SourceVariant"].objects.create(product=product, shop=source, shopify_id=11,
                                              inventory_item_id=21, price=Decimal("12.50"))
        # and the sale effects of three orders: paid, partly refunded since, still pending
        made = timezone.now() - timedelta(days=3)
        for order_id, status, quantity in ((101, "paid", 2), (102, "partially_refunded", 1),
                                           (103, "pending", 5)):
            model["DestinationOrder"].objects.create(
                shop=store, shopify_id=order_id, name=f"#{order_id}", processed_at=made,
                financial_status=status)
            effect = model["InventoryEffect"].objects.create(
                destination=store, source=source, kind="sale", key=str(order_id * 10),
                order_id=order_id, line_item_id=order_id * 10, inventory_item_id=21,
                location_id=1, delta=-quantity, idempotency_key=f"k-{order_id}",
                status="applied")
            model["InventoryEffect"].objects.filter(pk=effect.pk).update(created_at=made)
        # and a restock (not a sale), and roll-ups built the old way
        model["InventoryEffect"].objects.create(
            destination=store, source=source, kind="restock", key="9", order_id=101,
            line_item_id=1010, inventory_item_id=21, location_id=1, delta=1,
            idempotency_key="k-r")
        model["SourceDayStat"].objects.create(source=source, zone="UTC", day=made.date(),
                                              orders=1, revenue=Decimal("5.00"))
        model["SourceStatsClosed"].objects.create(source=source, zone="UTC",
                                                  closed_through=made.date())
    finally:
        # when the migrations run
        migrate(MigrationExecutor(db).loader.graph.leaf_nodes())
    # then the paid lines are sales at the source's price, on the day of their effect; the
    # pending one is not
    assert list(DestinationSale.objects.order_by("order_id").values_list(
        "order_id", "line_item_id", "source_variant_id", "quantity", "price", "sold_at")) == [
        (101, 1010, 11, 2, Decimal("12.50"), made),
        (102, 1020, 11, 1, Decimal("12.50"), made)]
    # and no roll-up is left: the next view builds them
    with db.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM orders_sourcedaystat),"
                       " (SELECT count(*) FROM orders_sourcestatsclosed)")
        assert cursor.fetchone() == (0, 0)


def test_the_day_roll_ups_without_sales_are_thrown_away_to_be_rebuilt():
    # (orders/0008_source_day_stat_sales: the stores' day rows gain their units and sales)
    old = migrate([("orders", "0007_dashboard_sales_and_all_time")])
    shop = old.get_model("stores", "Shop")
    try:
        # given a source's day rows and state, built before the day rows had sales
        source = shop.objects.create(domain="day-source.myshopify.com", role="source")
        store = shop.objects.create(domain="day-store.myshopify.com", role="destination")
        day = timezone.now().date() - timedelta(days=2)
        for destination in (store, None):
            old.get_model("orders", "SourceDayStat").objects.create(
                source=source, destination=destination, zone="UTC", day=day, orders=1,
                revenue=Decimal("5.00"))
        old.get_model("orders", "SourceStatsClosed").objects.create(
            source=source, zone="UTC", closed_through=day, first_day=day)
    finally:
        # when the migrations run
        migrate(MigrationExecutor(db).loader.graph.leaf_nodes())
    # then nothing of them is left (they would read as no sales): the next view builds them,
    # and a day row written without its sales has none
    with db.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM orders_sourcedaystat),"
                       " (SELECT count(*) FROM orders_sourcestatsclosed)")
        assert cursor.fetchone() == (0, 0)
        cursor.execute("INSERT INTO orders_sourcedaystat (source_id, zone, day, orders, revenue)"
                       " SELECT id, 'UTC', %s, 1, 5.00 FROM stores_shop"
                       " WHERE domain = 'day-source.myshopify.com'"
                       " RETURNING units, sales", [day])
        assert cursor.fetchone() == (0, Decimal("0.00"))
