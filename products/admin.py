"""Read-mostly admin for support: the mirror, links, jobs, scans and the sync trail."""

from django.contrib import admin

from products.models import (
    CatalogueScan,
    ProductJob,
    ProductLink,
    SourceProduct,
    SourceVariant,
    SyncEvent,
    VariantLink,
)


class SourceVariantInline(admin.TabularInline):
    model = SourceVariant
    fields = ("shopify_id", "sku", "title", "price", "inventory_item_id", "tracked",
              "deleted_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(SourceProduct)
class SourceProductAdmin(admin.ModelAdmin):
    list_display = ("title", "shop", "vendor", "status", "hidden", "deleted_at",
                    "shopify_updated_at")
    list_filter = ("hidden", "status")
    search_fields = ("title", "vendor", "shopify_id", "variants__sku", "shop__domain")
    list_select_related = ("shop",)
    readonly_fields = ("shop", "shopify_id", "shopify_updated_at", "updated_at")
    inlines = [SourceVariantInline]


class VariantLinkInline(admin.TabularInline):
    model = VariantLink
    fields = ("source_variant", "destination_variant_id", "destination_inventory_item_id",
              "last_written_quantity", "last_written_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(ProductLink)
class ProductLinkAdmin(admin.ModelAdmin):
    list_display = ("source_product", "connection", "destination_product_id", "origin",
                    "auto_sync", "created_at")
    list_filter = ("origin", "auto_sync")
    search_fields = ("source_product__title", "destination_product_id",
                     "connection__destination__domain", "connection__source__domain")
    list_select_related = ("source_product", "connection", "connection__source",
                           "connection__destination")
    raw_id_fields = ("connection", "source_product")
    inlines = [VariantLinkInline]


@admin.register(SyncEvent)
class SyncEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "field", "from_value", "to_value", "result",
                    "connection", "cause")
    list_filter = ("kind", "result")
    search_fields = ("field", "cause", "error", "destination_product_id",
                     "source_product__title")
    raw_id_fields = ("connection", "product_link", "source_product")
    date_hierarchy = "created_at"


@admin.register(ProductJob)
class ProductJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "connection", "kind", "status", "done", "failed", "total",
                    "created_at", "finished_at")
    list_filter = ("kind", "status")
    raw_id_fields = ("connection", "scan")


@admin.register(CatalogueScan)
class CatalogueScanAdmin(admin.ModelAdmin):
    list_display = ("pk", "shop", "purpose", "status", "products", "variants", "created_at",
                    "finished_at")
    list_filter = ("purpose", "status")
    raw_id_fields = ("shop", "connection")
    exclude = ("destination_variants",)
