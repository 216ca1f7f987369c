"""The app's home page at the site root, outside the `stores` namespace: templates and the
navigation link to it as `{% url 'home' %}`."""

from django.urls import path

from stores import views

urlpatterns = [
    path("", views.app_home, name="home"),
]
