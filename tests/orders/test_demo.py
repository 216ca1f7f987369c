"""The demo seeding `make run` calls: every tab of Orders gets orders, one is fulfilled with
tracking, and running it again adds nothing."""

import pytest

from demo.orders import orders_demo_seed
from orders.models import OrderFulfillment
from stores.connections import connection_create
from stores.models import Shop
from stores.services import shop_role_choose
from tests.orders.factories import link_product
from tests.stores.factories import subscription_active

pytestmark = pytest.mark.django_db(transaction=True)

SOURCE = "demo-source.myshopify.com"
DEST = "demo-dest-1.myshopify.com"


def test_demo_orders_fill_every_tab(emulator):
    for domain, name in ((SOURCE, "Demo Source"), (DEST, "Demo Dest 1")):
        emulator.shop_create(domain, name=name)
        emulator.install(domain)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role="source")
    destination = shop_role_choose(shop=Shop.objects.get(domain=DEST), role="destination")
    subscription_active(destination)  # pushing is the Orders add-on (the demo's plan has it)
    connection = connection_create(destination=destination, store_key=source.store_key)
    link_product(emulator, connection=connection, title="Linen shirt",
                 variants=[("SHIRT-S", "30.00", 50), ("SHIRT-M", "30.00", 50)])

    counts = orders_demo_seed(emulator_url=emulator.url, destination_domain=DEST)
    assert counts == {"not_pushed": 2, "pushed": 2, "partial": 1, "cancelled": 1}
    synced = OrderFulfillment.objects.get(status=OrderFulfillment.Status.SYNCED)
    assert synced.tracking_number == "1Z999AA10123456784"
    assert orders_demo_seed(emulator_url=emulator.url, destination_domain=DEST) == counts
