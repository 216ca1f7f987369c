from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from syncer.health import health_report
from syncer.htmx import HtmxHttpRequest, page_or_fragment
from syncer.metrics import metrics_render
from syncer.shopify.domains import shop_domain_is_valid


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    ready, report = health_report()
    return JsonResponse(report, status=200 if ready else 503)


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    body, content_type = metrics_render()
    return HttpResponse(body, content_type=content_type)


@require_GET
@vary_on_headers("HX-Request")
def system_status(request: HtmxHttpRequest) -> HttpResponse:
    ready, report = health_report()
    return render(request, page_or_fragment(request, "syncer/status.html", "system-status"),
                  {"ready": ready, "report": report})


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The app's own 404, inside Shopify admin's frame. An authenticated request knows its shop
    already; a document load of an unknown path only has Shopify's `shop` query parameter, which
    is enough to let that shop's admin frame a page that holds nothing but a way back (without
    it the admin showed the browser's broken-frame icon)."""
    home_query = ""
    if getattr(request, "shop_domain", None) is None:
        shop = request.GET.get("shop", "")
        if shop_domain_is_valid(shop):
            request.shop_domain = shop  # type: ignore[attr-defined]
            # Home loads like the admin's own load: the shop and host it came with, no more.
            home_query = urlencode({"shop": shop, "host": request.GET.get("host", "")[:255]})
    return render(request, "404.html", {"home_query": home_query}, status=404)
