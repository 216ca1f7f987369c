from django.urls import path

from stores import views, views_connections

app_name = "stores"
urlpatterns = [
    path("settings/role", views.role_choose, name="role_choose"),
    path("auth/install", views.oauth_install, name="oauth_install"),
    path("auth/callback", views.oauth_callback, name="oauth_callback"),
    path("stores/", views_connections.store_list, name="store_list"),
    path("stores/key/rotate", views_connections.store_key_rotate_view, name="store_key_rotate"),
    path("stores/<int:connection_id>/", views_connections.store_detail, name="store_detail"),
    path("stores/<int:connection_id>/block", views_connections.store_block, name="store_block"),
    path("stores/<int:connection_id>/unblock", views_connections.store_unblock,
         name="store_unblock"),
    path("sources/", views_connections.source_list, name="source_list"),
    path("sources/connect", views_connections.source_connect, name="source_connect"),
    path("sources/<int:connection_id>/disconnect", views_connections.source_disconnect,
         name="source_disconnect"),
]
