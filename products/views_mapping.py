"""Map existing products (destination, per source): choose the key (SKU or barcode), check, choose
what to do with products of which only some variants match, link the matches; and link
variants by hand. One page, `products/map.html`: `map_page` renders it whole or one of its
fragments (the check and report panel, which polls while a check runs; the hand mapper, or one
of its two search lists, chosen by the element htmx swaps)."""

from __future__ import annotations

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING, trigger_client_event

from products import imports, manual_mapping, mapping, override_preview, selectors
from products.allowance import UPGRADE_LABEL
from products.forms_mapping import (
    ManualLinkForm,
    ManualSearchForm,
    ManualUnlinkForm,
    MapLinkForm,
    MatchByForm,
    ProductChoiceForm,
)
from products.labels import variant_label
from products.manual_mapping import ManualLinkRefused
from products.models import CatalogueScan, ProductJob
from products.sku_matching import key_words
from products.views import _connection, _user, destination_view, override_confirm
from stores.models import Connection, Shop
from syncer.htmx import ShopRequest, failure, fragment_wanted, toast

PANEL = "map-panel"
MANUAL = "manual-mapper"
# The hand mapper's parts a search swaps on its own (the id htmx swaps names the fragment).
MANUAL_PARTS = frozenset({MANUAL, "manual-source-results", "manual-destination-results"})
# Said when a check is over: the hand mapper reloads the store's variants that check read.
CHECK_DONE = "mapCheckDone"


def _error(form: forms.Form, field: str) -> str:
    return str(form.errors[field][0])


def _latest_scan(connection: Connection) -> CatalogueScan | None:
    return selectors.catalogue_scan_latest(shop=connection.destination,
                                           purpose=CatalogueScan.Purpose.DESTINATION_SKUS,
                                           connection=connection)


def _panel_context(connection: Connection) -> dict:
    scan = _latest_scan(connection)
    report = mapping.map_report_current(connection=connection, scan=scan)
    return {
        "connection": connection, "scan": scan, "report": report,
        "key_words": key_words(connection.match_by),
        # A check made by the other key (or before keys could be chosen).
        "report_other_key": (scan is not None and scan.status == CatalogueScan.Status.DONE
                             and report is None),
        "plan": mapping.map_plan(report=report) if report else None,
        "skipped": set(report.get("skipped_products", [])) if report else set(),
        "job": selectors.product_job_current(connection=connection),
        "linked_by": scan.jobs.order_by("-pk").first() if scan else None,
        "match_by_form": MatchByForm(initial={"match_by": connection.match_by}),
    }


def _manual_context(connection: Connection, search: ManualSearchForm) -> dict:
    search.is_valid()
    q_source = (search.cleaned_data.get("q_source") or "").strip()
    q_destination = (search.cleaned_data.get("q_destination") or "").strip()
    scan = manual_mapping.destination_scan_for_mapping(connection=connection)
    return {
        "connection": connection, "manual_scan": scan,
        "q_source": q_source, "q_destination": q_destination,
        "source_results": manual_mapping.manual_source_variants_search(
            connection=connection, search=q_source),
        "destination_results": manual_mapping.manual_destination_variants_search(
            connection=connection, scan=scan, search=q_destination),
        "hand_links": manual_mapping.manual_links_list(connection=connection, scan=scan),
    }


def _shown_scan_is_latest(connection: Connection, shown: str | None) -> bool:
    scan = manual_mapping.destination_scan_for_mapping(connection=connection)
    return scan is not None and shown == str(scan.pk)


def _panel(request: ShopRequest[Shop], connection: Connection, *, status: int = 200,
           job: ProductJob | None = None) -> HttpResponse:
    context = _panel_context(connection)
    if job is not None:  # the job just started (or, run at once, already done): its progress
        context["job"] = job
    return render(request, f"products/map.html#{PANEL}", context, status=status)


def _manual(request: ShopRequest[Shop], connection: Connection, *,
            status: int = 200) -> HttpResponse:
    return render(request, f"products/map.html#{MANUAL}",
                  _manual_context(connection, ManualSearchForm(request.POST)), status=status)


@require_GET
@vary_on_headers("HX-Request", "HX-Target", "Authorization")
@destination_view
def map_page(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    if not fragment_wanted(request):
        return render(request, "products/map.html", {
            **_panel_context(connection),
            **_manual_context(connection, ManualSearchForm(request.GET))})
    target = request.htmx.target
    if target == MANUAL and _shown_scan_is_latest(connection, request.GET.get("shown_scan")):
        # A check's end is said by every panel answer after it (two polls may overlap): the
        # hand mapper already lists that check's variants, and reloading it again would throw
        # away what the merchant is typing into its searches.
        return HttpResponse(status=204)
    if target in MANUAL_PARTS:
        return render(request, f"products/map.html#{target}",
                      _manual_context(connection, ManualSearchForm(request.GET)))
    context = _panel_context(connection)
    response = render(request, f"products/map.html#{PANEL}", context)
    scan = context["scan"]
    if scan is None or scan.finished:
        response.status_code = HTMX_STOP_POLLING
        # The hand mapper lists the store's variants as this check read them.
        trigger_client_event(response, CHECK_DONE, {})
    return response


@require_POST
@destination_view
def map_match_by(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    form = MatchByForm(request.POST)
    if not form.is_valid():
        return failure(_panel(request, connection, status=422), _error(form, "match_by"))
    changed = mapping.connection_match_by_set(connection=connection,
                                              match_by=form.cleaned_data["match_by"])
    connection.refresh_from_db()
    words = key_words(connection.match_by)
    response = _panel(request, connection)
    if not changed:
        return response
    return toast(response, f"Variants now match by {words}. Check again to see the matches.")


@require_POST
@destination_view
def map_check(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    scan = mapping.sku_scan_start(connection=connection)
    response = _panel(request, connection)
    scan.refresh_from_db(fields=["status"])
    if scan.finished:  # Shopify answered at once: no poll will say it is done
        trigger_client_event(response, CHECK_DONE, {})
    return toast(response, f"Reading your store's products and {key_words(connection.match_by)}s…")


def _scan_of(connection: Connection, form: MapLinkForm) -> CatalogueScan | None:
    if not form.is_valid():
        return None
    return CatalogueScan.objects.filter(pk=form.cleaned_data["scan"], connection=connection,
                                        purpose=CatalogueScan.Purpose.DESTINATION_SKUS).first()


@require_POST
@destination_view
def map_product_choice(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    """Link the matching variants of a product of which only some match, or skip it."""
    connection = _connection(request, connection_id)
    form = ProductChoiceForm(request.POST)
    scan = _scan_of(connection, form)
    try:
        if scan is None:
            raise imports.ImportRefused(_error(form, next(iter(form.errors))) if form.errors
                                        else "Check again first: that check is gone.")
        mapping.map_product_choice_set(connection=connection, scan=scan,
                                       source_product_id=form.cleaned_data["product"],
                                       link=form.cleaned_data["choice"] == "link")
    except imports.ImportRefused as exc:
        return failure(_panel(request, connection, status=409), str(exc))
    return _panel(request, connection)


@require_http_methods(["GET", "POST"])
@destination_view
def map_link(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    """Links the check's matches; a GET first says what that changes in the store."""
    connection = _connection(request, connection_id)
    scan = _scan_of(connection, MapLinkForm(request.GET if request.method == "GET"
                                            else request.POST))
    words = key_words(connection.match_by)
    if request.method == "GET":
        report = mapping.map_report_current(connection=connection, scan=scan)
        if scan is None or report is None:
            return failure(HttpResponse(status=409),
                           f"Check your {words}s first, then link the matches.")
        preview = override_preview.map_preview(connection=connection, scan=scan)
        count = preview.variants or mapping.map_plan(report=report).variant_count
        return override_confirm(
            request, preview=preview, question=ngettext(
                "Link %(count)d variant by %(key)s?", "Link %(count)d variants by %(key)s?",
                count) % {"count": count, "key": words},
            url=reverse("products:map_link", args=[connection.pk]), target=f"#{PANEL}",
            swap="outerHTML", vals={"scan": str(scan.pk)},
            note="From then on their quantities follow the source's stock.")
    try:
        if scan is None:
            raise imports.ImportRefused(f"Check your {words}s first, then link the matches.")
        job = mapping.map_start(connection=connection, scan=scan, actor_user_id=_user(request))
    except imports.ImportRefused as exc:
        return failure(_panel(request, connection, status=409), str(exc),
                       link_url=exc.upgrade_url, link_label=UPGRADE_LABEL)
    job.refresh_from_db()
    return toast(_panel(request, connection, job=job), ngettext(
        "Linking %(count)d product by %(key)s and setting its stock.",
        "Linking %(count)d products by %(key)s and setting their stock.",
        job.total) % {"count": job.total, "key": words})


@require_http_methods(["GET", "POST"])
@destination_view
def map_manual_link(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    """Links the two variants picked; a GET first says what that changes in the store."""
    connection = _connection(request, connection_id)
    form = ManualLinkForm(request.GET if request.method == "GET" else request.POST)
    if not form.is_valid():
        field = "source_variant" if "source_variant" in form.errors else next(iter(form.errors))
        if request.method == "GET":
            return failure(HttpResponse(status=422), _error(form, field))
        return failure(_manual(request, connection, status=422), _error(form, field))
    if request.method == "GET":
        return override_confirm(
            request, preview=override_preview.manual_link_preview(
                connection=connection, source_variant_id=form.cleaned_data["source_variant"],
                destination_variant_id=form.cleaned_data["destination_variant"]),
            question="Link these two variants?",
            url=reverse("products:map_manual_link", args=[connection.pk]),
            target=f"#{MANUAL}", swap="outerHTML", include="#manual-link-form",
            note="From then on your variant's quantity follows the source's stock.")
    try:
        variant_link = manual_mapping.variant_link_by_hand(
            connection=connection, source_variant_id=form.cleaned_data["source_variant"],
            destination_variant_id=form.cleaned_data["destination_variant"],
            actor_user_id=_user(request))
    except ManualLinkRefused as exc:
        return failure(_manual(request, connection, status=409), str(exc),
                       link_url=exc.upgrade_url, link_label=UPGRADE_LABEL)
    variant = variant_link.source_variant
    label = variant_label(variant.product.title, variant.title)
    return toast(_manual(request, connection),
                 f"Linked “{label}”. Its stock in your store now follows the source's.")


@require_POST
@destination_view
def map_manual_unlink(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    form = ManualUnlinkForm(request.POST)
    if not form.is_valid():
        return failure(_manual(request, connection, status=422), _error(form, "variant_link"))
    try:
        label = manual_mapping.variant_link_by_hand_remove(
            connection=connection, variant_link_id=form.cleaned_data["variant_link"],
            actor_user_id=_user(request))
    except ManualLinkRefused as exc:
        return failure(_manual(request, connection, status=409), str(exc))
    return toast(_manual(request, connection),
                 f"Unlinked “{label}”. It stays in your store with the stock it has now.")
