"""Shops: creating one (with its two locations) and the shop as JSON for the control API."""

from __future__ import annotations

from shopify_emulator.domains.billing.operations import subscription_dict as charge_dict
from shopify_emulator.domains.fulfillments.rest import fulfillment as fulfillment_payload
from shopify_emulator.domains.locations.models import Location
from shopify_emulator.domains.orders import rest as orders_rest
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.domains.webhook_subscriptions.operations import subscription_dict
from shopify_emulator.formats import ts
from shopify_emulator.ids import gid
from shopify_emulator.world import EmulatorError, World

# What Shopify sets up for a new shop in these currencies (the merchant can change it).
DEFAULT_MONEY_FORMATS = {
    "USD": "${{amount}}", "CAD": "${{amount}}", "AUD": "${{amount}}", "GBP": "£{{amount}}",
    "EUR": "€{{amount_with_comma_separator}}", "JPY": "¥{{amount_no_decimals}}",
    "SEK": "{{amount_with_comma_separator}} kr", "CHF": "CHF {{amount}}",
}


def shop_create(
    *,
    world: World,
    domain: str,
    name: str,
    plan: str = "standard",
    currency: str = "USD",
    email: str | None = None,
    money_format: str | None = None,
) -> Shop:
    with world.transaction():
        if domain in world.shops:
            raise EmulatorError(f"Shop {domain!r} already exists")
        now = world.now()
        shop = Shop(
            id=world.next_id(),
            domain=domain,
            name=name,
            plan=plan,
            currency=currency,
            email=email or f"owner@{domain}",
            created_at=now,
            money_format=money_format or DEFAULT_MONEY_FORMATS.get(currency,
                                                                   f"{{{{amount}}}} {currency}"),
        )
        for index, location_name in enumerate(("Main warehouse", "Second location")):
            location = Location(
                id=world.next_id(),
                group_id=world.next_id(),
                name=location_name,
                created_at=now,
                updated_at=now,
            )
            shop.locations[location.id] = location
            if index == 0:
                shop.primary_location_id = location.id
        world.shops[domain] = shop
        return shop


def shop_snapshot(*, world: World, domain: str, orders: bool = True) -> dict:
    """The shop as JSON; orders=False leaves out orders and fulfilments, which grow with
    every sale and dominate the cost of a snapshot polled in a loop."""
    with world.lock:
        shop = world.require_shop(domain)
        products = []
        levels = []
        for product in shop.products.values():
            variants = []
            for variant in shop.product_variants(product):
                item = shop.item_of(variant)
                variants.append(
                    {
                        "id": variant.id,
                        "admin_graphql_api_id": gid("ProductVariant", variant.id),
                        "sku": item.sku,
                        "price": variant.price,
                        "compare_at_price": variant.compare_at_price,
                        "barcode": variant.barcode,
                        "title": variant.title,
                        "inventory_item_id": item.id,
                        "inventory_item_admin_graphql_api_id": gid("InventoryItem", item.id),
                        "inventory_quantity": shop.inventory_quantity(variant),
                    }
                )
                for level in item.levels.values():
                    levels.append(
                        {
                            "inventory_item_id": item.id,
                            "location_id": level.location_id,
                            "sku": item.sku,
                            "available": level.available,
                            "on_hand": level.get("on_hand"),
                            "committed": level.get("committed"),
                            "updated_at": ts(level.updated_at),
                            "admin_graphql_api_id": level.gid,
                        }
                    )
            products.append(
                {
                    "id": product.id,
                    "admin_graphql_api_id": gid("Product", product.id),
                    "title": product.title,
                    "handle": product.handle,
                    "vendor": product.vendor,
                    "product_type": product.product_type,
                    "body_html": product.body_html,
                    "tags": list(product.tags),
                    "status": product.status.lower(),
                    "variants": variants,
                }
            )
        return {
            "id": shop.id,
            "admin_graphql_api_id": gid("Shop", shop.id),
            "domain": shop.domain,
            "name": shop.name,
            "plan": shop.plan,
            "currency": shop.currency,
            "money_format": shop.money_format,
            "email": shop.email,
            "primary_location_id": shop.primary_location_id,
            "locations": [
                {
                    "id": loc.id,
                    "admin_graphql_api_id": gid("Location", loc.id),
                    "name": loc.name,
                    "active": loc.is_active,
                }
                for loc in shop.locations.values()
            ],
            "products": products,
            "inventory_levels": levels,
            "orders": [orders_rest.order(shop, order) for order in shop.orders.values()]
            if orders else None,
            "fulfillments": [
                fulfillment_payload(shop, shop.orders[f.order_id], f)
                for f in shop.fulfillments.values()
            ] if orders else None,
            "subscriptions": [subscription_dict(s) for s in shop.subscriptions.values()],
            "app_subscriptions": [charge_dict(s) for s in shop.app_subscriptions.values()],
            "customer_notifications": list(shop.customer_notifications),
        }
