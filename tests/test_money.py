"""Amounts in the shop's own money format (Shopify's `currencyFormats.moneyFormat`)."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.template import Context, Template

from syncer.money import money_text


@dataclass
class FakeShop:
    money_format: str
    currency: str


@pytest.mark.parametrize(("money_format", "expected"), [
    ("${{amount}}", "$1,234,567.50"),
    ("${{ amount }}", "$1,234,567.50"),
    ("{{amount_no_decimals}} kr", "1,234,568 kr"),
    ("€{{amount_with_comma_separator}}", "€1.234.567,50"),
    ("{{amount_no_decimals_with_comma_separator}} €", "1.234.568 €"),
    ("CHF {{amount_with_apostrophe_separator}}", "CHF 1'234'567.50"),
    ("{{amount_with_space_separator}} zł", "1 234 567,50 zł"),
    ("{{amount_no_decimals_with_space_separator}} Ft", "1 234 568 Ft"),
    ("R {{amount_with_period_and_space_separator}}", "R 1 234 567.50"),
    ("<span class=money>${{amount}}</span>", "$1,234,567.50"),
    ("&euro;{{amount_with_comma_separator}}", "€1.234.567,50"),
    ("{{amount_in_some_new_style}} $", "1,234,567.50 $"),
])
def test_every_shopify_placeholder(money_format, expected):
    assert money_text(amount=Decimal("1234567.5"), money_format=money_format,
                      currency_code="XXX") == expected


def test_sums_with_many_decimals_get_two_rounded_half_up():
    assert [money_text(amount=Decimal(value), money_format="${{amount}}")
            for value in ("588.400000000000", "163.5", "0.005", "7")] == [
        "$588.40", "$163.50", "$0.01", "$7.00"]


def test_without_a_format_the_amount_and_currency_code():
    assert [money_text(amount=Decimal("1234.5"), currency_code="USD"),
            money_text(amount=Decimal("1234.5")),
            money_text(amount=Decimal("1234.5"), money_format="no placeholder", currency_code="USD")
            ] == ["1,234.50 USD", "1,234.50", "1,234.50 USD"]


def test_an_amount_in_another_currency_is_not_written_as_the_shops():
    assert money_text(amount=Decimal("12"), money_format="${{amount}}", currency_code="USD",
                      amount_currency="EUR") == "12.00 EUR"
    assert money_text(amount=Decimal("12"), money_format="${{amount}}", currency_code="USD",
                      amount_currency="USD") == "$12.00"


def test_negative_and_unreadable_amounts():
    assert [money_text(amount=Decimal("-3.2"), money_format="${{amount}}"),
            money_text(amount="not money", money_format="${{amount}}"),
            money_text(amount=None, currency_code="USD")] == ["-$3.20", "$0.00", "0.00 USD"]


def test_the_template_filter_and_tag_escape_what_the_format_brings():
    shop = FakeShop(money_format='<a href="x">"A&amp;B"</a> {{amount}} <script>', currency="USD")
    html = Template("{{ amount|money:shop }}|{% money_in amount 'USD' shop %}|"
                    "{% money_in amount 'EUR' shop %}|{{ amount|money:nobody }}").render(
        Context({"amount": Decimal("5"), "shop": shop, "nobody": None}))
    assert html == "&quot;A&amp;B&quot; 5.00|&quot;A&amp;B&quot; 5.00|5.00 EUR|5.00"
