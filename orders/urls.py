from django.urls import path

from orders import views, views_activity, views_billing, views_dashboard, views_help, views_stores

app_name = "orders"
urlpatterns = [
    path("orders/", views.order_list, name="order_list"),
    path("orders/push", views.order_push_bulk, name="order_push_bulk"),
    path("orders/auto-push", views.order_auto_push, name="order_auto_push"),
    path("orders/settings", views.order_settings, name="order_settings"),
    path("orders/settings/shipping-rules", views.shipping_rules, name="shipping_rules"),
    path("orders/help", views.order_help, name="order_help"),
    path("help/", views_help.help_page, name="help"),
    path("help/contact", views_help.help_contact, name="help_contact"),
    path("orders/<int:order_id>/", views.order_detail_view, name="order_detail"),
    path("orders/<int:order_id>/push", views.order_push, name="order_push"),
    path("orders/<int:order_id>/push-waiting", views.order_push_waiting,
         name="order_push_waiting"),
    path("stores/<int:connection_id>/", views_stores.store_detail, name="store_detail"),
    path("stores/<int:connection_id>/block", views_stores.store_block, name="store_block"),
    path("stores/<int:connection_id>/unblock", views_stores.store_unblock, name="store_unblock"),
    path("stores/<int:connection_id>/orders", views.received_orders, name="received_orders"),
    path("dashboard/", views_dashboard.dashboard, name="dashboard"),
    path("dashboard/try-again", views_dashboard.work_retry, name="work_retry"),
    path("stores/<int:connection_id>/report", views_dashboard.store_report, name="store_report"),
    path("stores/<int:connection_id>/report.csv", views_dashboard.store_report_csv,
         name="store_report_csv"),
    path("activity/", views_activity.activity, name="activity"),
    path("activity.csv", views_activity.activity_csv, name="activity_csv"),
    path("billing/", views_billing.billing, name="billing"),
    path("billing/subscribe", views_billing.billing_subscribe, name="billing_subscribe"),
    path("billing/return", views_billing.billing_return, name="billing_return"),
    path("billing/cancel", views_billing.billing_cancel, name="billing_cancel"),
]
