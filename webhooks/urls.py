from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("shopify", views.shopify_webhook, name="shopify"),
]
