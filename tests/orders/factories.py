"""Linked products without the products app's import code: the same SKUs in a source and a
destination emulator shop, the source's catalogue mirror rows, and the links between them."""

from dataclasses import dataclass
from decimal import Decimal

import factory
from django.utils import timezone

from orders.models import DestinationOrder, OrderLine
from products.models import ProductLink, SourceProduct, SourceVariant, VariantLink
from stores.models import Connection
from tests.stores.factories import DestinationFactory


@dataclass
class LinkedVariant:
    sku: str
    source_variant: SourceVariant
    destination_variant_id: int
    destination_inventory_item_id: int


def link_product(emulator, *, connection: Connection, title: str,
                 variants: list[tuple[str, str, int]]) -> dict[str, LinkedVariant]:
    """`variants`: (sku, price, available). Creates the product in both emulator shops (the
    destination's copy at the same price and stock) and links it for `connection`."""
    spec = [{"sku": sku, "price": price, "available": available}
            for sku, price, available in variants]
    source = emulator.product_create(connection.source.domain, title=title, vendor="Acme",
                                     variants=spec)
    destination = emulator.product_create(connection.destination.domain, title=title,
                                          vendor="Acme", variants=spec)
    # The products app may mirror the source's products/create itself: let it finish, then
    # make sure the rows are there either way.
    emulator.flush_webhooks()
    source_product, _ = SourceProduct.objects.get_or_create(
        shop=connection.source, shopify_id=source["id"],
        defaults={"title": title, "vendor": "Acme"})
    product_link, _ = ProductLink.objects.get_or_create(
        connection=connection, source_product=source_product,
        defaults={"destination_product_id": destination["id"],
                  "origin": ProductLink.Origin.IMPORTED})
    by_sku = {variant["sku"]: variant for variant in destination["variants"]}
    linked = {}
    for variant in source["variants"]:
        source_variant, _ = SourceVariant.objects.update_or_create(
            shop=connection.source, shopify_id=variant["id"], defaults={
                "product": source_product, "inventory_item_id": variant["inventory_item_id"],
                "title": variant.get("title") or "", "sku": variant["sku"],
                "price": Decimal(str(variant["price"]))})
        twin = by_sku[variant["sku"]]
        VariantLink.objects.get_or_create(
            connection=connection, source_variant=source_variant, defaults={
                "product_link": product_link, "destination_variant_id": twin["id"],
                "destination_inventory_item_id": twin["inventory_item_id"]})
        linked[variant["sku"]] = LinkedVariant(variant["sku"], source_variant, twin["id"],
                                               twin["inventory_item_id"])
    return linked


class DestinationOrderFactory(factory.django.DjangoModelFactory):
    """A mirrored order straight in the database, for list and isolation tests."""

    class Meta:
        model = DestinationOrder

    shop = factory.SubFactory(DestinationFactory)
    shopify_id = factory.Sequence(lambda n: 5_000_000 + n)
    name = factory.Sequence(lambda n: f"#{2000 + n}")
    order_number = factory.Sequence(lambda n: 2000 + n)
    processed_at = factory.LazyFunction(timezone.now)
    customer_name = "Grace Hopper"
    email = "grace@example.com"
    financial_status = "paid"
    currency = "USD"
    total_price = Decimal("42.00")
    subtotal_price = Decimal("42.00")
    shipping_address = factory.LazyFunction(lambda: {
        "first_name": "Grace", "last_name": "Hopper", "address1": "1 Navy Way",
        "city": "Arlington", "country_code": "US", "zip": "22202"})


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(DestinationOrderFactory)
    shopify_id = factory.Sequence(lambda n: 7_000_000 + n)
    title = "Linen shirt"
    sku = "SHIRT-S"
    quantity = 1
    current_quantity = 1
    price = Decimal("42.00")
