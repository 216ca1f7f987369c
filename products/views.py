"""Products section: the source's own catalogue; for a destination, each source's catalogue
(import, auto sync, unsync), its product settings, job progress and per-product sync history.
The map page has its own module (views_mapping)."""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING, trigger_client_event

from products import autosync, catalogue, imports, override_preview, selectors
from products.allowance import UPGRADE_LABEL
from products.field_sync import fields_syncing
from products.forms import (
    AutoSyncForm,
    AutoSyncSwitchForm,
    CatalogueListForm,
    HiddenTagForm,
    ProductSelectionForm,
    ProductSettingsForm,
    SourceProductListForm,
)
from products.history import sync_history_rows
from products.models import CatalogueScan
from products.pricing import PriceRule
from products.product_settings import (
    connection_product_settings_update,
    price_preview,
    product_settings_summary,
)
from stores.auth import shop_role_required, shop_session_required
from stores.models import Connection, Shop
from stores.selectors import connection_for_destination
from syncer.htmx import failure, fragment_wanted, page_or_fragment, toast

PAGE_SIZE = 25
HISTORY_PAGE_SIZE = 50


def _user(request: HttpRequest) -> str:
    return str(getattr(request.session_token, "user_id", "") or "")


# --- both roles -------------------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
def product_list(request: HttpRequest) -> HttpResponse:
    """Products: a source's own catalogue, or a destination's first source's catalogue."""
    shop = request.shop
    if shop.role == Shop.Role.SOURCE:
        return _source_products(request)
    if shop.role == Shop.Role.DESTINATION:
        connections = list(selectors.destination_connections(destination=shop))
        connected = [c for c in connections if c.status == Connection.Status.CONNECTED]
        if connected:
            return _catalogue(request, connected[0], connections)
        return render(request, "products/no_source.html", {"connections": connections})
    return render(request, "stores/wrong_role.html", {"role": Shop.Role.SOURCE}, status=403)


# --- source side ------------------------------------------------------------------------------


def _source_context(request: HttpRequest, form: HiddenTagForm | None = None) -> dict:
    source = request.shop
    filters = SourceProductListForm(request.GET)
    filters.is_valid()
    tab = filters.cleaned_data.get("tab") or "available"
    search = (filters.cleaned_data.get("q") or "").strip()
    page = Paginator(selectors.source_product_list(source=source, tab=tab, search=search),
                     PAGE_SIZE).get_page(filters.cleaned_data.get("page") or 1)
    return {
        "tab": tab, "q": search, "page": page, "tabs": selectors.SOURCE_TABS,
        "counts": selectors.source_product_tab_counts(source=source),
        "scan": selectors.catalogue_scan_latest(
            shop=source, purpose=CatalogueScan.Purpose.SOURCE_CATALOGUE),
        "hidden_form": form or HiddenTagForm(initial={"hidden_tag": source.hidden_tag}),
    }


def _source_products(request: HttpRequest) -> HttpResponse:
    template = page_or_fragment(request, "products/source_products.html", "product-table")
    return render(request, template,
                  _source_context(request))


@require_GET
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def catalogue_status(request: HttpRequest) -> HttpResponse:
    """The catalogue card, polled while a load runs."""
    response = render(request, "products/source_products.html#catalogue-status",
                      _source_context(request))
    scan = selectors.catalogue_scan_latest(shop=request.shop,
                                           purpose=CatalogueScan.Purpose.SOURCE_CATALOGUE)
    if scan is None or scan.finished:
        response.status_code = HTMX_STOP_POLLING
    return response


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def catalogue_reload(request: HttpRequest) -> HttpResponse:
    catalogue.source_catalogue_load_start(source=request.shop)
    response = render(request, "products/source_products.html#catalogue-status",
                      _source_context(request))
    return toast(response, "Reading your catalogue from Shopify. This page updates when done.")


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def hidden_tag_update(request: HttpRequest) -> HttpResponse:
    form = HiddenTagForm(request.POST)
    if not form.is_valid():
        return render(request, "products/source_products.html#hidden-tag",
                      _source_context(request, form), status=422)
    changed = catalogue.source_hidden_tag_set(source=request.shop,
                                              hidden_tag=form.cleaned_data["hidden_tag"],
                                              cause=f"hidden tag changed by user {_user(request)}")
    request.shop.refresh_from_db()
    response = render(request, "products/source_products.html#hidden-tag",
                      _source_context(request))
    response["HX-Trigger-After-Swap"] = "catalogueChanged"
    return toast(response, "Hidden tag saved. " + ngettext(
        "%(count)d product changed visibility.", "%(count)d products changed visibility.",
        changed) % {"count": changed})


# --- destination side -------------------------------------------------------------------------


class CatalogueRefused(Exception):
    pass


def _connection(request: HttpRequest, connection_id: int, *,
                require_connected: bool = True) -> Connection:
    connection = connection_for_destination(destination=request.shop,
                                            connection_id=connection_id)
    if connection is None:
        raise Http404("No such source")
    if require_connected and connection.status != Connection.Status.CONNECTED:
        raise CatalogueRefused(connection)
    return connection


def _refused(request: HttpRequest, connection: Connection) -> HttpResponse:
    if connection.status == Connection.Status.BLOCKED:
        message = ("This source blocked your store: its catalogue is no longer available and "
                   "nothing syncs. Ask its owner to unblock you.")
    else:
        message = ("You disconnected from this source, so its catalogue is not available. "
                   "Reconnect with its store key on the Sources page to see it again.")
    if request.htmx:
        return failure(HttpResponse(message, status=403), message)
    return render(request, "products/catalogue_refused.html",
                  {"connection": connection, "message": message}, status=403)


def destination_view(view):
    """Destination pages of one connection: 404 for another shop's, 403 once not connected."""
    import functools

    @functools.wraps(view)
    def wrapper(request: HttpRequest, connection_id: int, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, connection_id, *args, **kwargs)
        except CatalogueRefused as exc:
            return _refused(request, exc.args[0])

    return shop_session_required(shop_role_required(Shop.Role.DESTINATION)(wrapper))


def _catalogue_context(request: HttpRequest, connection: Connection,
                       connections: list[Connection] | None = None, **extra) -> dict:
    # A bulk action posts the list's tab, search and page: the list it re-renders stays as it was.
    filters = CatalogueListForm(request.POST if request.method == "POST" else request.GET)
    filters.is_valid()
    tab = filters.cleaned_data.get("tab") or "all"
    search = (filters.cleaned_data.get("q") or "").strip()
    page = Paginator(selectors.catalogue_for_destination(connection=connection, tab=tab,
                                                         search=search),
                     PAGE_SIZE).get_page(filters.cleaned_data.get("page") or 1)
    if connections is None:
        connections = list(selectors.destination_connections(destination=request.shop))
    return {
        "connection": connection, "connections": connections, "tab": tab, "q": search,
        "page": page, "tabs": selectors.DESTINATION_TABS,
        "counts": selectors.catalogue_tab_counts(connection=connection),
        "job": selectors.product_job_current(connection=connection),
        "settings_summary": product_settings_summary(connection=connection),
        "source_scan": selectors.catalogue_scan_latest(
            shop=connection.source, purpose=CatalogueScan.Purpose.SOURCE_CATALOGUE),
        **extra,
    }


def _catalogue(request: HttpRequest, connection: Connection,
               connections: list[Connection] | None = None) -> HttpResponse:
    return render(request, page_or_fragment(request, "products/catalogue.html", "catalogue-table"),
                  _catalogue_context(request, connection, connections))


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@destination_view
def source_catalogue(request: HttpRequest, connection_id: int) -> HttpResponse:
    return _catalogue(request, _connection(request, connection_id))


def _catalogue_main(request: HttpRequest, connection: Connection, message: str, *,
                    error: bool = False, status: int = 200, upgrade_url: str = "") -> HttpResponse:
    response = render(request, "products/catalogue.html#catalogue-main",
                      _catalogue_context(request, connection), status=status)
    if error:
        return failure(response, message, link_url=upgrade_url, link_label=UPGRADE_LABEL)
    return toast(response, message)


def _selection(request: HttpRequest, connection: Connection,
               form_class: type[ProductSelectionForm] = ProductSelectionForm,
               ) -> tuple[Form | None, list[int], str]:
    """The form and the products a bulk action is for, or what is wrong with the selection.
    "All matching" runs the list's search again, scoped to this connection. The action's
    preview (a GET) carries the same selection as its query."""
    form = form_class(request.GET if request.method == "GET" else request.POST)
    if not form.is_valid():
        return None, [], next(iter(form.errors.values()))[0]
    if not form.cleaned_data["all_matching"]:
        return form, form.cleaned_data["product"], ""
    ids = selectors.catalogue_product_ids_matching(
        connection=connection, tab=form.cleaned_data["tab"] or "all",
        search=form.cleaned_data["q"].strip())
    if not ids:
        return None, [], "No product matches your search any more. Nothing was changed."
    return form, ids, ""


def override_confirm(request: HttpRequest, *, preview: override_preview.OverridePreview,
                     question: str, url: str, target: str, swap: str = "innerHTML",
                     include: str = "", vals: dict[str, str] | None = None,
                     note: str = "", revert: str = "") -> HttpResponse:
    """Before an action that sets the store's quantities: what it will change, with Confirm
    (posting the action to `url`, swapping `target` as the action's own button did) and
    Cancel. Shared by the catalogue, the map page and Inventory's Resync now. `revert` names
    a switch to turn back off when the preview closes unconfirmed."""
    return render(request, "products/_override_preview.html", {
        "preview": preview, "question": question, "note": note, "revert": revert,
        "confirm": {"url": url, "target": target, "swap": swap, "include": include,
                    "vals": json.dumps(vals) if vals else ""}})


def _selection_problem(message: str) -> HttpResponse:
    """A preview of a selection that cannot be acted on: nothing to confirm, and why."""
    return failure(HttpResponse(status=422), message)


@require_http_methods(["GET", "POST"])
@destination_view
def catalogue_import(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Syncs the selected products; a GET first says what that will create."""
    connection = _connection(request, connection_id)
    form, ids, problem = _selection(request, connection)
    if request.method == "GET":
        if form is None:
            return _selection_problem(problem)
        preview = override_preview.import_preview(connection=connection, source_product_ids=ids)
        return override_confirm(
            request, preview=preview, question=ngettext(
                "Sync %(count)d product?", "Sync %(count)d products?",
                preview.products or len(ids)) % {"count": preview.products or len(ids)},
            url=reverse("products:catalogue_import", args=[connection.pk]),
            target="#catalogue-main", swap="outerHTML", include="#bulk-form")
    if form is None:
        return _catalogue_main(request, connection, problem, error=True, status=422)
    try:
        job = imports.product_import_start(connection=connection, source_product_ids=ids,
                                           actor_user_id=_user(request))
    except imports.ImportRefused as exc:
        return _catalogue_main(request, connection, str(exc), error=True, status=409,
                               upgrade_url=exc.upgrade_url)
    job.refresh_from_db()
    return _catalogue_main(request, connection, ngettext(
        "Syncing %(count)d product. You can leave this page; the sync continues.",
        "Syncing %(count)d products. You can leave this page; the sync continues.",
        job.total) % {"count": job.total})


@require_http_methods(["GET", "POST"])
@destination_view
def catalogue_auto_sync(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Auto sync on or off for the selected products; a GET first says what turning it on
    will change (off changes no quantity)."""
    connection = _connection(request, connection_id)
    form, ids, problem = _selection(request, connection, AutoSyncForm)
    if request.method == "GET":
        if form is None:
            return _selection_problem(problem)
        if not form.cleaned_data["enabled"]:
            return _selection_problem("Turning auto sync off changes none of your quantities: "
                                      "there is nothing to preview.")
        preview = override_preview.auto_sync_on_preview(connection=connection,
                                                        source_product_ids=ids)
        return override_confirm(
            request, preview=preview, question=ngettext(
                "Turn auto sync on for %(count)d product?",
                "Turn auto sync on for %(count)d products?",
                preview.products or len(ids)) % {"count": preview.products or len(ids)},
            url=reverse("products:catalogue_auto_sync", args=[connection.pk]),
            target="#catalogue-main", swap="outerHTML", include="#bulk-form",
            vals={"enabled": "on"},
            note="From then on your quantities of them follow the source's stock.")
    if form is None:
        return _catalogue_main(request, connection, problem, error=True, status=422)
    enabled = form.cleaned_data["enabled"]
    changed = autosync.product_links_auto_sync_set(
        connection=connection, source_product_ids=ids, enabled=enabled,
        actor_user_id=_user(request))
    if not changed:
        return _catalogue_main(request, connection,
                               f"Auto sync was already {'on' if enabled else 'off'} for the "
                               "selected synced products (unsynced ones have none).")
    message = (ngettext(
        "Auto sync on for %(count)d product: your quantities now follow the source's.",
        "Auto sync on for %(count)d products: your quantities now follow the source's.",
        changed) if enabled else ngettext(
        "Auto sync off for %(count)d product: nothing of it syncs until you turn it on again.",
        "Auto sync off for %(count)d products: nothing of them syncs until you turn it on "
        "again.", changed))
    return _catalogue_main(request, connection, message % {"count": changed})


@require_http_methods(["GET", "POST"])
@destination_view
def catalogue_product_auto_sync(request: HttpRequest, connection_id: int,
                                source_product_id: int) -> HttpResponse:
    """The switch in a product's row: auto sync on or off for that one product; answers its
    row as it is now. Switched on, a GET first says what turning it on will change."""
    connection = _connection(request, connection_id)
    if request.method == "GET":
        preview = override_preview.auto_sync_on_preview(connection=connection,
                                                        source_product_ids=[source_product_id])
        return override_confirm(
            request, preview=preview, question="Turn auto sync on for this product?",
            url=reverse("products:catalogue_product_auto_sync",
                        args=[connection.pk, source_product_id]),
            target=f"#catalogue-row-{source_product_id}", swap="outerHTML",
            vals={"enabled": "on"}, revert=f"#auto-sync-switch-{source_product_id}",
            note="From then on your quantities of it follow the source's stock.")
    form = AutoSyncSwitchForm(request.POST)
    changed = 0
    if form.is_valid():
        changed = autosync.product_links_auto_sync_set(
            connection=connection, source_product_ids=[source_product_id],
            enabled=form.cleaned_data["enabled"], actor_user_id=_user(request))
    product = selectors.catalogue_row(connection=connection,
                                      source_product_id=source_product_id)
    if product is None:
        raise Http404("No such product")
    response = render(request, "products/catalogue.html#catalogue-row",
                      {"connection": connection, "product": product})
    if not form.is_valid():
        return failure(response, form.errors["enabled"][0])
    if not product.synced:
        return failure(response, f"{product.title} is not synced, so it has no auto sync. Sync "
                                 "it first.")
    if not changed:
        return response
    return toast(response, f"Auto sync on for {product.title}: your quantities now follow the "
                           "source's." if product.link_auto_sync else
                           f"Auto sync off for {product.title}: nothing of it syncs until you "
                           "turn it on again.")


@require_POST
@destination_view
def catalogue_unsync(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    form, ids, problem = _selection(request, connection)
    if form is None:
        return _catalogue_main(request, connection, problem, error=True, status=422)
    removed = autosync.product_links_unsync(connection=connection, source_product_ids=ids,
                                            actor_user_id=_user(request))
    return _catalogue_main(request, connection, ngettext(
        "Unsynced %(count)d product. It stays in your store as it is.",
        "Unsynced %(count)d products. They stay in your store as they are.",
        removed) % {"count": removed} if removed else "None of the selected products was "
        "synced.")


@require_GET
@destination_view
def job_progress(request: HttpRequest, connection_id: int, job_id: int) -> HttpResponse:
    connection = _connection(request, connection_id, require_connected=False)
    job = selectors.product_job_for(connection=connection, job_id=job_id)
    if job is None:
        raise Http404("No such job")
    response = render(request, "products/_job_progress.html",
                      {"job": job, "connection": connection})
    if job.finished:
        response.status_code = HTMX_STOP_POLLING
        trigger_client_event(response, "jobDone", {"job": job.pk})
    return response


# --- product settings -------------------------------------------------------------------------


def _settings_context(request: HttpRequest, connection: Connection,
                      form: ProductSettingsForm | None = None) -> dict:
    """The page, or after a save or a failed one its form; the preview prices the source's
    products by the rule as typed (a bound form) or as saved, or shows why it cannot."""
    if form is None:
        form = ProductSettingsForm(initial=ProductSettingsForm.initial_for(connection),
                                   connection=connection)
    preview = None
    if not form.is_bound:
        preview = price_preview(connection=connection, rule=PriceRule.of(connection))
    elif not form.price_errors:
        preview = price_preview(connection=connection, rule=form.price_rule())
    return {"connection": connection, "form": form, "preview": preview,
            "prices_sync": "price" in fields_syncing(connection=connection),
            "catalogue_url": reverse("products:source_catalogue", args=[connection.pk])}


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request", "Authorization")
@destination_view
def product_settings(request: HttpRequest, connection_id: int) -> HttpResponse:
    """What of the source's products follows it here, and the price rule. A GET from the
    form with `preview` answers the preview for the rule as typed, saving nothing."""
    connection = _connection(request, connection_id)
    template = "products/product_settings.html"
    if request.method == "GET":
        if fragment_wanted(request) and request.GET.get("preview"):
            form = ProductSettingsForm(request.GET, connection=connection)
            return render(request, f"{template}#price-preview",
                          _settings_context(request, connection, form))
        return render(request, template, _settings_context(request, connection))
    form = ProductSettingsForm(request.POST, connection=connection)
    if not form.is_valid():
        return render(request, f"{template}#settings-form",
                      _settings_context(request, connection, form), status=422)
    data = form.cleaned_data
    connection = connection_product_settings_update(
        connection=connection, field_sync=form.field_sync(),
        metafield_namespaces=data["metafield_namespaces"], sync_variants=data["sync_variants"],
        price_markup_percent=data["price_markup_percent"],
        price_markup_fixed=data["price_markup_fixed"], price_rounding=data["price_rounding"],
        currency_rate=data["currency_rate"], compare_at_rule=data["compare_at_rule"])
    response = render(request, f"{template}#settings-form",
                      _settings_context(request, connection))
    return toast(response, "Product settings saved. They apply from the source's next change.")


@require_POST
@destination_view
def product_settings_reprice(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Prices every synced product by the saved rule now (price syncing only: a Create only
    price is the destination's own)."""
    connection = _connection(request, connection_id)
    count = autosync.product_links_fields_due(
        connection=connection, fields={"price", "compare_at"},
        cause=f"prices sent again by user {_user(request)}")
    if not count:
        return failure(HttpResponse(status=409),
                       "Nothing to send: prices do not follow this source (choose Sync for "
                       "Price), or no synced product follows it.")
    return toast(HttpResponse(status=204), ngettext(
        "The price of %(count)d synced product is being sent again with your rule.",
        "The prices of %(count)d synced products are being sent again with your rule.",
        count) % {"count": count})


# --- history ----------------------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@destination_view
def product_history(request: HttpRequest, connection_id: int,
                    source_product_id: int) -> HttpResponse:
    connection = _connection(request, connection_id, require_connected=False)
    product = selectors.catalogue_product(connection=connection,
                                          source_product_id=source_product_id)
    if product is None:
        raise Http404("No such product")
    filters = CatalogueListForm(request.GET)
    filters.is_valid()
    page = Paginator(selectors.sync_history(connection=connection, source_product=product),
                     HISTORY_PAGE_SIZE).get_page(filters.cleaned_data.get("page") or 1)
    link = product.links.filter(connection=connection).first()
    rows = sync_history_rows(connection=connection, events=list(page.object_list))
    return render(request, page_or_fragment(request, "products/history.html", "history-table"), {
        "connection": connection, "product": product, "link": link, "page": page, "rows": rows,
        "back_url": reverse("products:source_catalogue", args=[connection.pk]),
    })
