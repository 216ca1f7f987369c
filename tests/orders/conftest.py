from dataclasses import dataclass

import pytest

from orders.models import DestinationOrder
from stores.auth import shop_csrf_token
from stores.connections import connection_create
from stores.models import Connection, Shop
from stores.services import shop_role_choose
from tests.orders.factories import link_product
from tests.stores.factories import subscription_active

SOURCE = "orders-source.myshopify.com"
SOURCE_2 = "orders-source-two.myshopify.com"
DEST = "orders-dest.myshopify.com"

CUSTOMER = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
ADDRESS = {"first_name": "Ada", "last_name": "Lovelace", "address1": "12 Analytical Row",
           "city": "London", "zip": "N1 7AA", "country": "United Kingdom",
           "country_code": "GB", "phone": "+44 20 7946 0000"}


@dataclass
class OrdersWorld:
    """Two sources and a destination, installed, connected, with linked products:
    SHIRT-S / SHIRT-M (30.00, from the first source), MUG-1 (12.00, from the second) and
    LOCAL-1 (20.00, the destination's own, not synced)."""

    emulator: object
    client: object
    source: Shop
    source_2: Shop
    destination: Shop
    connection: Connection
    connection_2: Connection

    def headers(self, domain: str = DEST) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.emulator.session_token(domain)}",
                "HX-Request": "true",
                "X-CSRFToken": shop_csrf_token(shop_domain=domain, user_id="1")}

    def sell(self, lines: dict[str, int], **order) -> dict:
        """A checkout on the destination; waits for its webhooks to be handled."""
        order.setdefault("customer", CUSTOMER)
        order.setdefault("shipping_address", ADDRESS)
        order.setdefault("email", CUSTOMER["email"])
        created = self.emulator.order_create(
            DEST, lines=[{"sku": sku, "quantity": qty} for sku, qty in lines.items()], **order)
        self.emulator.flush_webhooks()
        return created

    def mirrored(self, rest_order: dict) -> DestinationOrder:
        return DestinationOrder.objects.get(shop=self.destination, shopify_id=rest_order["id"])

    def orders_of(self, domain: str) -> list[dict]:
        return self.emulator.shop(domain)["orders"]

    def levels(self, domain: str) -> dict[str, int]:
        return {level["sku"]: level["available"]
                for level in self.emulator.shop(domain)["inventory_levels"]}


@pytest.fixture
def world(client, emulator) -> OrdersWorld:
    shops = {}
    for domain, name, role in ((SOURCE, "Demo Source", "source"),
                               (SOURCE_2, "Second Source", "source"),
                               (DEST, "Demo Dest One", "destination")):
        emulator.shop_create(domain, name=name)
        emulator.install(domain)
        shops[domain] = shop_role_choose(shop=Shop.objects.get(domain=domain), role=role)
    # Order push is the Orders add-on: this store has it (tests of its absence remove it).
    subscription_active(shops[DEST])
    connection = connection_create(destination=shops[DEST], store_key=shops[SOURCE].store_key)
    connection_2 = connection_create(destination=shops[DEST],
                                     store_key=shops[SOURCE_2].store_key)
    link_product(emulator, connection=connection, title="Linen shirt",
                 variants=[("SHIRT-S", "30.00", 10), ("SHIRT-M", "30.00", 10)])
    link_product(emulator, connection=connection_2, title="Stoneware mug",
                 variants=[("MUG-1", "12.00", 20)])
    emulator.product_create(DEST, title="Gift card wrap", vendor="Dest",
                            variants=[{"sku": "LOCAL-1", "price": "20.00", "available": 50}])
    emulator.flush_webhooks()
    return OrdersWorld(emulator=emulator, client=client, source=shops[SOURCE],
                       source_2=shops[SOURCE_2], destination=shops[DEST],
                       connection=connection, connection_2=connection_2)
