"""The /_emulator control API: merchant actions, installs, faults, stats. JSON in, JSON out.

Each domain serves its own routes (``domains/*/control.py``); the routes here are the
emulator's own: health, reset, snapshots, app installs, faults, stats and webhook deliveries.
Bad input is a 400 `{"error": ...}`, an unknown shop or order a 404 — never a traceback.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from shopify_emulator import auth, mail
from shopify_emulator.control_support import (
    SHOP_PATH,
    ControlError,
    Emulator,
    Route,
    bool_field,
    int_field,
    json_reply,
    object_field,
    read_body,
    require_shop,
    shop_domains,
    str_field,
)
from shopify_emulator.domains.billing import control as billing_control
from shopify_emulator.domains.billing.operations import subscriptions_cancel_on_uninstall
from shopify_emulator.domains.bulk import control as bulk_control
from shopify_emulator.domains.fulfillments import control as fulfillments_control
from shopify_emulator.domains.inventory import control as inventory_control
from shopify_emulator.domains.orders import control as orders_control
from shopify_emulator.domains.products import control as products_control
from shopify_emulator.domains.products import control_variants as variants_control
from shopify_emulator.domains.shop import control as shop_control
from shopify_emulator.domains.shop.operations import shop_snapshot
from shopify_emulator.domains.webhook_subscriptions.operations import (
    subscription_create,
    subscription_delete,
)
from shopify_emulator.world import EmulatorError

COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")


class ControlAPI:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.routes: list[Route] = [
            Route(path="/_emulator/health", name="health", methods=("GET",), handler=do_health),
            Route(path="/_emulator/reset", name="reset", methods=("POST",), handler=do_reset),
            Route(path="/_emulator/snapshot", name="snapshot", methods=("GET", "POST"),
                  handler=do_snapshot),
            *shop_control.ROUTES,
            *products_control.ROUTES,
            *variants_control.ROUTES,
            *inventory_control.ROUTES,
            *orders_control.ROUTES,
            *fulfillments_control.ROUTES,
            *billing_control.ROUTES,
            Route(path=f"{SHOP_PATH}/install", name="install", methods=("POST",),
                  handler=do_install),
            Route(path=f"{SHOP_PATH}/uninstall", name="uninstall", methods=("POST",),
                  handler=do_uninstall),
            Route(path=f"{SHOP_PATH}/redact", name="redact", methods=("POST",), handler=do_redact),
            Route(path=f"{SHOP_PATH}/session-token", name="session_token", methods=("POST",),
                  handler=do_session_token),
            Route(path=f"{SHOP_PATH}/tokens/expire", name="tokens_expire", methods=("POST",),
                  handler=do_tokens_expire),
            Route(path=f"{SHOP_PATH}/webhooks", name="webhooks_recent", methods=("GET",),
                  handler=do_webhooks_recent),
            Route(path="/_emulator/faults", name="faults", methods=("GET", "POST"),
                  handler=do_faults),
            Route(path="/_emulator/stats", name="stats", methods=("GET",), handler=do_stats),
            *bulk_control.ROUTES,
            Route(path="/_emulator/webhooks", name="webhooks_recent", methods=("GET",),
                  handler=do_webhooks_recent),
            Route(path="/_emulator/webhooks/flush", name="webhooks_flush", methods=("POST",),
                  handler=do_webhooks_flush),
            *mail.ROUTES,
        ]
        self.handlers = {route.name: route.handler for route in self.routes}

    def rules(self) -> list[Rule]:
        return [
            Rule(route.path, endpoint=f"control:{route.name}", methods=list(route.methods))
            for route in self.routes
        ]

    def dispatch(self, name: str, request: Request, values: dict[str, Any]) -> Response:
        handler = self.handlers[name]
        if "domain" in values:
            values["domain"] = auth.normalize_shop_domain(values["domain"])
        try:
            return handler(emulator=self.emulator, request=request, **values)
        except ControlError as exc:
            return json_reply({"error": exc.message}, status=exc.status)
        except EmulatorError as exc:
            message = str(exc)
            status = 404 if message.startswith(("Unknown shop", "Unknown order")) else 400
            return json_reply({"error": message}, status=status)

    def shop_domains(self) -> list[str]:
        return shop_domains(emulator=self.emulator)


def do_health(*, emulator: Emulator, request: Request) -> Response:
    return json_reply({"ok": True, "shops": len(shop_domains(emulator=emulator))})


def do_reset(*, emulator: Emulator, request: Request) -> Response:
    emulator.webhooks.clear()
    emulator.world.reset()
    emulator.auth.reset()
    emulator.stats.reset()
    emulator.inventory_log.reset()
    emulator.faults.reset()
    emulator.installs.clear()
    return json_reply({"reset": True})


def do_snapshot(*, emulator: Emulator, request: Request) -> Response:
    if request.method == "GET":
        return json_reply(emulator.snapshot())
    path = str_field(read_body(request), "path", required=False) or emulator.config.snapshot_path
    if not path:
        raise ControlError('no snapshot path configured; pass {"path": ...}')
    emulator.save_snapshot(path)
    return json_reply({"saved": path})


def _toml_subscriptions(*, emulator: Emulator) -> list[tuple[str, str, Any]]:
    """(topic, uri, subscription) for every topic of every TOML subscription entry."""
    toml = emulator.config.app_toml
    pairs = []
    for entry in toml.subscriptions if toml else ():
        for topic in entry.all_topics:
            pairs.append((topic, entry.uri, entry))
    return pairs


def do_install(*, emulator: Emulator, request: Request, domain: str) -> Response:
    require_shop(emulator=emulator, domain=domain)
    data = read_body(request)
    load_app = bool_field(data, "load_app", True)
    existing = {
        (s["topic"], s["uri"])
        for s in shop_snapshot(world=emulator.world, domain=domain)["subscriptions"]
        if s.get("source") == "toml"
    }
    created = []
    for topic, uri, entry in _toml_subscriptions(emulator=emulator):
        if (topic, uri) in existing:
            continue
        created.append(
            subscription_create(
                world=emulator.world,
                shop_domain=domain,
                topic=topic,
                uri=uri,
                source="toml",
                include_fields=list(entry.include_fields),
                filter=entry.filter,
                name=entry.name,
            )
        )
    token = emulator.auth.issue_offline(shop=domain, expiring=False)["access_token"]
    emulator.installs[domain] = {
        "installed": True,
        "installed_at": time.time(),
        "uninstalled_at": None,
        "scope": emulator.config.scope_string,
    }
    result: dict[str, Any] = {
        "installed": True,
        "shop": domain,
        "access_token": token,
        "scope": emulator.config.scope_string,
        "subscriptions_created": len(created),
        "app_status": None,
    }
    if load_app:
        url = emulator.embedded_app_url(domain)
        result["app_url"] = url
        try:
            with httpx.Client(
                transport=emulator.config.app_transport,
                timeout=httpx.Timeout(30.0, connect=2.0),
                follow_redirects=False,
            ) as client:
                response = client.get(url, headers={"Sec-Fetch-Dest": "iframe"})
            result["app_status"] = response.status_code
        except httpx.HTTPError as exc:
            result["app_error"] = f"{type(exc).__name__}: {exc}"
    return json_reply(result)


def do_uninstall(*, emulator: Emulator, request: Request, domain: str) -> Response:
    require_shop(emulator=emulator, domain=domain)
    with emulator.webhooks.merchant_action():
        subscriptions = shop_snapshot(world=emulator.world, domain=domain)["subscriptions"]
        targets = [s for s in subscriptions if s["topic"] == "app/uninstalled"]
        revoked = emulator.auth.revoke_shop(domain)
        for subscription in subscriptions:
            subscription_delete(
                world=emulator.world,
                shop_domain=domain, subscription_id=subscription["id"]
            )
        charges_cancelled = subscriptions_cancel_on_uninstall(
            world=emulator.world, shop_domain=domain)
        if not targets:  # installed without TOML subscriptions: still honour the TOML
            targets = [
                {"uri": uri}
                for topic, uri, _ in _toml_subscriptions(emulator=emulator)
                if topic == "app/uninstalled"
            ]
        payload = _shop_payload(emulator=emulator, domain=domain)
        for target in targets:
            emulator.webhooks.send(
                shop=domain, topic="app/uninstalled", payload=payload, uri=target["uri"]
            )
    install = emulator.installs.setdefault(domain, {})
    install.update(installed=False, uninstalled_at=time.time())
    return json_reply(
        {
            "uninstalled": True,
            "shop": domain,
            "tokens_revoked": revoked,
            "subscriptions_removed": len(subscriptions),
            "app_subscriptions_cancelled": charges_cancelled,
            "webhooks_sent": len(targets),
        }
    )


def _shop_payload(*, emulator: Emulator, domain: str) -> dict[str, Any]:
    snapshot = shop_snapshot(world=emulator.world, domain=domain)
    return {
        "id": snapshot["id"],
        "name": snapshot["name"],
        "email": snapshot["email"],
        "domain": domain,
        "myshopify_domain": domain,
        "plan_name": snapshot["plan"],
        "currency": snapshot["currency"],
        "primary_location_id": snapshot["primary_location_id"],
        "admin_graphql_api_id": snapshot["admin_graphql_api_id"],
    }


def do_redact(*, emulator: Emulator, request: Request, domain: str) -> Response:
    require_shop(emulator=emulator, domain=domain)
    data = read_body(request)
    topic = str_field(data, "topic", required=False, default="shop/redact")
    if topic not in COMPLIANCE_TOPICS:
        raise ControlError(f"topic must be one of {', '.join(COMPLIANCE_TOPICS)}")
    shop_id = emulator.world.shop_get(domain).id
    payload: dict[str, Any] = {"shop_id": shop_id, "shop_domain": domain}
    if topic != "shop/redact":
        customer = object_field(data, "customer") or {
            "id": 1,
            "email": "customer@example.com",
            "phone": None,
        }
        orders = data.get("orders") or []
        payload["customer"] = customer
        if topic == "customers/redact":
            payload["orders_to_redact"] = orders
        else:
            payload["orders_requested"] = orders
            payload["data_request"] = {"id": int(time.time())}
    uris = [uri for t, uri, _ in _toml_subscriptions(emulator=emulator) if t == topic]
    if not uris:
        raise ControlError(f"shopify.app.toml has no subscription for {topic}")
    with emulator.webhooks.merchant_action():
        for uri in uris:
            emulator.webhooks.send(shop=domain, topic=topic, payload=payload, uri=uri)
    return json_reply({"sent": len(uris), "topic": topic, "payload": payload})


def do_session_token(*, emulator: Emulator, request: Request, domain: str) -> Response:
    require_shop(emulator=emulator, domain=domain)
    data = read_body(request)
    user_id = int_field(data, "user_id", required=False, minimum=1) or 1
    lifetime = int_field(data, "lifetime", required=False, minimum=1) or 60
    token = emulator.mint_session_token(domain, user_id=user_id, lifetime=lifetime)
    return json_reply({"token": token, "expires_in": lifetime})


def do_tokens_expire(*, emulator: Emulator, request: Request, domain: str) -> Response:
    require_shop(emulator=emulator, domain=domain)
    return json_reply({"expired": emulator.auth.expire_shop(domain)})


def do_faults(*, emulator: Emulator, request: Request) -> Response:
    if request.method == "GET":
        return json_reply(emulator.faults.state())
    data = read_body(request)
    shop = data.pop("shop", None)
    if shop is not None:
        shop = auth.normalize_shop_domain(str(shop))
    try:
        state = emulator.faults.update(data, shop=shop)
    except ValueError as exc:
        raise ControlError(str(exc)) from exc
    return json_reply(state)


def do_stats(*, emulator: Emulator, request: Request) -> Response:
    return json_reply(
        emulator.stats.snapshot(pending_webhooks=emulator.webhooks.pending())
    )


def do_webhooks_flush(*, emulator: Emulator, request: Request) -> Response:
    data = read_body(request)
    timeout = data.get("timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
        raise ControlError("timeout must be a number of seconds")
    idle = emulator.webhooks.flush(float(timeout))
    return json_reply({"idle": idle, "pending": emulator.webhooks.pending()})


def do_webhooks_recent(
    *, emulator: Emulator, request: Request, domain: str | None = None
) -> Response:
    limit = request.args.get("limit", "100")
    if not limit.isdigit():
        raise ControlError("limit must be a positive integer")
    items = emulator.webhooks.recent_deliveries(shop=domain, limit=int(limit))
    return json_reply({"deliveries": items})
