"""Destination sales as their source's owner counts them: every paid line of a synced variant,
pushed to the source or not (the source dashboard's "Products sold from your connected
stores", rolled up by orders.stats)."""

from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from products.models import DestinationSale, VariantLink
from stores.models import Shop

ZERO = Decimal("0.00")


def destination_sales_record(*, destination: Shop, order_id: int,
                             lines: Iterable[tuple[VariantLink, int, int]]) -> None:
    """One sale per paid line (`lines`: its variant link, line id, quantity), at the source
    variant's price now. orders/create of a paid order, orders/paid and retried deliveries all
    name the same lines: a line recorded already keeps its row, price and time, and takes the
    larger quantity (an order edit added units, paid with the balance; an older payload
    changes nothing)."""
    now = timezone.now()
    sales = [DestinationSale(source_id=link.connection.source_id, destination=destination,
                             order_id=order_id, line_item_id=line_id,
                             source_variant_id=link.source_variant.shopify_id,
                             quantity=quantity, price=link.source_variant.price or ZERO,
                             sold_at=now)
             for link, line_id, quantity in lines]
    with transaction.atomic():
        DestinationSale.objects.bulk_create(sales, ignore_conflicts=True)
        for sale in sales:
            DestinationSale.objects.filter(
                destination=destination, line_item_id=sale.line_item_id,
                quantity__lt=sale.quantity).update(quantity=sale.quantity)
