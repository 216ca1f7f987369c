"""Inventory settings: which source locations count and take destination sales; each
destination's receiving location, safety stock and pending-order rule; Resync now."""


from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from products.inventory import (
    inventory_zero_hold_release,
    shop_locations,
    zero_held_count,
)
from products.inventory_tasks import reconciliation_request
from products.models import ReconciliationRun
from stores.auth import shop_session_required
from stores.models import Connection, Shop
from syncer.htmx import toast
from syncer.shopify.errors import ShopifyError


class SourceInventoryForm(forms.Form):
    # Check boxes: the template lays out each choice's own input, which a <select> has not.
    shared_location_ids = forms.TypedMultipleChoiceField(
        coerce=int, label="Locations whose stock is shared",
        widget=forms.CheckboxSelectMultiple, error_messages={
            "required": "Choose at least one location to share."})
    decrement_location_id = forms.TypedChoiceField(
        coerce=int, label="Location that destination sales are taken from")

    def __init__(self, *args, locations: list[dict], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [(location["id"], location["name"]) for location in locations]
        self.fields["shared_location_ids"].choices = choices
        self.fields["decrement_location_id"].choices = choices

    def clean(self):
        data = super().clean()
        if data.get("decrement_location_id") and data.get("shared_location_ids") and (
                data["decrement_location_id"] not in data["shared_location_ids"]):
            self.add_error("decrement_location_id",
                           "Sales must be taken from one of the shared locations.")
        return data


class ConnectionInventoryForm(forms.Form):
    destination_location_id = forms.TypedChoiceField(coerce=int,
                                                     label="Receiving location")
    safety_stock = forms.IntegerField(min_value=0, max_value=100000, label="Safety stock",
                                      help_text="Units of each variant the source keeps back.")
    count_pending_orders = forms.BooleanField(
        required=False, label="Also count orders whose payment is pending")

    def __init__(self, *args, locations: list[dict], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["destination_location_id"].choices = [
            (location["id"], location["name"]) for location in locations]


def _source_context(request: HttpRequest, form: SourceInventoryForm | None = None) -> dict:
    shop = request.shop
    locations = shop_locations(shop=shop)
    settings = shop.settings or {}
    shared = settings.get("shared_location_ids") or [location["id"] for location in locations]
    initial = {"shared_location_ids": shared,
               "decrement_location_id": settings.get("decrement_location_id") or shared[0]}
    return {"form": form or SourceInventoryForm(initial=initial, locations=locations),
            "locations": locations}


def _destination_context(request: HttpRequest, forms_by_pk: dict | None = None) -> dict:
    locations = shop_locations(shop=request.shop)
    connections = []
    for connection in Connection.objects.filter(destination=request.shop,
                                                status=Connection.Status.CONNECTED
                                                ).select_related("source"):
        form = (forms_by_pk or {}).get(connection.pk) or ConnectionInventoryForm(
            locations=locations, prefix=f"c{connection.pk}", initial={
                "destination_location_id": connection.destination_location_id
                or locations[0]["id"],
                "safety_stock": connection.safety_stock,
                "count_pending_orders": connection.count_pending_orders})
        last_run = connection.reconciliations.order_by("-pk").first()
        connections.append({"connection": connection, "form": form, "run": last_run,
                            "held": zero_held_count(connection=connection)})
    return {"connections": connections}


@require_GET
@shop_session_required
def inventory_settings(request: HttpRequest) -> HttpResponse:
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
    return toast(HttpResponse(status=502), exc.merchant_message, error=True)


@require_POST
@shop_session_required
def source_inventory_save(request: HttpRequest) -> HttpResponse:
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
    from products.inventory import source_locations_save

    source_locations_save(source=request.shop,
                          shared_location_ids=form.cleaned_data["shared_location_ids"],
                          decrement_location_id=form.cleaned_data["decrement_location_id"])
    response = render(request, "products/inventory_settings.html#source-form",
                      _source_context(request))
    return toast(response, "Saved. Destinations are being brought in line.")


def _connection(request: HttpRequest, connection_id: int) -> Connection:
    connection = Connection.objects.filter(pk=connection_id, destination=request.shop).first()
    if connection is None:
        raise Http404("No such source")
    return connection


@require_POST
@shop_session_required
def connection_inventory_save(request: HttpRequest, connection_id: int) -> HttpResponse:
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
    from products.inventory import connection_inventory_save as save

    save(connection=connection, **form.cleaned_data)
    response = render(request, "products/inventory_settings.html#destination-forms",
                      _destination_context(request))
    return toast(response, "Saved. Stock is being brought in line.")


@require_POST
@shop_session_required
def zeros_release(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    released = inventory_zero_hold_release(connection=connection)
    response = render(request, "products/inventory_settings.html#destination-forms",
                      _destination_context(request))
    return toast(response, f"{released} variant{'s' if released != 1 else ''} set to zero.")


@require_POST
@shop_session_required
def resync_now(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    run = reconciliation_request(connection=connection, trigger="merchant")
    return render(request, "products/_resync_progress.html", {"run": run,
                                                              "connection": connection})


@require_GET
@shop_session_required
def resync_progress(request: HttpRequest, connection_id: int, run_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    run = ReconciliationRun.objects.filter(pk=run_id, connection=connection).first()
    if run is None:
        raise Http404("No such resync")
    response = render(request, "products/_resync_progress.html", {"run": run,
                                                                  "connection": connection})
    if run.status != ReconciliationRun.Status.RUNNING:
        stopped = HttpResponseStopPolling(response.content)
        return stopped
    return response
