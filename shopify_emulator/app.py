"""The emulator's HTTP face: Shopify's endpoints plus the /_emulator control API (WSGI).

    app = create_app(config=EmulatorConfig(app_secret=..., api_key=...))
    httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://demo.myshopify.com")

Shopify endpoints pick the shop from the `Host` header (`<shop>.myshopify.com[:port]`) or from
a `/shops/<shop>` path prefix, for clients that cannot set Host (browsers, plain HTTP on
127.0.0.1).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from shopify_emulator import auth, control
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.domains.webhook_subscriptions.operations import subscription_delete
from shopify_emulator.faults import FaultBoard
from shopify_emulator.mail import MailSink
from shopify_emulator.stats import InventoryChangeLog, Stats
from shopify_emulator.webhooks import WebhookDispatcher
from shopify_emulator.world import World

logger = logging.getLogger(__name__)

API_VERSION_RE = re.compile(r"^(\d{4}-\d{2}|unstable)$")

_BAD_GATEWAY_HTML = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
    "<h1>There was a problem loading this website</h1>"
    "<p>Please try refreshing the page.</p></body></html>"
)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data, separators=(",", ":")),
        status=status,
        mimetype="application/json",
        headers=headers,
    )


def error_response(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status=status)


class BadRequest(Exception):
    """Raised by handlers for a 4xx JSON `{"error": ...}` reply."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _install_graphql_adapter() -> Callable[..., tuple[int, dict[str, Any]]]:
    from shopify_emulator.graphql_api import execute

    return execute


class EmulatorApp:
    """WSGI application. Attributes are the emulator's live parts, for in-process tests."""

    def __init__(self, *, world: World, config: EmulatorConfig) -> None:
        self.world = world
        self.config = config
        self.stats = Stats()
        self.faults = FaultBoard()
        self.auth = auth.AuthStore(
            api_key=config.api_key,
            secrets_=config.app_secrets,
            scope=config.scope_string,
            clock=config.clock,
            revoke_previous_expiring=config.revoke_previous_expiring_tokens,
        )
        self.webhooks = WebhookDispatcher(config=config, stats=self.stats, faults=self.faults)
        self.webhooks.attach(world)
        self.inventory_log = InventoryChangeLog()
        world.listeners.append(self.inventory_log.on_event)
        self.webhooks.on_subscription_exhausted = self._on_subscription_exhausted
        # shop domain → {"installed": bool, "installed_at": ..., "uninstalled_at": ...}
        self.installs: dict[str, dict[str, Any]] = {}
        # The demo's mail sink (shopify_emulator/mail.py), when a port is configured.
        self.mail: MailSink | None = (
            MailSink(port=config.smtp_port).start() if config.smtp_port is not None else None)
        self._execute: Callable[..., tuple[int, dict[str, Any]]] | None = None
        if config.base_url:
            self.set_base_url(config.base_url)
        self.control = control.ControlAPI(self)
        self.url_map = Map(
            [
                Rule("/", endpoint="index", methods=["GET"]),
                Rule("/admin/api/<version>/graphql.json", endpoint="graphql", methods=["POST"]),
                Rule(
                    "/shops/<shop>/admin/api/<version>/graphql.json",
                    endpoint="graphql",
                    methods=["POST"],
                ),
                Rule("/admin/oauth/access_token", endpoint="access_token", methods=["POST"]),
                Rule(
                    "/shops/<shop>/admin/oauth/access_token",
                    endpoint="access_token",
                    methods=["POST"],
                ),
                Rule("/admin/oauth/authorize", endpoint="authorize", methods=["GET"]),
                Rule("/shops/<shop>/admin/oauth/authorize", endpoint="authorize", methods=["GET"]),
                Rule("/admin/<shop>", endpoint="admin_page", methods=["GET"]),
                # The app open in the admin at one of its pages: what the address bar shows
                # (App Bridge keeps it in step with the app), so a reload lands on that page.
                Rule("/admin/<shop>/apps/<handle>", endpoint="admin_page", methods=["GET"]),
                Rule(
                    "/admin/<shop>/apps/<handle>/<path:app_path>",
                    endpoint="admin_page",
                    methods=["GET"],
                ),
                Rule("/_emulator/admin/<shop>", endpoint="admin_page", methods=["GET"]),
                # A recurring charge's confirmationUrl: the merchant approves or declines.
                Rule(
                    "/admin/<shop>/charges/<int:number>/confirm_recurring_application_charge",
                    endpoint="confirm_charge",
                    methods=["GET", "POST"],
                ),
                *self.control.rules(),
            ],
            strict_slashes=False,
        )

    # -- plumbing ------------------------------------------------------------------------

    def set_base_url(self, base_url: str) -> None:
        self.config.base_url = base_url.rstrip("/")
        self.world.base_url = self.config.base_url

    @property
    def execute(self) -> Callable[..., tuple[int, dict[str, Any]]]:
        if self._execute is None:
            self._execute = _install_graphql_adapter()
        return self._execute

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except NotFound:
            return json_response({"errors": "Not Found"}, status=404)
        except MethodNotAllowed as exc:
            return json_response(
                {"errors": "Method Not Allowed"},
                status=405,
                headers={"Allow": ", ".join(exc.valid_methods or ())},
            )
        except HTTPException as exc:  # redirects for trailing slashes and the like
            return exc.get_response(request.environ)  # type: ignore[return-value]
        try:
            if endpoint.startswith("control:"):
                return self.control.dispatch(endpoint.removeprefix("control:"), request, values)
            handler = getattr(self, f"view_{endpoint}")
            return handler(request, **values)
        except BadRequest as exc:
            return error_response(exc.message, exc.status)
        except Exception:
            logger.exception("emulator error on %s %s", request.method, request.path)
            return json_response(
                {"errors": "Internal Server Error", "error": "emulator internal error"}, status=500
            )

    def shop_from_request(self, request: Request, shop: str | None) -> str | None:
        raw = shop if shop is not None else request.host
        domain = auth.normalize_shop_domain(raw or "")
        return domain if auth.is_valid_shop_domain(domain) else None

    def shop_exists(self, domain: str | None) -> bool:
        return bool(domain) and self.world.shop_get(domain) is not None

    def mint_session_token(self, shop: str, *, user_id: int = 1, lifetime: int = 60) -> str:
        return auth.mint_session_token(
            shop_domain=shop,
            api_key=self.config.api_key,
            secret=self.config.app_secret,
            user_id=user_id,
            lifetime=lifetime,
            now=self.config.clock(),
        )

    def embedded_app_url(self, shop: str, *, path: str = "/") -> str:
        """The URL Shopify's admin loads in its iframe, with a fresh id_token and a valid hmac."""
        params = {
            "embedded": "1",
            "host": auth.admin_host_param(shop),
            "id_token": self.mint_session_token(shop),
            "locale": "en",
            "session": uuid.uuid4().hex,
            "shop": shop,
            "timestamp": str(int(self.config.clock())),
        }
        params["hmac"] = auth.oauth_query_hmac(params, self.config.app_secret)
        # The app's own query (a tab, a search) stays; Shopify adds its parameters after it.
        app_path, _, app_query = path.partition("?")
        query = urllib.parse.urlencode(params)
        if app_query:
            query = f"{app_query}&{query}"
        return f"{self.config.app_url}{app_path}?{query}"

    def snapshot(self) -> dict[str, Any]:
        """World + issued tokens + installs: enough to restart the emulator where it was."""
        return {
            "world": self.world.to_snapshot(),
            "auth": self.auth.to_snapshot(),
            "installs": self.installs,
        }

    def save_snapshot(self, path: str) -> None:
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.snapshot(), handle, default=str)
        os.replace(tmp, path)

    def _on_subscription_exhausted(self, delivery: Any) -> None:
        """Shopify removes an Admin-API subscription after its deliveries keep failing."""
        if delivery.subscription_source != "api" or delivery.subscription_id is None:
            return
        with contextlib.suppress(LookupError, ValueError):
            subscription_delete(
                world=self.world, shop_domain=delivery.shop,
                subscription_id=delivery.subscription_id,
            )

    # -- Shopify endpoints ---------------------------------------------------------------

    def view_index(self, request: Request) -> Response:
        from shopify_emulator.templates_admin import index_page

        shops = []
        for domain in self.control.shop_domains():
            shop = self.world.shop_get(domain)
            shops.append((domain, getattr(shop, "name", domain)))
        html = index_page(app_url=self.config.app_url, api_key=self.config.api_key, shops=shops)
        return Response(html, mimetype="text/html")

    def view_graphql(self, request: Request, version: str, shop: str | None = None) -> Response:
        domain = self.shop_from_request(request, shop)
        if not self.shop_exists(domain):
            return json_response({"errors": "Not Found"}, status=404)
        assert domain is not None
        if not API_VERSION_RE.match(version):
            return json_response({"errors": "Not Found"}, status=404)
        self.stats.add(domain, "graphql_requests")
        headers = {"X-Request-Id": str(uuid.uuid4()), "X-Shopify-API-Version": version}
        token = request.headers.get("X-Shopify-Access-Token")
        if self.auth.authenticate(token=token, shop=domain) is None:
            self.stats.add(domain, "graphql_unauthorized")
            return json_response(
                {"errors": auth.INVALID_ACCESS_TOKEN_MESSAGE}, status=401, headers=headers
            )
        body = self._graphql_body(request)
        if body is None:
            return json_response(
                {"errors": {"query": "Required parameter missing or invalid"}},
                status=400,
                headers=headers,
            )
        faults = self.faults.for_shop(domain)
        if self.faults.roll(faults.error_rate):
            self.stats.add(domain, "graphql_errors_injected")
            return self._server_error(headers)
        timeout = self.faults.roll(faults.timeout_rate)
        if timeout and faults.timeout_before_execute:
            self.stats.add(domain, "graphql_timeouts_injected")
            time.sleep(self.config.fault_timeout_seconds)
            return Response("Gateway Timeout", status=504, mimetype="text/plain", headers=headers)
        if self.faults.roll(faults.throttle_rate):
            self.stats.add(domain, "throttled")
            return json_response(self._throttled_body(domain, body, version), headers=headers)
        with self.webhooks.merchant_action():
            status, payload = self.execute(
                self.world, shop_domain=domain, body=body, api_version=version
            )
        self._count_cost(domain, payload)
        if timeout:
            self.stats.add(domain, "graphql_timeouts_injected")
            time.sleep(self.config.fault_timeout_seconds)
        return json_response(payload, status=status, headers=headers)

    @staticmethod
    def _graphql_body(request: Request) -> dict[str, Any] | None:
        if request.mimetype == "application/graphql":
            query = request.get_data(as_text=True)
            return {"query": query} if query.strip() else None
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return None
        variables = body.get("variables")
        if variables is not None and not isinstance(variables, dict):
            return None
        return body

    def _server_error(self, headers: dict[str, str]) -> Response:
        if self.faults.choice([502, 503]) == 502:
            return Response(_BAD_GATEWAY_HTML, status=502, mimetype="text/html", headers=headers)
        return json_response(
            {"errors": "Service Unavailable"},
            status=503,
            headers={**headers, "Retry-After": "1"},
        )

    def _throttled_body(self, domain: str, body: dict[str, Any], version: str) -> dict[str, Any]:
        from shopify_emulator.faults import throttled_body

        return throttled_body(self.world, shop_domain=domain, body=body, api_version=version)

    def _count_cost(self, domain: str, payload: dict[str, Any]) -> None:
        data = payload.get("data")
        if isinstance(data, dict) and data:
            self.stats.add_root_fields(domain, list(data))
        cost = (payload.get("extensions") or {}).get("cost") or {}
        actual = cost.get("actualQueryCost")
        if isinstance(actual, (int, float)):
            self.stats.add(domain, "cost_consumed", actual)
        for error in payload.get("errors") or ():
            if isinstance(error, dict) and (error.get("extensions") or {}).get("code") == (
                "THROTTLED"
            ):
                self.stats.add(domain, "throttled")
                break

    def view_access_token(self, request: Request, shop: str | None = None) -> Response:
        domain = self.shop_from_request(request, shop)
        params: dict[str, Any] = dict(request.args.items())
        if request.mimetype == "application/json":
            try:
                data = json.loads(request.get_data() or b"{}")
            except ValueError:
                data = None
            if not isinstance(data, dict):
                return json_response(
                    {"error": "invalid_request", "error_description": "Malformed JSON body."},
                    status=400,
                )
            params.update(data)
        else:
            params.update(request.form.items())
        try:
            body = self.auth.token_request(
                shop=domain or "", params=params, shop_exists=self.shop_exists(domain)
            )
        except auth.TokenRequestError as exc:
            return json_response(exc.body(), status=exc.status)
        if domain is not None:
            self.installs.setdefault(domain, {"installed": True, "installed_at": time.time()})
        return json_response(body)

    def view_authorize(self, request: Request, shop: str | None = None) -> Response:
        domain = self.shop_from_request(request, shop)
        if not self.shop_exists(domain):
            return json_response({"errors": "Not Found"}, status=404)
        assert domain is not None
        if request.args.get("client_id") != self.config.api_key:
            return error_response("Oauth error invalid_request: The client_id is invalid", 400)
        redirect_uri = request.args.get("redirect_uri") or f"{self.config.app_url}/auth/callback"
        if not self._redirect_allowed(redirect_uri):
            return error_response(
                "Oauth error invalid_request: The redirect_uri is not whitelisted", 400
            )
        online = "per-user" in request.args.getlist("grant_options[]")
        params = {
            "code": self.auth.create_code(shop=domain, online=online),
            "host": auth.admin_host_param(domain),
            "shop": domain,
            "state": request.args.get("state", ""),
            "timestamp": str(int(self.config.clock())),
        }
        params["hmac"] = auth.oauth_query_hmac(params, self.config.app_secret)
        separator = "&" if urllib.parse.urlsplit(redirect_uri).query else "?"
        location = f"{redirect_uri}{separator}{urllib.parse.urlencode(params)}"
        return Response(status=302, headers={"Location": location})

    def _redirect_allowed(self, redirect_uri: str) -> bool:
        target = urllib.parse.urlsplit(redirect_uri)
        allowed = [self.config.app_url, *(self.config.app_toml.redirect_urls or ())]  # type: ignore[union-attr]
        for candidate in allowed:
            base = urllib.parse.urlsplit(candidate)
            if (target.scheme, target.netloc) == (base.scheme, base.netloc) and (
                target.path.startswith(base.path.rstrip("/")) or candidate == self.config.app_url
            ):
                return True
        return False

    def view_admin_page(
        self, request: Request, shop: str, handle: str | None = None, app_path: str = ""
    ) -> Response:
        from shopify_emulator.templates_admin import admin_page

        domain = self.shop_from_request(request, shop)
        if not self.shop_exists(domain):
            return json_response({"errors": "Not Found"}, status=404)
        assert domain is not None
        record = self.world.shop_get(domain)
        if handle is None:  # /admin/<shop>[?path=/the/app/page]
            path = request.args.get("path", "/")
        else:  # /admin/<shop>/apps/<handle>/<the/app/page>?<its query>
            path = "/" + app_path
            if request.query_string:
                path += "?" + request.query_string.decode("latin-1")
        if not path.startswith("/") or path.startswith("//"):
            path = "/"
        html = admin_page(
            shop=domain,
            title=getattr(record, "name", domain),
            frame_src=self.embedded_app_url(domain, path=path),
            app_url=self.config.app_url,
            session_token_url=f"/_emulator/shops/{domain}/session-token",
            app_base=f"/admin/{domain}/apps/{self.config.app_handle}",
            app_name=self.config.app_name,
        )
        return Response(html, mimetype="text/html")

    def view_confirm_charge(self, request: Request, shop: str, number: int) -> Response:
        from shopify_emulator.domains.billing.page import confirm_charge

        domain = self.shop_from_request(request, shop)
        if not self.shop_exists(domain):
            return json_response({"errors": "Not Found"}, status=404)
        assert domain is not None
        return confirm_charge(emulator=self, request=request, domain=domain, number=number)


def load_snapshot(path: str) -> tuple[World, dict[str, Any]]:
    """(World, rest of the snapshot) from a file written by `EmulatorApp.save_snapshot`."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if "world" not in data:  # a bare World snapshot
        return World.from_snapshot(data), {}
    return World.from_snapshot(data["world"]), data


def create_app(*, world: World | None = None, config: EmulatorConfig | None = None) -> EmulatorApp:
    """Build the WSGI app around a World.

    Without a world: the one in `config.snapshot_path` when that file exists, else a fresh one.
    """
    config = config or EmulatorConfig()
    extra: dict[str, Any] = {}
    if world is None and config.snapshot_path and os.path.exists(config.snapshot_path):
        world, extra = load_snapshot(config.snapshot_path)
    if world is None:
            world = World()
    emulator = EmulatorApp(world=world, config=config)
    if extra.get("auth"):
        emulator.auth.load_snapshot(extra["auth"])
    emulator.installs.update(extra.get("installs") or {})
    return emulator
