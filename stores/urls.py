from django.urls import path

from stores import views, views_alerts, views_connections, views_invitations

app_name = "stores"
# A connected store's own page (and its block/unblock) is in orders/urls.py: it shows products
# and orders, so the orders app composes it.
urlpatterns = [
    path("settings/role", views.role_choose, name="role_choose"),
    path("settings/alerts", views_alerts.alert_settings, name="alert_settings"),
    path("auth/install", views.oauth_install, name="oauth_install"),
    path("auth/callback", views.oauth_callback, name="oauth_callback"),
    path("stores/", views_connections.store_list, name="store_list"),
    path("stores/key/rotate", views_connections.store_key_rotate_view, name="store_key_rotate"),
    path("stores/invitations", views_invitations.invitation_create_view,
         name="invitation_create"),
    path("stores/invitations/<int:invitation_id>/resend", views_invitations.invitation_resend_view,
         name="invitation_resend"),
    path("stores/invitations/<int:invitation_id>/revoke", views_invitations.invitation_revoke_view,
         name="invitation_revoke"),
    path("sources/", views_connections.source_list, name="source_list"),
    path("sources/connect", views_connections.source_connect, name="source_connect"),
    path("sources/connect/check", views_connections.source_connect_check,
         name="source_connect_check"),
    path("sources/<int:connection_id>/disconnect", views_connections.source_disconnect,
         name="source_disconnect"),
    path("sources/<int:connection_id>/link-end", views_connections.source_link_end_set,
         name="source_link_end"),
]
