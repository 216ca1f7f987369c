"""Geometry for the server-rendered SVG charts (no JavaScript library, renders offline).

The templates only place what is computed here. A bar chart (templates/orders/_chart.html):
bars for a count per day, week or month (left axis), optionally a darker part of each bar from
its foot and a line for an amount of money (right axis), gridlines at round values and a handful
of date labels. A sparkline (templates/orders/_sparkline.html): how long stock updates took to
reach a store, hour by hour, with its lowest, highest and latest hour labelled.

Every chart has the same size whatever it shows (none, one or many bars): the page reserves its
height from the viewBox, and swapping ranges never moves what is below it.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from products.history import latency_words
from syncer.money import money_text
from syncer.templatetags.syncer_words import counted

WIDTH = 720
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 44, 72, 16, 28
RIGHT_WITHOUT_LINE = 16
X_LABELS = 6
GRID_STEPS = 4
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Tally:
    """What one bar stands for: `count` is its height, `part` the share of it drawn darker from
    its foot (pushed orders), `amount` the line (money), `aside` a count told in its tooltip and
    table but not drawn (failed stock updates)."""

    count: int = 0
    part: int = 0
    amount: Decimal = ZERO
    aside: int = 0

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(
            count=self.count + other.count,
            part=self.part + other.part,
            amount=self.amount + other.amount,
            aside=self.aside + other.aside,
        )


@dataclass(frozen=True)
class Bucket:
    """One bar: the days `start`..`end` (both included)."""

    start: date
    end: date
    label: str
    tally: Tally

    @property
    def days(self) -> str:
        """ "Nov 3", or "Nov 3 – Nov 9" for a week or a month."""
        if self.start == self.end:
            return _day(self.start)
        return f"{_day(self.start)} – {_day(self.end)}"


@dataclass(frozen=True)
class ChartWords:
    """What a bar chart counts, in words: its summary, legend, tooltips, table and empty
    message. The data-* names let tests and scripts read its totals."""

    title: str  # "Orders and revenue": the summary starts "<title> by day: …"
    nouns: str  # what a bar counts, for |counted: "order", "stock update"
    bar_legend: str  # "Orders"
    count_key: str  # data-<count_key> holds the total count
    empty: str  # drawn across an empty chart
    part: str = ""  # "pushed": the darker part of each bar ("" for none)
    aside: str = ""  # "failed": counted in tooltips and the table, not drawn ("" for none)
    line_legend: str = ""  # "Revenue": the line, in the shop's currency ("" for no line)
    amount_key: str = ""  # data-<amount_key> holds the line's total


ORDERS_REVENUE = ChartWords(
    title="Orders and revenue",
    nouns="order",
    bar_legend="Orders",
    count_key="orders",
    empty="No orders in this range",
    line_legend="Revenue",
    amount_key="revenue",
)
DESTINATION_ORDERS = ChartWords(
    title="Orders",
    nouns="order",
    bar_legend="Orders",
    count_key="orders",
    empty="No orders in this range",
    part="pushed",
    line_legend="Order totals",
    amount_key="amount",
)
STOCK_UPDATES = ChartWords(
    title="Stock updates",
    nouns="stock update",
    bar_legend="Stock updates written",
    count_key="updates",
    empty="No stock updates in this range",
    aside="failed",
)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    part_y: float  # the darker part: from part_y down to the bar's foot
    part_height: float
    bucket: Bucket
    title: str  # the tooltip: "Nov 3 – Nov 9: 12 orders, 345.00 USD"


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    words: ChartWords
    granularity: str  # "day", "week" or "month": one bar each
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    bars: list[Bar]
    line_points: str  # "x,y x,y ..." for <polyline>, "" without a line
    line_dots: list[tuple[float, float]]
    count_ticks: list[Tick]
    amount_ticks: list[Tick]  # the right axis, empty without a line
    x_labels: list[Tick]
    currency: str
    total: Tally

    @property
    def is_empty(self) -> bool:
        return self.total.count == 0

    @property
    def has_line(self) -> bool:
        return bool(self.words.line_legend)

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


def _bar_title(bucket: Bucket, words: ChartWords, currency: str, money_format: str) -> str:
    tally = bucket.tally
    told = [counted(tally.count, words.nouns)]
    if words.part:
        told.append(f"{tally.part:,} {words.part}")
    if words.aside:
        told.append(f"{tally.aside:,} {words.aside}")
    if words.line_legend:
        told.append(
            money_text(amount=tally.amount, money_format=money_format, currency_code=currency)
        )
    return f"{bucket.days}: {', '.join(told)}"


def bar_chart(
    *,
    words: ChartWords,
    buckets: list[Bucket],
    granularity: str,
    currency: str,
    money_format: str = "",
) -> Chart:
    has_line = bool(words.line_legend)
    right = WIDTH - (RIGHT if has_line else RIGHT_WITHOUT_LINE)
    plot_width = right - LEFT
    plot_height = HEIGHT - TOP - BOTTOM
    bottom = TOP + plot_height
    count = max(len(buckets), 1)
    slot = plot_width / count
    bar_width = max(slot * 0.72, 1.0)
    count_step = nice_step(max((b.tally.count for b in buckets), default=0) / GRID_STEPS)
    count_top = math.ceil(count_step) * GRID_STEPS  # whole numbers on every gridline
    amount_top = (
        nice_step(float(max((b.tally.amount for b in buckets), default=0)) / GRID_STEPS)
        * GRID_STEPS
    )
    bars, points = [], []
    for index, bucket in enumerate(buckets):
        height = plot_height * bucket.tally.count / count_top
        part_height = plot_height * min(bucket.tally.part, bucket.tally.count) / count_top
        x = LEFT + slot * index + (slot - bar_width) / 2
        bars.append(
            Bar(
                x=round(x, 2),
                y=round(bottom - height, 2),
                width=round(bar_width, 2),
                height=round(height, 2),
                part_y=round(bottom - part_height, 2),
                part_height=round(part_height, 2),
                bucket=bucket,
                title=_bar_title(bucket, words, currency, money_format),
            )
        )
        points.append(
            (
                round(LEFT + slot * index + slot / 2, 2),
                round(bottom - plot_height * float(bucket.tally.amount) / amount_top, 2),
            )
        )
    step = max(1, math.ceil(count / X_LABELS))
    return Chart(
        words=words,
        granularity=granularity,
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_right=right,
        plot_top=TOP,
        plot_bottom=bottom,
        bars=bars,
        line_points=" ".join(f"{x},{y}" for x, y in points) if has_line else "",
        line_dots=points if has_line and count <= 31 else [],
        count_ticks=[
            Tick(
                round(bottom - plot_height * i / GRID_STEPS, 2), _number(count_top * i / GRID_STEPS)
            )
            for i in range(GRID_STEPS + 1)
        ],
        amount_ticks=[
            Tick(
                round(bottom - plot_height * i / GRID_STEPS, 2),
                _number(amount_top * i / GRID_STEPS),
            )
            for i in range(GRID_STEPS + 1)
        ]
        if has_line
        else [],
        x_labels=[
            Tick(round(LEFT + slot * i + slot / 2, 2), buckets[i].label)
            for i in range(0, len(buckets), step)
        ],
        currency=currency,
        total=sum((bucket.tally for bucket in buckets), Tally()),
    )


# --- the latency sparkline ----------------------------------------------------------------------

SPARK_WIDTH = 400
SPARK_HEIGHT = 90
SPARK_LEFT, SPARK_RIGHT, SPARK_TOP, SPARK_BOTTOM = 8, 112, 20, 20


@dataclass(frozen=True)
class LatencyHour:
    """The stock updates written in one hour and how long they took, from the source change
    to the write (`SyncEvent.latency_ms`); no times when none was written."""

    start: datetime
    writes: int
    median_ms: int | None
    p95_ms: int | None

    @property
    def clock(self) -> str:
        """ "14:00", on the shop's clock."""
        return f"{self.start:%H:%M}"

    @property
    def median(self) -> str:
        return latency_words(self.median_ms)

    @property
    def p95(self) -> str:
        return latency_words(self.p95_ms)


@dataclass(frozen=True)
class Mark:
    """The lowest, highest or latest hour, dotted on the line and labelled with its median."""

    kind: str  # "min", "max", "last"
    x: float
    y: float
    label: str  # "" when another mark of the same point says it
    label_x: float
    label_y: float
    anchor: str  # text-anchor


@dataclass(frozen=True)
class LonePoint:
    """An hour whose neighbours wrote nothing: a dot for its median, a stroke up to its p95."""

    x: float
    median_y: float
    p95_y: float


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_bottom: int
    hours: list[LatencyHour]
    median_runs: list[str]  # one <polyline> per run of hours that all wrote something
    band_runs: list[str]  # one <polygon> per run: the median up to the 95th percentile
    lone_points: list[LonePoint]
    marks: list[Mark]
    writes: int
    summary: str  # the text alternative, shown under the sparkline

    @property
    def is_empty(self) -> bool:
        return self.writes == 0

    @property
    def center(self) -> float:
        return (self.plot_left + self.plot_right) / 2


NO_LATENCY = (
    "No stock updates reached your store in the past 24 hours, so there is no delay to show."
)


def _latency_summary(
    writes: int, lowest: LatencyHour, highest: LatencyHour, last: LatencyHour
) -> str:
    if lowest.median_ms == highest.median_ms:
        spread = f"the median per hour stayed at {lowest.median}"
    else:
        spread = (
            f"the median per hour went from {lowest.median} (fastest, {lowest.clock}) to "
            f"{highest.median} (slowest, {highest.clock})"
        )
    return (
        f"Time from a stock change at the source to your store, past 24 hours "
        f"({counted(writes, 'stock update')}): {spread}; latest, {last.clock}: {last.median}, "
        f"95% within {last.p95}."
    )


def latency_sparkline(*, hours: list[LatencyHour]) -> Sparkline:
    """`hours`: consecutive hours, oldest first, those that wrote nothing included."""
    right = SPARK_WIDTH - SPARK_RIGHT
    bottom = SPARK_HEIGHT - SPARK_BOTTOM
    plot_height = bottom - SPARK_TOP
    slot = (right - SPARK_LEFT) / max(len(hours) - 1, 1)
    top = max((hour.p95_ms or 0 for hour in hours), default=0) or 1

    def x_of(index: int) -> float:
        return round(SPARK_LEFT + slot * index, 2)

    def y_of(milliseconds: int | None) -> float:
        return round(bottom - plot_height * (milliseconds or 0) / top, 2)

    runs: list[list[int]] = []
    for index, hour in enumerate(hours):
        if hour.median_ms is None:
            continue
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    median_runs, band_runs, lone_points = [], [], []
    for run in runs:
        if len(run) == 1:
            hour = hours[run[0]]
            lone_points.append(LonePoint(x_of(run[0]), y_of(hour.median_ms), y_of(hour.p95_ms)))
            continue
        median = [f"{x_of(i)},{y_of(hours[i].median_ms)}" for i in run]
        p95 = [f"{x_of(i)},{y_of(hours[i].p95_ms)}" for i in run]
        median_runs.append(" ".join(median))
        band_runs.append(" ".join(p95 + median[::-1]))
    timed = [index for run in runs for index in run]
    if not timed:
        return Sparkline(
            width=SPARK_WIDTH,
            height=SPARK_HEIGHT,
            plot_left=SPARK_LEFT,
            plot_right=right,
            plot_bottom=bottom,
            hours=hours,
            median_runs=[],
            band_runs=[],
            lone_points=[],
            marks=[],
            writes=0,
            summary=NO_LATENCY,
        )
    writes = sum(hours[index].writes for index in timed)
    lowest = min(timed, key=lambda i: hours[i].median_ms or 0)
    highest = max(timed, key=lambda i: hours[i].median_ms or 0)
    last = timed[-1]
    flat = hours[lowest].median_ms == hours[highest].median_ms
    marks = []
    for kind, index in (("min", lowest), ("max", highest), ("last", last)):
        x, y = x_of(index), y_of(hours[index].median_ms)
        if kind == "last":
            label, label_x, label_y, anchor = f"last {hours[index].median}", x + 6, y, "start"
        else:
            # The last hour's label says its own value; a flat line has no min or max.
            said = flat or index == last
            label = "" if said else f"{kind} {hours[index].median}"
            # Left half: the label runs right of its dot; right half: it ends at its dot, so it
            # never reaches the "last" label. Max above its dot, min below: they never meet.
            anchor = "start" if x < (SPARK_LEFT + right) / 2 else "end"
            label_x = x
            label_y = y - 6 if kind == "max" else y + 14
        marks.append(
            Mark(
                kind=kind,
                x=x,
                y=y,
                label=label,
                label_x=round(label_x, 2),
                label_y=round(label_y, 2),
                anchor=anchor,
            )
        )
    return Sparkline(
        width=SPARK_WIDTH,
        height=SPARK_HEIGHT,
        plot_left=SPARK_LEFT,
        plot_right=right,
        plot_bottom=bottom,
        hours=hours,
        median_runs=median_runs,
        band_runs=band_runs,
        lone_points=lone_points,
        marks=marks,
        writes=writes,
        summary=_latency_summary(writes, hours[lowest], hours[highest], hours[last]),
    )
