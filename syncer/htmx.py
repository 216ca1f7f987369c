"""HTMX response helpers shared by the apps' views."""

from django.http import HttpRequest, HttpResponse
from django_htmx.http import trigger_client_event


def page_or_fragment(request: HttpRequest, template: str, fragment: str) -> str:
    """The template to render: the whole page, or only its `{% partialdef %}` fragment when
    htmx swaps part of the page in (a boosted navigation wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return f"{template}#{fragment}" if htmx and not htmx.boosted else template


def toast(response: HttpResponse, message: str, *, error: bool = False) -> HttpResponse:
    """A toast (static/syncer/app.js shows it) once the response is swapped in."""
    return trigger_client_event(response, "toast", {"message": message, "error": error})
