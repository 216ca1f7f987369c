"""A destination's price rule: what a source price becomes in its store.

In this order: the source price × the currency rate (when the shops' currencies differ), then
the markup percentage, then the fixed markup (in the destination's currency), then rounding up
to the next amount ending in .99 / .95 / .00 (an amount already ending so stays). The
compare-at price is copied (converted only), priced by the same rule, or left empty.

A rule never prices below zero: `price_apply` raises `PriceBelowZero` instead, so a sync that
would send a negative price is recorded as failed and nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from stores.models import Connection

CENT = Decimal("0.01")
ONE = Decimal(1)


class PriceBelowZero(ValueError):
    def __init__(self, source_price: Decimal, result: Decimal) -> None:
        super().__init__(f"The price rule makes {source_price:.2f} into {result:.2f}, below "
                         "zero: change the fixed markup.")
        self.source_price = source_price
        self.result = result


@dataclass(frozen=True, slots=True)
class PriceRule:
    markup_percent: Decimal = Decimal(0)
    markup_fixed: Decimal = Decimal(0)
    rounding: str = Connection.Rounding.NONE
    currency_rate: Decimal | None = None
    compare_at: str = Connection.CompareAt.COPY

    @classmethod
    def of(cls, connection: Connection) -> PriceRule:
        return cls(markup_percent=Decimal(connection.price_markup_percent or 0),
                   markup_fixed=Decimal(connection.price_markup_fixed or 0),
                   rounding=connection.price_rounding or Connection.Rounding.NONE,
                   currency_rate=(Decimal(connection.currency_rate)
                                  if connection.currency_rate else None),
                   compare_at=connection.compare_at_rule or Connection.CompareAt.COPY)

    @property
    def is_identity(self) -> bool:
        """Copies prices as they are (what Syncer did before price rules)."""
        return (not self.markup_percent and not self.markup_fixed
                and self.rounding == Connection.Rounding.NONE
                and self.currency_rate in (None, ONE))


def _converted(rule: PriceRule, price: Decimal) -> Decimal:
    return price * rule.currency_rate if rule.currency_rate else price


def _rounded(amount: Decimal, rounding: str) -> Decimal:
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if rounding == Connection.Rounding.NONE:
        return amount
    ending = {Connection.Rounding.END_99: Decimal("0.99"),
              Connection.Rounding.END_95: Decimal("0.95"),
              Connection.Rounding.WHOLE: Decimal(0)}[Connection.Rounding(rounding)]
    whole = amount.to_integral_value(rounding=ROUND_CEILING) if not ending else (
        (amount - ending).to_integral_value(rounding=ROUND_CEILING) + ending)
    return whole.quantize(CENT)


def price_apply(*, rule: PriceRule, price: Decimal) -> Decimal:
    """The destination's price for a source price; PriceBelowZero if the rule goes below 0."""
    amount = _converted(rule, price) * (ONE + rule.markup_percent / 100) + rule.markup_fixed
    if amount < 0:
        raise PriceBelowZero(price, amount.quantize(CENT, rounding=ROUND_HALF_UP))
    return _rounded(amount, rule.rounding)


def compare_at_apply(*, rule: PriceRule, compare_at_price: Decimal | None) -> Decimal | None:
    if compare_at_price is None or rule.compare_at == Connection.CompareAt.CLEAR:
        return None
    if rule.compare_at == Connection.CompareAt.RULE:
        return price_apply(rule=rule, price=compare_at_price)
    return _converted(rule, compare_at_price).quantize(CENT, rounding=ROUND_HALF_UP)
