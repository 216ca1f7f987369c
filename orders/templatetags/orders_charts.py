"""The dashboards' repeated rows, each written in one pass: `{% chart_bars chart %}` and
`{% chart_table_rows chart shop %}` (a bar chart's bars and its table, templates/orders/
_chart.html) and `{% sales_by_store_rows stores shop link %}` (the source dashboard's stores).
Looked up cell by cell by the template engine, the hundred stores' rows alone took 7 of the
40 ms the dashboard took at a million orders."""

from collections.abc import Iterator

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from orders.charts import Bar, Chart
from orders.dashboard import StoreSales
from syncer.money import money_text

register = template.Library()


@register.simple_tag
def chart_bars(chart: Chart) -> SafeString:
    """Each bar with its tooltip, and its darker part from the foot when it has one."""

    def parts() -> Iterator[SafeString]:
        for bar in chart.bars:
            yield format_html(
                '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}">'
                "<title>{}</title></rect>",
                bar.x, bar.y, bar.width, bar.height, bar.title)
            if bar.part_height:
                yield format_html(
                    '<rect class="chart-bar-part" x="{}" y="{}" width="{}" height="{}">'
                    "<title>{}</title></rect>",
                    bar.x, bar.part_y, bar.width, bar.part_height, bar.title)

    return format_html_join("\n", "{}", ((part,) for part in parts()))


@register.simple_tag
def chart_table_rows(chart: Chart, shop: object = None) -> SafeString:
    """The chart as table rows for screen readers: the bar's days, its count, then the columns
    the chart has (its darker part, what its tooltip tells aside, its amount of money)."""
    words = chart.words
    money_format = getattr(shop, "money_format", "") or ""
    currency = getattr(shop, "currency", "") or ""

    def row(bar: Bar) -> SafeString:
        tally = bar.bucket.tally
        cells: list[object] = [tally.count]
        if words.part:
            cells.append(tally.part)
        if words.aside:
            cells.append(tally.aside)
        if chart.has_line:
            cells.append(money_text(amount=tally.amount, money_format=money_format,
                                    currency_code=currency))
        return format_html('<tr><th scope="row">{}</th>{}</tr>', bar.bucket.days,
                           format_html_join("", "<td>{}</td>", ((cell,) for cell in cells)))

    return format_html_join("\n", "{}", ((row(bar),) for bar in chart.bars))


_STATUS_TONES = {"connected": "success", "blocked": "critical"}


@register.simple_tag
def sales_by_store_rows(stores: list[StoreSales], shop: object, link: str) -> SafeString:
    """The source dashboard's "Sales by store" rows (a hundred stores are a hundred rows of
    six cells): each store's name links to `link` + its connection id; a store whose
    connection is gone has no link and no status."""
    money_format = getattr(shop, "money_format", "") or ""
    currency = getattr(shop, "currency", "") or ""

    def money(amount: object) -> str:
        return money_text(amount=amount, money_format=money_format, currency_code=currency)

    def row(store: StoreSales) -> SafeString:
        name = (format_html('<a href="{}{}">{}</a>', link, store.connection_id, store.name)
                if store.connection_id else store.name)
        status = (format_html('<span class="badge badge-{}">{}</span>',
                              _STATUS_TONES.get(store.status, "warning"), store.status_label)
                  if store.status else "—")
        return format_html(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            name, status, store.units, money(store.sales), store.orders, money(store.revenue))

    return format_html_join("\n", "{}", ((row(store),) for store in stores))
