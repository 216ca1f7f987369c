"""Dashboards (source and destination) and the source's per-store report (screen and CSV)."""

import csv
import io
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from orders.dashboard import destination_dashboard, source_dashboard
from orders.forms import CUSTOM, DateRangeForm, ReportForm, SourceDashboardForm, WorkRetryForm
from orders.reports import (
    report_csv_rows,
    report_filename,
    report_order_list,
    report_summary,
)
from orders.stats import source_stats_current
from orders.sync_health import WorkKind, destination_work_health, destination_work_retry
from stores.auth import shop_role_required, shop_session_required
from stores.models import Connection, Shop
from stores.selectors import connection_for_source
from syncer.htmx import ShopRequest, failure, fragment_wanted, page_or_fragment, toast

REPORT_PAGE_SIZE = 25


def _range_context(form: DateRangeForm) -> dict:
    """The range to show: the form's, or its default one when the form has errors (they are
    shown next to the fields)."""
    valid = form.is_valid()
    date_range = (form.cleaned_data.get("date_range") if valid else None) \
        or form.preset_range(form.default_preset)
    return {"form": form, "date_range": date_range, "presets": form.presets.items(),
            "custom": CUSTOM,
            "range_choice": form.cleaned_data.get("range") or form.default_preset,
            # What the merchant typed stays in the fields while it is wrong.
            "start_value": date_range.first.isoformat() if valid else form.data.get("start", ""),
            "end_value": date_range.last.isoformat() if valid else form.data.get("end", "")}


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
def dashboard(request: ShopRequest[Shop]) -> HttpResponse:
    if request.shop.role == Shop.Role.SOURCE:
        return _source_dashboard(request)
    if request.shop.role == Shop.Role.DESTINATION:
        return _destination_dashboard(request)
    return render(request, "stores/wrong_role.html", {"role": "source and destination"},
                  status=403)


def _source_dashboard(request: ShopRequest[Shop]) -> HttpResponse:
    source = request.shop
    # Rolls up the days that ended since the last view (usually none: one read), and says
    # what is rolled up, so the figures below need not read that again (and where "All time"
    # starts).
    stats = source_stats_current(source=source)
    form = SourceDashboardForm(request.GET, shop=source, all_time_from=stats.first_day)
    context = _range_context(form)
    store = None
    if form.cleaned_data.get("store") is not None or form.has_error("store"):
        # Any store that ever connected to this source, whatever its status; others: 404.
        store = connection_for_source(source=source,
                                      connection_id=form.cleaned_data.get("store") or 0)
        if store is None:
            raise Http404("No such store")
    fragment = fragment_wanted(request)
    figures = source_dashboard(source=source, date_range=context["date_range"], store=store,
                               stats=stats)
    if not fragment:  # the filters (the store list) are not part of the fragment
        context["stores_by_status"] = figures.store_choices
    context.update({"shop": source, "store": store, "figures": figures})
    template = "orders/dashboard_source.html" + ("#results" if fragment else "")
    return render(request, template, context, status=422 if form.errors else 200)


def _destination_dashboard(request: ShopRequest[Shop]) -> HttpResponse:
    form = DateRangeForm(request.GET, shop=request.shop)
    context = _range_context(form)
    context["figures"] = destination_dashboard(destination=request.shop,
                                               date_range=context["date_range"])
    template = page_or_fragment(request, "orders/dashboard_destination.html", "results")
    return render(request, template,
                  context, status=422 if form.errors else 200)


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def work_retry(request: ShopRequest[Shop]) -> HttpResponse:
    """Sync health's Try again: one kind of the shop's failed and stuck work, queued again."""
    form = WorkRetryForm(request.POST)
    if not form.is_valid():
        return failure(HttpResponse(status=422), form.errors["kind"][0])
    kind = WorkKind(form.cleaned_data["kind"])
    queued = destination_work_retry(destination=request.shop, kind=kind)
    response = render(request, "orders/dashboard_destination.html#work-health",
                      {"work_health": destination_work_health(destination=request.shop)})
    if not queued:
        return toast(response, f"{kind.label}: nothing is waiting to be tried again.")
    # The figures above (failed pushes, latest failures) changed too: the filters re-fetch them.
    trigger_client_event(response, "work-retried")
    return toast(response, f"{kind.label}: {queued} queued again.")


def _report_connection(request: ShopRequest[Shop], connection_id: int) -> Connection:
    """Any store that ever connected to this source: connected, blocked or disconnected."""
    connection = connection_for_source(source=request.shop, connection_id=connection_id)
    if connection is None:
        raise Http404("No such store")
    return connection


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def store_report(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    connection = _report_connection(request, connection_id)
    form = ReportForm(request.GET, shop=request.shop)
    context = _range_context(form)
    date_range = context["date_range"]
    page = Paginator(report_order_list(connection=connection, date_range=date_range),
                     REPORT_PAGE_SIZE).get_page(form.cleaned_data.get("page") or 1)
    context.update({
        "connection": connection, "page": page,
        "summary": report_summary(connection=connection, date_range=date_range),
        "query": f"range={context['range_choice']}&start={date_range.first:%Y-%m-%d}"
                 f"&end={date_range.last:%Y-%m-%d}",
    })
    return render(request, page_or_fragment(request, "orders/report.html", "results"), context,
                  status=422 if form.errors else 200)


CSV_BLOCK_ROWS = 500


def _csv_blocks(rows: Iterator[list[str]]) -> Iterator[str]:
    """CSV text a few hundred rows at a time: one response chunk per row costs more than the
    row itself."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % CSV_BLOCK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@require_GET
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def store_report_csv(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    connection = _report_connection(request, connection_id)
    form = ReportForm(request.GET, shop=request.shop)
    if not form.is_valid():
        errors = " ".join(message for messages in form.errors.values() for message in messages)
        return HttpResponse(errors, status=422, content_type="text/plain; charset=utf-8")
    date_range = form.cleaned_data["date_range"]
    response = StreamingHttpResponse(
        _csv_blocks(report_csv_rows(connection=connection, date_range=date_range)),
        content_type="text/csv; charset=utf-8")
    filename = report_filename(connection=connection, date_range=date_range)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
