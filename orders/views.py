"""Orders section (destination), received orders (source), order push settings and help."""


from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from orders.forms import (
    AutoPushForm,
    BulkPushForm,
    OrderListForm,
    OrderSettingsForm,
    PushForm,
    ReceivedListForm,
    ShippingRuleDeleteForm,
    ShippingRuleForm,
)
from orders.models import DestinationOrder, OrderPush
from orders.selectors import (
    ORDERS_ADDON_LABEL,
    ORDERS_ADDON_REFUSAL,
    ORDERS_ADDON_WAITING,
    connected_sources_for,
    order_counts_for_connection,
    order_detail,
    order_for_destination,
    order_list_for_destination,
    order_list_reasons,
    order_list_waiting,
    order_settings_for,
    order_tab_counts,
    orders_addon_on,
    received_order_list,
    shipping_rules_for,
    source_connections_for,
)
from orders.services import (
    OrderPushRefused,
    order_auto_push_set,
    order_push_automatic,
    order_push_request,
    order_push_request_many,
    order_settings_update,
    shipping_rule_add,
    shipping_rule_delete,
)
from products.allowance import BILLING_URL_NAME
from stores.auth import shop_role_required, shop_session_required
from stores.models import Shop
from stores.selectors import connection_for_source
from syncer.htmx import ShopRequest, failure, fragment_wanted, page_or_fragment, toast

PAGE_SIZE = 20
PushState = DestinationOrder.PushState


def _order_or_404(request: ShopRequest[Shop], order_id: int) -> DestinationOrder:
    order = order_for_destination(shop=request.shop, order_id=order_id)
    if order is None:
        raise Http404("No such order")
    return order


# --- destination: the Orders section --------------------------------------------------------


def _list_context(request: ShopRequest[Shop], form: OrderListForm) -> dict:
    form.is_valid()
    tab = form.cleaned_data.get("tab") or PushState.NOT_PUSHED
    search = (form.cleaned_data.get("q") or "").strip()
    page = Paginator(order_list_for_destination(shop=request.shop, tab=tab, search=search),
                     PAGE_SIZE).get_page(form.cleaned_data.get("page") or 1)
    reasons = order_list_reasons(shop=request.shop, orders=list(page.object_list))
    waiting = order_list_waiting(shop=request.shop, orders=list(page.object_list))
    for order in page.object_list:
        order.refusal = reasons.get(order.pk)
        order.waiting = waiting.get(order.pk)
    # While a push on the page is under way the table refreshes itself until it is done.
    pushing = any(push.status == OrderPush.Status.PENDING for order in page.object_list
                  for push in order.pushes.all())
    return {"tab": tab, "q": search, "page": page, "tabs": PushState.choices, "pushing": pushing,
            "counts": order_tab_counts(shop=request.shop),
            "settings": order_settings_for(shop=request.shop),
            "orders_addon": orders_addon_on(shop=request.shop)}


def _addon_failure(response: HttpResponse, message: str) -> HttpResponse:
    """A push refusal; with the way to the Orders add-on when it is the add-on that is missing."""
    if ORDERS_ADDON_REFUSAL in message or ORDERS_ADDON_WAITING in message:
        return failure(response, message, link_url=reverse(BILLING_URL_NAME),
                       link_label=ORDERS_ADDON_LABEL)
    return failure(response, message)


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def order_list(request: ShopRequest[Shop]) -> HttpResponse:
    context = _list_context(request, OrderListForm(request.GET))
    template = page_or_fragment(request, "orders/order_list.html", "order-table")
    return render(request, template, context)


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def order_push_bulk(request: ShopRequest[Shop]) -> HttpResponse:
    form = BulkPushForm(request.POST)
    context = _list_context(request, OrderListForm(request.POST))
    if not form.is_valid():
        response = render(request, "orders/order_list.html#order-table", context, status=422)
        return failure(response, form.errors["order"][0])
    if not context["orders_addon"]:
        # One sentence for the whole selection, not the same one per order.
        response = render(request, "orders/order_list.html#order-table", context, status=409)
        return _addon_failure(response, ORDERS_ADDON_REFUSAL)
    result = order_push_request_many(shop=request.shop, order_ids=form.cleaned_data["order"])
    context = _list_context(request, OrderListForm(request.POST))
    response = render(request, "orders/order_list.html#order-table", context)
    if result.refused:
        _addon_failure(response, " ".join(f"{name}: {reason}"
                                          for name, reason in result.refused.items()))
    if result.queued or not result.refused:
        toast(response, ngettext("Pushing %(count)d order.", "Pushing %(count)d orders.",
                                 len(result.queued)) % {"count": len(result.queued)}
              if result.queued else "Nothing to push.")
    return response


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def order_auto_push(request: ShopRequest[Shop]) -> HttpResponse:
    form = AutoPushForm(request.POST)
    if not form.is_valid():
        return failure(HttpResponse(status=400), form.errors["enabled"][0])
    settings = order_auto_push_set(shop=request.shop, enabled=form.cleaned_data["enabled"])
    response = render(request, "orders/order_list.html#auto-push", {"settings": settings})
    return toast(response, "Automatic push is on: paid orders are pushed as they arrive."
                 if settings.auto_push else "Automatic push is off.")


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def order_detail_view(request: ShopRequest[Shop], order_id: int) -> HttpResponse:
    order = _order_or_404(request, order_id)
    template = "orders/order_detail.html"
    if fragment_wanted(request) and request.htmx.target == "order-pushes":
        template += "#order-pushes"
    return render(request, template, {"detail": order_detail(order=order),
                                      "form": PushForm()})


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def order_push(request: ShopRequest[Shop], order_id: int) -> HttpResponse:
    order = _order_or_404(request, order_id)
    form = PushForm(request.POST)
    if not form.is_valid():
        response = render(request, "orders/order_detail.html#order-pushes",
                          {"detail": order_detail(order=order), "form": form}, status=422)
        # The field's own words (what to type), not a vague "check the fee".
        first_error = next(iter(form.errors.values()))[0]
        return failure(response, f"Not pushed: {first_error}")
    source = form.cleaned_data["source"]
    try:
        result = order_push_request(order=order, source_ids=[source] if source else None,
                                    shipping_fee=form.cleaned_data["shipping_fee"])
    except OrderPushRefused as exc:
        response = render(request, "orders/order_detail.html#order-pushes",
                          {"detail": order_detail(order=order), "form": form}, status=409)
        return _addon_failure(response, str(exc))
    detail = order_detail(order=order)
    response = render(request, "orders/order_detail.html#order-pushes",
                      {"detail": detail, "form": PushForm()})
    pushed = [g.name for g in detail.groups if g.push and g.push.status == "pushed"
              and g.push in result.pushes]
    if pushed:
        message = f"Pushed to {', '.join(pushed)}."
    elif result.pushes:
        message = "Pushing… this page updates when it is done."
    else:
        message = f"Already pushed to {', '.join(result.already_pushed)}."
    if result.refusals:
        message += " " + " ".join(f"{name}: {reason}" for name, reason in result.refusals.items())
    return toast(response, message)


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def order_push_waiting(request: ShopRequest[Shop], order_id: int) -> HttpResponse:
    """Push waiting parts: automatic push looks at the order again now, by its rules."""
    order = _order_or_404(request, order_id)
    if order.auto_push_waiting_since is None:
        message = "Nothing on this order waits for automatic push."
        result = None
    else:
        result = order_push_automatic(order=order, trigger=OrderPush.Trigger.MANUAL,
                                 waiting_only=True)
        pushing = [push.source.name or push.source.domain for push in result.pushes]
        message = f"Pushing to {', '.join(pushing)}." if pushing else "Nothing could be pushed yet."
        if result.waiting:
            message += " " + " ".join(f"{name}: {why}" for name, why in result.waiting.items())
    order.refresh_from_db()
    response = render(request, "orders/order_detail.html#order-pushes",
                      {"detail": order_detail(order=order), "form": PushForm()})
    if result is not None and not result.pushes and any(
            why == ORDERS_ADDON_WAITING for why in result.waiting.values()):
        return _addon_failure(response, ORDERS_ADDON_WAITING)
    return toast(response, message)


# --- destination: settings and help -------------------------------------------------------------


def _settings_context(request: ShopRequest[Shop], form: OrderSettingsForm | None = None,
                      rule_form: ShippingRuleForm | None = None) -> dict:
    settings = order_settings_for(shop=request.shop)
    sources = connected_sources_for(shop=request.shop)
    return {
        "settings": settings,
        "form": form or OrderSettingsForm(initial={
            "auto_push": settings.auto_push, "contact_email_method": settings.contact_email_method,
            "custom_email": settings.custom_email,
            "shipping_rules_enabled": settings.shipping_rules_enabled,
            "notify_customer": settings.notify_customer,
            "partial_push": settings.partial_push,
        }, connections=source_connections_for(shop=request.shop)),
        "rule_form": rule_form or ShippingRuleForm(sources=sources),
        "rules": shipping_rules_for(shop=request.shop),
    }


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def order_settings(request: ShopRequest[Shop]) -> HttpResponse:
    if request.method == "GET":
        return render(request, page_or_fragment(request, "orders/settings.html", "settings-form"),
                      _settings_context(request))
    form = OrderSettingsForm(request.POST, connections=source_connections_for(shop=request.shop))
    if form.is_valid():
        try:
            order_settings_update(shop=request.shop, **form.cleaned_data)
        except ValidationError as exc:  # a source disconnected since the form was checked
            form.add_error(None, exc)
    if form.errors:
        return render(request, "orders/settings.html#settings-form",
                      _settings_context(request, form=form), status=422)
    context = _settings_context(request)
    response = render(request, "orders/settings.html#settings-form", context)
    # The shipping rules card says whether rules are on: swapped in alongside (out of band).
    response.write(render_to_string("orders/settings.html#shipping-rules",
                                    {**context, "out_of_band": True}, request=request))
    return toast(response, "Order settings saved.")


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def shipping_rules(request: ShopRequest[Shop]) -> HttpResponse:
    sources = connected_sources_for(shop=request.shop)
    if "delete" in request.POST:
        delete = ShippingRuleDeleteForm(request.POST)
        deleted = delete.is_valid() and shipping_rule_delete(
            shop=request.shop, rule_id=delete.cleaned_data["delete"])
        response = render(request, "orders/settings.html#shipping-rules",
                          _settings_context(request))
        return toast(response, "Rule removed." if deleted else "That rule was already gone.")
    form = ShippingRuleForm(request.POST, sources=sources)
    if not form.is_valid():
        return render(request, "orders/settings.html#shipping-rules",
                      _settings_context(request, rule_form=form), status=422)
    source_id = form.cleaned_data["source"]
    shipping_rule_add(shop=request.shop,
                      source=next((s for s in sources if s.pk == source_id), None),
                      min_subtotal=form.cleaned_data["min_subtotal"],
                      fee=form.cleaned_data["fee"])
    response = render(request, "orders/settings.html#shipping-rules", _settings_context(request))
    return toast(response, "Shipping rule saved.")


@require_GET
@shop_session_required
def order_help(request: ShopRequest[Shop]) -> HttpResponse:
    return render(request, "orders/help.html", {})


# --- source: orders received from a connected store --------------------------------------------


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def received_orders(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    connection = connection_for_source(source=request.shop, connection_id=connection_id)
    if connection is None:
        raise Http404("No such store")
    form = ReceivedListForm(request.GET)
    form.is_valid()
    status = form.cleaned_data.get("status") or ""
    search = (form.cleaned_data.get("q") or "").strip()
    page = Paginator(received_order_list(connection=connection, fulfillment=status,
                                         search=search),
                     PAGE_SIZE).get_page(form.cleaned_data.get("page") or 1)
    counts = order_counts_for_connection(connection=connection)
    context = {"connection": connection, "status": status, "q": search, "page": page,
               "filters": [("", "All")] + list(DestinationOrder.FulfillmentStatus.choices),
               # Each filter's badge: "All" shows every received order.
               "filter_counts": {"": counts["total"], **counts}}
    return render(request, page_or_fragment(request, "orders/received_list.html", "received-table"),
                  context)
