"""`python -m shopify_emulator`: run the emulator, or script a running one.

    python -m shopify_emulator serve --port 8765 --app-url http://127.0.0.1:8000 \\
        --api-key KEY --app-config shopify.app.toml    # the secret: $SHOPIFY_API_SECRET
    python -m shopify_emulator shop create demo --name "Demo store" --plan plus
    python -m shopify_emulator product add demo --title Shirt --variant SHIRT-S:19.00:10
    python -m shopify_emulator variant add demo 1001 --option M --sku SHIRT-M --price 19.00
    python -m shopify_emulator sell demo SHIRT-S:2
    python -m shopify_emulator stats

Every command but `serve` talks to the control API at --url (default
http://127.0.0.1:$EMULATOR_PORT) and prints its JSON reply.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from typing import Any

from shopify_emulator.config import DEFAULT_PORT, EmulatorConfig
from shopify_emulator.control_cli_products import (
    product_edit_arguments,
    product_edit_body,
    variant_add_body,
    variant_arguments,
)


def _env_port() -> int:
    try:
        return int(os.environ.get("EMULATOR_PORT", DEFAULT_PORT))
    except ValueError:
        return DEFAULT_PORT


# -- serve --------------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> int:
    from shopify_emulator.app import create_app

    overrides: dict[str, Any] = {
        "app_url": args.app_url,
        "api_key": args.api_key,
        "app_config_path": args.app_config,
        "snapshot_path": args.snapshot,
        "webhook_backoff_base": args.webhook_backoff,
        "webhook_max_attempts": args.webhook_max_attempts,
        "fault_timeout_seconds": args.fault_timeout,
        "smtp_port": args.smtp_port,
    }
    if args.scopes:
        overrides["scopes"] = tuple(s.strip() for s in args.scopes.split(",") if s.strip())
    if args.no_webhooks:
        overrides["deliver_webhooks"] = False
    config = EmulatorConfig.from_env(**overrides)
    public_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    base_url = args.public_url or f"http://{public_host}:{args.port}"
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO)

    if args.server == "gunicorn":
        return _serve_gunicorn(args, config, base_url)

    from werkzeug.serving import make_server

    from shopify_emulator.testing import QuietRequestHandler

    app = create_app(config=config)
    app.set_base_url(base_url)
    server = make_server(
        args.host,
        args.port,
        app,
        threaded=True,
        request_handler=QuietRequestHandler if args.quiet else None,
    )

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(
        f"Shopify emulator on {base_url} for app {config.app_url} (client id {config.api_key})",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.webhooks.close()
        if config.snapshot_path:
            app.save_snapshot(config.snapshot_path)
            print(f"state saved to {config.snapshot_path}", flush=True)
    return 0


def _serve_gunicorn(args: argparse.Namespace, config: EmulatorConfig, base_url: str) -> int:
    """One gthread worker: the state lives in memory, so there must be exactly one process.

    The default server: it keeps connections alive and serves them from a thread pool, where
    werkzeug's development server opens a connection and starts a thread for every request
    (and, with every handler thread holding the GIL, accepting the next one waits its turn).
    """
    from gunicorn.app.base import BaseApplication

    from shopify_emulator.app import create_app

    holder: dict[str, Any] = {}

    class Application(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", 1)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", args.threads)
            self.cfg.set("timeout", 0)
            self.cfg.set("keepalive", 30)
            self.cfg.set("accesslog", None if args.quiet else "-")
            self.cfg.set("loglevel", "warning" if args.quiet else "info")
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

            def worker_exit(server: Any, worker: Any) -> None:
                app = holder.get("app")
                if app is not None:
                    app.webhooks.close()
                    if config.snapshot_path:
                        app.save_snapshot(config.snapshot_path)

            self.cfg.set("worker_exit", worker_exit)

        def load(self) -> Any:
            app = create_app(config=config)
            app.set_base_url(base_url)
            holder["app"] = app
            return app

    print(
        f"Shopify emulator on {base_url} for app {config.app_url} (client id {config.api_key}), "
        f"gunicorn gthread x{args.threads}",
        flush=True,
    )
    Application().run()
    return 0


# -- control client -----------------------------------------------------------------------


class ControlClient:
    def __init__(self, url: str, timeout: float = 60.0) -> None:
        import httpx

        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        import httpx

        try:
            response = self.http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise SystemExit(
                f"error: cannot reach the emulator at {self.http.base_url}: {exc}"
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = {"status": response.status_code, "body": response.text}
        if response.status_code >= 400:
            message = data.get("error") if isinstance(data, dict) else None
            raise SystemExit(f"error ({response.status_code}): {message or data}")
        return data


def _shop(value: str) -> str:
    from shopify_emulator.auth import normalize_shop_domain

    return normalize_shop_domain(value)


def _sku_quantities(values: list[str]) -> list[dict[str, Any]]:
    lines = []
    for value in values:
        sku, _, quantity = value.rpartition(":")
        if not sku or not quantity.isdigit() or int(quantity) < 1:
            raise SystemExit(f"error: expected SKU:QTY with QTY >= 1, got {value!r}")
        lines.append({"sku": sku, "quantity": int(quantity)})
    return lines


def _variants(values: list[str]) -> list[dict[str, Any]]:
    variants = []
    for value in values:
        parts = value.split(":")
        if len(parts) not in (1, 2, 3, 4) or not parts[0]:
            raise SystemExit(f"error: expected SKU[:PRICE[:AVAILABLE[:VALUE]]], got {value!r}")
        entry: dict[str, Any] = {"sku": parts[0], "price": "10.00", "available": 0}
        if len(parts) > 1 and parts[1]:
            entry["price"] = parts[1]
        if len(parts) > 2 and parts[2]:
            try:
                entry["available"] = int(parts[2])
            except ValueError as exc:
                raise SystemExit(f"error: AVAILABLE must be an integer in {value!r}") from exc
        if len(parts) > 3 and parts[3]:
            entry["option1"] = parts[3]
        variants.append(entry)
    return variants


def run_command(args: argparse.Namespace) -> Any:
    client = ControlClient(args.url)
    command = args.command
    if command == "shop":
        if args.shop_command == "create":
            body = {"domain": _shop(args.domain), "plan": args.plan}
            if args.name:
                body["name"] = args.name
            return client.call("POST", "/_emulator/shops", body)
        if args.shop_command == "show":
            return client.call("GET", f"/_emulator/shops/{_shop(args.domain)}")
        return client.call("GET", "/_emulator/shops")
    if command == "product" and args.product_command == "edit":
        return client.call("PATCH",
                           f"/_emulator/shops/{_shop(args.domain)}/products/{args.product_id}",
                           product_edit_body(client, args, _shop(args.domain)))
    if command == "product":
        body = {
            "title": args.title,
            "vendor": args.vendor or "",
            "tags": args.tag or [],
            "variants": _variants(args.variant or [args.title.upper().replace(" ", "-")]),
            "option_name": args.option,
        }
        return client.call("POST", f"/_emulator/shops/{_shop(args.domain)}/products", body)
    if command == "variant" and args.variant_command == "add":
        return client.call("POST", f"/_emulator/shops/{_shop(args.domain)}/products/"
                           f"{args.product_id}/variants", variant_add_body(args))
    if command == "variant":
        return client.call("DELETE",
                           f"/_emulator/shops/{_shop(args.domain)}/variants/{args.variant_id}")
    if command == "stock":
        key = "available" if args.stock_command == "set" else "delta"
        body = {"sku": args.sku, key: args.quantity}
        if args.location_id:
            body["location_id"] = args.location_id
        return client.call("POST", f"/_emulator/shops/{_shop(args.domain)}/inventory", body)
    if command == "sell":
        body = {
            "lines": _sku_quantities(args.lines),
            "financial_status": "pending" if args.pending else "paid",
        }
        if args.email:
            body["email"] = args.email
        return client.call("POST", f"/_emulator/shops/{_shop(args.domain)}/orders", body)
    order_path = f"/_emulator/shops/{_shop(getattr(args, 'domain', ''))}/orders"
    if command == "refund":
        body = {"lines": _sku_quantities(args.lines), "restock": not args.no_restock}
        return client.call("POST", f"{order_path}/{args.order_id}/refund", body)
    if command == "cancel":
        return client.call(
            "POST", f"{order_path}/{args.order_id}/cancel", {"restock": not args.no_restock}
        )
    if command == "fulfill":
        body = {
            "tracking_company": args.company,
            "tracking_number": args.number,
            "tracking_url": args.tracking_url,
        }
        return client.call("POST", f"{order_path}/{args.order_id}/fulfill", body)
    if command == "charge":
        charges = f"/_emulator/shops/{_shop(args.domain)}/subscriptions"
        if args.charge_command == "list":
            return client.call("GET", charges)
        if args.charge_command == "status":
            return client.call("POST", f"{charges}/{args.number}/status", {"status": args.status})
        return client.call("POST", f"{charges}/{args.number}/{args.charge_command}")
    if command == "install":
        return client.call(
            "POST",
            f"/_emulator/shops/{_shop(args.domain)}/install",
            {"load_app": not args.no_load},
        )
    if command == "uninstall":
        return client.call("POST", f"/_emulator/shops/{_shop(args.domain)}/uninstall")
    if command == "redact":
        return client.call(
            "POST", f"/_emulator/shops/{_shop(args.domain)}/redact", {"topic": args.topic}
        )
    if command == "session-token":
        return client.call("POST", f"/_emulator/shops/{_shop(args.domain)}/session-token")
    if command == "faults":
        body: dict[str, Any] = {}
        for name in (
            "throttle_rate",
            "error_rate",
            "timeout_rate",
            "webhook_duplicate_rate",
            "webhook_drop_rate",
            "webhook_delay_ms",
            "seed",
        ):
            value = getattr(args, name)
            if value is not None:
                body[name] = value
        if args.webhook_reorder is not None:
            body["webhook_reorder"] = args.webhook_reorder == "on"
        if args.shop:
            body["shop"] = _shop(args.shop)
        if args.clear:
            body = {
                "throttle_rate": 0,
                "error_rate": 0,
                "timeout_rate": 0,
                "webhook_duplicate_rate": 0,
                "webhook_drop_rate": 0,
                "webhook_delay_ms": 0,
                "webhook_reorder": False,
                **({"shop": body["shop"]} if "shop" in body else {}),
            }
        if not body:
            return client.call("GET", "/_emulator/faults")
        return client.call("POST", "/_emulator/faults", body)
    if command == "stats":
        return client.call("GET", "/_emulator/stats")
    if command == "flush":
        return client.call("POST", "/_emulator/webhooks/flush", {"timeout": args.timeout})
    if command == "reset":
        return client.call("POST", "/_emulator/reset")
    if command == "snapshot":
        return client.call("POST", "/_emulator/snapshot", {"path": args.path} if args.path else {})
    raise SystemExit(f"error: unknown command {command!r}")


# -- argument parsing ---------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shopify_emulator",
        description="A local stand-in for Shopify (Admin GraphQL API, OAuth, webhooks).",
    )
    default_url = os.environ.get("EMULATOR_URL") or f"http://127.0.0.1:{_env_port()}"
    parser.add_argument("--url", default=default_url, help=f"running emulator ({default_url})")
    # Control commands accept --url after the command too (`sell demo A:1 --url ...`).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS, help="running emulator")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_parser = commands.add_parser

    def control_parser(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return add_parser(name, parents=[common], **kwargs)

    serve_parser = add_parser("serve", help="run the emulator server")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=_env_port(), help="$EMULATOR_PORT")
    serve_parser.add_argument("--public-url", help="URL the emulator is reached at (bulk URLs)")
    serve_parser.add_argument("--app-url", help="the app's URL ($APP_URL)")
    serve_parser.add_argument("--api-key", help="the app's client id ($SHOPIFY_API_KEY)")
    serve_parser.add_argument("--app-config", help="shopify.app.toml ($SHOPIFY_APP_CONFIG)")
    serve_parser.add_argument("--scopes", help="granted scopes (default: the TOML's)")
    serve_parser.add_argument("--snapshot", help="load state from / save state to this file")
    serve_parser.add_argument("--webhook-backoff", type=float, help="first retry delay (s)")
    serve_parser.add_argument("--webhook-max-attempts", type=int, help="attempts per delivery")
    serve_parser.add_argument("--fault-timeout", type=float, help="how long timeout faults hold")
    serve_parser.add_argument("--no-webhooks", action="store_true", help="never send webhooks")
    serve_parser.add_argument("--smtp-port", type=int,
                              help="start the mail sink on this port ($EMULATOR_SMTP_PORT)")
    serve_parser.add_argument("--quiet", action="store_true", help="no access log")
    serve_parser.add_argument(
        "--server",
        choices=("werkzeug", "gunicorn"),
        default="gunicorn",
        help="gunicorn: one gthread worker, keep-alive (default); werkzeug: a thread and a "
        "connection per request",
    )
    serve_parser.add_argument("--threads", type=int, default=64, help="gunicorn threads")

    shop = control_parser("shop", help="create / show / list shops")
    shop_commands = shop.add_subparsers(dest="shop_command", required=True)
    create = shop_commands.add_parser(
        "create", parents=[common], help="create a shop (returns an access token)"
    )
    create.add_argument("domain", help="demo or demo.myshopify.com")
    create.add_argument("--name")
    create.add_argument("--plan", default="standard", help="standard|advanced|plus|enterprise")
    show = shop_commands.add_parser("show", parents=[common], help="a shop's full state")
    show.add_argument("domain")
    shop_commands.add_parser("list", parents=[common], help="all shops")

    product = control_parser("product", help="add or edit products")
    product_commands = product.add_subparsers(dest="product_command", required=True)
    add = product_commands.add_parser("add", parents=[common], help="add a product with variants")
    add.add_argument("domain")
    add.add_argument("--title", required=True)
    add.add_argument("--vendor")
    add.add_argument("--tag", action="append", help="repeatable")
    add.add_argument(
        "--variant", action="append", metavar="SKU[:PRICE[:AVAILABLE[:VALUE]]]",
        help="repeatable; VALUE is the variant's option value (default: its SKU when there "
        "are several variants)",
    )
    add.add_argument("--option", default="Title", help="the option's name (default Title)")
    edit = product_commands.add_parser(
        "edit", parents=[common],
        help="edit a product as the merchant does (only the options given change)")
    product_edit_arguments(edit)
    variant_arguments(control_parser("variant", help="add or remove a product's variants"),
                      common)

    stock = control_parser("stock", help="set or adjust available stock")
    stock_commands = stock.add_subparsers(dest="stock_command", required=True)
    for name, label in (("set", "QUANTITY"), ("adjust", "DELTA")):
        sub = stock_commands.add_parser(name, parents=[common], help=f"{name} available ({label})")
        sub.add_argument("domain")
        sub.add_argument("sku")
        sub.add_argument("quantity", type=int, metavar=label)
        sub.add_argument("--location-id", type=int)

    sell = control_parser("sell", help="check out an order")
    sell.add_argument("domain")
    sell.add_argument("lines", nargs="+", metavar="SKU:QTY")
    sell.add_argument("--pending", action="store_true", help="payment pending, not paid")
    sell.add_argument("--email")

    refund = control_parser("refund", help="refund order lines (restocks by default)")
    refund.add_argument("domain")
    refund.add_argument("order_id", type=int)
    refund.add_argument("lines", nargs="+", metavar="SKU:QTY")
    refund.add_argument("--no-restock", action="store_true")

    cancel = control_parser("cancel", help="cancel an order (restocks by default)")
    cancel.add_argument("domain")
    cancel.add_argument("order_id", type=int)
    cancel.add_argument("--no-restock", action="store_true")

    fulfill = control_parser("fulfill", help="fulfil an order with tracking")
    fulfill.add_argument("domain")
    fulfill.add_argument("order_id", type=int)
    fulfill.add_argument("--company", default="UPS")
    fulfill.add_argument("--number", default="1Z999AA10123456784")
    fulfill.add_argument("--tracking-url")

    charge = control_parser("charge", help="the app's subscriptions (recurring charges)")
    charge_commands = charge.add_subparsers(dest="charge_command", required=True)
    charge_commands.add_parser("list", parents=[common], help="a shop's subscriptions") \
        .add_argument("domain")
    for name in ("approve", "decline"):
        answer = charge_commands.add_parser(name, parents=[common], help=f"{name} as the merchant")
        answer.add_argument("domain")
        answer.add_argument("number", type=int, help="the n of gid://shopify/AppSubscription/n")
    status = charge_commands.add_parser("status", parents=[common],
                                        help="set what Shopify's billing decides (FROZEN, ...)")
    status.add_argument("domain")
    status.add_argument("number", type=int)
    status.add_argument("status", type=str.upper,
                        choices=("ACTIVE", "DECLINED", "FROZEN", "EXPIRED", "CANCELLED"))

    install = control_parser("install", help="install the app on a shop")
    install.add_argument("domain")
    install.add_argument("--no-load", action="store_true", help="do not load the app URL")
    uninstall = control_parser("uninstall", help="uninstall the app")
    uninstall.add_argument("domain")
    redact = control_parser("redact", help="send a compliance webhook")
    redact.add_argument("domain")
    redact.add_argument(
        "--topic",
        default="shop/redact",
        choices=("shop/redact", "customers/redact", "customers/data_request"),
    )
    token = control_parser("session-token", help="mint a session (ID) token")
    token.add_argument("domain")

    faults = control_parser("faults", help="show or set injected faults")
    for name in ("throttle_rate", "error_rate", "timeout_rate", "webhook_duplicate_rate"):
        faults.add_argument(f"--{name.replace('_', '-')}", dest=name, type=float)
    faults.add_argument("--webhook-drop-rate", dest="webhook_drop_rate", type=float)
    faults.add_argument("--webhook-delay-ms", dest="webhook_delay_ms", type=int)
    faults.add_argument("--webhook-reorder", choices=("on", "off"))
    faults.add_argument("--seed", type=int)
    faults.add_argument("--shop", help="only for this shop")
    faults.add_argument("--clear", action="store_true", help="turn every fault off")

    control_parser("stats", help="per-shop counters")
    flush = control_parser("flush", help="wait until webhook deliveries are idle")
    flush.add_argument("--timeout", type=float, default=30.0)
    control_parser("reset", help="forget everything")
    snapshot = control_parser("snapshot", help="save state to a file")
    snapshot.add_argument("--path")

    # Runs in-process against recorded Shopify traffic; needs no running emulator.
    fidelity = add_parser(
        "fidelity", help="compare the emulator with recorded Shopify requests (cost, shape)"
    )
    fidelity.add_argument("--summary", action="store_true", help="only the totals and misses")
    fidelity.add_argument(
        "--cost-only", action="store_true", help="skip running each request on the emulator"
    )
    fidelity.add_argument(
        "--update-vendored",
        action="store_true",
        help="rewrite shopify_emulator/reference/ from ../shared/shopify, then report",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "fidelity":
        from shopify_emulator.fidelity import main as fidelity_main

        return fidelity_main(
            verbose=not args.summary,
            live=not args.cost_only,
            update_vendored=args.update_vendored,
        )
    result = run_command(args)
    try:
        json.dump(result, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head`: stop writing quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
