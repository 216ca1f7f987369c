"""Stores section (source side) and Sources section (destination side). A connected store's
own page shows its products and orders too, so orders/views_stores.py composes it."""

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from stores.auth import shop_role_required, shop_session_required
from stores.connect_check import connect_check_run
from stores.connections import (
    ConnectionRefused,
    connection_create,
    connection_disconnect,
    connection_on_link_end_set,
)
from stores.forms import ConnectForm, StoreListForm
from stores.forms_link_end import LinkEndForm
from stores.models import Connection, Shop
from stores.registry import RECENT_DAYS
from stores.selectors import (
    connection_counts_for_source,
    connection_for_destination,
    connection_list_for_destination,
    connection_list_for_source,
    store_activity_list,
)
from stores.services import store_key_rotate
from stores.views_invitations import invitations_context
from syncer.htmx import ShopRequest, failure, page_or_fragment, toast

PAGE_SIZE = 20


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def store_list(request: ShopRequest[Shop]) -> HttpResponse:
    form = StoreListForm(request.GET)
    form.is_valid()
    tab = form.cleaned_data.get("tab") or Connection.Status.CONNECTED
    search = (form.cleaned_data.get("q") or "").strip()
    page = Paginator(connection_list_for_source(source=request.shop, status=tab, search=search),
                     PAGE_SIZE).get_page(form.cleaned_data.get("page") or 1)
    context = {
        "tab": tab, "q": search, "page": page,
        "rows": store_activity_list(connections=list(page.object_list)),
        "recent_days": RECENT_DAYS,
        "counts": connection_counts_for_source(source=request.shop),
        "tabs": Connection.Status.choices,
        **invitations_context(source=request.shop),
    }
    template = page_or_fragment(request, "stores/store_list.html", "store-table")
    return render(request, template, context)


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def store_key_rotate_view(request: ShopRequest[Shop]) -> HttpResponse:
    shop = store_key_rotate(shop=request.shop)
    response = render(request, "stores/_store_key.html", {"shop": shop})
    return toast(response, "New key created. Copy it now: it is shown only this once.")


def _sources_context(request: ShopRequest[Shop], form: ConnectForm | None = None) -> dict:
    return {"connections": connection_list_for_destination(destination=request.shop),
            "form": form or ConnectForm(), "link_end_choices": Connection.LinkEnd.choices}


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def source_list(request: ShopRequest[Shop]) -> HttpResponse:
    return render(request, page_or_fragment(request, "stores/source_list.html", "sources"),
                  _sources_context(request))


CHECK = "connect-check"


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def source_connect_check(request: ShopRequest[Shop]) -> HttpResponse:
    """The check before connecting: how this store's variants compare with the catalogue of the
    source the pasted key opens, with Confirm connection and Cancel. Connects nothing; the
    card polls (sending the key again, checked again) while a catalogue is being read."""
    form = ConnectForm(request.POST)
    if form.is_valid():
        try:
            result = connect_check_run(destination=request.shop,
                                       store_key=form.cleaned_data["store_key"],
                                       key=form.cleaned_data["match_by"] or None,
                                       read_again=form.cleaned_data["read_again"])
        except ConnectionRefused as exc:
            form.add_error("store_key", str(exc))
        else:
            context = {**_sources_context(request, form), "check_source": result.source,
                       "check": result.check, "store_key": form.cleaned_data["store_key"],
                       "match_by": result.check.key if result.check else "",
                       "match_by_choices": Connection.MatchBy.choices}
            fragment = CHECK if request.htmx.target == CHECK else "sources"
            return render(request, f"stores/source_list.html#{fragment}", context)
    response = render(request, "stores/source_list.html#sources", _sources_context(request, form),
                      status=422)
    if request.htmx.target == CHECK:  # a poll or a new choice: the key no longer opens a check
        response = reswap(retarget(response, "#sources"), "outerHTML")
    return response


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def source_connect(request: ShopRequest[Shop]) -> HttpResponse:
    """Confirm connection (after the check, or straight from a key)."""
    form = ConnectForm(request.POST)
    if form.is_valid():
        try:
            connection = connection_create(destination=request.shop,
                                           store_key=form.cleaned_data["store_key"],
                                           actor_user_id=request.session_token.user_id,
                                           match_by=form.cleaned_data["match_by"] or None)
        except ConnectionRefused as exc:
            form.add_error("store_key", str(exc))
        else:
            response = render(request, "stores/source_list.html#sources",
                              _sources_context(request))
            source = connection.source.name or connection.source.domain
            return toast(response, f"Connected to {source}.")
    return render(request, "stores/source_list.html#sources", _sources_context(request, form),
                  status=422)


def _own_source_connection(request: ShopRequest[Shop], connection_id: int) -> Connection:
    """The requesting destination's connection, or 404 (never another store's)."""
    connection = connection_for_destination(destination=request.shop,
                                            connection_id=connection_id)
    if connection is None:
        raise Http404("No such source")
    return connection


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def source_disconnect(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    connection = _own_source_connection(request, connection_id)
    try:
        connection_disconnect(connection=connection, actor=request.shop,
                              actor_user_id=request.session_token.user_id)
    except ConnectionRefused as exc:
        return failure(HttpResponse(status=409), str(exc))
    response = render(request, "stores/source_list.html#sources", _sources_context(request))
    return toast(response, "Disconnected. Your orders and history are kept.")


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def source_link_end_set(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    """What this source's products in the store become when their links end."""
    connection = _own_source_connection(request, connection_id)
    form = LinkEndForm(request.POST)
    if not form.is_valid():
        return failure(HttpResponse(status=422),
                       "Choose what happens to your products when a link ends.")
    try:
        connection = connection_on_link_end_set(connection=connection, actor=request.shop,
                                                choice=form.cleaned_data["on_link_end"])
    except ConnectionRefused as exc:
        return failure(HttpResponse(status=409), str(exc))
    response = render(request, "stores/source_list.html#sources", _sources_context(request))
    source = connection.source.name or connection.source.domain
    return toast(response, f"Saved. When a link with {source} ends: "
                           f"{connection.get_on_link_end_display().lower()}.")
