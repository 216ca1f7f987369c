"""Inventory settings: which source locations count and take destination sales; each
destination's receiving location, stock rules and pending-order rule; Resync now."""

from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from products.inventory.forms import ConnectionInventoryForm, SourceInventoryForm
from products.inventory.locations import shop_locations
from products.inventory.selectors import (
    connection_of_destination,
    destination_connections_inventory,
    reconciliation_run_of,
)
from products.inventory.settings import (
    connection_inventory_save as connection_inventory_settings_save,
)
from products.inventory.settings import (
    inventory_zero_hold_release,
    receiving_location_left,
    source_locations_save,
)
from products.inventory.tasks import (
    inventory_flush_on_commit,
    reconciliation_request,
    stock_rule_connection_on_commit,
    stock_to_clear_on_commit,
)
from products.models import ReconciliationRun
from products.override_preview import resync_preview
from products.views import override_confirm
from stores.auth import shop_session_required
from stores.models import Connection, Shop
from syncer.htmx import ShopRequest, failure, toast
from syncer.shopify.errors import ShopifyError


def _source_context(request: ShopRequest[Shop],
                    form: SourceInventoryForm | None = None) -> dict[str, Any]:
    shop = request.shop
    locations = shop_locations(shop=shop)
    settings = shop.settings or {}
    shared = settings.get("shared_location_ids") or [location["id"] for location in locations]
    initial = {"shared_location_ids": shared,
               "decrement_location_id": settings.get("decrement_location_id") or shared[0]}
    return {"form": form or SourceInventoryForm(initial=initial, locations=locations),
            "locations": locations}


def _destination_context(request: ShopRequest[Shop],
                         forms_by_pk: dict[int, ConnectionInventoryForm] | None = None,
                         ) -> dict[str, Any]:
    locations = shop_locations(shop=request.shop)
    connections = destination_connections_inventory(destination=request.shop)
    for row in connections:
        connection = row["connection"]
        row["form"] = (forms_by_pk or {}).get(connection.pk) or ConnectionInventoryForm(
            locations=locations, prefix=f"c{connection.pk}", initial={
                "destination_location_id": connection.destination_location_id
                or locations[0]["id"],
                "safety_stock": connection.safety_stock,
                "stock_percent": connection.stock_percent, "stock_max": connection.stock_max,
                "draft_below": connection.draft_below,
                "count_pending_orders": connection.count_pending_orders})
    return {"connections": connections}


@require_GET
@shop_session_required
def inventory_settings(request: ShopRequest[Shop]) -> HttpResponse:
    try:
        if request.shop.role == Shop.Role.SOURCE:
            context = _source_context(request)
        elif request.shop.role == Shop.Role.DESTINATION:
            context = _destination_context(request)
        else:
            context = {}
    except ShopifyError as exc:
        context = {"error": exc.merchant_message}
    return render(request, "products/inventory_settings.html", context)


def _shopify_unavailable(exc: ShopifyError) -> HttpResponse:
    return failure(HttpResponse(status=502), exc.merchant_message)


@require_POST
@shop_session_required
def source_inventory_save(request: ShopRequest[Shop]) -> HttpResponse:
    if request.shop.role != Shop.Role.SOURCE:
        return HttpResponse(status=403)
    try:
        locations = shop_locations(shop=request.shop)
    except ShopifyError as exc:
        return _shopify_unavailable(exc)
    form = SourceInventoryForm(request.POST, locations=locations)
    if not form.is_valid():
        return render(request, "products/inventory_settings.html#source-form",
                      _source_context(request, form), status=422)
    inventory_flush_on_commit(source_locations_save(
        source=request.shop, shared_location_ids=form.cleaned_data["shared_location_ids"],
        decrement_location_id=form.cleaned_data["decrement_location_id"]))
    response = render(request, "products/inventory_settings.html#source-form",
                      _source_context(request))
    return toast(response, "Saved. Destinations are being brought in line.")


def _connection(request: ShopRequest[Shop], connection_id: int) -> Connection:
    connection = connection_of_destination(destination=request.shop, connection_id=connection_id)
    if connection is None:
        raise Http404("No such source")
    return connection


@require_POST
@shop_session_required
def connection_inventory_save(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    try:
        locations = shop_locations(shop=request.shop)
    except ShopifyError as exc:
        return _shopify_unavailable(exc)
    form = ConnectionInventoryForm(request.POST, prefix=f"c{connection.pk}",
                                   locations=locations)
    if not form.is_valid():
        return render(request, "products/inventory_settings.html#destination-forms",
                      _destination_context(request, {connection.pk: form}), status=422)
    left = receiving_location_left(
        connection=connection,
        destination_location_id=form.cleaned_data["destination_location_id"])
    inventory_flush_on_commit(connection_inventory_settings_save(connection=connection,
                                                                 **form.cleaned_data))
    stock_to_clear_on_commit(connection=connection)
    stock_rule_connection_on_commit(connection_id=connection.pk)
    response = render(request, "products/inventory_settings.html#destination-forms",
                      _destination_context(request))
    if left is not None:
        names = {location["id"]: location["name"] for location in locations}
        chosen = form.cleaned_data["destination_location_id"]
        return toast(response, f"Saved. The source's stock moves to {names[chosen]} and is "
                               f"set to 0 at {names.get(left, 'the location you left')}.")
    return toast(response, "Saved. Stock is being brought in line.")


@require_POST
@shop_session_required
def zeros_release(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    released = inventory_zero_hold_release(connection=connection)
    if released:
        inventory_flush_on_commit([connection.destination_id])
    response = render(request, "products/inventory_settings.html#destination-forms",
                      _destination_context(request))
    return toast(response, f"{released} variant{'s' if released != 1 else ''} set to zero.")


@require_http_methods(["GET", "POST"])
@shop_session_required
def resync_now(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    """Starts a resync; a GET first says what it will change, from Syncer's record."""
    connection = _connection(request, connection_id)
    if request.method == "GET":
        return override_confirm(
            request, preview=resync_preview(connection=connection), question="Resync now?",
            url=reverse("inventory:resync", args=[connection.pk]),
            target=f"#resync-{connection.pk}",
            note="The resync reads both stores again, so it also corrects any difference "
                 "Syncer has not heard of.")
    run = reconciliation_request(connection=connection, trigger="merchant")
    return render(request, "products/_resync_progress.html", {"run": run,
                                                              "connection": connection})


@require_GET
@shop_session_required
def resync_progress(request: ShopRequest[Shop], connection_id: int, run_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    run = reconciliation_run_of(connection=connection, run_id=run_id)
    if run is None:
        raise Http404("No such resync")
    response = render(request, "products/_resync_progress.html", {"run": run,
                                                                  "connection": connection})
    if run.status != ReconciliationRun.Status.RUNNING:
        stopped = HttpResponseStopPolling(response.content)
        return stopped
    return response
