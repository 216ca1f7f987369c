from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from syncer.health import health_report
from syncer.htmx import HtmxHttpRequest, page_or_fragment
from syncer.metrics import metrics_render


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
