from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from orders import tasks, webhook_handlers  # noqa: F401  (registers tasks and handlers)
