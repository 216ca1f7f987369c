"""The store-wide activity log: every sync event, order push, fulfilment copy and connection
change of a shop, newest first, on one list (the Activity page and its CSV).

A source sees what happened on all its connections (the pushes it received, the fulfilments it
sent back); a destination sees its own. Nothing is copied into a log table: each source table
is read for the shop's connections and the time range, newest first, a page's worth at a time,
and the tables are merged. Pages are keyset pages (`ActivityCursor`: a row's moment, table and
id), so the thousandth page costs what the first does. A source's sync events are read per
connection (one index range each, on SyncEvent(connection, created_at), joined by UNION ALL):
one range over all its connections would sort every event of the shop for each page.

An order push and a fulfilment are one row each, as they stand now: a push by when it was
pushed (or last tried), a fulfilment by when it was copied (or last tried). Sync events are
worded by `products.history.sync_history_rows`, as on a product's own history.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Exists, F, Model, OuterRef, Q, QuerySet, TextChoices
from django.db.models.functions import Coalesce

from orders.models import OrderFulfillment, OrderPush, OrderPushLine
from orders.reports import _text  # neutralises spreadsheet formulas in a store's text
from orders.selectors import shop_label
from orders.stats import day_start
from products.history import HistoryRow, latency_words, sync_history_rows
from products.models import SourceProduct, SourceVariant, SyncEvent
from stores.models import Connection, ConnectionEvent, Shop

PAGE_SIZE = 50
CSV_CHUNK = 500
EventKind = SyncEvent.Kind
STOCK_EVENT_KINDS = frozenset({EventKind.INVENTORY, EventKind.SOURCE_DECREMENT,
                               EventKind.SOURCE_RESTOCK, EventKind.DRIFT})


class ActivityKind(TextChoices):
    STOCK = "stock", "Stock"
    DETAILS = "details", "Product details"
    ORDERS = "orders", "Orders"
    FULFILMENT = "fulfilment", "Fulfilment"
    CONNECTIONS = "connections", "Connections"
    FAILURES = "failures", "Failures only"


class Outcome(TextChoices):
    OK = "ok", "Applied"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    PENDING = "pending", "In progress"


# The tables, by the letter that orders rows of the same moment (and names them in a cursor).
CONNECTION_EVENTS, FULFILMENTS, PUSHES_OPEN, PUSHES_DONE, SYNC_EVENTS = "c", "f", "o", "p", "s"
# Microseconds since 1970 (up to year 5000), a table's letter, an id.
_CURSOR = re.compile(r"([0-9]{1,17})-([cfops])-([0-9]{1,18})")
_SIGNED = re.compile(r"[+-][0-9]+")


@dataclass(frozen=True, order=True)
class ActivityCursor:
    """Where a page ends: a row's moment, table and id (rows are ordered by all three)."""

    at: datetime
    tag: str
    pk: int

    @property
    def token(self) -> str:
        moment = self.at - datetime(1970, 1, 1, tzinfo=UTC)
        micros = (moment.days * 86_400 + moment.seconds) * 1_000_000 + moment.microseconds
        return f"{micros}-{self.tag}-{self.pk}"

    @classmethod
    def parse(cls, token: str) -> ActivityCursor | None:
        found = _CURSOR.fullmatch(token)
        if found is None:
            return None
        micros, tag, pk = found.groups()
        at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(micros))
        return cls(at=at, tag=tag, pk=int(pk))


@dataclass(frozen=True)
class ActivityFilters:
    """What the merchant narrowed the log to; the days are in the shop's time zone, both
    included. `store`: one of the shop's connections (the other store), None for all."""

    kind: str = ""
    q: str = ""
    store: int | None = None
    first_day: date | None = None
    last_day: date | None = None


@dataclass(frozen=True)
class ActivityRow:
    cursor: ActivityCursor
    at: datetime  # in the shop's time zone
    kind: str  # an ActivityKind, never FAILURES
    kind_label: str
    store: str  # the other store
    product: str = ""
    variant: str = ""
    sku: str = ""
    order: str = ""
    what: str = ""  # all of the above in one line
    change: str = ""  # "10 → 7", "#1001 → #S101"
    result: str = Outcome.OK
    result_label: str = Outcome.OK.label
    error: str = ""
    details: str = ""
    latency_ms: int | None = None

    @property
    def when(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def latency(self) -> str:
        return latency_words(self.latency_ms)


@dataclass(frozen=True)
class ActivityPage:
    rows: list[ActivityRow]
    newer: str = ""  # the cursor token of the page before (newer rows), "" on the first page
    older: str = ""  # the cursor token of the next page (older rows), "" on the last


# --- scope and streams ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    shop: Shop
    is_source: bool
    connections: dict[int, Connection]  # the chosen ones: all, or the one store filtered to

    @property
    def other_shop_ids(self) -> list[int]:
        return [c.destination_id if self.is_source else c.source_id
                for c in self.connections.values()]

    def other(self, connection: Connection) -> Shop:
        return connection.destination if self.is_source else connection.source


@dataclass(frozen=True)
class _Stream:
    tag: str
    rows: QuerySet[Any]  # annotated with `moment`
    related: tuple[str, ...] = ()
    # Sync events: read per connection (each its own index range), then merged by the database.
    per_connection: tuple[int, ...] | None = None


def activity_connections(*, shop: Shop) -> list[Connection]:
    """Every store this shop was ever connected with (whatever the connection's status now),
    both sides loaded: the store filter's choices."""
    connections = Connection.objects.select_related("source", "destination")
    if shop.role == Shop.Role.SOURCE:
        connections = connections.filter(source=shop)
    elif shop.role == Shop.Role.DESTINATION:
        connections = connections.filter(destination=shop)
    else:
        return []
    return sorted(connections, key=lambda c: shop_label(c.destination if c.source_id == shop.pk
                                                    else c.source).lower())


def _scope(shop: Shop, filters: ActivityFilters) -> _Scope:
    connections = {c.pk: c for c in activity_connections(shop=shop)
                   if filters.store is None or c.pk == filters.store}
    return _Scope(shop=shop, is_source=shop.role == Shop.Role.SOURCE, connections=connections)


def _in_range(rows: QuerySet[Any], filters: ActivityFilters, zone: Any) -> QuerySet[Any]:
    if filters.first_day is not None:
        rows = rows.filter(moment__gte=day_start(filters.first_day, zone))
    if filters.last_day is not None:
        rows = rows.filter(moment__lt=day_start(filters.last_day + timedelta(days=1), zone))
    return rows


def _sync_event_stream(scope: _Scope, filters: ActivityFilters) -> _Stream | None:
    if filters.kind in (ActivityKind.ORDERS, ActivityKind.FULFILMENT, ActivityKind.CONNECTIONS):
        return None
    events = SyncEvent.objects.annotate(moment=F("created_at"))
    if filters.kind == ActivityKind.STOCK:
        events = events.filter(kind__in=STOCK_EVENT_KINDS)
    elif filters.kind == ActivityKind.DETAILS:
        events = events.exclude(kind__in=STOCK_EVENT_KINDS)
    elif filters.kind == ActivityKind.FAILURES:
        events = events.filter(result=SyncEvent.Result.FAILED)
    if filters.q:
        sources = {c.source_id for c in scope.connections.values()}
        products = SourceProduct.objects.filter(shop_id__in=sources,
                                                title__icontains=filters.q).values("pk")
        variants = SourceVariant.objects.filter(shop_id__in=sources,
                                                sku__icontains=filters.q).values("pk")
        events = events.filter(Q(source_product__in=products) | Q(source_variant__in=variants)
                               | Q(order_name__icontains=filters.q))
    return _Stream(tag=SYNC_EVENTS, rows=events, related=("source_variant",),
                   per_connection=tuple(scope.connections))


def _lines_matching(push: str, q: str) -> Exists:
    return Exists(OrderPushLine.objects.filter(push=OuterRef(push)).filter(
        Q(line__sku__icontains=q) | Q(line__title__icontains=q)))


def _push_streams(scope: _Scope, filters: ActivityFilters) -> list[_Stream]:
    if filters.kind not in ("", ActivityKind.ORDERS, ActivityKind.FAILURES):
        return []
    if scope.is_source:
        pushes = OrderPush.objects.filter(source=scope.shop,
                                          order__shop_id__in=scope.other_shop_ids)
    else:
        pushes = OrderPush.objects.filter(order__shop=scope.shop,
                                          source_id__in=scope.other_shop_ids)
    if filters.q:
        pushes = pushes.filter(Q(order__name__icontains=filters.q)
                               | Q(source_order_name__icontains=filters.q)
                               | _lines_matching("pk", filters.q))
    related = ("order", "order__shop", "source")
    # Pushed ones by when they were pushed (a source's are indexed so), the rest by their
    # last attempt.
    done = _Stream(tag=PUSHES_DONE, related=related, rows=pushes.filter(
        status=OrderPush.Status.PUSHED).annotate(moment=F("pushed_at")))
    still_open = pushes.exclude(status=OrderPush.Status.PUSHED)
    if filters.kind == ActivityKind.FAILURES:
        still_open = still_open.filter(status=OrderPush.Status.FAILED)
    open_stream = _Stream(tag=PUSHES_OPEN, related=related,
                          rows=still_open.annotate(moment=F("updated_at")))
    return [open_stream] if filters.kind == ActivityKind.FAILURES else [done, open_stream]


def _fulfilment_stream(scope: _Scope, filters: ActivityFilters) -> _Stream | None:
    if filters.kind not in ("", ActivityKind.FULFILMENT, ActivityKind.FAILURES):
        return None
    if scope.is_source:
        rows = OrderFulfillment.objects.filter(push__source=scope.shop,
                                               push__order__shop_id__in=scope.other_shop_ids)
    else:
        rows = OrderFulfillment.objects.filter(push__order__shop=scope.shop,
                                               push__source_id__in=scope.other_shop_ids)
    if filters.kind == ActivityKind.FAILURES:
        rows = rows.filter(status=OrderFulfillment.Status.FAILED)
    if filters.q:
        rows = rows.filter(Q(push__order__name__icontains=filters.q)
                           | Q(push__source_order_name__icontains=filters.q)
                           | _lines_matching("push", filters.q))
    return _Stream(tag=FULFILMENTS, related=("push", "push__order", "push__order__shop",
                                             "push__source"),
                   rows=rows.annotate(moment=Coalesce("synced_at", "updated_at")))


def _connection_event_stream(scope: _Scope, filters: ActivityFilters) -> _Stream | None:
    # Connection changes name no product or order, and never fail.
    if filters.kind not in ("", ActivityKind.CONNECTIONS) or filters.q:
        return None
    rows = ConnectionEvent.objects.filter(connection_id__in=list(scope.connections))
    return _Stream(tag=CONNECTION_EVENTS, related=("actor_shop",),
                   rows=rows.annotate(moment=F("at")).order_by())


def _streams(scope: _Scope, filters: ActivityFilters) -> list[_Stream]:
    if not scope.connections:
        return []
    zone = scope.shop.zone
    streams = [_sync_event_stream(scope, filters), *_push_streams(scope, filters),
               _fulfilment_stream(scope, filters), _connection_event_stream(scope, filters)]
    return [_Stream(tag=s.tag, rows=_in_range(s.rows, filters, zone), related=s.related,
                    per_connection=s.per_connection) for s in streams if s is not None]


# --- reading: keyset chunks, merged -----------------------------------------------------------


def _beyond(rows: QuerySet[Any], tag: str, cursor: ActivityCursor | None, *,
            newer: bool) -> QuerySet[Any]:
    """The rows after `cursor` in the list's order (older ones), or before it (`newer`)."""
    if cursor is None:
        return rows
    at = cursor.at
    if not newer:
        if tag < cursor.tag:
            return rows.filter(moment__lte=at)
        if tag > cursor.tag:
            return rows.filter(moment__lt=at)
        return rows.filter(moment__lte=at).filter(Q(moment__lt=at) | Q(pk__lt=cursor.pk))
    if tag > cursor.tag:
        return rows.filter(moment__gte=at)
    if tag < cursor.tag:
        return rows.filter(moment__gt=at)
    return rows.filter(moment__gte=at).filter(Q(moment__gt=at) | Q(pk__gt=cursor.pk))


def _chunk(stream: _Stream, cursor: ActivityCursor | None, *, newer: bool,
           limit: int) -> list[Model]:
    order = ("moment", "pk") if newer else ("-moment", "-pk")
    rows = _beyond(stream.rows, stream.tag, cursor, newer=newer)
    if stream.per_connection is None:
        return list(rows.select_related(*stream.related).order_by(*order)[:limit])
    parts = [rows.filter(connection_id=connection_id).order_by(*order)
             .values_list("pk", "moment")[:limit] for connection_id in stream.per_connection]
    if not parts:
        return []
    combined = parts[0] if len(parts) == 1 else (
        parts[0].union(*parts[1:], all=True).order_by(*order)[:limit])
    ids = [pk for pk, _ in combined]
    found = rows.model.objects.select_related(*stream.related).annotate(
        moment=F("created_at")).in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def _moment(row: Model) -> datetime:
    """The `moment` every stream annotates its rows with."""
    return vars(row)["moment"]


_Entry = tuple[datetime, str, int, Model]


def _entries(stream: _Stream, cursor: ActivityCursor | None, *, newer: bool,
             chunk: int) -> Iterator[_Entry]:
    """The stream's rows in the list's order, read `chunk` at a time, each chunk only when
    the merge gets to it."""
    while True:
        rows = _chunk(stream, cursor, newer=newer, limit=chunk)
        for row in rows:
            yield (_moment(row), stream.tag, row.pk, row)
        if len(rows) < chunk:
            return
        last = rows[-1]
        cursor = ActivityCursor(at=_moment(last), tag=stream.tag, pk=last.pk)


def _merged(streams: list[_Stream], cursor: ActivityCursor | None, *, newer: bool,
            chunk: int) -> Iterator[_Entry]:
    return heapq.merge(*(_entries(s, cursor, newer=newer, chunk=chunk) for s in streams),
                       key=lambda entry: entry[:3], reverse=not newer)


# --- wording ----------------------------------------------------------------------------------


def _sync_rows(scope: _Scope, events: list[SyncEvent]) -> dict[int, ActivityRow]:
    zone = scope.shop.zone
    rows = {}
    by_connection: dict[int, list[SyncEvent]] = {}
    for event in events:
        by_connection.setdefault(event.connection_id or 0, []).append(event)
    for connection_id, group in by_connection.items():
        connection = scope.connections[connection_id]
        store = shop_label(scope.other(connection))
        for history in sync_history_rows(connection=connection, events=group,
                                         seen_from_source=scope.is_source):
            rows[history.event.pk] = _sync_row(history, store=store, zone=zone)
    return rows


def _sync_row(history: HistoryRow, *, store: str, zone: Any) -> ActivityRow:
    event = history.event
    stock = event.kind in STOCK_EVENT_KINDS
    details = " · ".join(part for part in (f"At {history.location}" if history.location else "",
                                           history.cause) if part)
    variant_part = " / ".join(part for part in (history.product, history.variant) if part)
    what = " · ".join(part for part in (variant_part, f"SKU {history.sku}" if history.sku
                                        else "", event.order_name) if part)
    return ActivityRow(
        cursor=ActivityCursor(at=event.created_at, tag=SYNC_EVENTS, pk=event.pk),
        at=event.created_at.astimezone(zone),
        kind=ActivityKind.STOCK if stock else ActivityKind.DETAILS, kind_label=history.what,
        store=store, product=history.product, variant=history.variant, sku=history.sku,
        order=event.order_name, what=what, change=history.change, result=event.result,
        result_label=history.result,
        error=event.error if event.result == SyncEvent.Result.FAILED else "",
        details=details, latency_ms=event.latency_ms)


_PUSH_OUTCOMES: dict[str, Outcome] = {
    OrderPush.Status.PUSHED: Outcome.OK, OrderPush.Status.FAILED: Outcome.FAILED,
    OrderPush.Status.PENDING: Outcome.PENDING}
_FULFILMENT_OUTCOMES: dict[str, Outcome] = {
    OrderFulfillment.Status.SYNCED: Outcome.OK, OrderFulfillment.Status.FAILED: Outcome.FAILED,
    OrderFulfillment.Status.SKIPPED: Outcome.SKIPPED,
    OrderFulfillment.Status.PENDING: Outcome.PENDING}


def _push_row(scope: _Scope, push: OrderPush, moment: datetime, tag: str) -> ActivityRow:
    order = push.order
    other = order.shop if scope.is_source else push.source
    how = "automatic" if push.trigger == OrderPush.Trigger.AUTOMATIC else "by hand"
    failed = push.status == OrderPush.Status.FAILED
    details = "Cancelled by the store after the push" if push.cancel_flagged_at else ""
    if push.status == OrderPush.Status.PENDING and push.error:
        details = f"Trying again: {push.error}"
    return ActivityRow(
        cursor=ActivityCursor(at=moment, tag=tag, pk=push.pk),
        at=moment.astimezone(scope.shop.zone), kind=ActivityKind.ORDERS,
        kind_label=f"Order push ({how})", store=shop_label(other), order=order.name,
        what=f"Order {order.name}", change=f"{order.name} → {push.source_order_name or '—'}",
        result=_PUSH_OUTCOMES.get(push.status, Outcome.PENDING),
        result_label=str(push.get_status_display()), error=push.error if failed else "",
        details=details)


def _fulfilment_row(scope: _Scope, row: OrderFulfillment, moment: datetime) -> ActivityRow:
    push, order = row.push, row.push.order
    other = order.shop if scope.is_source else push.source
    tracking = " ".join(part for part in (row.tracking_company, row.tracking_number) if part)
    details = f"Tracking {tracking}" if tracking else "No tracking number"
    if row.status == OrderFulfillment.Status.SKIPPED and row.error:
        details = f"{row.error} {details}"
    failed = row.status == OrderFulfillment.Status.FAILED
    return ActivityRow(
        cursor=ActivityCursor(at=moment, tag=FULFILMENTS, pk=row.pk),
        at=moment.astimezone(scope.shop.zone), kind=ActivityKind.FULFILMENT,
        kind_label="Fulfilment", store=shop_label(other), order=order.name,
        what=f"Order {order.name}",
        change=f"{push.source_order_name or '—'} → {order.name}",
        result=_FULFILMENT_OUTCOMES.get(row.status, Outcome.PENDING),
        result_label=str(row.get_status_display()), error=row.error if failed else "",
        details=details)


def _connection_row(scope: _Scope, event: ConnectionEvent) -> ActivityRow:
    connection = scope.connections[event.connection_id]
    actor = event.actor_shop
    who = ("you" if actor is not None and actor.pk == scope.shop.pk
           else shop_label(actor) if actor is not None else "a store")
    removed = (f"{event.links_removed} product link{'s' if event.links_removed != 1 else ''} "
               "removed") if event.links_removed else ""
    return ActivityRow(
        cursor=ActivityCursor(at=event.at, tag=CONNECTION_EVENTS, pk=event.pk),
        at=event.at.astimezone(scope.shop.zone), kind=ActivityKind.CONNECTIONS,
        kind_label="Connection", store=shop_label(scope.other(connection)),
        what=f"{event.get_action_display()} by {who}", result=Outcome.OK, result_label="Done",
        details=removed)


def _rows(scope: _Scope, entries: list[_Entry]) -> list[ActivityRow]:
    """Entries as rows, in their order: a fixed number of queries per chunk."""
    events = [row for _, _, _, row in entries if isinstance(row, SyncEvent)]
    synced = _sync_rows(scope, events) if events else {}
    rows = []
    for moment, tag, pk, row in entries:
        if isinstance(row, SyncEvent):
            rows.append(synced[pk])
        elif isinstance(row, OrderPush):
            rows.append(_push_row(scope, row, moment, tag))
        elif isinstance(row, OrderFulfillment):
            rows.append(_fulfilment_row(scope, row, moment))
        elif isinstance(row, ConnectionEvent):
            rows.append(_connection_row(scope, row))
    return rows


# --- the page and the CSV ---------------------------------------------------------------------


def activity_page(*, shop: Shop, filters: ActivityFilters, before: ActivityCursor | None = None,
                  after: ActivityCursor | None = None, size: int = PAGE_SIZE) -> ActivityPage:
    """One page of the log: the newest rows, those older than `before`, or those newer than
    `after` (the page before; the first page when fewer than a page are newer)."""
    scope = _scope(shop, filters)
    streams = _streams(scope, filters)
    if after is not None:
        newer = list(itertools.islice(_merged(streams, after, newer=True, chunk=size + 1),
                                      size + 1))
        if len(newer) > size:
            entries = newer[:size][::-1]
            return ActivityPage(rows=_rows(scope, entries),
                                newer=ActivityCursor(*entries[0][:3]).token,
                                older=ActivityCursor(*entries[-1][:3]).token)
        before = None
    entries = list(itertools.islice(_merged(streams, before, newer=False, chunk=size + 1),
                                    size + 1))
    more = len(entries) > size
    entries = entries[:size]
    return ActivityPage(
        rows=_rows(scope, entries),
        newer=ActivityCursor(*entries[0][:3]).token if before is not None and entries else "",
        older=ActivityCursor(*entries[-1][:3]).token if more else "")


def activity_csv_header(*, shop: Shop) -> list[str]:
    return [f"When ({shop.zone.key})", "Kind", "Store", "Product", "Variant", "SKU", "Order",
            "From → to", "Result", "Error", "Details", "Latency (ms)"]


def _change_text(value: str) -> str:
    """A change as text: "+2" or "-1" (a sale's) stays a number in a spreadsheet."""
    return value if _SIGNED.fullmatch(value) else _text(value)


def activity_csv_row(row: ActivityRow) -> list[str]:
    return [row.when, row.kind_label, _text(row.store), _text(row.product), _text(row.variant),
            _text(row.sku), _text(row.order), _change_text(row.change), row.result_label,
            _text(row.error), _text(row.details),
            "" if row.latency_ms is None else str(row.latency_ms)]


def activity_csv_rows(*, shop: Shop, filters: ActivityFilters) -> Iterator[list[str]]:
    """The header, then every row the filters keep, newest first: each table read CSV_CHUNK
    rows at a time (keyset, no transaction held open) while the response streams."""
    scope = _scope(shop, filters)
    yield activity_csv_header(shop=shop)
    merged = _merged(_streams(scope, filters), None, newer=False, chunk=CSV_CHUNK)
    for entries in _batched(merged, CSV_CHUNK):
        yield from (activity_csv_row(row) for row in _rows(scope, entries))


def _batched(items: Iterable[_Entry], size: int) -> Iterator[list[_Entry]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


@dataclass(frozen=True)
class StoreChoice:
    connection_id: int
    name: str


def activity_store_choices(*, shop: Shop) -> list[StoreChoice]:
    """The other stores the log can be narrowed to, by name, whatever their status now."""
    return [StoreChoice(connection_id=c.pk,
                        name=shop_label(c.destination if shop.role == Shop.Role.SOURCE
                                        else c.source))
            for c in activity_connections(shop=shop)]
