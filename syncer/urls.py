"""The project's URLs: the composition root. Each app's routes are included by module name,
so this module imports none of the apps above syncer."""

from django.contrib import admin
from django.urls import include, path

from syncer import views

urlpatterns = [
    path("", include("stores.urls_home")),
    path("status", views.system_status, name="system_status"),
    path("", include("stores.urls")),
    path("", include("products.urls")),
    path("", include("products.inventory.urls")),
    path("", include("orders.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("webhooks/", include("webhooks.urls")),
]

handler404 = "syncer.views.page_not_found"
