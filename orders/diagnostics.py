"""The diagnostic summary a merchant may attach to a message to support: what support asks first
(who the store is, its plan, its connections, how its stock updates and order pushes have gone
lately), as plain text. The merchant sees exactly this text before sending it.

It holds no secrets and no customer data: never a token or a full store key (only the prefix the
app shows anyway), never an order's customer, address or email, and nothing of a store that is
not connected to this one. Errors are Syncer's and Shopify's own words, with anything shaped
like an email address blanked and the length capped.
"""

import os
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from orders.models import OrderPush
from orders.sync_health import destination_work_health
from products.models import ProductLink, SyncEvent
from stores.models import Connection, Shop
from stores.plans import shop_entitlement
from webhooks.models import WebhookDelivery
from webhooks.selectors import webhook_deliveries_trouble

STOCK_WINDOW = timedelta(hours=24)
PUSH_WINDOW = timedelta(days=7)
LATEST_FAILURES = 5
ERROR_LIMIT = 300
STOCK_KINDS = (SyncEvent.Kind.INVENTORY, SyncEvent.Kind.SOURCE_DECREMENT,
               SyncEvent.Kind.SOURCE_RESTOCK)
EMAIL_SHAPED = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+")


def _when(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if moment else "unknown"


def _error_words(error: str) -> str:
    """One line, no email addresses, at most ERROR_LIMIT characters."""
    text = " ".join(EMAIL_SHAPED.sub("[email removed]", error or "").split())
    return text if len(text) <= ERROR_LIMIT else text[:ERROR_LIMIT - 1] + "…"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def _app_version() -> str:
    """The deployed commit, when the deployment says it (a setting, or the usual env var)."""
    return str(getattr(settings, "SYNCER_APP_VERSION", "") or os.environ.get("GIT_COMMIT", ""))


def _scopes(shop: Shop) -> list[str]:
    return sorted(scope.strip() for scope in shop.scopes.split(",") if scope.strip())


def _plan_lines(shop: Shop) -> list[str]:
    if not shop.role:
        return ["Syncer plan: none yet (no role chosen)"]
    entitlement = shop_entitlement(shop=shop)
    if shop.role == Shop.Role.SOURCE:
        return ["Syncer plan: free for sources (unlimited products)"]
    allowance = ("unlimited products" if entitlement.products is None
                 else f"up to {_plural(entitlement.products, 'synced product')}")
    lines = [f"Syncer plan: {entitlement.plan.name} ({allowance})",
             f"Orders add-on: {'yes' if entitlement.orders_addon else 'no'}"]
    subscription = entitlement.subscription
    if subscription is not None:
        test = ", test charge" if subscription.test else ""
        lines.append(f"Subscription: {subscription.get_status_display()}{test}, "
                     f"{subscription.price} {subscription.currency} per 30 days, "
                     f"period ends {_when(subscription.current_period_end)}")
    return lines


def _connections(shop: Shop) -> list[Connection]:
    side = Q(source=shop) if shop.role == Shop.Role.SOURCE else Q(destination=shop)
    return list(Connection.objects.filter(side).select_related("source", "destination")
                .order_by("status", "pk"))


def _connection_lines(shop: Shop, connections: list[Connection]) -> list[str]:
    if not connections:
        return ["Connections: none"]
    counts = Counter(connection.get_status_display() for connection in connections)
    lines = ["Connections: " + ", ".join(f"{label} {count}" for label, count in
                                         sorted(counts.items()))]
    for connection in connections:
        other = connection.destination if shop.role == Shop.Role.SOURCE else connection.source
        uninstalled = ", uninstalled Syncer" if other.uninstalled_at else ""
        lines.append(f"  - {other.domain}: {connection.get_status_display()}{uninstalled}, "
                     f"connected {_when(connection.connected_at)}")
    return lines


def _products_line(shop: Shop, connections: list[Connection]) -> str:
    links = ProductLink.objects.filter(connection__in=connections)
    if shop.role == Shop.Role.SOURCE:
        products = links.values("source_product").distinct().count()
        return (f"Products synced: {products:,} of yours, by connected stores "
                f"({_plural(links.count(), 'product link')})")
    return f"Products synced: {links.count():,}"


def _stock_lines(shop: Shop, connections: list[Connection], now: datetime) -> list[str]:
    events = SyncEvent.objects.filter(connection__in=connections, kind__in=STOCK_KINDS,
                                      created_at__gte=now - STOCK_WINDOW)
    figures = events.aggregate(
        applied=Count("pk", filter=Q(result=SyncEvent.Result.OK)),
        failed=Count("pk", filter=Q(result=SyncEvent.Result.FAILED)),
        skipped=Count("pk", filter=Q(result=SyncEvent.Result.SKIPPED)))
    lines = [f"Stock updates, last 24 hours: {figures['applied']:,} applied, "
             f"{figures['failed']:,} failed, {figures['skipped']:,} skipped"]
    failures = (events.filter(result=SyncEvent.Result.FAILED).order_by("-created_at", "-pk")
                .values_list("created_at", "kind", "connection__source__domain",
                             "connection__destination__domain", "error")[:LATEST_FAILURES])
    if failures:
        lines.append(f"Latest failures (up to {LATEST_FAILURES}):")
    kinds = dict(SyncEvent.Kind.choices)
    for created_at, kind, source_domain, destination_domain, error in failures:
        at = source_domain if kind != SyncEvent.Kind.INVENTORY else destination_domain
        lines.append(f"  - {_when(created_at)}, {kinds.get(kind, kind)} at {at}: "
                     f"{_error_words(error) or 'no error given'}")
    return lines


def _push_lines(shop: Shop, now: datetime) -> list[str]:
    if shop.role == Shop.Role.SOURCE:
        pushes, label = OrderPush.objects.filter(source=shop), "Orders pushed to this store"
    else:
        pushes, label = OrderPush.objects.filter(order__shop=shop), "Order pushes"
    figures = pushes.filter(created_at__gte=now - PUSH_WINDOW).aggregate(
        pushed=Count("pk", filter=Q(status=OrderPush.Status.PUSHED)),
        failed=Count("pk", filter=Q(status=OrderPush.Status.FAILED)),
        pending=Count("pk", filter=Q(status=OrderPush.Status.PENDING)))
    return [f"{label}, last 7 days: {figures['pushed']:,} pushed, {figures['failed']:,} failed, "
            f"{figures['pending']:,} in progress"]


def _webhook_lines(shop: Shop, now: datetime) -> list[str]:
    trouble = webhook_deliveries_trouble(shop_domain=shop.domain,
                                         failed_since=now - STOCK_WINDOW)
    waiting = WebhookDelivery.objects.filter(
        shop_domain=shop.domain,
        status__in=(WebhookDelivery.Status.RECEIVED, WebhookDelivery.Status.PROCESSING)).count()
    return [f"Webhook deliveries from Shopify: {waiting:,} waiting, {trouble.stuck.count:,} "
            f"stuck, {trouble.failed.count:,} failed in the last 24 hours"]


def _health_lines(shop: Shop) -> list[str]:
    """The destination's Sync health card, as it stands now: only the kinds in trouble."""
    if shop.role != Shop.Role.DESTINATION:
        return []
    troubled = [work for work in destination_work_health(destination=shop) if work.retryable]
    if not troubled:
        return ["Sync health now: nothing failed or stuck"]
    return ["Sync health now:"] + [
        f"  - {work.label}: {work.trouble.failed.count:,} failed, "
        f"{work.trouble.stuck.count:,} stuck" for work in troubled]


def shop_diagnostic_summary(*, shop: Shop, now: datetime | None = None) -> str:
    """The summary as text, read fresh (a few grouped queries, whatever the store's size)."""
    now = now or timezone.now()
    role = shop.get_role_display() if shop.role else "not chosen yet"
    lines = [
        "Syncer diagnostic summary",
        f"Made: {_when(now)}",
        "",
        f"Store: {shop.domain}",
        f"Name: {shop.name or '(no name)'}",
        f"Role: {role}",
        f"Shopify plan: {shop.plan_name or 'unknown'}",
        *_plan_lines(shop),
        f"Installed since: {_when(shop.installed_at)}",
        f"Scopes granted: {', '.join(_scopes(shop)) or 'none'}",
        f"API version: {settings.SHOPIFY_API_VERSION}",
    ]
    if shop.role == Shop.Role.SOURCE and shop.store_key_prefix:
        lines.append(f"Store key: {shop.store_key_prefix}… (the start only)")
    version = _app_version()
    if version:
        lines.append(f"App version: {version}")
    connections = _connections(shop) if shop.role else []
    lines += ["", *_connection_lines(shop, connections), _products_line(shop, connections),
              *_stock_lines(shop, connections, now), *_push_lines(shop, now),
              *_webhook_lines(shop, now), *_health_lines(shop)]
    return "\n".join(lines) + "\n"
