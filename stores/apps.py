from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "Stores and connections"

    def ready(self) -> None:
        from stores import alert_tasks, webhook_handlers  # noqa: F401  (registers them)
