"""Geometry for the server-rendered SVG charts (no JavaScript library, renders offline).

The template only places what is computed here: bars for orders (left axis), a line for
revenue (right axis), gridlines at round values and a handful of date labels.
"""

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import ngettext

from syncer.money import money_text

WIDTH = 720
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 44, 72, 16, 28
X_LABELS = 6
GRID_STEPS = 4


@dataclass(frozen=True)
class Bucket:
    """One bar: the days `start`..`end` (both included)."""

    start: date
    end: date
    label: str
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    bucket: Bucket
    title: str  # the tooltip: "Nov 3 – Nov 9: 12 orders, 345.00 USD"


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    bars: list[Bar]
    revenue_points: str  # "x,y x,y ..." for <polyline>
    revenue_dots: list[tuple[float, float]]
    order_ticks: list[Tick]
    revenue_ticks: list[Tick]
    x_labels: list[Tick]
    currency: str
    total_orders: int
    total_revenue: Decimal

    @property
    def is_empty(self) -> bool:
        return self.total_orders == 0

    @property
    def center(self) -> float:
        return (self.plot_left + self.plot_right) / 2


def nice_step(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^n at or above `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if value <= step * magnitude)


def _number(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _day(value: date) -> str:
    return f"{value:%b} {value.day}"


def _bar_title(bucket: Bucket, currency: str, money_format: str) -> str:
    days = _day(bucket.start) if bucket.start == bucket.end else (
        f"{_day(bucket.start)} – {_day(bucket.end)}")
    orders = ngettext("%(count)d order", "%(count)d orders", bucket.orders) % {
        "count": bucket.orders}
    revenue = money_text(amount=bucket.revenue, money_format=money_format,
                         currency_code=currency)
    return f"{days}: {orders}, {revenue}"


def orders_revenue_chart(*, buckets: list[Bucket], currency: str,
                         money_format: str = "") -> Chart:
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    bottom = TOP + plot_height
    count = max(len(buckets), 1)
    slot = plot_width / count
    bar_width = max(slot * 0.72, 1.0)
    orders_step = nice_step(max((b.orders for b in buckets), default=0) / GRID_STEPS)
    orders_top = math.ceil(orders_step) * GRID_STEPS  # whole orders on every gridline
    revenue_top = nice_step(float(max((b.revenue for b in buckets), default=0))
                            / GRID_STEPS) * GRID_STEPS
    bars, points = [], []
    for index, bucket in enumerate(buckets):
        height = plot_height * bucket.orders / orders_top
        x = LEFT + slot * index + (slot - bar_width) / 2
        bars.append(Bar(x=round(x, 2), y=round(bottom - height, 2), width=round(bar_width, 2),
                        height=round(height, 2), bucket=bucket,
                        title=_bar_title(bucket, currency, money_format)))
        points.append((round(LEFT + slot * index + slot / 2, 2),
                       round(bottom - plot_height * float(bucket.revenue) / revenue_top, 2)))
    step = max(1, math.ceil(count / X_LABELS))
    return Chart(
        width=WIDTH, height=HEIGHT, plot_left=LEFT, plot_right=WIDTH - RIGHT, plot_top=TOP,
        plot_bottom=bottom, bars=bars,
        revenue_points=" ".join(f"{x},{y}" for x, y in points),
        revenue_dots=points if count <= 31 else [],
        order_ticks=[Tick(round(bottom - plot_height * i / GRID_STEPS, 2),
                          _number(orders_top * i / GRID_STEPS)) for i in range(GRID_STEPS + 1)],
        revenue_ticks=[Tick(round(bottom - plot_height * i / GRID_STEPS, 2),
                            _number(revenue_top * i / GRID_STEPS))
                       for i in range(GRID_STEPS + 1)],
        x_labels=[Tick(round(LEFT + slot * i + slot / 2, 2), buckets[i].label)
                  for i in range(0, len(buckets), step)],
        currency=currency,
        total_orders=sum(b.orders for b in buckets),
        total_revenue=sum((b.revenue for b in buckets), Decimal("0.00")),
    )
