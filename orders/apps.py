from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from orders import tasks, webhook_handlers  # noqa: F401  (registers tasks and handlers)
        from orders.stats import source_stats_forget
        from stores.registry import shop_eraser_register

        # An erased shop's orders leave the roll-ups of the sources it sold for, too.
        shop_eraser_register(source_stats_forget)
