from django.urls import path

from products.inventory import views as inventory_views

app_name = "inventory"
urlpatterns = [
    path("inventory/", inventory_views.inventory_settings, name="settings"),
    path("inventory/source", inventory_views.source_inventory_save, name="source_save"),
    path("inventory/sources/<int:connection_id>", inventory_views.connection_inventory_save,
         name="connection_save"),
    path("inventory/sources/<int:connection_id>/zeros", inventory_views.zeros_release,
         name="zeros_release"),
    path("inventory/sources/<int:connection_id>/resync", inventory_views.resync_now,
         name="resync"),
    path("inventory/sources/<int:connection_id>/resync/<int:run_id>",
         inventory_views.resync_progress, name="resync_progress"),
]
