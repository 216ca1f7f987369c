"""A source's page for one connected store, and its block and unblock buttons.

The page shows the connection (stores), the products it syncs (products) and the orders it
pushed (orders), so it is composed here, in the app above the other two; the actions are the
stores app's services.
"""

from collections.abc import Callable

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from orders.selectors import order_counts_for_connection
from products.selectors import source_product_counts
from stores.auth import shop_role_required, shop_session_required
from stores.connections import ConnectionRefused, connection_block, connection_unblock
from stores.models import Connection, Shop
from stores.selectors import (
    connection_for_source,
    connection_history,
    connection_synced_product_count,
)
from syncer.htmx import ShopRequest, toast


def _connection_or_404(request: ShopRequest[Shop], connection_id: int) -> Connection:
    connection = connection_for_source(source=request.shop, connection_id=connection_id)
    if connection is None:
        raise Http404("No such store")
    return connection


def _store_context(connection: Connection) -> dict:
    """The connection with its figures: its products and its orders by fulfilment."""
    return {
        "connection": connection,
        "synced_products": connection_synced_product_count(connection=connection),
        "available_products": source_product_counts(source=connection.source)["visible"],
        "events": connection_history(connection=connection),
        "orders": order_counts_for_connection(connection=connection),
    }


@require_GET
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def store_detail(request: ShopRequest[Shop], connection_id: int) -> HttpResponse:
    connection = _connection_or_404(request, connection_id)
    return render(request, "stores/store_detail.html", _store_context(connection))


def _transition(request: ShopRequest[Shop], connection_id: int,
                action: Callable[..., Connection], done: str) -> HttpResponse:
    connection = _connection_or_404(request, connection_id)
    try:
        connection = action(connection=connection, actor=request.shop,
                            actor_user_id=request.session_token.user_id)
    except ConnectionRefused as exc:
        return toast(HttpResponse(status=409), str(exc), error=True)
    response = render(request, "stores/store_detail.html#store-status",
                      _store_context(connection))
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
    return _transition(request, connection_id, connection_unblock,
                       "Store unblocked. Its products must be synced again.")
