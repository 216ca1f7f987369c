"""Demo orders for `make run`: a few destination orders in every tab of Orders, one of them
fulfilled by the source with tracking. Everything goes the real way: the emulator's merchant
actions (checkout, cancel, fulfil) send webhooks, Syncer mirrors and pushes. Idempotent.

    from orders.demo import orders_demo_seed
    orders_demo_seed(control=lambda method, path, body=None: client.request(
        method, path, json=body).raise_for_status().json(),
        destination_domain="demo-dest-1.myshopify.com")

It needs linked products (the products app's import or map) between the destination and at
least one source. For the Partially pushed tab it needs two sources; when the destination
follows only one, `second_source_domain` is created, installed, connected and given one linked
product (demo only: the links are written straight to the catalogue tables).
"""

import time
from collections.abc import Callable
from decimal import Decimal

from django.utils import timezone

from orders.models import DestinationOrder, OrderFulfillment, OrderPush, OrderSettings
from orders.selectors import order_tab_counts
from orders.services import order_push_request, order_settings_get_or_create
from products.models import ProductLink, SourceVariant, VariantLink
from stores.models import Connection, Shop

Control = Callable[..., dict]
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


def _linked_skus(control: Control, destination: Shop) -> dict[int, list[str]]:
    """Source shop id → destination SKUs of variants linked to it."""
    snapshot = control("GET", f"/_emulator/shops/{destination.domain}")
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


def _product_ensure(control: Control, *, domain: str, spec: dict) -> dict:
    """The shop's product titled spec["title"], created once: a seed that stopped half-way and
    runs again must not sell a second product under the same SKU."""
    for product in control("GET", f"/_emulator/shops/{domain}?orders=0")["products"]:
        if product["title"] == spec["title"]:
            return product
    return control("POST", f"/_emulator/shops/{domain}/products", spec)


def _source_variant_wait(*, shop: Shop, shopify_id: int, timeout: float = 60.0
                         ) -> SourceVariant:
    deadline = time.monotonic() + timeout
    while True:
        variant = (SourceVariant.objects.select_related("product")
                   .filter(shop=shop, shopify_id=shopify_id).first())
        if variant is not None:
            return variant
        if time.monotonic() > deadline:
            raise DemoSeedError(f"{shop.domain}'s new product did not reach Syncer's catalogue "
                                f"within {timeout:.0f} s: is the worker running?")
        time.sleep(0.2)


def _second_source(control: Control, destination: Shop, domain: str) -> None:
    from stores.connections import connection_create
    from stores.services import shop_role_choose

    if domain not in {shop["domain"] for shop in control("GET", "/_emulator/shops")["shops"]}:
        control("POST", "/_emulator/shops", {"domain": domain, "name": "Demo Source 2",
                                             "plan": "standard"})
    Shop.objects.filter(domain=domain).update(access_token="", refresh_token="")
    control("POST", f"/_emulator/shops/{domain}/install")
    source = shop_role_choose(shop=Shop.objects.get(domain=domain), role=Shop.Role.SOURCE)
    connection = Connection.objects.filter(source=source, destination=destination).first()
    if connection is None:
        connection = connection_create(destination=destination, store_key=source.store_key)
    spec = {"title": "Stoneware mug", "vendor": "Demo Source 2",
            "variants": [{"sku": "DEMO2-MUG", "price": "14.00", "available": 40}]}
    made = _product_ensure(control, domain=domain, spec=spec)
    twin = _product_ensure(control, domain=destination.domain, spec=spec)
    control("POST", "/_emulator/webhooks/flush", {"timeout": 30})
    # The source's catalogue rows are the products/create handler's to write (the worker runs
    # it as the webhook arrives); writing them here too raced it into a deadlock.
    source_variant = _source_variant_wait(shop=source, shopify_id=made["variants"][0]["id"])
    link, _ = ProductLink.objects.get_or_create(
        connection=connection, source_product=source_variant.product,
        defaults={"destination_product_id": twin["id"], "origin": ProductLink.Origin.IMPORTED})
    VariantLink.objects.get_or_create(connection=connection, source_variant=source_variant,
                                      defaults={
                                          "product_link": link,
                                          "destination_variant_id": twin["variants"][0]["id"],
                                          "destination_inventory_item_id":
                                              twin["variants"][0]["inventory_item_id"]})


def orders_demo_seed(*, control: Control, destination_domain: str,
                     second_source_domain: str | None = "demo-source-2.myshopify.com"
                     ) -> dict[str, int]:
    """Seeds the destination's Orders; returns the tab counts. `control(method, path, body)`
    calls the emulator's control API and returns its JSON."""
    destination = Shop.objects.get(domain=destination_domain)
    if DestinationOrder.objects.filter(shop=destination, tags__contains=[DEMO_TAG]).exists():
        return order_tab_counts(shop=destination)
    skus = _linked_skus(control, destination)
    if len(skus) < 2 and second_source_domain:
        _second_source(control, destination, second_source_domain)
        skus = _linked_skus(control, destination)
    if not skus:
        raise DemoSeedError(f"{destination_domain} has no linked products: import or map some "
                            "before seeding orders.")
    settings = order_settings_get_or_create(shop=destination)
    OrderSettings.objects.filter(pk=settings.pk).update(auto_push=False)
    source_ids = list(skus)
    customers = iter(CUSTOMERS * 2)

    def sell(lines: dict[str, int], **extra) -> DestinationOrder:
        first, last, street, city, postcode, country = next(customers)
        email = f"{first.lower()}@example.com"
        created = control("POST", f"/_emulator/shops/{destination_domain}/orders", {
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
    control("POST", f"/_emulator/shops/{fulfilled.source.domain}/orders/"
                    f"{fulfilled.source_order_id}/fulfill",
            {"tracking_company": "UPS", "tracking_number": "1Z999AA10123456784",
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
    control("POST", f"/_emulator/shops/{destination_domain}/orders/{cancelled.shopify_id}/cancel",
            {"restock": True})
    _wait("the cancellation", lambda: DestinationOrder.objects.filter(
        pk=cancelled.pk, cancelled_at__lte=timezone.now()).exists())
    return order_tab_counts(shop=destination)
