"""Demo orders for `make run`: a few destination orders in every tab of Orders, one of them
fulfilled by the source with tracking. Everything goes the real way: the emulator's merchant
actions (checkout, cancel, fulfil) send webhooks, Syncer mirrors and pushes. Idempotent.

    from demo.orders import orders_demo_seed
    orders_demo_seed(emulator_url="http://127.0.0.1:8765",
                     destination_domain="demo-dest-1.myshopify.com")

It needs linked products (the products app's import or map) between the destination and at
least one source. For the Partially pushed tab it needs two sources; when the destination
follows only one, `second_source_domain` is created, installed, connected and given one product
the destination also sells, which it then links by SKU as a merchant would on the Map page.
"""

import time
from collections.abc import Callable
from decimal import Decimal

from django.utils import timezone

from demo.catalogue import sku_map_run
from demo.emulator import EmulatorControl
from orders.models import DestinationOrder, OrderFulfillment, OrderPush
from orders.selectors import order_tab_counts
from orders.services import order_auto_push_set, order_push_request
from products.models import VariantLink
from products.selectors import catalogue_for_destination
from stores.connections import connection_create
from stores.models import Connection, Shop
from stores.selectors import connection_between, connection_synced_product_count, shop_for_domain
from stores.services import shop_role_choose, shop_tokens_forget, store_key_rotate

DEMO_TAG = "syncer-demo"
CUSTOMERS = [
    ("Ada", "Lovelace", "12 Analytical Row", "London", "N1 7AA", "GB"),
    ("Grace", "Hopper", "1 Navy Way", "Arlington", "22202", "US"),
    ("Alan", "Turing", "7 Bletchley Lane", "Milton Keynes", "MK3 6EB", "GB"),
    ("Katherine", "Johnson", "3 Langley Road", "Hampton", "23681", "US"),
    ("Hedy", "Lamarr", "21 Mandl Strasse", "Vienna", "1010", "AT"),
    ("Edsger", "Dijkstra", "5 Keizersgracht", "Amsterdam", "1015 CJ", "NL"),
]


class DemoSeedError(Exception):
    pass


def _wait(what: str, check: Callable[[], object], timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise DemoSeedError(f"Timed out waiting for {what}; is the worker running?")


def _linked_skus(emulator: EmulatorControl, destination: Shop) -> dict[int, list[str]]:
    """Source shop id → destination SKUs of variants linked to it."""
    snapshot = emulator.shop(destination.domain, orders=False)
    sku_of = {variant["id"]: variant["sku"] for product in snapshot["products"]
              for variant in product["variants"] if variant.get("sku")}
    found: dict[int, list[str]] = {}
    for source_id, variant_id in VariantLink.objects.filter(
            connection__destination=destination,
            connection__status=Connection.Status.CONNECTED,
    ).order_by("pk").values_list("connection__source_id", "destination_variant_id"):
        if variant_id in sku_of:
            found.setdefault(source_id, []).append(sku_of[variant_id])
    return found


def _product_ensure(emulator: EmulatorControl, *, domain: str, spec: dict) -> dict:
    """The shop's product titled spec["title"], created once: a seed that stopped half-way and
    runs again must not sell a second product under the same SKU."""
    for product in emulator.shop(domain, orders=False)["products"]:
        if product["title"] == spec["title"]:
            return product
    return emulator.product_create(domain, spec)


def _source_product_wait(*, connection: Connection, shopify_id: int,
                         timeout: float = 60.0) -> None:
    """Until the source's new product is in Syncer's catalogue, as the destination sees it."""
    deadline = time.monotonic() + timeout
    while not catalogue_for_destination(connection=connection).filter(
            shopify_id=shopify_id).exists():
        if time.monotonic() > deadline:
            raise DemoSeedError(f"{connection.source.domain}'s new product did not reach "
                                f"Syncer's catalogue within {timeout:.0f} s: is the worker "
                                "running?")
        time.sleep(0.2)


def _second_source(emulator: EmulatorControl, destination: Shop, domain: str) -> None:
    if domain not in {shop["domain"] for shop in emulator.shops()}:
        emulator.shop_create(domain, name="Demo Source 2", plan="standard")
    shop_tokens_forget(shop_domain=domain)
    emulator.install(domain)
    source = shop_role_choose(shop=shop_for_domain(domain=domain), role=Shop.Role.SOURCE)
    connection = connection_between(source=source, destination=destination)
    if connection is None:
        # (only a key just made is known in full; else the source gets a new one)
        store_key = source.store_key or store_key_rotate(shop=source).store_key
        connection = connection_create(destination=destination, store_key=store_key or "")
    spec = {"title": "Stoneware mug", "vendor": "Demo Source 2",
            "variants": [{"sku": "DEMO2-MUG", "price": "14.00", "available": 40}]}
    made = _product_ensure(emulator, domain=domain, spec=spec)
    _product_ensure(emulator, domain=destination.domain, spec=spec)
    emulator.webhooks_flush(timeout=30)
    # The source's catalogue rows are the products/create handler's to write (the worker runs
    # it as the webhook arrives); loading the catalogue here too raced it into a deadlock.
    _source_product_wait(connection=connection, shopify_id=made["id"])
    if not connection_synced_product_count(connection=connection):
        mapped = sku_map_run(connection=connection, timeout=120.0)
        if not connection_synced_product_count(connection=connection):
            raise DemoSeedError(f"Linking {domain}'s mug by SKU failed: {mapped}")


def orders_demo_seed(*, emulator_url: str, destination_domain: str,
                     second_source_domain: str | None = "demo-source-2.myshopify.com"
                     ) -> dict[str, int]:
    """Seeds the destination's Orders; returns the tab counts. `emulator_url` is the running
    emulator's, whose control API the demo drives."""
    with EmulatorControl(emulator_url) as emulator:
        return _orders_seed(emulator, destination_domain=destination_domain,
                            second_source_domain=second_source_domain)


def _orders_seed(emulator: EmulatorControl, *, destination_domain: str,
                 second_source_domain: str | None) -> dict[str, int]:
    destination = shop_for_domain(domain=destination_domain)
    if destination is None:
        raise DemoSeedError(f"{destination_domain} is not installed in Syncer.")
    if DestinationOrder.objects.filter(shop=destination, tags__contains=[DEMO_TAG]).exists():
        return order_tab_counts(shop=destination)
    skus = _linked_skus(emulator, destination)
    if len(skus) < 2 and second_source_domain:
        _second_source(emulator, destination, second_source_domain)
        skus = _linked_skus(emulator, destination)
    if not skus:
        raise DemoSeedError(f"{destination_domain} has no linked products: import or map some "
                            "before seeding orders.")
    order_auto_push_set(shop=destination, enabled=False)
    source_ids = list(skus)
    customers = iter(CUSTOMERS * 2)

    def sell(lines: dict[str, int], **extra) -> DestinationOrder:
        first, last, street, city, postcode, country = next(customers)
        email = f"{first.lower()}@example.com"
        created = emulator.order_create(destination_domain, {
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines.items()],
            "customer": {"first_name": first, "last_name": last, "email": email},
            "email": email, "tags": [DEMO_TAG],
            "shipping_address": {"first_name": first, "last_name": last, "address1": street,
                                 "city": city, "zip": postcode, "country_code": country},
            **extra})
        return _wait(f"order {created['name']} to be mirrored", lambda: DestinationOrder.objects
                     .filter(shop=destination, shopify_id=created["id"]).first())

    def push(order: DestinationOrder, source_id: int | None = None) -> list[OrderPush]:
        order_push_request(order=order, source_ids=[source_id] if source_id else None,
                           shipping_fee=Decimal("4.90"))
        wanted = 1 if source_id else order.lines.filter(source__isnull=False).values(
            "source_id").distinct().count()
        return _wait(f"{order.name} to be pushed", lambda: list(order.pushes.filter(
            status=OrderPush.Status.PUSHED)) if order.pushes.filter(
            status=OrderPush.Status.PUSHED).count() >= wanted else None)

    main = skus[source_ids[0]]
    # Not pushed: one ready to push, one waiting for payment.
    sell({main[0]: 2})
    sell({main[-1]: 1}, financial_status="pending")
    # Pushed, and fulfilled by the source with tracking (which comes back here).
    (fulfilled,) = push(sell({main[0]: 1, main[-1]: 1}))
    emulator.order_fulfill(fulfilled.source.domain, fulfilled.source_order_id, {
        "tracking_company": "UPS", "tracking_number": "1Z999AA10123456784",
        "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784"})
    _wait("the fulfilment to reach the destination", lambda: OrderFulfillment.objects.filter(
        push=fulfilled, status=OrderFulfillment.Status.SYNCED).exists())
    # Pushed, not shipped yet.
    push(sell({main[0]: 3}))
    # Partially pushed: items from two sources, pushed to the first only.
    if len(source_ids) > 1:
        push(sell({main[0]: 1, skus[source_ids[1]][0]: 2}), source_ids[0])
    # Cancelled before it was pushed.
    cancelled = sell({main[-1]: 1})
    emulator.order_cancel(destination_domain, cancelled.shopify_id, restock=True)
    _wait("the cancellation", lambda: DestinationOrder.objects.filter(
        pk=cancelled.pk, cancelled_at__lte=timezone.now()).exists())
    return order_tab_counts(shop=destination)
