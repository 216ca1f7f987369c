"""HTMX response helpers shared by the apps' views."""

from django.http import HttpResponse
from django_htmx.http import trigger_client_event


def toast(response: HttpResponse, message: str, *, error: bool = False) -> HttpResponse:
    """A toast (static/syncer/app.js shows it) once the response is swapped in."""
    return trigger_client_event(response, "toast", {"message": message, "error": error})
