"""Control routes for orders: a storefront checkout, payment of a pending order, refunds
and cancellations."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from shopify_emulator.control_support import (
    ORDER_PATH,
    SHOP_PATH,
    ControlError,
    Emulator,
    Route,
    act,
    bool_field,
    json_reply,
    lines_field,
    object_field,
    read_body,
    require_order,
    require_shop,
    str_field,
)
from shopify_emulator.domains.orders.operations import (
    order_checkout,
    order_edit_commit,
    order_mark_paid,
)
from shopify_emulator.domains.orders.refunds import order_cancel, order_refund

FINANCIAL_STATUSES = ("paid", "pending", "authorized")


def do_orders(*, emulator: Emulator, request: Request, domain: str) -> Response:
    require_shop(emulator=emulator, domain=domain)
    data = read_body(request)
    status = str_field(data, "financial_status", required=False, default="paid").lower()
    if status not in FINANCIAL_STATUSES:
        raise ControlError(f"financial_status must be one of {', '.join(FINANCIAL_STATUSES)}")
    kwargs: dict[str, Any] = {
        "shop_domain": domain,
        "lines": lines_field(data),
        "financial_status": status,
        "customer": object_field(data, "customer"),
        "shipping_address": object_field(data, "shipping_address"),
        "email": str_field(data, "email", required=False) or None,
    }
    for optional in ("shipping_lines", "tags", "note"):
        if data.get(optional) is not None:
            kwargs[optional] = data[optional]
    order = act(emulator=emulator, operation=order_checkout, **kwargs)
    return json_reply(order, status=201)


def do_refund(*, emulator: Emulator, request: Request, domain: str, order_id: int) -> Response:
    require_order(emulator=emulator, domain=domain, order_id=order_id)
    data = read_body(request)
    refund = act(
        emulator=emulator,
        operation=order_refund,
        shop_domain=domain,
        order_id=order_id,
        lines=lines_field(data),
        restock=bool_field(data, "restock", True),
    )
    return json_reply(refund, status=201)


def do_cancel(*, emulator: Emulator, request: Request, domain: str, order_id: int) -> Response:
    require_order(emulator=emulator, domain=domain, order_id=order_id)
    data = read_body(request)
    order = act(
        emulator=emulator,
        operation=order_cancel,
        shop_domain=domain,
        order_id=order_id,
        restock=bool_field(data, "restock", True),
    )
    return json_reply(order)


def do_pay(*, emulator: Emulator, request: Request, domain: str, order_id: int) -> Response:
    require_order(emulator=emulator, domain=domain, order_id=order_id)
    order = act(emulator=emulator, operation=order_mark_paid, shop_domain=domain,
                order_id=order_id)
    return json_reply(order)


def do_edit(*, emulator: Emulator, request: Request, domain: str, order_id: int) -> Response:
    """The merchant edits the order to add units: {"lines": [{"sku", "quantity"} (a new line)
    | {"line_item_id", "quantity"} (more of that line)]}; answers the orders/edited payload."""
    require_order(emulator=emulator, domain=domain, order_id=order_id)
    edit = act(emulator=emulator, operation=order_edit_commit, shop_domain=domain,
               order_id=order_id, lines=lines_field(data=read_body(request)))
    return json_reply(edit, status=201)


ROUTES = [
    Route(path=f"{SHOP_PATH}/orders", name="orders", methods=("POST",), handler=do_orders),
    Route(path=f"{ORDER_PATH}/refund", name="refund", methods=("POST",), handler=do_refund),
    Route(path=f"{ORDER_PATH}/cancel", name="cancel", methods=("POST",), handler=do_cancel),
    Route(path=f"{ORDER_PATH}/pay", name="pay", methods=("POST",), handler=do_pay),
    Route(path=f"{ORDER_PATH}/edit", name="edit", methods=("POST",), handler=do_edit),
]
