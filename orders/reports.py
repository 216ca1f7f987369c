"""The source's report on one of its stores (connected, blocked or disconnected): the orders
that store pushed to it within a date range, on screen and as CSV.

An order is in the range when it was pushed (created on the source) within it: from 00:00 of
the first day to 00:00 of the day after the last, in the source's time zone. The CSV has one row
per pushed line (order columns repeated on each) and is streamed from a server-side cursor, so
a report over years costs the same memory as one over a day.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    StringAgg,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from orders.dashboard import DateRange
from orders.models import DestinationOrder, OrderFulfillment, OrderPush, OrderPushLine
from orders.payloads import http_url
from stores.models import Connection

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)
CSV_CHUNK = 2000
# Fulfilments that did not happen (cancelled or failed at the source) carry no tracking.
VOID_FULFILLMENT = ["cancelled", "error", "failure"]
FULFILLMENT_LABELS = dict(DestinationOrder.FulfillmentStatus.choices)


def _pushes(connection: Connection, date_range: DateRange) -> QuerySet[OrderPush]:
    return OrderPush.objects.filter(
        source=connection.source, order__shop=connection.destination,
        status=OrderPush.Status.PUSHED, pushed_at__gte=date_range.starts_at,
        pushed_at__lt=date_range.ends_before)


@dataclass(frozen=True)
class ReportSummary:
    orders: int
    units: int
    revenue: Decimal


def report_summary(*, connection: Connection, date_range: DateRange) -> ReportSummary:
    pushes = _pushes(connection, date_range)
    totals = pushes.aggregate(orders=Count("pk"), revenue=Coalesce(Sum("total_price"), ZERO))
    units = OrderPushLine.objects.filter(push__in=pushes).aggregate(
        units=Coalesce(Sum("quantity"), 0))["units"]
    return ReportSummary(orders=totals["orders"], units=units, revenue=totals["revenue"])


def report_order_list(*, connection: Connection, date_range: DateRange) -> QuerySet[OrderPush]:
    """The range's orders from that store, oldest first (the CSV's order)."""
    lines = OrderPushLine.objects.filter(push=OuterRef("pk")).values("push")
    return (_pushes(connection, date_range).select_related("order")
            .annotate(items=Subquery(lines.annotate(n=Sum("quantity")).values("n")),
                      line_count=Subquery(lines.annotate(n=Count("pk")).values("n")))
            .prefetch_related(Prefetch("fulfillments", queryset=OrderFulfillment.objects
                                       .exclude(source_status__in=VOID_FULFILLMENT)
                                       .order_by("pk")))
            .order_by("pushed_at", "pk"))


def report_csv_header(*, date_range: DateRange) -> list[str]:
    zone = date_range.zone.key
    return ["Your order", "Your order ID", "Store order", f"Store order date ({zone})",
            f"Pushed at ({zone})", "SKU", "Product", "Variant", "Quantity", "Unit price",
            "Line total", "Fulfilled quantity", "Order shipping", "Order total", "Currency",
            "Fulfilment status", "Tracking company", "Tracking number", "Tracking URL",
            "Cancelled by the store"]


def _text(value: str | None) -> str:
    """Neutralises spreadsheet formulas (=, +, -, @) in text that came from a store."""
    value = value or ""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _tracking_of(push_ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """Tracking company, number and URL of each push (several fulfilments joined by " | ")."""
    def joined(name: str) -> StringAgg:
        return StringAgg(name, delimiter=Value(" | "), order_by="pk")

    return {push: (company, number, url) for push, company, number, url in (
        OrderFulfillment.objects.filter(push__in=push_ids)
        .exclude(source_status__in=VOID_FULFILLMENT).exclude(tracking_number="")
        .values("push").annotate(company=joined("tracking_company"),
                                 number=joined("tracking_number"), url=joined("tracking_url"))
        .values_list("push", "company", "number", "url"))}


def report_csv_rows(*, connection: Connection, date_range: DateRange) -> Iterator[list[str]]:
    """The header, then one row per pushed line, oldest order first. A generator over a
    server-side cursor: lines are read CSV_CHUNK at a time while the response streams, with
    one more query per chunk for its orders' tracking."""
    zone = date_range.zone

    def moment(value: datetime | None) -> str:
        return value.astimezone(zone).isoformat(" ", "seconds")[:19] if value else ""

    def formatted(chunk: list[tuple]) -> Iterator[list[str]]:
        tracking = _tracking_of(list({row[-1] for row in chunk}))
        no_tracking = ("", "", "")
        for (source_name, source_id, order_name, ordered_at, pushed_at, sku, title, variant,
             quantity, price, line_total, fulfilled, shipping, total, currency, status,
             cancelled_at, push_id) in chunk:
            company, number, urls = tracking.get(push_id, no_tracking)
            # http(s) only, even from rows stored before URLs were checked on the way in.
            url = " | ".join(http_url(part) for part in urls.split(" | ")) if urls else ""
            yield [_text(source_name), str(source_id or ""), _text(order_name),
                   moment(ordered_at), moment(pushed_at), _text(sku), _text(title),
                   _text(variant), str(quantity), str(price), str(line_total.quantize(ZERO)),
                   str(fulfilled), str(shipping), str(total), currency,
                   FULFILLMENT_LABELS.get(status, status), _text(company), _text(number),
                   _text(url), "yes" if cancelled_at else "no"]

    rows = (OrderPushLine.objects.filter(push__in=_pushes(connection, date_range))
            .annotate(line_total=ExpressionWrapper(F("quantity") * F("price"),
                                                   output_field=MONEY))
            .order_by("push__pushed_at", "push_id", "pk")
            .values_list("push__source_order_name", "push__source_order_id", "push__order__name",
                         "push__order__processed_at", "push__pushed_at", "line__sku",
                         "line__title", "line__variant_title", "quantity", "price",
                         "line_total", "fulfilled_quantity", "push__shipping_fee",
                         "push__total_price", "push__currency",
                         "push__source_fulfillment_status", "push__order__cancelled_at",
                         "push_id"))
    yield report_csv_header(date_range=date_range)
    # Inside a transaction the cursor is a plain one, read as the response goes out; outside,
    # Django declares it WITH HOLD and PostgreSQL computes the whole result before the first
    # row. (Read-only: a client that goes away just rolls it back.)
    with transaction.atomic():
        chunk: list[tuple] = []
        for row in rows.iterator(chunk_size=CSV_CHUNK):
            chunk.append(row)
            if len(chunk) == CSV_CHUNK:
                yield from formatted(chunk)
                chunk = []
        yield from formatted(chunk)


def report_filename(*, connection: Connection, date_range: DateRange) -> str:
    store = connection.destination.domain.removesuffix(".myshopify.com")
    return f"syncer-orders-{store}-{date_range.first:%Y%m%d}-{date_range.last:%Y%m%d}.csv"

