from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


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
        if shop_domain:
            ancestors = " ".join([f"https://{shop_domain}", "https://admin.shopify.com",
                                  *settings.SHOPIFY_FRAME_ANCESTORS_EXTRA])
        else:
            ancestors = "'none'"
        response["Content-Security-Policy"] = f"frame-ancestors {ancestors};"
        return response
