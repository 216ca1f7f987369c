"""Source products, their stock and one store's links to them, straight in the database, for
the pages that list them (the store's page, Home, the Stores list)."""

from django.utils import timezone

from products.models import (
    DestinationStock,
    ProductLink,
    SourceLevel,
    SourceProduct,
    SourceVariant,
    VariantLink,
)
from stores.models import Connection

_ids = iter(range(1, 1_000_000))


def product(source, title: str, skus: list[str], *, hidden: bool = False,
            stock: list[int] | None = None) -> SourceProduct:
    """A source product with one variant per SKU, and the source's stock of each at one
    location (`stock`, in SKU order)."""
    made = SourceProduct.objects.create(shop=source, shopify_id=next(_ids), title=title,
                                        vendor="Acme", hidden=hidden)
    for position, sku in enumerate(skus):
        variant = SourceVariant.objects.create(
            product=made, shop=source, shopify_id=next(_ids), inventory_item_id=next(_ids),
            sku=sku, title=sku if len(skus) > 1 else "Default Title", position=position + 1)
        if stock is not None:
            SourceLevel.objects.create(shop=source, inventory_item_id=variant.inventory_item_id,
                                       location_id=1, available=stock[position],
                                       shopify_updated_at=timezone.now(),
                                       seen_at=timezone.now())
    return made


def link(connection: Connection, source_product: SourceProduct, *,
         written_at=None, targets: list[int] | None = None) -> ProductLink:
    product_link = ProductLink.objects.create(
        connection=connection, source_product=source_product,
        destination_product_id=next(_ids), origin=ProductLink.Origin.IMPORTED)
    for position, variant in enumerate(source_product.variants.order_by("position")):
        variant_link = VariantLink.objects.create(
            product_link=product_link, connection=connection, source_variant=variant,
            destination_variant_id=next(_ids), destination_inventory_item_id=next(_ids),
            last_written_at=written_at)
        if targets is not None:
            DestinationStock.objects.create(variant_link=variant_link,
                                            destination=connection.destination, location_id=9,
                                            target=targets[position])
    return product_link
