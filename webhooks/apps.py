from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhook inbox"

    def ready(self) -> None:
        from syncer.health import health_check_register
        from webhooks import webhook_handlers  # noqa: F401  (registers the handlers)
        from webhooks.selectors import webhook_inbox_check

        health_check_register(name="webhooks", label="Webhook deliveries",
                              check=webhook_inbox_check)
