"""What the apps above stores do when a shop is erased. They register here in
AppConfig.ready(), the way webhook handlers register with webhooks.registry, so stores never
imports them.

An eraser is `eraser(*, shop: Shop) -> None`. `shop_redact` runs every eraser in registration
order inside its transaction, before the shop's rows are deleted (the cascade would take the
rows an eraser reads to know what to drop). Erasers must be idempotent: shop/redact can be
delivered more than once.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from stores.models import Connection, Shop
from syncer.health import Trouble

ShopEraser = Callable[..., None]

_erasers: list[ShopEraser] = []


def shop_eraser_register(eraser: ShopEraser) -> ShopEraser:
    """Registers `eraser` (once); usable as a decorator."""
    if eraser not in _erasers:
        _erasers.append(eraser)
    return eraser


def shop_erasers_run(*, shop: Shop) -> None:
    for eraser in list(_erasers):
        eraser(shop=shop)


# --- customers/data_request ---------------------------------------------------------------------
# A collector is `collector(*, shop_domain: str, customer_id: int | None, email: str,
# order_ids: list[int]) -> list[dict]`: what its app holds about one customer of the shop, as
# {"topic": ..., "received_at": ..., "payload": ...} entries of CustomerDataRequest.data (the
# stored webhook bodies alone go after a few days: webhooks.retention).

CustomerDataCollector = Callable[..., list[dict]]

_collectors: list[CustomerDataCollector] = []


def customer_data_collector_register(collector: CustomerDataCollector) -> CustomerDataCollector:
    """Registers `collector` (once); usable as a decorator."""
    if collector not in _collectors:
        _collectors.append(collector)
    return collector


def customer_data_collect(*, shop_domain: str, customer_id: int | None, email: str,
                          order_ids: list[int]) -> list[dict]:
    return [entry for collector in list(_collectors)
            for entry in collector(shop_domain=shop_domain, customer_id=customer_id,
                                   email=email, order_ids=order_ids)]


# --- links ending -------------------------------------------------------------------------------
# A hook is `hook(*, connection: Connection, reason: str) -> None` (reason: EndedLink.Reason).
# The connection's product links are about to be removed (a block, a disconnect, an uninstall):
# `links_end_hooks_run` runs every hook inside the transaction that removes them, before they go,
# so the app that owns the links can keep what it needs to apply the destination's choice
# (Connection.on_link_end) and queue that work on commit. Hooks must be idempotent.

LinksEndHook = Callable[..., None]

_links_end_hooks: list[LinksEndHook] = []


def links_end_hook_register(hook: LinksEndHook) -> LinksEndHook:
    """Registers `hook` (once); usable as a decorator."""
    if hook not in _links_end_hooks:
        _links_end_hooks.append(hook)
    return hook


def links_end_hooks_run(*, connection: Connection, reason: str) -> None:
    for hook in list(_links_end_hooks):
        hook(connection=connection, reason=reason)


# --- a shop's plan changed ----------------------------------------------------------------------
# A hook is `hook(*, shop_id: int) -> None`, run once the transaction that changed the shop's
# ACTIVE subscription commits (stores.billing): e.g. the orders automatic push held for the
# Orders add-on are pushed once Shopify confirms it. Hooks must be idempotent.

EntitlementHook = Callable[..., None]

_entitlement_hooks: list[EntitlementHook] = []


def entitlement_change_hook_register(hook: EntitlementHook) -> EntitlementHook:
    """Registers `hook` (once); usable as a decorator."""
    if hook not in _entitlement_hooks:
        _entitlement_hooks.append(hook)
    return hook


def entitlement_change_hooks_run(*, shop_id: int) -> None:
    for hook in list(_entitlement_hooks):
        hook(shop_id=shop_id)


# --- what stores' pages show of the apps above ------------------------------------------------
# Home (a destination's sources) and the Stores list (each store's recent activity) show
# products, stock and orders, which stores may not import. The app on top (orders, which reads
# both) registers one reader of each in AppConfig.ready(); stores' views call it through here.
# With none registered, those pages show only what stores knows (every figure zero).


@dataclass(frozen=True)
class SourceFigures:
    """What a destination's Home says of one source beyond the connection: what syncs and
    what needs the merchant (failed syncs over the past RECENT_DAYS; failed pushes and hidden
    products as they are now)."""

    synced_products: int = 0
    synced_variants: int = 0
    last_stock_update: datetime | None = None
    failed_syncs: int = 0
    failed_pushes: int = 0
    hidden_products: int = 0


@dataclass(frozen=True)
class ConnectionActivity:
    """A connection's work since a moment: stock written at the store, orders it pushed to
    the source, and what failed of either; `last_at`: the latest of them."""

    stock_updates: int = 0
    orders_received: int = 0
    failures: int = 0
    last_at: datetime | None = None


RECENT_DAYS = 7
SourceFiguresReader = Callable[..., dict[int, SourceFigures]]
ConnectionActivityReader = Callable[..., dict[int, ConnectionActivity]]

_source_figures_readers: list[SourceFiguresReader] = []
_activity_readers: list[ConnectionActivityReader] = []


def source_figures_reader_register(reader: SourceFiguresReader) -> SourceFiguresReader:
    """`reader(*, destination: Shop, since: datetime) -> {connection id: SourceFigures}`."""
    if reader not in _source_figures_readers:
        _source_figures_readers.append(reader)
    return reader


def source_figures_read(*, destination: Shop, since: datetime) -> dict[int, SourceFigures]:
    figures: dict[int, SourceFigures] = {}
    for reader in list(_source_figures_readers):
        figures.update(reader(destination=destination, since=since))
    return figures


def connection_activity_reader_register(
        reader: ConnectionActivityReader) -> ConnectionActivityReader:
    """`reader(*, connections: list[Connection], since: datetime)
    -> {connection id: ConnectionActivity}`."""
    if reader not in _activity_readers:
        _activity_readers.append(reader)
    return reader


def connection_activity_read(*, connections: list[Connection],
                             since: datetime) -> dict[int, ConnectionActivity]:
    activity: dict[int, ConnectionActivity] = {}
    for reader in list(_activity_readers):
        activity.update(reader(connections=connections, since=since))
    return activity


# --- what Home says of the apps above -----------------------------------------------------------
# Home's status card says whether the store is set up and working. Beyond the readers above it
# needs, for a source, how many of its products sync and how fast (SourceReach), and for a
# destination, the failed and stuck work its Sync health card counts (WorkTrouble). orders
# answers both, registered in OrdersConfig.ready(); with none registered a source syncs nothing
# and a destination's work never fails.


@dataclass(frozen=True)
class SourceReach:
    """How far a source's catalogue reaches: its products that at least one connected store
    syncs (each counted once, however many stores sync it), and the median time from a change of
    its stock to a store's write over the past RECENT_DAYS, in words ("" when none was
    measured)."""

    products_synced: int = 0
    median_latency: str = ""


@dataclass(frozen=True)
class WorkTrouble:
    """One kind of a destination's work as its Sync health card counts it: `kind` is the card's
    row (orders.sync_health.WorkKind: "webhooks", "stock", "resyncs", "pushes")."""

    kind: str
    trouble: Trouble


SourceReachReader = Callable[..., SourceReach]
WorkTroubleReader = Callable[..., list[WorkTrouble]]

_source_reach_readers: list[SourceReachReader] = []
_work_trouble_readers: list[WorkTroubleReader] = []


def source_reach_reader_register(reader: SourceReachReader) -> SourceReachReader:
    """`reader(*, source: Shop, since: datetime) -> SourceReach`; one app answers (the last
    registered)."""
    if reader not in _source_reach_readers:
        _source_reach_readers.append(reader)
    return reader


def source_reach_read(*, source: Shop, since: datetime) -> SourceReach:
    if not _source_reach_readers:
        return SourceReach()
    return _source_reach_readers[-1](source=source, since=since)


def work_trouble_reader_register(reader: WorkTroubleReader) -> WorkTroubleReader:
    """`reader(*, destination: Shop) -> [WorkTrouble, ...]`."""
    if reader not in _work_trouble_readers:
        _work_trouble_readers.append(reader)
    return reader


def work_trouble_read(*, destination: Shop) -> list[WorkTrouble]:
    return [work for reader in list(_work_trouble_readers)
            for work in reader(destination=destination)]


# --- stock sold beyond what the source has -----------------------------------------------------
# Destinations sell at the same moment the source does; two of them can sell its last unit each.
# The source's stock then goes below zero and an order cannot be fulfilled: Home says so on both
# sides until the source's stock is back at zero or above. products answers, registered in
# ProductsConfig.ready(); with none registered nothing is oversold.


@dataclass(frozen=True)
class OversoldItem:
    """A synced source variant whose shared stock is below zero: `short` units were sold that
    the source does not have."""

    label: str  # "Linen shirt / S", the product's title alone for its one default variant
    sku: str
    short: int
    source: str  # the source's name
    source_id: int


OversoldReader = Callable[..., list[OversoldItem]]

_oversold_readers: list[OversoldReader] = []


def oversold_reader_register(reader: OversoldReader) -> OversoldReader:
    """`reader(*, source: Shop | None = None, destination: Shop | None = None, limit: int)
    -> [OversoldItem, ...]`: a source's items its connected stores sync, or a destination's
    items from its connected sources; one app answers (the last registered)."""
    if reader not in _oversold_readers:
        _oversold_readers.append(reader)
    return reader


def oversold_read(*, source: Shop | None = None, destination: Shop | None = None,
                  limit: int) -> list[OversoldItem]:
    if not _oversold_readers:
        return []
    return _oversold_readers[-1](source=source, destination=destination, limit=limit)
