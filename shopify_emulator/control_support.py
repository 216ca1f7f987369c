"""What every ``/_emulator`` control route shares: JSON in and out, input checks that answer
400 instead of raising, the emulator's parts a route may use, and the route table entry.

Bad input is a 400 `{"error": ...}`, an unknown shop or order a 404 — never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from shopify_emulator.auth import AuthStore
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.faults import FaultBoard
from shopify_emulator.stats import InventoryChangeLog, Stats
from shopify_emulator.webhooks import WebhookDispatcher
from shopify_emulator.world import World

SHOP_PATH = "/_emulator/shops/<domain>"
ORDER_PATH = f"{SHOP_PATH}/orders/<int:order_id>"
BULK_LIMIT = 5000  # products per bulk request (levels: ten times that)


class Emulator(Protocol):
    """The parts of the running emulator (``app.EmulatorApp``) that control routes use."""

    world: World
    config: EmulatorConfig
    auth: AuthStore
    stats: Stats
    faults: FaultBoard
    webhooks: WebhookDispatcher
    inventory_log: InventoryChangeLog
    installs: dict[str, dict[str, Any]]

    def snapshot(self) -> dict[str, Any]: ...

    def save_snapshot(self, path: str) -> None: ...

    def mint_session_token(self, shop: str, *, user_id: int = 1, lifetime: int = 60) -> str: ...

    def embedded_app_url(self, shop: str, *, path: str = "/") -> str: ...


@dataclass(frozen=True)
class Route:
    path: str
    name: str  # the werkzeug endpoint is "control:<name>"
    methods: tuple[str, ...]
    handler: Callable[..., Response]  # handler(emulator=..., request=..., **path values)


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def json_reply(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=str), status=status, mimetype="application/json")


def read_body(request: Request) -> dict[str, Any]:
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ControlError("body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ControlError("body must be a JSON object")
    return data


def int_field(
    data: dict[str, Any], key: str, *, required: bool = True, minimum: int | None = None
) -> Any:
    value = data.get(key)
    if value is None:
        if required:
            raise ControlError(f"{key} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ControlError(f"{key} must be an integer")
    try:
        number = int(value)
    except ValueError as exc:
        raise ControlError(f"{key} must be an integer") from exc
    if minimum is not None and number < minimum:
        raise ControlError(f"{key} must be >= {minimum}")
    return number


def str_field(data: dict[str, Any], key: str, *, required: bool = True, default: str = "") -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise ControlError(f"{key} is required")
        return default
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ControlError(f"{key} must be a string")
    return str(value)


def bool_field(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ControlError(f"{key} must be true or false")
    return value


def object_field(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = data.get(key)
    if value is not None and not isinstance(value, dict):
        raise ControlError(f"{key} must be an object")
    return value


def lines_field(data: dict[str, Any], *, required: bool = True) -> list[dict[str, Any]] | None:
    lines = data.get("lines")
    if lines is None and not required:
        return None
    if not isinstance(lines, list) or not lines:
        raise ControlError("lines must be a non-empty list of {sku, quantity}")
    result = []
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            raise ControlError(f"lines[{index}] must be an object")
        if not line.get("sku") and line.get("line_item_id") is None:
            raise ControlError(f"lines[{index}].sku is required")
        quantity = int_field(line, "quantity", minimum=1)
        entry = {k: v for k, v in line.items() if k != "quantity"}
        entry["quantity"] = quantity
        result.append(entry)
    return result


def shop_domains(*, emulator: Emulator) -> list[str]:
    with emulator.world.lock:
        return list(emulator.world.shops)


def require_shop(*, emulator: Emulator, domain: str) -> Shop:
    shop = emulator.world.shop_get(domain)
    if shop is None:
        raise ControlError(f"Unknown shop {domain!r}", status=404)
    return shop


def require_order(*, emulator: Emulator, domain: str, order_id: int) -> None:
    shop = require_shop(emulator=emulator, domain=domain)
    with emulator.world.lock:
        if int(order_id) not in shop.orders:
            raise ControlError(f"Unknown order {order_id} in {domain}", status=404)


def act(*, emulator: Emulator, operation: Callable[..., Any], **kwargs: Any) -> Any:
    """Run a domain operation as one merchant action (one X-Shopify-Event-Id)."""
    with emulator.webhooks.merchant_action():
        return operation(world=emulator.world, **kwargs)
