"""Amounts of money as the shop writes them: Shopify's `shop.currencyFormats.moneyFormat`
("${{amount}}", "€{{amount_with_comma_separator}}", "{{amount_no_decimals}} kr"), with its
placeholders filled in the way Shopify's own themes fill them."""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from html import unescape

from django.utils.html import strip_tags

PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")

# Placeholder → (decimals, thousands separator, decimal separator), as Shopify defines them.
AMOUNT_STYLES: dict[str, tuple[int, str, str]] = {
    "amount": (2, ",", "."),
    "amount_no_decimals": (0, ",", "."),
    "amount_with_comma_separator": (2, ".", ","),
    "amount_no_decimals_with_comma_separator": (0, ".", ","),
    "amount_with_apostrophe_separator": (2, "'", "."),
    "amount_no_decimals_with_space_separator": (0, " ", ","),
    "amount_with_space_separator": (2, " ", ","),
    "amount_with_period_and_space_separator": (2, " ", "."),
}


def _as_decimal(amount: object) -> Decimal:
    try:
        value = Decimal(str(amount if amount is not None else 0))
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return value if value.is_finite() else Decimal(0)


@lru_cache(maxsize=256)
def _format_text(money_format: str) -> str:
    # strip_tags runs an HTML parser: a page of amounts in one shop's format parses it once.
    return unescape(strip_tags(money_format)).strip()


def _digits(amount: Decimal, *, decimals: int, thousands: str, decimal_mark: str) -> str:
    rounded = amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{rounded:f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", thousands)
    return f"{grouped}{decimal_mark}{fraction}" if decimals else grouped


def money_text(*, amount: object, money_format: str = "", currency_code: str = "",
               amount_currency: str = "") -> str:
    """`amount` in the shop's money format (`currency_code` is the shop's currency), as plain
    text: Shopify allows a little HTML in the format; its tags are dropped and its entities
    read, so the text can go anywhere, escaped like any other. Without a format, or for an
    amount in another currency (`amount_currency`): "1,234.50 USD". A negative amount gets a
    leading minus; an unknown placeholder is filled like {{amount}}."""
    value = _as_decimal(amount)
    sign = "-" if value < 0 else ""
    value = abs(value)
    template = _format_text(money_format or "")
    if amount_currency and amount_currency != currency_code:
        template, currency_code = "", amount_currency
    if "{{" not in template:
        plain = _digits(value, decimals=2, thousands=",", decimal_mark=".")
        return f"{sign}{plain} {currency_code}".strip() if currency_code else f"{sign}{plain}"

    def fill(match: re.Match[str]) -> str:
        decimals, thousands, decimal_mark = AMOUNT_STYLES.get(match.group(1),
                                                              AMOUNT_STYLES["amount"])
        return _digits(value, decimals=decimals, thousands=thousands, decimal_mark=decimal_mark)

    return sign + PLACEHOLDER.sub(fill, template)
