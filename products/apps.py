from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "products"
    verbose_name = "Products and inventory sync"

    def ready(self) -> None:
        # Catalogue topics (products/*, inventory_items/*) and stock topics
        # (inventory_levels/*, orders/paid, refunds/create) live in separate modules.
        # link_end_tasks: what happens to a destination's products when their links end
        # (stores' links-end hook). precheck: the check before connecting (stores' checker).
        from products import link_end_tasks, precheck, webhook_handlers  # noqa: F401
        from products.inventory import handlers  # noqa: F401
        from products.inventory.selectors import items_oversold
        from stores.registry import oversold_reader_register

        # Home says on both sides when stores sold more than a source has.
        oversold_reader_register(items_oversold)
