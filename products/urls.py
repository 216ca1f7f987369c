from django.urls import path

from products import views

app_name = "products"
urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/catalogue/status", views.catalogue_status, name="catalogue_status"),
    path("products/catalogue/reload", views.catalogue_reload, name="catalogue_reload"),
    path("products/hidden-tag", views.hidden_tag_update, name="hidden_tag_update"),
    path("products/sources/<int:connection_id>/", views.source_catalogue,
         name="source_catalogue"),
    path("products/sources/<int:connection_id>/import", views.catalogue_import,
         name="catalogue_import"),
    path("products/sources/<int:connection_id>/auto-sync", views.catalogue_auto_sync,
         name="catalogue_auto_sync"),
    path("products/sources/<int:connection_id>/products/<int:source_product_id>/auto-sync",
         views.catalogue_product_auto_sync, name="catalogue_product_auto_sync"),
    path("products/sources/<int:connection_id>/unsync", views.catalogue_unsync,
         name="catalogue_unsync"),
    path("products/sources/<int:connection_id>/rules", views.catalogue_rules,
         name="catalogue_rules"),
    path("products/sources/<int:connection_id>/jobs/<int:job_id>", views.job_progress,
         name="job_progress"),
    path("products/sources/<int:connection_id>/map/", views.map_page, name="map_page"),
    path("products/sources/<int:connection_id>/map/check", views.map_check, name="map_check"),
    path("products/sources/<int:connection_id>/map/link", views.map_link, name="map_link"),
    path("products/sources/<int:connection_id>/products/<int:source_product_id>/history",
         views.product_history, name="product_history"),
]
