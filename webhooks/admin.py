from django.contrib import admin, messages

from webhooks.models import WebhookDelivery
from webhooks.services import webhook_delivery_enqueue


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("received_at", "shop_domain", "topic", "status", "attempts", "short_error")
    list_filter = ("status", "topic")
    search_fields = ("shop_domain", "webhook_id", "event_id")
    date_hierarchy = "received_at"
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]
    actions = ["retry_now"]

    @admin.display(description="Last error")
    def short_error(self, obj: WebhookDelivery) -> str:
        return obj.last_error[:120]

    @admin.action(description="Retry now")
    def retry_now(self, request, queryset):
        ids = list(queryset.exclude(status__in=["processed", "ignored", "duplicate"])
                   .values_list("pk", flat=True))
        queryset.filter(pk__in=ids).update(status=WebhookDelivery.Status.FAILED)
        for delivery_id in ids:
            webhook_delivery_enqueue(delivery_id)
        self.message_user(request, f"{len(ids)} deliveries queued again.", messages.SUCCESS)

    def has_add_permission(self, request) -> bool:
        return False
