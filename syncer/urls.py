from django.contrib import admin
from django.urls import include, path

from stores.views import app_home
from syncer import views

urlpatterns = [
    path("", app_home, name="home"),
    path("status", views.system_status, name="system_status"),
    path("", include("stores.urls")),
    path("", include("products.urls")),
    path("", include("products.inventory_urls")),
    path("", include("orders.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("webhooks/", include("webhooks.urls")),
]
