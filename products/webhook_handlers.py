"""Catalogue webhooks: products/create|update|delete, inventory_items/update (sources),
products/update (destinations: the SKU lock) and bulk_operations/finish (catalogue scans of any
shop). Each handler is idempotent: the mirror ignores payloads older than what it holds,
auto-sync and the SKU lock compare states."""

from products import catalogue
from products.catalogue_data import CatalogueError
from products.catalogue_mirror import (
    source_inventory_item_updated,
    source_product_changed,
    source_products_deleted,
)
from products.sku_lock import destination_product_updated
from stores.models import Shop
from webhooks.registry import webhook_handler_register


def _source(shop_domain: str) -> Shop | None:
    return Shop.objects.filter(domain=shop_domain, role=Shop.Role.SOURCE,
                               uninstalled_at__isnull=True).first()


def _cause(delivery_id: int, topic: str) -> str:
    return f"{topic} webhook #{delivery_id}"


def _product_changed(shop_domain: str, payload: dict, cause: str) -> None:
    source = _source(shop_domain)
    if source is not None:
        source_product_changed(source=source, payload=payload, cause=cause)


@webhook_handler_register("products/create")
def product_created(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    _product_changed(shop_domain, payload, _cause(delivery_id, "products/create"))


@webhook_handler_register("products/update")
def product_updated(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    cause = _cause(delivery_id, "products/update")
    destination = Shop.objects.filter(domain=shop_domain, role=Shop.Role.DESTINATION,
                                      uninstalled_at__isnull=True).first()
    if destination is not None:
        destination_product_updated(destination=destination, payload=payload, cause=cause)
    else:
        _product_changed(shop_domain, payload, cause)


@webhook_handler_register("products/delete")
def product_deleted(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    source = _source(shop_domain)
    if source is None:
        return
    try:
        product_id = int(payload["id"])
    except (KeyError, TypeError, ValueError):
        raise CatalogueError("products/delete without a product id") from None
    source_products_deleted(source=source, shopify_ids=[product_id],
                            cause=_cause(delivery_id, "products/delete"))


@webhook_handler_register("inventory_items/update")
def inventory_item_updated(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    source = _source(shop_domain)
    if source is not None:
        source_inventory_item_updated(
            source=source, payload=payload, cause=_cause(delivery_id, "inventory_items/update"))


@webhook_handler_register("bulk_operations/finish")
def bulk_operation_finished(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    catalogue.bulk_operation_finished(shop_domain=shop_domain, payload=payload)
