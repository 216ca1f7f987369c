"""What Home says first, per role (Built for Shopify 4.2.3: the homepage "should clearly indicate
if the app is set up and working, and how well the app is performing"): set up and working, or
the first thing that is wrong or missing with the step that mends it; the store's key figures;
and everything that needs the merchant.

Nothing is worked out twice: failures are what the Stores list (a source's connections'
activity), Sync health (a destination's failed and stuck work) and the destination's Home rows
(SourceSummary.needs_attention) already say, read through stores.registry."""

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from stores.models import Connection, Shop
from stores.registry import (
    RECENT_DAYS,
    OversoldItem,
    WorkTrouble,
    connection_activity_read,
    oversold_read,
    source_reach_read,
    work_trouble_read,
)
from stores.selectors import SourceSummary, destination_sources_summary
from webhooks.selectors import webhook_deliveries_trouble


class Tone:
    """Polaris's badge tones, as app.css names them (badge-<tone>)."""

    SUCCESS = "success"
    WARNING = "warning"
    CRITICAL = "critical"


WORKING = "Set up and working"
INCOMPLETE = "Setup incomplete"
NEEDS_ATTENTION = "Needs attention"


@dataclass(frozen=True)
class NextStep:
    label: str
    url: str


@dataclass(frozen=True)
class Attention:
    """Something the merchant should act on: what it is (a sentence without its full stop, so
    it can head the card) and the step that mends it."""

    text: str
    tone: str
    step: NextStep


@dataclass(frozen=True)
class Figure:
    key: str  # data-figure, for tests and styles
    label: str
    value: str


@dataclass(frozen=True)
class HomeStatus:
    headline: str
    tone: str
    badge: str
    next_step: NextStep | None = None
    figures: list[Figure] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)


def _status(
    *, attention: list[Attention], missing: Attention | None, working: str, figures: list[Figure]
) -> HomeStatus:
    """Failures first (something is broken now), then the setup step still to take, then what
    only wants a look; else working. Everything needing the merchant stays listed."""
    critical = [item for item in attention if item.tone == Tone.CRITICAL]
    first = critical[0] if critical else missing or (attention[0] if attention else None)
    if first is None:
        return HomeStatus(headline=working, tone=Tone.SUCCESS, badge=WORKING, figures=figures)
    if first is missing:
        tone, badge = Tone.WARNING, INCOMPLETE
    else:
        tone, badge = first.tone, NEEDS_ATTENTION
    return HomeStatus(
        headline=first.text,
        tone=tone,
        badge=badge,
        next_step=first.step,
        figures=figures,
        attention=[item for item in attention if item is not first],
    )


def _count(number: int) -> str:
    return f"{number:,}"


# Sync health's rows (orders.sync_health.WorkKind), as counted things: singular, plural.
_WORK_NOUNS = {
    "webhooks": ("webhook delivery from Shopify", "webhook deliveries from Shopify"),
    "stock": ("stock update", "stock updates"),
    "resyncs": ("resync", "resyncs"),
    "pushes": ("order push", "order pushes"),
}


def _work_attention(work: WorkTrouble, *, step: NextStep) -> list[Attention]:
    singular, plural = _WORK_NOUNS.get(work.kind, ("piece of work", "pieces of work"))
    trouble = work.trouble
    items: list[Attention] = []
    if trouble.failed.count:
        noun = ngettext(singular, plural, trouble.failed.count)
        items.append(
            Attention(f"{_count(trouble.failed.count)} {noun} failed", Tone.CRITICAL, step)
        )
    if trouble.stuck.count:
        noun = ngettext(singular, plural, trouble.stuck.count)
        waiting = ngettext(
            "is waiting longer than it should",
            "are waiting longer than they should",
            trouble.stuck.count,
        )
        items.append(
            Attention(f"{_count(trouble.stuck.count)} {noun} {waiting}", Tone.WARNING, step)
        )
    if trouble.held and trouble.held.count:
        held = trouble.held.count
        items.append(
            Attention(
                ngettext(
                    "%(count)s stock update to zero is held back for you",
                    "%(count)s stock updates to zero are held back for you",
                    held,
                )
                % {"count": _count(held)},
                Tone.WARNING,
                NextStep(
                    ngettext("Review it in Inventory", "Review them in Inventory", held),
                    reverse("inventory:settings"),
                ),
            )
        )
    return items


# Oversold items named on Home, the most oversold first; the rest (up to OVERSOLD_SHOWN in all)
# are counted in one line.
OVERSOLD_NAMED = 3
OVERSOLD_SHOWN = 100


def _oversold_attention(items: list[OversoldItem], *, source_side: bool) -> list[Attention]:
    """Stock sold beyond what a source has: an order that cannot be fulfilled, until the
    source restocks or an order is cancelled or refunded (Home says so until then)."""
    attention = []
    for item in items[:OVERSOLD_NAMED]:
        what = item.label + (f" ({item.sku})" if item.sku else "")
        if source_side:
            text = f"{what} is oversold: your stores sold {item.short:,} more than you have"
        else:
            text = (f"{what} is oversold at {item.source}: {item.short:,} sold that it does not "
                    f"have")
        step = NextStep("See its sales in Activity", reverse("orders:activity") + "?"
                        + urlencode({"kind": "stock", "q": item.sku or item.label}))
        attention.append(Attention(text, Tone.CRITICAL, step))
    if len(items) > OVERSOLD_NAMED:
        more = len(items) - OVERSOLD_NAMED
        attention.append(Attention(
            ngettext("%(count)s more product is oversold", "%(count)s more products are oversold",
                     more) % {"count": _count(more)},
            Tone.CRITICAL, NextStep("See stock in Activity",
                                    reverse("orders:activity") + "?kind=stock")))
    return attention


@dataclass(frozen=True)
class _Recent:
    """Connections' work, summed (connection_activity_read): stock written at the stores over
    the past day and the past RECENT_DAYS; over those days, the orders the stores pushed to
    their sources, and what failed of either."""

    day: int
    week: int
    orders: int
    failures: int


def _recent(*, connections: list[Connection]) -> _Recent:
    now = timezone.now()
    day = connection_activity_read(connections=connections, since=now - timedelta(days=1))
    week = connection_activity_read(
        connections=connections, since=now - timedelta(days=RECENT_DAYS)
    ).values()
    return _Recent(
        day=sum(activity.stock_updates for activity in day.values()),
        week=sum(activity.stock_updates for activity in week),
        orders=sum(activity.orders_received for activity in week),
        failures=sum(activity.failures for activity in week),
    )


# --- source -------------------------------------------------------------------------------------


def source_home_status(*, source: Shop, connection_counts: dict[str, int]) -> HomeStatus:
    """Working: a store follows it, syncs some of its products, and neither its webhooks nor
    the work for its connected stores failed. Nine reads at most, whatever the number of
    stores."""
    now = timezone.now()
    connected = list(Connection.objects.filter(source=source, status=Connection.Status.CONNECTED))
    recent = _recent(connections=connected)
    reach = source_reach_read(source=source, since=now - timedelta(days=RECENT_DAYS))
    latency = [Figure("median-latency", "Median time to reach stores", reach.median_latency)]
    figures = [
        Figure("connected-stores", "Connected stores", _count(len(connected))),
        Figure("products-synced", "Products synced", _count(reach.products_synced)),
        Figure("stock-updates-day", "Stock updates, past 24 hours", _count(recent.day)),
        Figure(
            "stock-updates-week", f"Stock updates, past {RECENT_DAYS} days", _count(recent.week)
        ),
        *(latency if reach.median_latency else []),
        Figure(
            "orders-received", f"Orders received, past {RECENT_DAYS} days", _count(recent.orders)
        ),
    ]

    # Orders that cannot be fulfilled first, then what failed at its stores (the merchant can
    # see each there), then its webhooks.
    attention = _oversold_attention(oversold_read(source=source, limit=OVERSOLD_SHOWN),
                                    source_side=True)
    if failures := recent.failures:
        attention.append(
            Attention(
                ngettext(
                    "%(count)s sync with your stores failed in the past %(days)s days",
                    "%(count)s syncs with your stores failed in the past %(days)s days",
                    failures,
                )
                % {"count": _count(failures), "days": RECENT_DAYS},
                Tone.CRITICAL,
                NextStep("See them in Stores", reverse("stores:store_list")),
            )
        )
    attention += _work_attention(
        WorkTrouble("webhooks", webhook_deliveries_trouble(shop_domain=source.domain)),
        step=NextStep("See System status", reverse("system_status")),
    )

    missing = None
    if not connected:
        ever = any(connection_counts.values())
        missing = Attention(
            "No store is connected now" if ever else "No store is connected yet",
            Tone.WARNING,
            NextStep("Share your store key", "#store-key"),
        )
    elif not reach.products_synced:
        missing = Attention(
            "Your connected stores sync none of your products yet",
            Tone.WARNING,
            NextStep("See your stores", reverse("stores:store_list")),
        )
    working = ngettext(
        "Your stock reaches %(count)s connected store",
        "Your stock reaches %(count)s connected stores",
        len(connected),
    ) % {"count": _count(len(connected))}
    return _status(attention=attention, missing=missing, working=working, figures=figures)


# --- destination --------------------------------------------------------------------------------


def destination_home(*, destination: Shop) -> tuple[list[SourceSummary], HomeStatus]:
    """A destination's Home: its sources' rows and its status card. The oversold items are read
    once: the card names them, each source's row counts its own."""
    oversold = oversold_read(destination=destination, limit=OVERSOLD_SHOWN)
    sources = destination_sources_summary(destination=destination, oversold=oversold)
    return sources, destination_home_status(destination=destination, sources=sources,
                                            oversold=oversold)


def destination_home_status(*, destination: Shop, sources: list[SourceSummary],
                            oversold: list[OversoldItem]) -> HomeStatus:
    """Working: it follows a source (connected, still installed), syncs some of its products,
    its Sync health counts no failed or stuck work and no source row needs attention. `sources`:
    Home's rows (destination_sources_summary); `oversold`: its oversold items (oversold_read,
    read once for both); four reads beyond those and Sync health's, whatever the number of
    sources."""
    live = [
        row
        for row in sources
        if row.connection.status == Connection.Status.CONNECTED
        and row.connection.source.uninstalled_at is None
    ]
    recent = _recent(connections=[row.connection for row in live])
    synced = sum(row.figures.synced_products for row in live)
    figures = [
        Figure("sources", "Sources", _count(len(live))),
        Figure("products-synced", "Products synced", _count(synced)),
        Figure("stock-updates-day", "Stock updates, past 24 hours", _count(recent.day)),
        Figure("orders-pushed", f"Orders pushed, past {RECENT_DAYS} days", _count(recent.orders)),
    ]

    sync_health = NextStep("See Sync health", reverse("orders:dashboard") + "#work-health")
    attention = _oversold_attention(oversold, source_side=False)
    attention += [
        item
        for work in work_trouble_read(destination=destination)
        for item in _work_attention(work, step=sync_health)
    ]
    for row in sources:
        if row.needs_attention:
            source = row.connection.source
            name = source.name or source.domain
            attention.append(
                Attention(
                    f"{name} needs attention",
                    Tone.WARNING,
                    NextStep(f"Review {name}", f"#home-source-{row.connection.pk}"),
                )
            )

    missing = None
    if not live:
        missing = Attention(
            "No source is connected now" if sources else "No source is connected yet",
            Tone.WARNING,
            NextStep("Connect with a store key", reverse("stores:source_list")),
        )
    elif not synced:
        missing = Attention(
            "No products are synced yet",
            Tone.WARNING,
            NextStep("Import products", reverse("products:product_list")),
        )
    working = ngettext(
        "Your stock follows %(count)s source", "Your stock follows %(count)s sources", len(live)
    ) % {"count": _count(len(live))}
    return _status(attention=attention, missing=missing, working=working, figures=figures)
