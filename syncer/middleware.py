from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers


def admin_origins(shop_domain: str | None) -> list[str]:
    """The origins allowed to frame the app for this shop, i.e. where Shopify admin (or the
    emulator's admin page) lives: session-token.js talks to its parent frame only if the
    parent is one of these."""
    shop_origins = [f"https://{shop_domain}"] if shop_domain else []
    return [*shop_origins, "https://admin.shopify.com", *settings.SHOPIFY_FRAME_ANCESTORS_EXTRA]


class HtmlResponseMiddleware:
    """A middleware that only changes HTML responses (`html_response_change`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            self.html_response_change(request, response)
        return response

    def html_response_change(self, request: HttpRequest, response: HttpResponse) -> None:
        raise NotImplementedError


class FrameAncestorsMiddleware(HtmlResponseMiddleware):
    """Sets CSP frame-ancestors on HTML responses.

    Shopify requires `frame-ancestors https://<shop> https://admin.shopify.com` per shop on every
    embedded page; until a request is tied to a shop (request.shop_domain, set by the embedded
    auth layer) nobody may frame us, except the admins themselves for the bounce page
    (stores.auth), which holds no shop's data.
    """

    def html_response_change(self, request: HttpRequest, response: HttpResponse) -> None:
        shop_domain = getattr(request, "shop_domain", None)
        frameable = shop_domain or getattr(request, "frameable_by_any_admin", False)
        ancestors = " ".join(admin_origins(shop_domain)) if frameable else "'none'"
        response["Content-Security-Policy"] = f"frame-ancestors {ancestors};"


class PageFreshnessMiddleware(HtmlResponseMiddleware):
    """Every HTML answer is one shop's live state: never stored by the browser, and keyed on
    HX-Request, so a fragment answer is never shown as the page at its URL (Back, reload).

    Without no-store, Back returned a page as it was before the action that changed it; without
    Vary, a browser could reuse a fragment answer for a full load of the same URL.
    """

    def html_response_change(self, request: HttpRequest, response: HttpResponse) -> None:
        patch_vary_headers(response, ("HX-Request",))
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
