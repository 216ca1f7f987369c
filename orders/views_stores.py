"""A source's page for one connected store, and its block and unblock buttons.

The page shows the connection (stores), the products it syncs (products) and the orders it
pushed (orders), so it is composed here, in the app above the other two; the actions are the
stores app's services.
"""

from collections.abc import Callable

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from orders.auto_push_tasks import connection_unblock_with_orders
from orders.selectors import order_counts_for_connection
from orders.store_figures import STORE_PRODUCT_TABS, store_product_list
from products.forms import CatalogueListForm
from products.selectors import catalogue_tab_counts
from stores.auth import shop_role_required, shop_session_required
from stores.connections import ConnectionRefused, connection_block
from stores.models import Connection, Shop
from stores.selectors import connection_for_source, connection_history
from syncer.htmx import ShopRequest, failure, fragment_wanted, toast

PRODUCTS_PAGE_SIZE = 25


def _connection_or_404(request: ShopRequest[Shop], connection_id: int) -> Connection:
    connection = connection_for_source(source=request.shop, connection_id=connection_id)
    if connection is None:
        raise Http404("No such store")
    return connection


def _store_context(connection: Connection) -> dict:
    """The connection with its figures: its products and its orders by fulfilment."""
    return {
        "connection": connection,
        # Synced, and available to it (visible, not imported yet): the product tabs' too.
        "counts": catalogue_tab_counts(connection=connection),
        "events": connection_history(connection=connection),
        "orders": order_counts_for_connection(connection=connection),
    }


def _products_context(request: ShopRequest[Shop], connection: Connection) -> dict:
    """The store's products, a tab (synced, or available to import) searched and paginated."""
    filters = CatalogueListForm(request.GET)
    filters.is_valid()
    chosen = filters.cleaned_data.get("tab")
    tab = chosen if chosen in dict(STORE_PRODUCT_TABS) else "synced"  # not the catalogue's others
    search = (filters.cleaned_data.get("q") or "").strip()
    page = Paginator(store_product_list(connection=connection, tab=tab, search=search),
                     PRODUCTS_PAGE_SIZE).get_page(filters.cleaned_data.get("page") or 1)
    return {"tab": tab, "q": search, "page": page, "tabs": STORE_PRODUCT_TABS}


@require_GET
@vary_on_headers("HX-Request", "HX-Target", "Authorization")
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def store_detail(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    connection = _connection_or_404(request, connection_id)
    products = _products_context(request, connection)
    # A tab, a search or a page of the products swaps only them; other htmx requests (block,
    # unblock, a boosted link) are answered by their own views or want the whole page.
    if fragment_wanted(request) and request.htmx.target == "store-products":
        return render(request, "stores/store_detail.html#store-products",
                      {"connection": connection, **products,
                       "counts": catalogue_tab_counts(connection=connection)})
    return render(request, "stores/store_detail.html",
                  {**_store_context(connection), **products})


def _transition(request: ShopRequest[Shop], connection_id: int,
                action: Callable[..., Connection], done: str) -> HttpResponse:
    connection = _connection_or_404(request, connection_id)
    try:
        connection = action(connection=connection, actor=request.shop,
                            actor_user_id=request.session_token.user_id)
    except ConnectionRefused as exc:
        return failure(HttpResponse(status=409), str(exc))
    context = {**_store_context(connection), **_products_context(request, connection)}
    response = render(request, "stores/store_detail.html#store-status", context)
    # The products card below says whether the store syncs at all: redrawn with the status.
    response.content += render_to_string("stores/store_detail.html#store-products-card",
                                         {**context, "oob": True}, request=request).encode()
    return toast(response, done)


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def store_block(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    return _transition(request, connection_id, connection_block,
                       "Store blocked. It no longer sees your catalogue.")


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def store_unblock(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    # The orders automatic push waited to push to this source are looked at again.
    return _transition(request, connection_id, connection_unblock_with_orders,
                       "Store unblocked. Its products must be synced again.")
