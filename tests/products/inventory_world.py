"""A source and destinations in the emulator with the same SKUs, installed in Syncer, connected,
and linked variant by variant (what import or map-by-SKU leaves behind)."""

import time
from dataclasses import dataclass, field

from django.utils import timezone

from products.models import ProductLink, SourceProduct, SourceVariant, VariantLink
from stores.connections import connection_create
from stores.models import Shop
from stores.services import shop_role_choose
from webhooks.models import WebhookDelivery

CATALOGUE = [
    ("Linen shirt", [("SHIRT-S", 10), ("SHIRT-M", 8)]),
    ("Canvas tote", [("TOTE-1", 25)]),
]


@dataclass
class World:
    emulator: object
    source: str
    destinations: list[str]
    # sku -> {shop domain -> (variant id, inventory item id)}
    items: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)

    def level(self, shop: str, sku: str) -> int:
        return self.levels(shop)[sku]

    def levels(self, shop: str) -> dict[str, int]:
        """Available at the shop's primary location, per SKU (one snapshot, orders left out)."""
        snapshot = self.emulator.shop(shop, orders=False)
        primary = snapshot["primary_location_id"]
        by_item = {level["inventory_item_id"]: level["available"]
                   for level in snapshot["inventory_levels"] if level["location_id"] == primary}
        return {sku: by_item[shops[shop][1]] for sku, shops in self.items.items()}


def build(emulator, *, destinations: int = 2, catalogue=CATALOGUE, plan: str = "standard",
          destination_stock: int = 0) -> World:
    source = "src.myshopify.com"
    dests = [f"dst-{n}.myshopify.com" for n in range(1, destinations + 1)]
    world = World(emulator=emulator, source=source, destinations=dests)
    for domain in (source, *dests):
        emulator.shop_create(domain, plan=plan)
        emulator.install(domain)
    source_shop = shop_role_choose(shop=Shop.objects.get(domain=source), role="source")
    for domain in dests:
        shop = shop_role_choose(shop=Shop.objects.get(domain=domain), role="destination")
        connection_create(destination=shop, store_key=source_shop.store_key)
    for title, variants in catalogue:
        emulator.product_create(source, title=title, vendor="Acme", variants=[
            {"sku": sku, "price": "10.00", "available": stock} for sku, stock in variants])
        for domain in dests:
            emulator.product_create(domain, title=title, vendor="Acme", variants=[
                {"sku": sku, "price": "10.00", "available": destination_stock}
                for sku, _ in variants])
    for domain in (source, *dests):
        for product in emulator.shop(domain)["products"]:
            for variant in product["variants"]:
                world.items.setdefault(variant["sku"], {})[domain] = (
                    variant["id"], variant["inventory_item_id"])
    # Let the catalogue mirror take in the products/create webhooks before we link.
    emulator.flush_webhooks()
    _webhooks_settle()
    _link(world, source_shop)
    return world


def _webhooks_settle(timeout: float = 60.0) -> None:
    """With real workers the mirror writes the same rows we are about to link: let it finish
    first (eager Celery has finished already)."""
    deadline = time.monotonic() + timeout
    open_statuses = [WebhookDelivery.Status.RECEIVED, WebhookDelivery.Status.PROCESSING]
    while WebhookDelivery.objects.filter(status__in=open_statuses).exists():
        if time.monotonic() > deadline:
            raise AssertionError("products webhooks were not processed in time")
        time.sleep(0.2)


def _link(world: World, source_shop: Shop) -> None:
    snapshot = world.emulator.shop(world.source)
    for product in snapshot["products"]:
        # The catalogue mirror may already have these from products/create webhooks.
        mirror, _ = SourceProduct.objects.update_or_create(
            shop=source_shop, shopify_id=product["id"], defaults={"title": product["title"]})
        for variant in product["variants"]:
            SourceVariant.objects.update_or_create(
                shop=source_shop, shopify_id=variant["id"],
                defaults={"product": mirror, "sku": variant["sku"],
                          "inventory_item_id": variant["inventory_item_id"]})
    for domain in world.destinations:
        destination = Shop.objects.get(domain=domain)
        connection = destination.connections_as_destination.get()
        dest_products = {p["title"]: p for p in world.emulator.shop(domain)["products"]}
        for mirror in SourceProduct.objects.filter(shop=source_shop):
            product_link = ProductLink.objects.create(
                connection=connection, source_product=mirror, origin="mapped",
                destination_product_id=dest_products[mirror.title]["id"])
            for variant in mirror.variants.all():
                dest_variant, dest_item = world.items[variant.sku][domain]
                VariantLink.objects.create(
                    product_link=product_link, connection=connection, source_variant=variant,
                    destination_variant_id=dest_variant, destination_inventory_item_id=dest_item,
                    last_written_quantity=None, last_written_at=timezone.now())


def source_adjust(world: World, sku: str, *, delta: int | None = None,
                  available: int | None = None) -> None:
    body = {"sku": sku}
    body.update({"delta": delta} if delta is not None else {"available": available})
    world.emulator._json("POST", f"/_emulator/shops/{world.source}/inventory", json=body)
