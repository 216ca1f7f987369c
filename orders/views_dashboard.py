"""Dashboards (source and destination) and the source's per-store report (screen and CSV)."""

import csv

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from orders.dashboard import (
    DEFAULT_PRESET,
    PRESETS,
    dashboard_stores_for_source,
    date_range_preset,
    destination_dashboard,
    source_dashboard,
)
from orders.forms import CUSTOM, DateRangeForm, ReportForm, SourceDashboardForm
from orders.reports import (
    report_csv_rows,
    report_filename,
    report_order_list,
    report_summary,
)
from orders.stats import source_stats_close
from stores.auth import shop_role_required, shop_session_required
from stores.models import Connection, Shop
from stores.selectors import connection_for_source

REPORT_PAGE_SIZE = 25


def _fragment(request: HttpRequest, template: str, fragment: str) -> str:
    return f"{template}#{fragment}" if request.htmx and not request.htmx.boosted else template


def _range_context(form: DateRangeForm, shop: Shop) -> dict:
    """The range to show: the form's, or the default one when the form has errors (they are
    shown next to the fields)."""
    valid = form.is_valid()
    date_range = (form.cleaned_data.get("date_range") if valid else None) \
        or date_range_preset(shop=shop, preset=DEFAULT_PRESET)
    return {"form": form, "date_range": date_range, "presets": PRESETS.items(),
            "custom": CUSTOM, "range_choice": form.cleaned_data.get("range") or DEFAULT_PRESET,
            # What the merchant typed stays in the fields while it is wrong.
            "start_value": date_range.first.isoformat() if valid else form.data.get("start", ""),
            "end_value": date_range.last.isoformat() if valid else form.data.get("end", "")}


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
def dashboard(request: HttpRequest) -> HttpResponse:
    if request.shop.role == Shop.Role.SOURCE:
        return _source_dashboard(request)
    if request.shop.role == Shop.Role.DESTINATION:
        return _destination_dashboard(request)
    return render(request, "stores/wrong_role.html", {"role": "source and destination"},
                  status=403)


def _source_dashboard(request: HttpRequest) -> HttpResponse:
    source = request.shop
    stores = dashboard_stores_for_source(source=source)
    form = SourceDashboardForm(request.GET, shop=source, store_ids={c.pk for c in stores})
    if form.has_error("store", "unknown_store"):
        raise Http404("No such store")
    context = _range_context(form, source)
    store_id = form.cleaned_data.get("store")
    store = next((c for c in stores if c.pk == store_id), None)
    # Rolls up the days that ended since the last view (usually none, one read).
    source_stats_close(source=source)
    context.update({
        "shop": source, "stores": stores, "store": store,
        "stores_by_status": [(label, [c for c in stores if c.status == status])
                             for status, label in Connection.Status.choices],
        "figures": source_dashboard(source=source, date_range=context["date_range"],
                                    store=store),
    })
    return render(request, _fragment(request, "orders/dashboard_source.html", "dashboard"),
                  context, status=422 if form.errors else 200)


def _destination_dashboard(request: HttpRequest) -> HttpResponse:
    form = DateRangeForm(request.GET, shop=request.shop)
    context = _range_context(form, request.shop)
    context["figures"] = destination_dashboard(destination=request.shop,
                                               date_range=context["date_range"])
    return render(request, _fragment(request, "orders/dashboard_destination.html", "dashboard"),
                  context, status=422 if form.errors else 200)


def _report_connection(request: HttpRequest, connection_id: int) -> Connection:
    """Any store that ever connected to this source: connected, blocked or disconnected."""
    connection = connection_for_source(source=request.shop, connection_id=connection_id)
    if connection is None:
        raise Http404("No such store")
    return connection


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def store_report(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _report_connection(request, connection_id)
    form = ReportForm(request.GET, shop=request.shop)
    context = _range_context(form, request.shop)
    date_range = context["date_range"]
    page = Paginator(report_order_list(connection=connection, date_range=date_range),
                     REPORT_PAGE_SIZE).get_page(form.cleaned_data.get("page") or 1)
    context.update({
        "connection": connection, "page": page,
        "summary": report_summary(connection=connection, date_range=date_range),
        "query": f"range={context['range_choice']}&start={date_range.first:%Y-%m-%d}"
                 f"&end={date_range.last:%Y-%m-%d}",
    })
    return render(request, _fragment(request, "orders/report.html", "report"), context,
                  status=422 if form.errors else 200)


class _Echo:
    """csv.writer's file: hands each formatted line straight back to the response."""

    def write(self, value: str) -> str:
        return value


@require_GET
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def store_report_csv(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _report_connection(request, connection_id)
    form = ReportForm(request.GET, shop=request.shop)
    if not form.is_valid():
        errors = " ".join(message for messages in form.errors.values() for message in messages)
        return HttpResponse(errors, status=422, content_type="text/plain; charset=utf-8")
    date_range = form.cleaned_data["date_range"]
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in report_csv_rows(connection=connection,
                                                          date_range=date_range)),
        content_type="text/csv; charset=utf-8")
    filename = report_filename(connection=connection, date_range=date_range)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
