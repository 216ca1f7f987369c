from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def admin_origins(shop_domain: str | None) -> list[str]:
    """The origins allowed to frame the app for this shop, i.e. where Shopify admin (or the
    emulator's admin page) lives: session-token.js talks to its parent frame only if the
    parent is one of these."""
    shop_origins = [f"https://{shop_domain}"] if shop_domain else []
    return [*shop_origins, "https://admin.shopify.com", *settings.SHOPIFY_FRAME_ANCESTORS_EXTRA]


class FrameAncestorsMiddleware:
    """Sets CSP frame-ancestors on HTML responses.

    Shopify requires `frame-ancestors https://<shop> https://admin.shopify.com` per shop on every
    embedded page; until a request is tied to a shop (request.shop_domain, set by the embedded
    auth layer) nobody may frame us.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        shop_domain = getattr(request, "shop_domain", None)
        ancestors = " ".join(admin_origins(shop_domain)) if shop_domain else "'none'"
        response["Content-Security-Policy"] = f"frame-ancestors {ancestors};"
        return response
