from django.contrib import admin

from orders.models import (
    DestinationOrder,
    OrderFulfillment,
    OrderLine,
    OrderPush,
    OrderPushLine,
    OrderSettings,
    ShippingRateRule,
)


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ["source"]


@admin.register(DestinationOrder)
class DestinationOrderAdmin(admin.ModelAdmin):
    list_display = ["name", "shop", "processed_at", "financial_status", "push_state",
                    "fulfillment_status", "total_price"]
    list_filter = ["push_state", "fulfillment_status"]
    search_fields = ["name", "shop__domain", "shopify_id"]
    raw_id_fields = ["shop"]
    inlines = [OrderLineInline]


class OrderPushLineInline(admin.TabularInline):
    model = OrderPushLine
    extra = 0
    raw_id_fields = ["line"]


@admin.register(OrderPush)
class OrderPushAdmin(admin.ModelAdmin):
    list_display = ["order", "source", "status", "source_order_name", "attempts",
                    "source_fulfillment_status", "pushed_at"]
    list_filter = ["status", "source_fulfillment_status"]
    search_fields = ["order__name", "source__domain", "source_order_name"]
    raw_id_fields = ["order", "source"]
    inlines = [OrderPushLineInline]


@admin.register(OrderFulfillment)
class OrderFulfillmentAdmin(admin.ModelAdmin):
    list_display = ["push", "source_fulfillment_id", "status", "tracking_number", "synced_at"]
    list_filter = ["status"]
    raw_id_fields = ["push"]


admin.site.register(OrderSettings, raw_id_fields=["shop"])
admin.site.register(ShippingRateRule, raw_id_fields=["shop", "source"])
