"""The /_emulator control API: merchant actions, installs, faults, stats. JSON in, JSON out.

Bad input is a 400 `{"error": ...}`, an unknown shop or order a 404 — never a traceback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from shopify_emulator import auth
from shopify_emulator.state import EmulatorError

if TYPE_CHECKING:
    from shopify_emulator.app import EmulatorApp

PLANS = ("basic", "standard", "shopify", "advanced", "plus", "enterprise", "partner_test")
FINANCIAL_STATUSES = ("paid", "pending", "authorized")
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
BULK_LIMIT = 5000  # products per bulk request (levels: ten times that)


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=str), status=status, mimetype="application/json")


def _body(request: Request) -> dict[str, Any]:
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


def _int(
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


def _str(data: dict[str, Any], key: str, *, required: bool = True, default: str = "") -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise ControlError(f"{key} is required")
        return default
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ControlError(f"{key} must be a string")
    return str(value)


def _bool(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ControlError(f"{key} must be true or false")
    return value


def _optional_object(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = data.get(key)
    if value is not None and not isinstance(value, dict):
        raise ControlError(f"{key} must be an object")
    return value


def _lines(data: dict[str, Any], *, required: bool = True) -> list[dict[str, Any]] | None:
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
        quantity = _int(line, "quantity", minimum=1)
        entry = {k: v for k, v in line.items() if k != "quantity"}
        entry["quantity"] = quantity
        result.append(entry)
    return result


class ControlAPI:
    def __init__(self, emulator: EmulatorApp) -> None:
        self.emulator = emulator

    @property
    def world(self) -> Any:
        return self.emulator.world

    def rules(self) -> list[Rule]:
        shop = "/_emulator/shops/<domain>"
        order = f"{shop}/orders/<int:order_id>"
        table = [
            ("/_emulator/health", "health", ["GET"]),
            ("/_emulator/reset", "reset", ["POST"]),
            ("/_emulator/snapshot", "snapshot", ["GET", "POST"]),
            ("/_emulator/shops", "shops", ["GET", "POST"]),
            (shop, "shop_get", ["GET"]),
            (f"{shop}/products", "products", ["POST"]),
            (f"{shop}/products/bulk", "products_bulk", ["POST"]),
            (f"{shop}/inventory", "inventory", ["POST"]),
            (f"{shop}/inventory/bulk", "inventory_bulk", ["POST"]),
            ("/_emulator/inventory/changes", "inventory_changes", ["GET"]),
            (f"{shop}/orders", "orders", ["POST"]),
            (f"{order}/refund", "refund", ["POST"]),
            (f"{order}/cancel", "cancel", ["POST"]),
            (f"{order}/fulfill", "fulfill", ["POST"]),
            (f"{shop}/install", "install", ["POST"]),
            (f"{shop}/uninstall", "uninstall", ["POST"]),
            (f"{shop}/redact", "redact", ["POST"]),
            (f"{shop}/session-token", "session_token", ["POST"]),
            (f"{shop}/tokens/expire", "tokens_expire", ["POST"]),
            (f"{shop}/webhooks", "webhooks_recent", ["GET"]),
            ("/_emulator/faults", "faults", ["GET", "POST"]),
            ("/_emulator/stats", "stats", ["GET"]),
            ("/_emulator/bulk/<bulk_id>.jsonl", "bulk", ["GET"]),
            ("/_emulator/webhooks", "webhooks_recent", ["GET"]),
            ("/_emulator/webhooks/flush", "webhooks_flush", ["POST"]),
        ]
        return [
            Rule(path, endpoint=f"control:{name}", methods=methods) for path, name, methods in table
        ]

    def dispatch(self, name: str, request: Request, values: dict[str, Any]) -> Response:
        handler: Callable[..., Response] = getattr(self, f"do_{name}")
        if "domain" in values:
            values["domain"] = auth.normalize_shop_domain(values["domain"])
        try:
            return handler(request, **values)
        except ControlError as exc:
            return _json({"error": exc.message}, status=exc.status)
        except EmulatorError as exc:
            message = str(exc)
            status = 404 if message.startswith(("Unknown shop", "Unknown order")) else 400
            return _json({"error": message}, status=status)

    # -- helpers -------------------------------------------------------------------------

    def shop_domains(self) -> list[str]:
        with self.world.lock:
            return list(self.world.shops)

    def _require_shop(self, domain: str) -> Any:
        shop = self.world.shop_get(domain)
        if shop is None:
            raise ControlError(f"Unknown shop {domain!r}", status=404)
        return shop

    def _require_order(self, domain: str, order_id: int) -> None:
        shop = self._require_shop(domain)
        with self.world.lock:
            if int(order_id) not in shop.orders:
                raise ControlError(f"Unknown order {order_id} in {domain}", status=404)

    def _act(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        with self.emulator.webhooks.merchant_action():
            return fn(**kwargs)

    # -- endpoints -----------------------------------------------------------------------

    def do_health(self, request: Request) -> Response:
        return _json({"ok": True, "shops": len(self.shop_domains())})

    def do_reset(self, request: Request) -> Response:
        emulator = self.emulator
        emulator.webhooks.clear()
        self.world.reset()
        emulator.auth.reset()
        emulator.stats.reset()
        emulator.inventory_log.reset()
        emulator.faults.reset()
        emulator.installs.clear()
        return _json({"reset": True})

    def do_snapshot(self, request: Request) -> Response:
        if request.method == "GET":
            return _json(self.emulator.snapshot())
        path = _str(_body(request), "path", required=False) or self.emulator.config.snapshot_path
        if not path:
            raise ControlError('no snapshot path configured; pass {"path": ...}')
        self.emulator.save_snapshot(path)
        return _json({"saved": path})

    def do_shops(self, request: Request) -> Response:
        if request.method == "GET":
            return _json({"shops": [self._shop_summary(d) for d in self.shop_domains()]})
        data = _body(request)
        domain = auth.normalize_shop_domain(_str(data, "domain"))
        if not auth.is_valid_shop_domain(domain):
            raise ControlError(f"domain {domain!r} is not a valid <name>.myshopify.com domain")
        plan = _str(data, "plan", required=False, default="standard").lower()
        if plan not in PLANS:
            raise ControlError(f"plan must be one of {', '.join(PLANS)}")
        if self.world.shop_get(domain) is not None:
            raise ControlError(f"Shop {domain!r} already exists", status=409)
        name = (
            _str(data, "name", required=False)
            or auth.store_handle(domain).replace("-", " ").title()
        )
        kwargs: dict[str, Any] = {"domain": domain, "name": name, "plan": plan}
        if data.get("currency"):
            kwargs["currency"] = _str(data, "currency")
        if data.get("email"):
            kwargs["email"] = _str(data, "email")
        self._act(self.world.shop_create, **kwargs)
        token = self.emulator.auth.issue_offline(shop=domain, expiring=False)["access_token"]
        snapshot = self.world.shop_snapshot(domain)
        snapshot["access_token"] = token
        return _json(snapshot, status=201)

    def _shop_summary(self, domain: str) -> dict[str, Any]:
        shop = self.world.shop_get(domain)
        install = self.emulator.installs.get(domain) or {}
        return {
            "domain": domain,
            "name": getattr(shop, "name", domain),
            "plan": getattr(shop, "plan", None),
            "installed": bool(install.get("installed")),
        }

    def do_shop_get(self, request: Request, domain: str) -> Response:
        self._require_shop(domain)
        snapshot = self.world.shop_snapshot(domain, orders=request.args.get("orders") != "0")
        snapshot["app_installation"] = self.emulator.installs.get(domain) or {"installed": False}
        return _json(snapshot)

    @staticmethod
    def _product_spec(data: dict[str, Any]) -> dict[str, Any]:
        """Validated keyword arguments for World.product_create from a control API body."""
        title = _str(data, "title")
        tags = data.get("tags") or []
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",") if t.strip()]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ControlError("tags must be a list of strings")
        variants = data.get("variants")
        if variants is None:
            variants = [
                {
                    "sku": data.get("sku"),
                    "price": data.get("price", "10.00"),
                    "available": data.get("available", 0),
                }
            ]
        if not isinstance(variants, list) or not variants:
            raise ControlError("variants must be a non-empty list of {sku, price, available}")
        clean = []
        for index, variant in enumerate(variants):
            if not isinstance(variant, dict):
                raise ControlError(f"variants[{index}] must be an object")
            entry = dict(variant)
            entry["sku"] = _str(variant, "sku", required=False) or None
            entry["price"] = _str(variant, "price", required=False, default="0.00")
            entry["available"] = _int(variant, "available", required=False) or 0
            clean.append(entry)
        return {"title": title, "vendor": _str(data, "vendor", required=False), "tags": tags,
                "variants": clean}

    def do_products(self, request: Request, domain: str) -> Response:
        self._require_shop(domain)
        spec = self._product_spec(_body(request))
        product = self._act(self.world.product_create, shop_domain=domain, **spec)
        return _json(product, status=201)

    def do_products_bulk(self, request: Request, domain: str) -> Response:
        """Many products in one request (benchmark and large-test setup). Each product is its
        own merchant action, with the same webhooks as one POST .../products each; the reply
        is compact: ids and SKUs only."""
        self._require_shop(domain)
        products = _body(request).get("products")
        if not isinstance(products, list) or not products:
            raise ControlError("products must be a non-empty list of product objects")
        if len(products) > BULK_LIMIT:
            raise ControlError(f"at most {BULK_LIMIT} products per request")
        specs = []
        for index, data in enumerate(products):
            if not isinstance(data, dict):
                raise ControlError(f"products[{index}] must be an object")
            specs.append(self._product_spec(data))
        created = []
        for spec in specs:
            product = self._act(self.world.product_create, shop_domain=domain, **spec)
            created.append({
                "id": product["id"],
                "title": product["title"],
                "variants": [
                    {"id": v["id"], "sku": v["sku"], "inventory_item_id": v["inventory_item_id"]}
                    for v in product["variants"]
                ],
            })
        return _json({"products": created}, status=201)

    def do_inventory(self, request: Request, domain: str) -> Response:
        self._require_shop(domain)
        data = _body(request)
        sku = _str(data, "sku")
        location_id = _int(data, "location_id", required=False)
        if ("available" in data) == ("delta" in data):
            raise ControlError("pass exactly one of available or delta")
        if "available" in data:
            level = self._act(
                self.world.inventory_set_available,
                shop_domain=domain,
                sku=sku,
                available=_int(data, "available"),
                location_id=location_id,
            )
        else:
            level = self._act(
                self.world.inventory_adjust_available,
                shop_domain=domain,
                sku=sku,
                delta=_int(data, "delta"),
                location_id=location_id,
            )
        return _json(level)

    def do_inventory_bulk(self, request: Request, domain: str) -> Response:
        """Sets (or adjusts) many levels, each as its own merchant edit: one
        inventory_levels/update with its own X-Shopify-Event-Id per level that changed.
        Everything is validated before anything changes."""
        shop = self._require_shop(domain)
        entries = _body(request).get("levels")
        if not isinstance(entries, list) or not entries:
            raise ControlError("levels must be a non-empty list of objects")
        if len(entries) > BULK_LIMIT * 10:
            raise ControlError(f"at most {BULK_LIMIT * 10} levels per request")
        with self.world.lock:
            by_sku: dict[str, int] | None = None
            changes = []
            for index, data in enumerate(entries):
                if not isinstance(data, dict):
                    raise ControlError(f"levels[{index}] must be an object")
                item_id = _int(data, "inventory_item_id", required=False)
                if item_id is None:
                    sku = _str(data, "sku", required=False)
                    if not sku:
                        raise ControlError(f"levels[{index}] needs inventory_item_id or sku")
                    if by_sku is None:
                        by_sku = {item.sku: item.id for item in shop.inventory_items.values()}
                    item_id = by_sku.get(sku)
                    if item_id is None:
                        raise ControlError(f"No variant with sku {sku!r} in {domain}")
                item = shop.inventory_items.get(item_id)
                if item is None:
                    raise ControlError(f"Unknown inventory item {item_id} in {domain}")
                location_id = _int(data, "location_id", required=False) or (
                    shop.primary_location_id)
                if location_id not in item.levels:
                    raise ControlError(
                        f"inventory item {item_id} is not stocked at location {location_id}")
                if ("available" in data) == ("delta" in data):
                    raise ControlError(f"levels[{index}]: pass exactly one of available or delta")
                key = "available" if "available" in data else "delta"
                changes.append((item_id, location_id, key, _int(data, key)))
        levels = [
            self._act(self.world.inventory_level_set, shop_domain=domain, inventory_item_id=item,
                      location_id=location, **{key: value})
            for item, location, key, value in changes
        ]
        return _json({"levels": levels})

    def do_inventory_changes(self, request: Request) -> Response:
        """Every inventory level change (any shop, any cause) since a wall-clock time."""
        try:
            since = float(request.args.get("since", "0"))
        except ValueError as exc:
            raise ControlError("since must be a number (seconds since the epoch)") from exc
        limit = request.args.get("limit", "10000")
        if not limit.isdigit():
            raise ControlError("limit must be a positive integer")
        shop = request.args.get("shop")
        if shop:
            shop = auth.normalize_shop_domain(shop)
        changes = self.emulator.inventory_log.since(since, shop=shop, limit=int(limit))
        return _json({"changes": changes, "now": time.time()})

    def do_orders(self, request: Request, domain: str) -> Response:
        self._require_shop(domain)
        data = _body(request)
        status = _str(data, "financial_status", required=False, default="paid").lower()
        if status not in FINANCIAL_STATUSES:
            raise ControlError(f"financial_status must be one of {', '.join(FINANCIAL_STATUSES)}")
        kwargs: dict[str, Any] = {
            "shop_domain": domain,
            "lines": _lines(data),
            "financial_status": status,
            "customer": _optional_object(data, "customer"),
            "shipping_address": _optional_object(data, "shipping_address"),
            "email": _str(data, "email", required=False) or None,
        }
        for optional in ("shipping_lines", "tags", "note"):
            if data.get(optional) is not None:
                kwargs[optional] = data[optional]
        order = self._act(self.world.order_checkout, **kwargs)
        return _json(order, status=201)

    def do_refund(self, request: Request, domain: str, order_id: int) -> Response:
        self._require_order(domain, order_id)
        data = _body(request)
        refund = self._act(
            self.world.order_refund,
            shop_domain=domain,
            order_id=order_id,
            lines=_lines(data),
            restock=_bool(data, "restock", True),
        )
        return _json(refund, status=201)

    def do_cancel(self, request: Request, domain: str, order_id: int) -> Response:
        self._require_order(domain, order_id)
        data = _body(request)
        order = self._act(
            self.world.order_cancel,
            shop_domain=domain,
            order_id=order_id,
            restock=_bool(data, "restock", True),
        )
        return _json(order)

    def do_fulfill(self, request: Request, domain: str, order_id: int) -> Response:
        self._require_order(domain, order_id)
        data = _body(request)
        fulfillment = self._act(
            self.world.order_fulfill,
            shop_domain=domain,
            order_id=order_id,
            tracking_company=_str(data, "tracking_company", required=False) or None,
            tracking_number=_str(data, "tracking_number", required=False) or None,
            tracking_url=_str(data, "tracking_url", required=False) or None,
            lines=_lines(data, required=False),
        )
        return _json(fulfillment, status=201)

    # -- app installation ----------------------------------------------------------------

    def _toml_subscriptions(self) -> list[tuple[str, str, Any]]:
        """(topic, uri, subscription) for every topic of every TOML subscription entry."""
        toml = self.emulator.config.app_toml
        pairs = []
        for entry in toml.subscriptions if toml else ():
            for topic in entry.all_topics:
                pairs.append((topic, entry.uri, entry))
        return pairs

    def do_install(self, request: Request, domain: str) -> Response:
        self._require_shop(domain)
        data = _body(request)
        load_app = _bool(data, "load_app", True)
        existing = {
            (s["topic"], s["uri"])
            for s in self.world.shop_snapshot(domain)["subscriptions"]
            if s.get("source") == "toml"
        }
        created = []
        for topic, uri, entry in self._toml_subscriptions():
            if (topic, uri) in existing:
                continue
            created.append(
                self.world.subscription_create(
                    shop_domain=domain,
                    topic=topic,
                    uri=uri,
                    source="toml",
                    include_fields=list(entry.include_fields),
                    filter=entry.filter,
                    name=entry.name,
                )
            )
        token = self.emulator.auth.issue_offline(shop=domain, expiring=False)["access_token"]
        self.emulator.installs[domain] = {
            "installed": True,
            "installed_at": time.time(),
            "uninstalled_at": None,
            "scope": self.emulator.config.scope_string,
        }
        result: dict[str, Any] = {
            "installed": True,
            "shop": domain,
            "access_token": token,
            "scope": self.emulator.config.scope_string,
            "subscriptions_created": len(created),
            "app_status": None,
        }
        if load_app:
            url = self.emulator.embedded_app_url(domain)
            result["app_url"] = url
            try:
                with httpx.Client(
                    transport=self.emulator.config.app_transport,
                    timeout=httpx.Timeout(30.0, connect=2.0),
                    follow_redirects=False,
                ) as client:
                    response = client.get(url, headers={"Sec-Fetch-Dest": "iframe"})
                result["app_status"] = response.status_code
            except httpx.HTTPError as exc:
                result["app_error"] = f"{type(exc).__name__}: {exc}"
        return _json(result)

    def do_uninstall(self, request: Request, domain: str) -> Response:
        self._require_shop(domain)
        with self.emulator.webhooks.merchant_action():
            subscriptions = self.world.shop_snapshot(domain)["subscriptions"]
            targets = [s for s in subscriptions if s["topic"] == "app/uninstalled"]
            revoked = self.emulator.auth.revoke_shop(domain)
            for subscription in subscriptions:
                self.world.subscription_delete(
                    shop_domain=domain, subscription_id=subscription["id"]
                )
            if not targets:  # installed without TOML subscriptions: still honour the TOML
                targets = [
                    {"uri": uri}
                    for topic, uri, _ in self._toml_subscriptions()
                    if topic == "app/uninstalled"
                ]
            payload = self._shop_payload(domain)
            for target in targets:
                self.emulator.webhooks.send(
                    shop=domain, topic="app/uninstalled", payload=payload, uri=target["uri"]
                )
        install = self.emulator.installs.setdefault(domain, {})
        install.update(installed=False, uninstalled_at=time.time())
        return _json(
            {
                "uninstalled": True,
                "shop": domain,
                "tokens_revoked": revoked,
                "subscriptions_removed": len(subscriptions),
                "webhooks_sent": len(targets),
            }
        )

    def _shop_payload(self, domain: str) -> dict[str, Any]:
        snapshot = self.world.shop_snapshot(domain)
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

    def do_redact(self, request: Request, domain: str) -> Response:
        self._require_shop(domain)
        data = _body(request)
        topic = _str(data, "topic", required=False, default="shop/redact")
        if topic not in COMPLIANCE_TOPICS:
            raise ControlError(f"topic must be one of {', '.join(COMPLIANCE_TOPICS)}")
        shop_id = self.world.shop_get(domain).id
        payload: dict[str, Any] = {"shop_id": shop_id, "shop_domain": domain}
        if topic != "shop/redact":
            customer = _optional_object(data, "customer") or {
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
        uris = [uri for t, uri, _ in self._toml_subscriptions() if t == topic]
        if not uris:
            raise ControlError(f"shopify.app.toml has no subscription for {topic}")
        with self.emulator.webhooks.merchant_action():
            for uri in uris:
                self.emulator.webhooks.send(shop=domain, topic=topic, payload=payload, uri=uri)
        return _json({"sent": len(uris), "topic": topic, "payload": payload})

    def do_session_token(self, request: Request, domain: str) -> Response:
        self._require_shop(domain)
        data = _body(request)
        user_id = _int(data, "user_id", required=False, minimum=1) or 1
        lifetime = _int(data, "lifetime", required=False, minimum=1) or 60
        token = self.emulator.mint_session_token(domain, user_id=user_id, lifetime=lifetime)
        return _json({"token": token, "expires_in": lifetime})

    def do_tokens_expire(self, request: Request, domain: str) -> Response:
        self._require_shop(domain)
        return _json({"expired": self.emulator.auth.expire_shop(domain)})

    # -- faults, stats, webhooks, bulk ---------------------------------------------------

    def do_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return _json(self.emulator.faults.state())
        data = _body(request)
        shop = data.pop("shop", None)
        if shop is not None:
            shop = auth.normalize_shop_domain(str(shop))
        try:
            state = self.emulator.faults.update(data, shop=shop)
        except ValueError as exc:
            raise ControlError(str(exc)) from exc
        return _json(state)

    def do_stats(self, request: Request) -> Response:
        return _json(
            self.emulator.stats.snapshot(pending_webhooks=self.emulator.webhooks.pending())
        )

    def do_bulk(self, request: Request, bulk_id: str) -> Response:
        content = self.world.bulk_result_jsonl(bulk_id=bulk_id)
        if content is None:
            raise ControlError(f"Unknown bulk operation result {bulk_id}", status=404)
        return Response(content, mimetype="application/jsonl")

    def do_webhooks_flush(self, request: Request) -> Response:
        data = _body(request)
        timeout = data.get("timeout", 30)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            raise ControlError("timeout must be a number of seconds")
        idle = self.emulator.webhooks.flush(float(timeout))
        return _json({"idle": idle, "pending": self.emulator.webhooks.pending()})

    def do_webhooks_recent(self, request: Request, domain: str | None = None) -> Response:
        limit = request.args.get("limit", "100")
        if not limit.isdigit():
            raise ControlError("limit must be a positive integer")
        items = self.emulator.webhooks.recent_deliveries(shop=domain, limit=int(limit))
        return _json({"deliveries": items})
