"""The price rule: a source price × currency rate, + markup %, + fixed markup, rounded up to an
ending; the compare-at price copied, priced by the rule, or left empty; never below zero."""

from decimal import Decimal

import pytest

from products.pricing import PriceBelowZero, PriceRule, compare_at_apply, price_apply
from stores.models import Connection

D = Decimal


@pytest.mark.parametrize(("rule", "price", "expected"), [
    (PriceRule(), D("30.00"), D("30.00")),
    (PriceRule(markup_percent=D(10)), D("30.00"), D("33.00")),
    (PriceRule(markup_fixed=D("2.50")), D("30.00"), D("32.50")),
    (PriceRule(currency_rate=D("1.5"), markup_percent=D(10), markup_fixed=D(1)), D("30.00"),
     D("50.50")),
    (PriceRule(markup_percent=D(10), rounding=Connection.Rounding.END_99), D("30.00"),
     D("33.99")),
    (PriceRule(rounding=Connection.Rounding.END_99), D("29.99"), D("29.99")),
    (PriceRule(rounding=Connection.Rounding.END_99), D("30.00"), D("30.99")),
    (PriceRule(rounding=Connection.Rounding.END_95), D("30.96"), D("31.95")),
    (PriceRule(rounding=Connection.Rounding.END_95), D("30.95"), D("30.95")),
    (PriceRule(rounding=Connection.Rounding.WHOLE), D("30.01"), D("31.00")),
    (PriceRule(rounding=Connection.Rounding.WHOLE), D("30.00"), D("30.00")),
    (PriceRule(currency_rate=D("0.333")), D("10.00"), D("3.33")),
    (PriceRule(markup_fixed=D("-30")), D("30.00"), D("0.00")),
])
def test_price_apply(rule, price, expected):
    assert price_apply(rule=rule, price=price) == expected


def test_a_rule_that_goes_below_zero_raises_with_words():
    with pytest.raises(PriceBelowZero) as raised:
        price_apply(rule=PriceRule(markup_fixed=D("-25")), price=D("20.00"))
    assert str(raised.value) == (
        "The price rule makes 20.00 into -5.00, below zero: change the fixed markup.")
    assert (raised.value.source_price, raised.value.result) == (D("20.00"), D("-5.00"))


@pytest.mark.parametrize(("compare_at", "source", "expected"), [
    (Connection.CompareAt.COPY, D("40.00"), D("60.00")),  # converted only
    (Connection.CompareAt.RULE, D("40.00"), D("66.99")),  # 60 × 1.1 = 66.00 → .99
    (Connection.CompareAt.CLEAR, D("40.00"), None),
    (Connection.CompareAt.COPY, None, None),
    (Connection.CompareAt.RULE, None, None),
])
def test_compare_at_apply(compare_at, source, expected):
    rule = PriceRule(currency_rate=D("1.5"), markup_percent=D(10),
                     rounding=Connection.Rounding.END_99, compare_at=compare_at)
    assert compare_at_apply(rule=rule, compare_at_price=source) == expected


def test_the_rule_of_a_connection_and_whether_it_changes_anything():
    connection = Connection(price_markup_percent=D("12.5"), price_markup_fixed=D("-1"),
                            price_rounding=Connection.Rounding.END_95, currency_rate=D("1.1"),
                            compare_at_rule=Connection.CompareAt.CLEAR)
    assert PriceRule.of(connection) == PriceRule(
        markup_percent=D("12.5"), markup_fixed=D("-1"), rounding="95",
        currency_rate=D("1.1"), compare_at="clear")
    assert PriceRule.of(connection).is_identity is False
    assert PriceRule.of(Connection()).is_identity is True
    assert PriceRule(currency_rate=D("1.00000000")).is_identity is True
