from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from orders import (  # noqa: F401  (registers them)
            auto_push_tasks,
            support_tasks,
            tasks,
            webhook_handlers,
        )
        from orders.mirror import order_copies_erase, order_mirror_for_customer
        from orders.stats import source_stats_forget
        from orders.store_figures import (
            connection_activity,
            destination_source_figures,
            destination_work_trouble,
            source_reach,
        )
        from stores.registry import (
            connection_activity_reader_register,
            customer_data_collector_register,
            entitlement_change_hook_register,
            shop_eraser_register,
            source_figures_reader_register,
            source_reach_reader_register,
            work_trouble_reader_register,
        )

        # An erased shop's orders leave the roll-ups of the sources it sold for, too.
        shop_eraser_register(source_stats_forget)
        # And the copies its sources hold of the orders it pushed them lose all that names it.
        shop_eraser_register(order_copies_erase)
        # A customer's data request gets their orders from the mirror.
        customer_data_collector_register(order_mirror_for_customer)
        # Home and the Stores list show products, stock and orders: read here, for stores.
        source_figures_reader_register(destination_source_figures)
        connection_activity_reader_register(connection_activity)
        # And Home's status card: how far a source reaches, what a destination's work lacks.
        source_reach_reader_register(source_reach)
        work_trouble_reader_register(destination_work_trouble)
        # The Orders add-on just added: the orders automatic push held for it are pushed.
        entitlement_change_hook_register(auto_push_tasks.orders_addon_changed)
