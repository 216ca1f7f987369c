"""Control routes for shops: create one, list them, read one."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from shopify_emulator import auth
from shopify_emulator.control_support import (
    SHOP_PATH,
    ControlError,
    Emulator,
    Route,
    act,
    json_reply,
    read_body,
    require_shop,
    shop_domains,
    str_field,
)
from shopify_emulator.domains.shop.operations import shop_create, shop_snapshot

PLANS = ("basic", "standard", "shopify", "advanced", "plus", "enterprise", "partner_test")


def do_shops(*, emulator: Emulator, request: Request) -> Response:
    if request.method == "GET":
        summaries = [_shop_summary(emulator=emulator, domain=d)
                     for d in shop_domains(emulator=emulator)]
        return json_reply({"shops": summaries})
    data = read_body(request)
    domain = auth.normalize_shop_domain(str_field(data, "domain"))
    if not auth.is_valid_shop_domain(domain):
        raise ControlError(f"domain {domain!r} is not a valid <name>.myshopify.com domain")
    plan = str_field(data, "plan", required=False, default="standard").lower()
    if plan not in PLANS:
        raise ControlError(f"plan must be one of {', '.join(PLANS)}")
    if emulator.world.shop_get(domain) is not None:
        raise ControlError(f"Shop {domain!r} already exists", status=409)
    name = (
        str_field(data, "name", required=False)
        or auth.store_handle(domain).replace("-", " ").title()
    )
    kwargs: dict[str, Any] = {"domain": domain, "name": name, "plan": plan}
    if data.get("currency"):
        kwargs["currency"] = str_field(data, "currency")
    if data.get("email"):
        kwargs["email"] = str_field(data, "email")
    if data.get("money_format"):
        kwargs["money_format"] = str_field(data, "money_format")
    act(emulator=emulator, operation=shop_create, **kwargs)
    token = emulator.auth.issue_offline(shop=domain, expiring=False)["access_token"]
    snapshot = shop_snapshot(world=emulator.world, domain=domain)
    snapshot["access_token"] = token
    return json_reply(snapshot, status=201)


def _shop_summary(*, emulator: Emulator, domain: str) -> dict[str, Any]:
    shop = emulator.world.shop_get(domain)
    install = emulator.installs.get(domain) or {}
    return {
        "domain": domain,
        "name": getattr(shop, "name", domain),
        "plan": getattr(shop, "plan", None),
        "installed": bool(install.get("installed")),
    }


def do_shop_get(*, emulator: Emulator, request: Request, domain: str) -> Response:
    require_shop(emulator=emulator, domain=domain)
    snapshot = shop_snapshot(
        world=emulator.world, domain=domain, orders=request.args.get("orders") != "0"
    )
    snapshot["app_installation"] = emulator.installs.get(domain) or {"installed": False}
    return json_reply(snapshot)


ROUTES = [
    Route(path="/_emulator/shops", name="shops", methods=("GET", "POST"), handler=do_shops),
    Route(path=SHOP_PATH, name="shop_get", methods=("GET",), handler=do_shop_get),
]
