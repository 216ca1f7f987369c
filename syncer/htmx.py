"""The HTMX kit shared by the apps' views: typed requests, toasts and the page-or-fragment
choice. The markup kit is templates/components/ (tabs, search, pagination, empty state)."""

from django.http import HttpRequest, HttpResponse
from django_htmx.http import trigger_client_event
from django_htmx.middleware import HtmxDetails

from syncer.shopify.session_tokens import SessionToken


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (as every request does here)."""

    htmx: HtmxDetails


class ShopRequest[ShopT](HtmxHttpRequest):
    """A request that passed `stores.auth.shop_session_required`, which sets these. The shop's
    type is the parameter (views write `ShopRequest[Shop]`) because this module sits below the
    stores app and must not import its models."""

    shop: ShopT
    shop_domain: str
    shop_csrf_token: str
    session_token: SessionToken


def fragment_wanted(request: HttpRequest) -> bool:
    """Whether htmx swaps part of the page in. A boosted navigation and a history restore (Back
    to a page htmx does not keep: the history cache is off) want the whole page."""
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.boosted and not (
        htmx.history_restore_request)


def page_or_fragment(request: HttpRequest, template: str, fragment: str) -> str:
    """The template to render: the whole page, or only its `{% partialdef %}` fragment."""
    return f"{template}#{fragment}" if fragment_wanted(request) else template


def toast(response: HttpResponse, message: str) -> HttpResponse:
    """A toast saying what went well (App Bridge shows it; static/syncer/app.js outside an
    admin), once the response is swapped in. Never for a failure: see `failure`."""
    return trigger_client_event(response, "toast", {"message": message})


def failure(response: HttpResponse, message: str, *, link_url: str = "",
            link_label: str = "") -> HttpResponse:
    """What failed, in a critical banner next to the control that failed, until the merchant
    dismisses it (Built for Shopify: errors are red and stay; a toast fades). With `link_url`
    the banner ends with a link to where it can be fixed (e.g. the Plan & billing page)."""
    detail: dict[str, object] = {"message": message}
    if link_url:
        detail["link"] = {"url": link_url, "label": link_label or "Fix it"}
    return trigger_client_event(response, "failed", detail)
