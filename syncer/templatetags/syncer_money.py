"""`{{ amount|money:shop }}`: an amount in that shop's own money format ("$1,234.50",
"1.234,50 €"), or "1,234.50 USD" for a shop whose format we do not know (syncer.money).
`{% money_in amount currency shop %}`: the same for an amount that carries its own currency
(a pushed order's), which may not be the shop's."""

from django import template

from syncer.money import money_text

register = template.Library()


@register.filter(name="money")
def money_filter(amount: object, shop: object = None) -> str:
    # Any object with the Shop's `money_format` and `currency` will do (syncer knows no Shop).
    return money_text(amount=amount, money_format=getattr(shop, "money_format", "") or "",
                      currency_code=getattr(shop, "currency", "") or "")


@register.simple_tag(name="money_in")
def money_in_tag(amount: object, currency: str, shop: object = None) -> str:
    return money_text(amount=amount, money_format=getattr(shop, "money_format", "") or "",
                      currency_code=getattr(shop, "currency", "") or "",
                      amount_currency=currency or "")
