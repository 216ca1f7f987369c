from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "Stores and connections"

    def ready(self) -> None:
        # Imported for what they register: tasks and webhook handlers.
        from stores import alert_tasks, invitation_tasks, webhook_handlers  # noqa: F401
