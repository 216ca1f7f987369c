"""Control route for fulfilling an order from the admin."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from shopify_emulator.control_support import (
    ORDER_PATH,
    Emulator,
    Route,
    act,
    bool_field,
    json_reply,
    lines_field,
    read_body,
    require_order,
    str_field,
)
from shopify_emulator.domains.fulfillments.operations import order_fulfill


def do_fulfill(*, emulator: Emulator, request: Request, domain: str, order_id: int) -> Response:
    require_order(emulator=emulator, domain=domain, order_id=order_id)
    data = read_body(request)
    fulfillment = act(
        emulator=emulator,
        operation=order_fulfill,
        shop_domain=domain,
        order_id=order_id,
        tracking_company=str_field(data, "tracking_company", required=False) or None,
        tracking_number=str_field(data, "tracking_number", required=False) or None,
        tracking_url=str_field(data, "tracking_url", required=False) or None,
        lines=lines_field(data, required=False),
        notify_customer=bool_field(data, "notify_customer", True),
    )
    return json_reply(fulfillment, status=201)


ROUTES = [
    Route(path=f"{ORDER_PATH}/fulfill", name="fulfill", methods=("POST",), handler=do_fulfill),
]
